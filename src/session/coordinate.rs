//! Refresh coordination across isolates and servers: one token-endpoint call per refresh
//! token wherever its requests land, through a store the host provides (Redis, a Durable
//! Object, an HTTP KV). Sans-IO like fetches: the engine hands the host a [`StoreOp`], the
//! host performs it and reports how it ended ([`Stored`]), and the request asks again.
//!
//! Each refresh token has one entry in the store, under `edgegate:refresh:` + base64url of
//! HMAC-SHA-256(k, refresh token), k derived from `refresh.coordination.secret` (never the
//! token itself). The entry is absent (nobody is refreshing), the claim marker `claimed`
//! (someone is), or the outcome sealed with AES-256-GCM, the key as associated data (for
//! `grace`; it opens under no other key, so a session only ever gets its own token's). A
//! request that must refresh:
//!
//! 1. **claims** the entry: set-if-absent for `claimTtl`; the store answers what was there.
//! 2. Nothing was: this instance owns the refresh. It calls the token endpoint (one call per
//!    isolate, as without coordination), then **publishes** the sealed outcome for `grace`
//!    — new tokens, or the provider's refusal — or **releases** the claim when the endpoint
//!    could not be reached, so that a later request may try again.
//! 3. The marker was: it **reads**, the host waiting up to `waitDuration` while the entry
//!    still holds the marker; the outcome it gets is used as if refreshed here.
//! 4. An outcome was: it is used at once.
//!
//! Anything else — the store failing or slower than `timeoutDuration`, a value that does not
//! open, an outcome older than `grace`, no outcome within `waitDuration`, a claim released
//! without one — falls back to the isolate's own single-flight, and every decision that uses
//! the outcome says why (`ERR_REFRESH_UNCOORDINATED` as its error, the code unchanged). The
//! store can save token-endpoint calls; it never denies a request. A claim whose owner died
//! expires after `claimTtl`.

use std::sync::{Mutex, MutexGuard};

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{durations, CoordinationOptions, Duration};
use crate::error::{Error, RefreshFailure, Result};
use crate::fetch::fresh_fetch_id;
use crate::oauth::calls::{Calls, Key};
use crate::oauth::client::Tokens;
use crate::seal::{hkdf_sha256, Sealer};

/// What a store operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAction {
    /// Set `key` to `value` for `ttl_ms` if it is absent; answer the value already there.
    Claim,
    /// Set `key` to `value` for `ttl_ms`, whatever it holds.
    Publish,
    /// Answer `key`'s value, waiting up to `wait_ms` while it is `value`.
    Read,
    /// Delete `key`.
    Release,
}

impl StoreAction {
    /// The operation as the host reads it: `claim`, `publish`, `read` or `release`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreAction::Claim => "claim",
            StoreAction::Publish => "publish",
            StoreAction::Read => "read",
            StoreAction::Release => "release",
        }
    }
}

/// A store operation the host must perform. Requests that get an operation with the same
/// `id` share one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOp {
    /// The ticket: report the outcome under this id (unique among fetches and store
    /// operations).
    pub id: u64,
    /// What to do.
    pub action: StoreAction,
    /// The entry: `edgegate:refresh:` and a keyed hash of the refresh token.
    pub key: String,
    /// Claim: the marker to set; publish: the sealed outcome; read: the marker to wait out.
    pub value: String,
    /// Claim, publish: how long the entry lives.
    pub ttl_ms: u64,
    /// Read: how long to wait while the entry holds `value`.
    pub wait_ms: u64,
    /// Give up on any one store call after this long and report a failure.
    pub timeout_ms: u64,
}

/// How a store operation ended, as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The store answered: a claim the value that was already there (`None`: the claim is
    /// this instance's), a read the value (`None`: absent). Publish and release answer
    /// `None`.
    Answered(Option<String>),
    /// The store failed, timed out, or could not be reached.
    Failed,
}

/// The marker of a claimed refresh.
const CLAIMED: &str = "claimed";

