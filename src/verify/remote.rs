//! Remote keys: a JWKS published at a URL, found directly or through OIDC discovery.
//!
//! Sans-IO: this module decides *when* to fetch and what to make of the answer; the host
//! performs the fetch (wasm: the shim's `fetch`; native: whatever client the caller has).
//! A request that needs keys gets a [`Fetch`] ticket; every request that arrives while that
//! fetch is in flight gets the same ticket (single-flight), and the host reports the
//! outcome once with [`RemoteKeys::complete`].
//!
//! Policy, as jose's `createRemoteJWKSet` and Envoy's `remote_jwks`, plus what they lack:
//! - keys are fresh for `max_age`; after that the next request refetches;
//! - an unknown `kid` refetches, at most once per `cooldown`;
//! - failed fetches are retried at most once per `cooldown`;
//! - while the provider is down, the last good keys keep working for `stale_if_error` past
//!   their freshness, then every token is refused (fail closed);
//! - bodies over `max_bytes`, non-200 answers, malformed JSON or a set without one usable
//!   key are failures that never replace good keys;
//! - only `https` URLs, or `http` on loopback for development;
//! - symmetric (`oct`) keys in a remote set are ignored: a published secret is no secret.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::jwk::{fresh_handle, from_jwk, Alg, Key, KeyId, MAX_KEYS};
use super::keys::{select, Candidates, KeyResolver};
use crate::config::{durations, Duration, RemoteOptions};
use crate::error::{Error, Result};
use crate::fetch::{check_url, fresh_fetch_id, Fetch, Fetched, Progress, USER_AGENT};

/// Tuning of the remote key cache, in seconds where a time.
#[derive(Debug, Clone)]
pub struct RemotePolicy {
    pub max_age: f64,
    pub cooldown: f64,
    pub timeout: f64,
    pub stale_if_error: f64,
    pub max_bytes: usize,
    pub user_agent: String,
}

impl Default for RemotePolicy {
    fn default() -> Self {
        RemotePolicy {
            max_age: durations::CACHE_MAX_AGE.default,
            cooldown: durations::COOLDOWN.default,
            timeout: durations::JWKS_TIMEOUT.default,
            stale_if_error: durations::STALE_IF_ERROR.default,
            max_bytes: 256 * 1024,
            user_agent: USER_AGENT.into(),
        }
    }
}

impl RemotePolicy {
    /// The policy of `verify.remote`, each duration within its bound (the bounds also
    /// catch jose's millisecond values passed by habit).
    pub(crate) fn new(options: &RemoteOptions) -> Result<RemotePolicy> {
        let defaults = RemotePolicy::default();
        let within = |d: &Option<Duration>, bound| Duration::within(d.as_ref(), bound);
        let policy = RemotePolicy {
            max_age: within(&options.cache_max_age, &durations::CACHE_MAX_AGE)?,
            cooldown: within(&options.cooldown_duration, &durations::COOLDOWN)?,
            timeout: within(&options.timeout_duration, &durations::JWKS_TIMEOUT)?,
            stale_if_error: within(&options.stale_if_error, &durations::STALE_IF_ERROR)?,
            max_bytes: options.max_response_bytes.unwrap_or(defaults.max_bytes),
            user_agent: options.user_agent.clone().unwrap_or(defaults.user_agent),
        };
        Ok(policy)
    }
}

/// Where the keys are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JWKS URL.
    Jwks(String),
    /// `<issuer>/.well-known/openid-configuration`, whose `jwks_uri` is the JWKS URL.
    Discovery { issuer: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Discovery,
    Jwks,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    kind: Kind,
    url: String,
    started: f64,
    may_use_stored: bool,
}

#[derive(Debug)]
struct State {
    jwks_uri: Option<String>,
    keys: Vec<Arc<Key>>,
    /// When the current keys were fetched; `None` until the first success.
    fetched_at: Option<f64>,
    /// Start of the last network attempt (success or failure), for the cooldown.
    last_attempt: f64,
    /// Why the last attempt failed, reported while no usable keys are left.
    last_error: Option<Error>,
    in_flight: Option<InFlight>,
}

