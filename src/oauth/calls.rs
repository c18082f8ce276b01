//! Single-flight calls to a provider's endpoints, keyed by a hash of what is spent (a
//! refresh token, an authorization code): concurrent requests with the same key share one
//! call, and its outcome is remembered for a grace period, so requests still in flight with
//! the same key — or the same request, back for its next round — get it too, without a
//! second call. A code or a refresh token is spent once: a second call would be refused,
//! or, with rotation and reuse detection, revoke the whole grant.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::fetch::{fresh_fetch_id, Fetch, Progress};

/// The key of a call: SHA-256 of what it spends (never the secret itself).
pub(crate) type Key = [u8; 32];

/// The key of `parts`, each length-prefixed so no two lists collide.
pub(crate) fn key(parts: &[&str]) -> Key {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// Calls in flight at most. The keys come from attacker-controlled cookies and query
/// strings: without a cap, a flood of made-up ones would become a flood of calls to the
/// identity provider. Beyond it a call is refused without being made.
pub const MAX_IN_FLIGHT: usize = 64;
/// Outcomes remembered at most (each for the grace period).
const MAX_REMEMBERED: usize = 10_000;

/// Calls and their outcomes `T`.
pub(crate) struct Calls<T> {
    /// A call whose host never reported back is dropped after this long (seconds).
    timeout: f64,
    /// Outcomes are handed out this long after they arrive (seconds).
    grace: f64,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Calls in flight, [`MAX_IN_FLIGHT`] at most: a list, as maps of them by key and by
    /// id linked hash-table code of their own.
    in_flight: Vec<Flight>,
    /// Outcomes with when they arrived and how long they are handed out (seconds).
    done: HashMap<Key, (T, f64, f64)>,
}

/// A call in flight: what it spends, its ticket, when it began.
struct Flight {
    key: Key,
    id: u64,
    started: f64,
}

/// Where a call stands.
pub(crate) enum Call<T> {
    /// Its outcome, as it arrived within the grace period.
    Done(T),
    /// In flight, or to be made now, under this ticket id.
    Fetch(u64),
    /// Too many calls in flight: refused unmade.
    Busy,
}

impl<T: Clone> Calls<T> {
    pub(crate) fn new(timeout: f64, grace: f64) -> Calls<T> {
        Calls {
            timeout,
            grace,
            state: Mutex::new(State {
                in_flight: Vec::new(),
                done: HashMap::new(),
            }),
        }
    }

    // A poisoned lock means a panic mid-update elsewhere; every field is written whole.
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call under `key` at `now`: a remembered outcome, the id of the call in flight,
    /// or the id of a new one.
    pub(crate) fn call(&self, key: Key, now: f64) -> Call<T> {
        let mut s = self.lock();
        match s.done.get(&key) {
            Some((outcome, at, keep)) if now - at <= *keep => return Call::Done(outcome.clone()),
            Some(_) => {
                s.done.remove(&key);
            }
            None => {}
        }
        let lost = self.timeout + 5.0;
        if let Some(f) = s.in_flight.iter().find(|f| f.key == key) {
            if now - f.started <= lost {
                return Call::Fetch(f.id);
            }
        }
        // Calls the host never reported are dropped; this one starts over.
        s.in_flight.retain(|f| now - f.started <= lost);
        if s.in_flight.len() >= MAX_IN_FLIGHT {
            return Call::Busy;
        }
        let id = fresh_fetch_id();
        s.in_flight.push(Flight {
            key,
            id,
            started: now,
        });
        Call::Fetch(id)
    }

    /// Is ticket `id` one of these calls?
    pub(crate) fn owns(&self, id: u64) -> bool {
        self.lock().in_flight.iter().any(|f| f.id == id)
    }

    /// Replaces a remembered outcome with `spent` for the rest of its grace period: what
    /// may be handed out once (the tokens of a code) is not handed out again.
    pub(crate) fn spend(&self, key: Key, spent: T) {
        if let Some(entry) = self.lock().done.get_mut(&key) {
            entry.0 = spent;
        }
    }

    /// The key of ticket `id` while it is in flight.
    pub(crate) fn key_of(&self, id: u64) -> Option<Key> {
        self.lock()
            .in_flight
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.key)
    }

    /// Is an outcome under `key` at hand (within the grace period)?
    pub(crate) fn has(&self, key: Key, now: f64) -> bool {
        self.lock()
            .done
            .get(&key)
            .is_some_and(|(_, at, keep)| now - at <= *keep)
    }

    /// Remembers `outcome` under `key` as it arrived at `at` from elsewhere (another
    /// instance's call, through a shared store): handed out as if the call had been made here.
    pub(crate) fn remember(&self, key: Key, outcome: T, at: f64, now: f64) {
        self.keep(&mut self.lock(), key, (outcome, at, self.grace), now);
    }

    /// Records the outcome of ticket `id`, handed out for the grace period; false for an
    /// unknown or finished id.
    pub(crate) fn complete(&self, id: u64, outcome: T, now: f64) -> bool {
        self.complete_for(id, outcome, now, self.grace)
    }

    /// [`Calls::complete`], the outcome handed out for `keep` seconds at most (a transient
    /// failure: shared by the requests that waited on the call, then tried again).
    pub(crate) fn complete_for(&self, id: u64, outcome: T, now: f64, keep: f64) -> bool {
        let mut s = self.lock();
        let Some(at) = s.in_flight.iter().position(|f| f.id == id) else {
            return false;
        };
        let key = s.in_flight.swap_remove(at).key;
        let keep = keep.min(self.grace);
        self.keep(&mut s, key, (outcome, now, keep), now);
        true
    }

    /// Keeps an outcome, within the bound on outcomes remembered.
    fn keep(&self, s: &mut State<T>, key: Key, entry: (T, f64, f64), now: f64) {
        if s.done.len() >= MAX_REMEMBERED {
            s.done.retain(|_, (_, at, keep)| now - *at <= *keep);
            if s.done.len() >= MAX_REMEMBERED {
                s.done.clear();
            }
        }
        s.done.insert(key, entry);
    }
}

