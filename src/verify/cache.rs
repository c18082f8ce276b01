//! The verified-token cache: a session sends the same token on every request, so a token
//! whose signature was checked once is remembered and its next requests skip the signature.
//!
//! Bounded, least-recently-used eviction, successes only. An entry holds the whole token and
//! a hit needs it to be equal byte for byte, so a forged signature is always a miss. Entries
//! are found by a hash of the token's last bytes, its signature: only verified tokens get in,
//! and nobody without the key can choose a signature, so nobody can crowd a slot on purpose.
//! (SHA-256 of the whole token was 14% of a cache-hit decision in wasm.) A hit is not
//! trusted blindly: the caller re-checks every time-based claim on it, and entries past
//! `exp` are dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::Verified;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

struct Entry {
    token: Box<str>,
    verified: Arc<Verified>,
    last_used: u64,
}

/// LRU in amortised O(1): every use appends `(key, tick)` to `order`; an entry's live
/// position is the one whose tick equals its `last_used`, older ones are stale and skipped.
#[derive(Default)]
struct Inner {
    entries: HashMap<u64, Entry>,
    order: VecDeque<(u64, u64)>,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl Inner {
    fn touch(&mut self, k: u64, capacity: usize) -> u64 {
        self.tick += 1;
        self.order.push_back((k, self.tick));
        // Hits append without removing; drop stale positions before the log grows unbounded.
        if self.order.len() > 4 * capacity + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(k, t)| entries.get(k).is_some_and(|e| e.last_used == *t));
        }
        self.tick
    }

    fn evict_least_recent(&mut self) {
        while let Some((k, t)) = self.order.pop_front() {
            if self.entries.get(&k).is_some_and(|e| e.last_used == t) {
                self.entries.remove(&k);
                return;
            }
        }
    }
}

pub struct TokenCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

/// `a == b` eight bytes at a time: wasm's `memcmp` goes byte by byte, and a hit compares
/// the whole token (~1 KB with RS256).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or_default());
    wa.remainder() == wb.remainder() && wa.zip(wb).all(|(x, y)| word(x) == word(y))
}

/// FNV-1a over the last 32 bytes: the signature's, unpredictable without the key.
fn key(token: &str) -> u64 {
    let tail = &token.as_bytes()[token.len().saturating_sub(32)..];
    tail.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl TokenCache {
    /// A cache of `capacity` tokens; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    // A poisoned lock only means another thread panicked mid-update of a cache entry; the
    // map is still a valid map of verified tokens, so keep using it.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        if self.capacity == 0 {
            return None;
        }
        let k = key(token);
        let mut inner = self.lock();
        if inner.entries.get(&k).is_none_or(|e| !same(&e.token, token)) {
            inner.misses += 1;
            return None;
        }
        let tick = inner.touch(k, self.capacity);
        inner.hits += 1;
        inner.entries.get_mut(&k).map(|entry| {
            entry.last_used = tick;
            entry.verified.clone()
        })
    }

    /// Remembers a verified token, evicting the least recently used one when full. Expired
    /// entries need no sweep: a hit re-checks `exp` and drops them, and LRU ages them out.
    pub fn put(&self, token: &str, verified: Arc<Verified>) {
        if self.capacity == 0 {
            return;
        }
        let k = key(token);
        let mut inner = self.lock();
        if !inner.entries.contains_key(&k) && inner.entries.len() >= self.capacity {
            inner.evict_least_recent();
        }
        let last_used = inner.touch(k, self.capacity);
        inner.entries.insert(
            k,
            Entry {
                token: token.into(),
                verified,
                last_used,
            },
        );
    }

    /// Forgets a token (it failed its re-check, e.g. expired).
    pub fn remove(&self, token: &str) {
        let mut inner = self.lock();
        let k = key(token);
        if inner.entries.get(&k).is_some_and(|e| same(&e.token, token)) {
            inner.entries.remove(&k);
        }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: inner.hits,
            misses: inner.misses,
            entries: inner.entries.len(),
        }
    }
}