/// Where one refresh token's coordination stands in this isolate.
#[derive(Debug, Clone)]
enum Phase {
    /// A store operation is with the host.
    Asked(StoreOp),
    /// This instance holds the claim on this store key: it refreshes, then publishes or
    /// releases.
    Owner(String),
    /// The owner's outcome is in: this publish or release is to be asked next.
    Settle(StoreOp),
    /// Refresh here alone, for this reason.
    Local(&'static str),
}

/// Phases kept at most; past it a refresh goes uncoordinated (the refresher's own cap on
/// calls in flight still holds).
const MAX_PHASES: usize = 256;

/// The coordination of one gate's refreshes (`refresh.coordination`).
pub struct Coordinator {
    sealer: Sealer,
    /// The HMAC-SHA-256 key of store keys.
    hash_key: Hmac<Sha256>,
    wait: f64,
    claim_ttl: f64,
    timeout: f64,
    grace: f64,
    /// How long a phase may last before it is forgotten (its host never reported).
    horizon: f64,
    /// The refresher's key of each refresh token under way, its phase, and since when (a
    /// few at a time: a list is smaller code than another map).
    phases: Mutex<Vec<(Key, Phase, f64)>>,
}

impl Coordinator {
    /// The coordinator of `options`, for a refresher with this `grace` and token-request
    /// `timeout` (seconds).
    pub fn new(options: &CoordinationOptions, grace: f64, timeout: f64) -> Result<Coordinator> {
        let what = "refresh.coordination.secret";
        let secrets: Vec<String> = options
            .secret
            .iter()
            .chain(&options.secrets)
            .cloned()
            .collect();
        let sealer = Sealer::new(&secrets, what)?;
        let hash_key = hkdf_sha256(
            secrets[0].as_bytes(),
            b"edgegate seal",
            b"refresh store key",
            32,
        )
        .ok_or_else(|| Error::ConfigInvalid(what.into()))?;
        let wait = Duration::within(
            options.wait_duration.as_ref(),
            &durations::COORDINATION_WAIT,
        )?;
        let claim_ttl = Duration::within(options.claim_ttl.as_ref(), &durations::CLAIM_TTL)?;
        let store_timeout =
            Duration::within(options.timeout_duration.as_ref(), &durations::STORE_TIMEOUT)?;
        if claim_ttl <= timeout || store_timeout <= 0.0 {
            return Err(Error::ConfigInvalid(
                "refresh.coordination: claimTtl must be longer than refresh.timeoutDuration, \
                 and timeoutDuration more than 0"
                    .into(),
            ));
        }
        Ok(Coordinator {
            sealer,
            hash_key: <Hmac<Sha256> as Mac>::new_from_slice(&hash_key).map_err(|_| {
                Error::ConfigInvalid("refresh.coordination: key derivation failed".into())
            })?,
            wait,
            claim_ttl,
            timeout: store_timeout,
            grace,
            horizon: timeout + wait + 2.0 * store_timeout + 5.0,
            phases: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(Key, Phase, f64)>> {
        self.phases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store key of `refresh_token`.
    fn store_key(&self, refresh_token: &str) -> String {
        // The HMAC-SHA-256 the route mark links already.
        let mut mac = self.hash_key.clone();
        mac.update(refresh_token.as_bytes());
        format!(
            "edgegate:refresh:{}",
            Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes())
        )
    }

    fn op(&self, action: StoreAction, key: String, value: String, ttl: f64, wait: f64) -> StoreOp {
        StoreOp {
            id: fresh_fetch_id(),
            action,
            key,
            value,
            ttl_ms: ms(ttl),
            wait_ms: ms(wait),
            timeout_ms: ms(self.timeout),
        }
    }

    /// The store operation a request refreshing with `refresh_token` (its single-flight
    /// `key` among the refresher's `calls`) needs first, if any.
    pub(crate) fn ask(
        &self,
        calls: &Calls<Result<Tokens>>,
        key: Key,
        refresh_token: &str,
        now: f64,
    ) -> Option<StoreOp> {
        let mut phases = self.lock();
        phases.retain(|(_, _, since)| now - since <= self.horizon);
        let at = phases.iter().position(|(k, ..)| *k == key);
        let op = match at.map(|i| &phases[i].1) {
            // A claim or read with the host: join it.
            Some(Phase::Asked(op))
                if matches!(op.action, StoreAction::Claim | StoreAction::Read) =>
            {
                return Some(op.clone())
            }
            // The owner's outcome is in: one request publishes it (or releases the claim).
            Some(Phase::Settle(op)) => op.clone(),
            // Refreshing here (owner or alone), or publishing: the refresher's own call.
            Some(_) => return None,
            None if calls.has(key, now) || phases.len() >= MAX_PHASES => return None,
            None => self.op(
                StoreAction::Claim,
                self.store_key(refresh_token),
                CLAIMED.into(),
                self.claim_ttl,
                0.0,
            ),
        };
        let phase = (key, Phase::Asked(op.clone()), now);
        match at {
            Some(i) => phases[i] = phase,
            None => phases.push(phase),
        }
        Some(op)
    }

    /// Applies the host's report on operation `id`; an outcome read from the store joins
    /// the refresher's `calls`, as if its call had been made here.
    pub(crate) fn stored(&self, calls: &Calls<Result<Tokens>>, id: u64, stored: Stored, now: f64) {
        use StoreAction::*;
        let mut phases = self.lock();
        let Some((at, key, op)) =
            phases
                .iter()
                .enumerate()
                .find_map(|(i, (key, phase, _))| match phase {
                    Phase::Asked(op) if op.id == id => Some((i, *key, op.clone())),
                    _ => None,
                })
        else {
            return;
        };
        let mut read = None;
        let next = match (op.action, stored) {
            (Claim, Stored::Answered(None)) => Some(Phase::Owner(op.key)),
            (Claim, Stored::Answered(Some(v))) if v == CLAIMED => {
                Some(Phase::Asked(self.op(Read, op.key, v, 0.0, self.wait)))
            }
            (Read, Stored::Answered(Some(v))) if v == CLAIMED => {
                Some(Phase::Local("no outcome within waitDuration"))
            }
            (Claim | Read, Stored::Answered(Some(v))) => match self.open(&op.key, &v, now) {
                Ok(outcome) => {
                    read = Some(outcome);
                    None
                }
                Err(why) => Some(Phase::Local(why)),
            },
            (Read, Stored::Answered(None)) => {
                Some(Phase::Local("the claim was released without an outcome"))
            }
            (Claim | Read, Stored::Failed) => Some(Phase::Local("the store failed or timed out")),
            (Publish | Release, _) => None,
        };
        match next {
            Some(phase) => phases[at] = (key, phase, now),
            None => drop(phases.swap_remove(at)),
        }
        drop(phases);
        if let Some((outcome, at)) = read {
            calls.remember(key, outcome, at, now);
        }
    }

    /// The refresh under `key` ended in this isolate with `outcome` at `now`: the owner's is
    /// to be published (or its claim released); one that went uncoordinated says why.
    pub(crate) fn completed(&self, key: Key, outcome: &mut Result<Tokens>, now: f64) {
        let mut phases = self.lock();
        let Some(at) = phases.iter().position(|(k, ..)| *k == key) else {
            return;
        };
        match &phases[at].1 {
            Phase::Owner(store_key) => {
                let op = match self.seal(store_key, outcome, now) {
                    Some(sealed) => self.op(
                        StoreAction::Publish,
                        store_key.clone(),
                        sealed,
                        self.grace,
                        0.0,
                    ),
                    None => self.op(
                        StoreAction::Release,
                        store_key.clone(),
                        String::new(),
                        0.0,
                        0.0,
                    ),
                };
                phases[at] = (key, Phase::Settle(op), now);
            }
            Phase::Local(why) => {
                let why = *why;
                phases.swap_remove(at);
                match outcome {
                    Ok(tokens) => tokens.warning = Some(why),
                    Err(Error::RefreshFailed { reason, .. }) => {
                        reason.push_str(" (uncoordinated: ");
                        reason.push_str(why);
                        reason.push(')');
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }

    /// The outcome sealed for `store_key`: new tokens, or a refusal; `None` for failures that
    /// are no outcome to share (the endpoint could not be reached). The plaintext is `1`,
    /// the time and `expires_in` (f64, big-endian; NaN for none), the access token, a line
    /// feed and the refresh token; or `0` and the time.
    fn seal(&self, store_key: &str, outcome: &Result<Tokens>, at: f64) -> Option<String> {
        let mut plain = Vec::new();
        match outcome {
            Ok(t) if !t.access_token.contains('\n') => {
                plain.push(b'1');
                plain.extend(at.to_be_bytes());
                plain.extend(t.expires_in.unwrap_or(f64::NAN).to_be_bytes());
                plain.extend(t.access_token.as_bytes());
                plain.push(b'\n');
                plain.extend(t.refresh_token.as_deref().unwrap_or_default().as_bytes());
            }
            Err(Error::RefreshFailed {
                failure: RefreshFailure::Refused,
                ..
            }) => {
                plain.push(b'0');
                plain.extend(at.to_be_bytes());
            }
            _ => return None,
        }
        self.sealer.seal(store_key, &plain).ok()
    }

    /// An outcome read from the store under `key`, with its time; why not, when it does not
    /// open, is malformed, or is older than grace.
    fn open(
        &self,
        key: &str,
        sealed: &str,
        now: f64,
    ) -> std::result::Result<(Result<Tokens>, f64), &'static str> {
        let garbage = "the store answered a value that does not open";
        let plain = self.sealer.open(key, sealed).map_err(|_| garbage)?;
        let number = |at: usize| {
            plain
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(f64::from_be_bytes)
        };
        let at = number(1).ok_or(garbage)?;
        if at.is_nan() || now - at > self.grace {
            return Err("the outcome in the store is older than grace");
        }
        let outcome = match (plain[0], number(9), plain.get(17..).map(std::str::from_utf8)) {
            (b'1', Some(expires), Some(Ok(text))) => {
                let (access, refresh) = text.split_once('\n').filter(|(a, _)| !a.is_empty()).ok_or(garbage)?;
                Ok(Tokens {
                    access_token: access.into(),
                    refresh_token: (!refresh.is_empty()).then(|| refresh.into()),
                    expires_in: (!expires.is_nan()).then_some(expires),
                    id_token: None,
                    warning: None,
                })
            }
            (b'0', None, _) => Err(Error::RefreshFailed {
                reason: "the token endpoint refused the refresh token (HTTP 400 or 401, to another instance)".into(),
                failure: RefreshFailure::Refused,
            }),
            _ => return Err(garbage),
        };
        Ok((outcome, at))
    }
}

/// Seconds as whole milliseconds.
fn ms(secs: f64) -> u64 {
    (secs * 1000.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::fetch::{Fetched, Progress};
    use crate::session::refresh::Refresher;

    const T0: FixedClock = FixedClock(1_700_000_000.0);
    const SECRET: &str = "a-coordination-secret-of-32-bytes-or-more";
    const ENDPOINT: &str = "https://id.example/token";

    fn refresher() -> Refresher {
        let options = serde_json::json!({ "refresh": {
            "tokenEndpoint": ENDPOINT, "clientId": "web", "coordination": { "secret": SECRET }
        }});
        let options = crate::config::Options::from_json(&options.to_string()).unwrap();
        Refresher::new(&options.refresh.unwrap()).unwrap()
    }

    fn coordinator() -> Coordinator {
        let options = CoordinationOptions {
            secret: Some(SECRET.into()),
            secrets: vec![],
            wait_duration: None,
            claim_ttl: None,
            timeout_duration: None,
        };
        Coordinator::new(&options, 30.0, 5.0).unwrap()
    }

    fn at(secs: f64) -> f64 {
        T0.now() + secs
    }

    fn tokens(access: &str) -> Result<Tokens> {
        Ok(Tokens {
            access_token: access.into(),
            refresh_token: Some("rt-1".into()),
            expires_in: Some(300.0),
            id_token: None,
            warning: None,
        })
    }

    #[test]
    fn requests_share_an_operation_until_it_is_answered_or_forgotten() {
        let r = refresher();
        let claim = r.coordinate("rt", at(0.0)).unwrap();
        assert_eq!(claim.action, StoreAction::Claim);
        assert_eq!(r.coordinate("rt", at(1.0)).unwrap().id, claim.id, "joined");
        assert_ne!(r.coordinate("other", at(1.0)).unwrap().id, claim.id);
        // Never answered: after the horizon (5 + 6 + 2 + 5 s) a new claim.
        assert_eq!(r.coordinate("rt", at(18.0)).unwrap().id, claim.id);
        let again = r.coordinate("rt", at(18.5)).unwrap();
        assert_ne!(again.id, claim.id);
        // Answered: the claim is ours, and the refresher's own single-flight takes over.
        r.stored(again.id, Stored::Answered(None), at(19.0));
        assert_eq!(r.coordinate("rt", at(19.0)), None);
        // A late report of the forgotten operation changes nothing.
        r.stored(claim.id, Stored::Answered(Some(CLAIMED.into())), at(19.0));
        assert_eq!(r.coordinate("rt", at(19.0)), None);
    }

    #[test]
    fn the_owner_publishes_once_and_its_outcome_serves_the_isolate() {
        let r = refresher();
        let claim = r.coordinate("rt", at(0.0)).unwrap();
        r.stored(claim.id, Stored::Answered(None), at(0.0));
        let Progress::NeedsFetch(call) = r.refresh("rt", ENDPOINT, at(0.0)) else {
            panic!()
        };
        let body = r#"{"access_token":"access","token_type":"Bearer","refresh_token":"rt-1","expires_in":300}"#;
        assert!(r.complete(
            call.id,
            Fetched::Response {
                status: 200,
                body: body.into()
            },
            at(1.0)
        ));
        let publish = r.coordinate("rt", at(1.0)).unwrap();
        assert_eq!(
            (publish.action, publish.key.as_str(), publish.ttl_ms),
            (StoreAction::Publish, claim.key.as_str(), 30_000)
        );
        assert_eq!(
            r.coordinate("rt", at(1.0)),
            None,
            "the others take the outcome without waiting"
        );
        r.stored(publish.id, Stored::Answered(None), at(1.1));
        assert_eq!(
            r.coordinate("rt", at(2.0)),
            None,
            "the outcome is at hand: nothing to ask"
        );
        assert!(matches!(
            r.refresh("rt", ENDPOINT, at(2.0)),
            Progress::Done(Ok(_))
        ));
        // What was published opens under this key, within grace, and under no other key.
        let c = coordinator();
        let (opened, published) = c.open(&claim.key, &publish.value, at(30.0)).unwrap();
        assert_eq!((opened, published), (tokens("access"), at(1.0)));
        assert_eq!(
            c.open(&claim.key, &publish.value, at(31.5)).unwrap_err(),
            "the outcome in the store is older than grace"
        );
        assert!(
            c.open(&c.store_key("another"), &publish.value, at(2.0))
                .is_err(),
            "bound to its key"
        );
        assert_eq!(
            c.store_key("rt"),
            claim.key,
            "the same key from the same secret, in every instance"
        );
    }

    #[test]
    fn what_cannot_be_shared_is_released() {
        let c = coordinator();
        let key = c.store_key("rt");
        let unreachable = Err(Error::RefreshFailed {
            reason: "down".into(),
            failure: RefreshFailure::Unreachable,
        });
        assert_eq!(c.seal(&key, &unreachable, at(0.0)), None);
        assert_eq!(c.seal(&key, &tokens("with\nnewline"), at(0.0)), None);
        let refused = Err(Error::RefreshFailed {
            reason: "no".into(),
            failure: RefreshFailure::Refused,
        });
        let sealed = c.seal(&key, &refused, at(0.0)).unwrap();
        assert!(matches!(
            c.open(&key, &sealed, at(1.0)),
            Ok((
                Err(Error::RefreshFailed {
                    failure: RefreshFailure::Refused,
                    ..
                }),
                _
            ))
        ));
        // An owner whose call could not be made releases its claim.
        let r = refresher();
        let claim = r.coordinate("rt", at(0.0)).unwrap();
        r.stored(claim.id, Stored::Answered(None), at(0.0));
        let Progress::NeedsFetch(call) = r.refresh("rt", ENDPOINT, at(0.0)) else {
            panic!()
        };
        r.complete(call.id, Fetched::Timeout, at(5.0));
        let release = r.coordinate("rt", at(5.0)).unwrap();
        assert_eq!(
            (release.action, release.key),
            (StoreAction::Release, claim.key)
        );
    }

    #[test]
    fn coordinated_refreshes_under_way_are_bounded() {
        let r = refresher();
        for i in 0..MAX_PHASES {
            assert!(r.coordinate(&format!("rt-{i}"), at(0.0)).is_some());
        }
        assert_eq!(
            r.coordinate("one-more", at(0.0)),
            None,
            "uncoordinated past the bound"
        );
        assert!(
            r.coordinate("one-more", at(19.0)).is_some(),
            "room again once the rest is forgotten"
        );
    }
}