/// A provider's keys, fetched on demand and cached by the policy above.
#[derive(Debug)]
pub struct RemoteKeys {
    source: Source,
    policy: RemotePolicy,
    algorithms: Vec<Alg>,
    state: Mutex<State>,
}

impl RemoteKeys {
    /// Checks the URL (or the issuer, for discovery); fetches nothing yet. The policy comes
    /// checked from [`RemotePolicy::new`].
    pub fn new(source: Source, policy: RemotePolicy, algorithms: Vec<Alg>) -> Result<Self> {
        let jwks_uri = match &source {
            Source::Jwks(url) => {
                check_url(url, "jwksUri").map_err(Error::ConfigUrl)?;
                Some(url.clone())
            }
            Source::Discovery { issuer } => {
                check_url(issuer, "issuer (for OIDC discovery)").map_err(Error::ConfigUrl)?;
                None
            }
        };
        // After the URL, as before the refactor: a config with both faults names the URL.
        if policy.timeout <= 0.0 {
            return Err(Error::ConfigInvalid(
                "verify.remote.timeoutDuration must be more than 0 and at most 60 seconds".into(),
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&policy.max_bytes) {
            return Err(Error::ConfigInvalid(
                "verify.remote.maxResponseBytes must be between 1 KiB and 16 MiB".into(),
            ));
        }
        if policy.user_agent.is_empty()
            || !policy.user_agent.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(Error::ConfigInvalid(
                "verify.remote.userAgent must be printable ASCII".into(),
            ));
        }
        Ok(RemoteKeys {
            source,
            policy,
            algorithms,
            state: Mutex::new(State {
                jwks_uri,
                keys: Vec::new(),
                fetched_at: None,
                last_attempt: f64::NEG_INFINITY,
                last_error: None,
                in_flight: None,
            }),
        })
    }

    // A poisoned lock means a panic elsewhere mid-update; the state is still consistent
    // (every field is written whole), so keep serving.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Owns the fetch with this ticket id?
    pub fn owns(&self, id: u64) -> bool {
        self.lock().in_flight.as_ref().is_some_and(|f| f.id == id)
    }

    /// The keys that may verify a token with this `alg` and `kid` at `now`, or the fetch
    /// that must happen first.
    pub fn candidates(&self, alg: Alg, kid: Option<&str>, now: f64) -> Result<Candidates> {
        self.select(alg, kid, now, true)
    }

    /// [`RemoteKeys::candidates`]; when not `acting` (`explain`), a fetch that would start
    /// is only described, and nothing changes.
    fn select(&self, alg: Alg, kid: Option<&str>, now: f64, acting: bool) -> Result<Candidates> {
        let p = &self.policy;
        let mut s = self.lock();
        // A host that never reported its fetch (it crashed mid-request) must not wedge us.
        let lost = s
            .in_flight
            .as_ref()
            .is_some_and(|f| now - f.started > p.timeout + 5.0);
        if lost && acting {
            s.in_flight = None;
        }
        if let Some(f) = s.in_flight.as_ref().filter(|_| !lost) {
            return Ok(Progress::NeedsFetch(self.ticket(f)));
        }
        let age = s.fetched_at.map_or(f64::INFINITY, |t| now - t);
        let matching = select(&s.keys, alg, kid);
        let may_retry = now - s.last_attempt >= p.cooldown;
        if age < p.max_age && !matching.is_empty() {
            return Ok(Progress::Done(matching));
        }
        if may_retry {
            // Stale or missing keys, or an unknown kid: fetch (discovery first if needed).
            let (kind, url) = match &s.jwks_uri {
                Some(uri) => (Kind::Jwks, uri.clone()),
                None => (Kind::Discovery, self.discovery_url()),
            };
            let flight = InFlight {
                id: if acting { fresh_fetch_id() } else { 0 },
                kind,
                url,
                started: now,
                may_use_stored: s.fetched_at.is_none(),
            };
            let ticket = self.ticket(&flight);
            if acting {
                s.in_flight = Some(flight);
            }
            return Ok(Progress::NeedsFetch(ticket));
        }
        if age < p.max_age + p.stale_if_error {
            // Within the cooldown: fresh keys without this kid, or stale keys while the
            // provider is failing (bounded by stale_if_error).
            if matching.is_empty() {
                return Err(Error::NoMatchingKey);
            }
            return Ok(Progress::Done(matching));
        }
        Err(s
            .last_error
            .clone()
            .unwrap_or(Error::JwksUnavailable("no keys fetched yet".into())))
    }

    /// Applies the outcome of ticket `id` (finished at `now`). Returns true when it
    /// installed new keys (the host may then persist the body). Unknown ids are ignored.
    pub fn complete(&self, id: u64, fetched: Fetched, now: f64) -> bool {
        let mut s = self.lock();
        let Some(flight) = s.in_flight.take_if(|f| f.id == id) else {
            return false;
        };
        if let Fetched::Stored { body, fetched_at } = fetched {
            // A persisted copy counts only if it is still usable; it never counts as a
            // network attempt, so a stale copy is refreshed on the next request. An unusable
            // one leaves the ticket open: the host goes on to the network with it.
            let age = now - fetched_at;
            let usable = flight.may_use_stored
                && age.is_finite()
                && age >= -60.0
                && age < self.policy.max_age + self.policy.stale_if_error;
            if usable && self.apply(&mut s, flight.kind, &body).is_ok() {
                if flight.kind == Kind::Jwks {
                    s.fetched_at = Some(fetched_at.min(now));
                }
                return true;
            }
            s.in_flight = Some(flight);
            return false;
        }
        s.last_attempt = flight.started;
        let outcome = match fetched {
            Fetched::Response { status: 200, body } if body.len() > self.policy.max_bytes => {
                Err(too_large(flight.kind))
            }
            Fetched::Response { status: 200, body } => self.apply(&mut s, flight.kind, &body),
            Fetched::Response { status, .. } => Err(Error::JwksUnavailable(format!(
                "{} answered HTTP {status}",
                flight.url
            ))),
            Fetched::Stored { .. } => unreachable!("handled above"),
            Fetched::Timeout => Err(Error::JwksTimeout),
            Fetched::TooLarge => Err(too_large(flight.kind)),
            Fetched::Network(why) => Err(Error::JwksUnavailable(format!(
                "{} could not be fetched: {why}",
                flight.url
            ))),
        };
        match outcome {
            Ok(()) => {
                s.last_error = None;
                if flight.kind == Kind::Discovery {
                    // The JWKS fetch that discovery was for may start at once.
                    s.last_attempt = f64::NEG_INFINITY;
                } else {
                    s.fetched_at = Some(now);
                }
                true
            }
            Err(e) => {
                s.last_error = Some(e);
                false
            }
        }
    }

    fn apply(&self, s: &mut State, kind: Kind, body: &str) -> Result<()> {
        let doc: Value = serde_json::from_str(body).map_err(|_| match kind {
            Kind::Discovery => Error::JwksInvalid("discovery document is not JSON".into()),
            Kind::Jwks => Error::JwksInvalid("JWKS is not JSON".into()),
        })?;
        match kind {
            Kind::Discovery => {
                s.jwks_uri = Some(self.jwks_uri_from(&doc)?);
                Ok(())
            }
            Kind::Jwks => {
                let fresh = self.parse_jwks(&doc)?;
                // Keys that did not change keep their identity (and handle), so tokens
                // verified with them stay cached; keys that left take their tokens along.
                s.keys = fresh
                    .into_iter()
                    .map(|k| {
                        s.keys
                            .iter()
                            .find(|old| old.same_key(&k))
                            .cloned()
                            .unwrap_or_else(|| Arc::new(k))
                    })
                    .collect();
                Ok(())
            }
        }
    }

    /// The usable keys of a fetched JWKS. Unlike configured keys, a remote member that is
    /// malformed, weak, symmetric or for another use is skipped, not fatal: providers
    /// publish keys for other clients too. A set with no usable key is a failure.
    fn parse_jwks(&self, doc: &Value) -> Result<Vec<Key>> {
        let Some(Value::Array(members)) = doc.get("keys") else {
            return Err(Error::JwksInvalid("no \"keys\" array".into()));
        };
        let mut keys: Vec<Key> = Vec::new();
        for member in members.iter().take(MAX_KEYS) {
            let Value::Object(jwk) = member else { continue };
            let Ok(Some(key)) = from_jwk(jwk, false) else {
                continue;
            };
            if key.material.is_symmetric() || !self.algorithms.iter().any(|&a| key.fits(a)) {
                continue;
            }
            // Two keys under one kid make selection ambiguous; keep the first (as jose
            // would refuse to choose, keeping neither would take the provider down).
            if matches!(&key.id, KeyId::Exact(_)) && keys.iter().any(|k| k.id == key.id) {
                continue;
            }
            keys.push(Key {
                handle: fresh_handle(),
                ..key
            });
        }
        if keys.is_empty() {
            return Err(Error::JwksInvalid(
                "no key of the JWKS fits the allowed algorithms".into(),
            ));
        }
        Ok(keys)
    }

    /// OpenID Connect Discovery 1.0 §4.3: the document's `issuer` must be exactly ours.
    fn jwks_uri_from(&self, doc: &Value) -> Result<String> {
        let Source::Discovery { issuer } = &self.source else {
            return Err(Error::JwksInvalid("unexpected discovery document".into()));
        };
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Error::JwksInvalid(format!(
                "discovery document is for another issuer than {issuer:?}"
            )));
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::JwksInvalid("discovery document lacks jwks_uri".into()))?;
        check_url(uri, "jwks_uri").map_err(Error::JwksInvalid)?;
        Ok(uri.to_owned())
    }

    fn discovery_url(&self) -> String {
        match &self.source {
            Source::Discovery { issuer } => format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            ),
            Source::Jwks(url) => url.clone(),
        }
    }

    fn ticket(&self, f: &InFlight) -> Fetch {
        Fetch {
            id: f.id,
            method: "GET",
            url: f.url.clone(),
            headers: vec![
                ("user-agent".into(), self.policy.user_agent.clone()),
                (
                    "accept".into(),
                    "application/jwk-set+json, application/json".into(),
                ),
            ],
            body: None,
            timeout_ms: (self.policy.timeout * 1000.0) as u64,
            max_bytes: self.policy.max_bytes,
            may_use_stored: f.may_use_stored,
            assertion: None,
        }
    }
}

fn too_large(kind: Kind) -> Error {
    Error::JwksInvalid(match kind {
        Kind::Discovery => "discovery document exceeds maxResponseBytes".into(),
        Kind::Jwks => "JWKS exceeds maxResponseBytes".into(),
    })
}

impl KeyResolver for RemoteKeys {
    fn candidates(&self, alg: Alg, kid: Option<&str>, now: f64) -> Result<Candidates> {
        RemoteKeys::candidates(self, alg, kid, now)
    }

    fn complete(&self, id: u64, fetched: Fetched, now: f64) -> Option<bool> {
        self.owns(id)
            .then(|| RemoteKeys::complete(self, id, fetched, now))
    }

    fn owns(&self, id: u64) -> bool {
        RemoteKeys::owns(self, id)
    }

    fn peek(&self, alg: Alg, kid: Option<&str>, now: f64) -> Result<Candidates> {
        self.select(alg, kid, now, false)
    }
}
