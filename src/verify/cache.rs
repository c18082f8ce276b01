//! The verified-token cache: a session sends the same token on every request, so a token
//! whose signature was checked once is remembered and its next requests skip the signature.
//!
//! Keyed by SHA-256 of the whole token (a forged signature is a different key), bounded,
//! least-recently-used eviction, successes only. A hit is not trusted blindly: the caller
//! re-checks every time-based claim on it, and entries past `exp` are dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::Verified;

/// Default number of tokens remembered per gate.
pub const DEFAULT_ENTRIES: usize = 1000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

struct Entry {
    verified: Arc<Verified>,
    last_used: u64,
}

/// LRU in amortised O(1): every use appends `(key, tick)` to `order`; an entry's live
/// position is the one whose tick equals its `last_used`, older ones are stale and skipped.
#[derive(Default)]
struct Inner {
    entries: HashMap<[u8; 32], Entry>,
    order: VecDeque<([u8; 32], u64)>,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl Inner {
    fn touch(&mut self, k: [u8; 32], capacity: usize) -> u64 {
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

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
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
        if !inner.entries.contains_key(&k) {
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
                verified,
                last_used,
            },
        );
    }

    /// Forgets a token (it failed its re-check, e.g. expired).
    pub fn remove(&self, token: &str) {
        self.lock().entries.remove(&key(token));
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