/// A call's outcome, or the ticket to fetch first: `ticket` builds it for an id.
pub(crate) fn progress<T>(
    call: Call<T>,
    busy: impl FnOnce() -> T,
    ticket: impl FnOnce(u64) -> Fetch,
) -> Progress<T> {
    match call {
        Call::Done(outcome) => Progress::Done(outcome),
        Call::Fetch(id) => Progress::NeedsFetch(ticket(id)),
        Call::Busy => Progress::Done(busy()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_per_key_and_its_outcome_for_the_grace_period() {
        let calls: Calls<u32> = Calls::new(5.0, 30.0);
        let k = key(&["refresh", "rt"]);
        let Call::Fetch(id) = calls.call(k, 0.0) else {
            panic!()
        };
        assert!(matches!(calls.call(k, 1.0), Call::Fetch(same) if same == id));
        assert!(calls.complete(id, 7, 2.0));
        assert!(
            !calls.complete(id, 8, 2.0),
            "a finished ticket is not reported twice"
        );
        assert!(matches!(calls.call(k, 31.0), Call::Done(7)));
        assert!(matches!(calls.call(k, 33.0), Call::Fetch(other) if other != id));
    }

    #[test]
    fn a_spent_outcome_is_not_handed_out_again() {
        let calls: Calls<u32> = Calls::new(5.0, 30.0);
        let k = key(&["code", "c"]);
        let Call::Fetch(id) = calls.call(k, 0.0) else {
            panic!()
        };
        calls.complete(id, 7, 1.0);
        calls.spend(k, 0);
        assert!(matches!(calls.call(k, 2.0), Call::Done(0)));
    }

    #[test]
    fn keys_are_unambiguous() {
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
    }

    #[test]
    fn lost_calls_restart_and_floods_are_capped() {
        let calls: Calls<u32> = Calls::new(5.0, 30.0);
        let Call::Fetch(id) = calls.call(key(&["x"]), 0.0) else {
            panic!()
        };
        assert!(matches!(calls.call(key(&["x"]), 11.0), Call::Fetch(other) if other != id));
        for i in 1..MAX_IN_FLIGHT {
            assert!(matches!(
                calls.call(key(&[&i.to_string()]), 11.0),
                Call::Fetch(_)
            ));
        }
        assert!(matches!(calls.call(key(&["one more"]), 11.0), Call::Busy));
    }
}
