//! OpenID Connect Back-Channel Logout 1.0 (`login.backchannelLogout`). When a user's
//! session at the provider ends (signed out by an admin, from another app, or expired),
//! the provider posts a logout token to `<prefix>/backchannel-logout`; the gate checks it
//! (§2.6) and records what it ends, and from then on every decision refuses those sessions
//! (`ERR_SESSION_ENDED`: a page goes to the login, an API answers 401, the cookies go).
//!
//! A record is one of three, each kept for the session's lifetime (`token.refreshMaxAge`):
//! - `sid`: the provider session `sid` is over (a token with `sid`);
//! - `sub`: every session of `sub` that logged in before the token's `iat` is over (a token
//!   with `sub` alone);
//! - `nosid`: the same, for the sessions of `sub` whose `sid` the gate cannot see (a token
//!   with both: a stolen session without its ID-token cookie must not escape a `sid`).
//!
//! A session's `sid` is its access token's, else that of the gate's sealed ID-token cookie
//! of the same `sub`; its login time is that ID token's `iat` (a refresh never rewrites
//! it). A session whose login time is unknown counts as older than any record.
//!
//! `store: "memory"` keeps the records in this instance. `store: "shared"` writes them
//! through the host's store (the refresh coordination's: Redis, a Durable Object) under
//! `edgegate:logout:<kind>:` + base64url(SHA-256(issuer, value)), the token's `jti` first
//! (set-if-absent: a second use is a replay), and an instance reads a session's two records
//! at most once per `recheckDuration`. Its own records it knows at once.

use std::sync::{Mutex, MutexGuard};

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

use super::*;
use crate::config::BackchannelLogoutOptions;
use crate::fetch::{fresh_fetch_id, Fetch, MAX_FETCH_ROUNDS};
use crate::session::{StoreAction, StoreOp, Stored};

/// The logout event (§2.4): `events` must hold this member, an object.
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How old a logout token may be (`iat`), beyond the clock tolerance. Its `jti` is
/// remembered as long as it could be accepted.
const MAX_AGE: f64 = 600.0;

/// Store readings, posts and the memory store's `jti`s kept at most in one instance; past
/// it the oldest goes (a reading is asked again).
const MAX_ENTRIES: usize = 10_000;

/// Records one instance keeps (each lives a session's lifetime). A full memory store
/// refuses a logout (503, the provider sees it failed) rather than forget one; the shared
/// store's own records are a cache here, the oldest dropped.
const MAX_RECORDS: usize = 100_000;

/// What a record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sid,
    Sub,
    NoSid,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sid => "sid",
            Kind::Sub => "sub",
            Kind::NoSid => "nosid",
        }
    }
}

/// A record this instance knows: what it ends, its logout time, until when it lives.
struct Record {
    kind: Kind,
    value: String,
    at: f64,
    until: f64,
}

/// A store reading of one record.
enum Read {
    Asked,
    /// The record's logout time, or none.
    Answered(Option<f64>),
    Failed,
}

struct Reading {
    kind: Kind,
    value: String,
    op: StoreOp,
    read: Read,
    since: f64,
}

/// A logout post writing its records and `jti` through the store, one operation a round:
/// the last one asked, its step in the post's plan, and its answer once the host reports it.
struct Post {
    id: u64,
    step: usize,
    answer: Option<Stored>,
}

#[derive(Default)]
struct State {
    records: Vec<Record>,
    /// The memory store's used `jti`s, until when.
    jtis: Vec<(String, f64)>,
    readings: Vec<Reading>,
    posts: Vec<Post>,
}

/// Whether a session was ended at the provider.
pub(crate) enum Check {
    Live,
    Ended,
    /// The store could not say (or, explaining, was not asked).
    Unknown,
    /// Read this record first, then ask again.
    Ask(StoreOp),
}

/// What the logout route needs next.
pub(crate) enum Posted {
    Done(Decision),
    Fetch(Fetch),
    Store(StoreOp),
    /// The request's body, at most this many bytes.
    Body(usize),
    Signature(HostCheck),
}

/// The records of ended sessions, and the logout route's checks.
pub(crate) struct Backchannel {
    issuer: String,
    /// Logout tokens: the ID tokens' keys and `iss`, `aud`, `exp`; `sub` optional.
    verifier: Verifier,
    shared: bool,
    recheck: f64,
    timeout: f64,
    pub(crate) allow_on_store_error: bool,
    /// How long records live: the session's lifetime.
    ttl: f64,
    state: Mutex<State>,
}

impl Backchannel {
    pub(crate) fn new(
        options: &BackchannelLogoutOptions,
        id_tokens: &Verifier,
        session_lifetime: f64,
    ) -> Result<Backchannel> {
        // `exp` is checked when present: Keycloak before 22.0.8, Ory Hydra and others send
        // none, and `iat` within 10 minutes bounds the token's age anyway.
        let policy = ClaimsPolicy {
            required_claims: vec!["iat".into()],
            require_exp: false,
            ..id_tokens.policy().clone()
        };
        // A cache, so a post's later rounds (its store operations) do not have the host
        // check the signature again.
        let verifier = Verifier::new(
            id_tokens.algorithms().to_vec(),
            id_tokens.key_resolver(),
            policy,
        )
        .with_cache(16);
        let issuer = id_tokens.policy().issuer[0].as_str();
        let recheck = Duration::within(
            options.recheck_duration.as_ref(),
            &durations::LOGOUT_RECHECK,
        )?;
        let timeout = Duration::within(
            options.timeout_duration.as_ref(),
            &durations::LOGOUT_STORE_TIMEOUT,
        )?;
        if timeout <= 0.0 {
            return Err(Error::ConfigInvalid(
                "login.backchannelLogout.timeoutDuration must be more than 0".into(),
            ));
        }
        Ok(Backchannel {
            issuer: issuer.into(),
            verifier,
            shared: options.store == 0,
            recheck,
            timeout,
            allow_on_store_error: options.allow_on_store_error,
            ttl: session_lifetime,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store key of a record (or, `Kind` aside, of a `jti`).
    fn store_key(&self, kind: &str, value: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(self.issuer.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
        format!(
            "edgegate:logout:{kind}:{}",
            Base64UrlUnpadded::encode_string(&hash.finalize())
        )
    }

    fn op(&self, action: StoreAction, key: String, value: String, ttl: f64) -> StoreOp {
        StoreOp {
            id: fresh_fetch_id(),
            action,
            key,
            value,
            ttl_ms: (ttl.max(1.0) * 1000.0) as u64,
            wait_ms: 0,
            timeout_ms: (self.timeout * 1000.0) as u64,
        }
    }

    /// Is store operation `id` one of these?
    pub(crate) fn owns(&self, id: u64) -> bool {
        let state = self.lock();
        state.readings.iter().any(|r| r.op.id == id) || state.posts.iter().any(|p| p.id == id)
    }

    /// Applies the host's report on operation `id`.
    pub(crate) fn stored(&self, id: u64, stored: Stored, now: f64) {
        let mut state = self.lock();
        if let Some(r) = state.readings.iter_mut().find(|r| r.op.id == id) {
            r.read = match stored {
                Stored::Answered(value) => Read::Answered(value.map(|v| logout_time(&v))),
                Stored::Failed => Read::Failed,
            };
            r.since = now;
        } else if let Some(p) = state.posts.iter_mut().find(|p| p.id == id) {
            p.answer = Some(stored);
        }
    }

    /// Whether the session of `sub` (with `sid`, if known, logged in at `login`, if known)
    /// was ended, after `round`. `explaining`: ask no store.
    pub(crate) fn check(
        &self,
        sub: Option<&str>,
        sid: Option<&str>,
        login: Option<f64>,
        round: Round,
        now: f64,
        explaining: bool,
    ) -> Check {
        let keys = match (sid, sub) {
            (Some(sid), sub) => [Some((Kind::Sid, sid)), sub.map(|s| (Kind::Sub, s))],
            (None, Some(sub)) => [Some((Kind::Sub, sub)), Some((Kind::NoSid, sub))],
            // Nothing names the session: no logout can.
            (None, None) => return Check::Live,
        };
        let ends = |kind: Kind, at: f64| kind == Kind::Sid || login.is_none_or(|t| t < at);
        let mut state = self.lock();
        state.records.retain(|r| r.until > now);
        let mut unread = None;
        for (kind, value) in keys.into_iter().flatten() {
            let is = |k: Kind, v: &str| k == kind && v == value;
            let local = state.records.iter().find(|r| is(r.kind, &r.value));
            if local.is_some_and(|r| ends(kind, r.at)) {
                return Check::Ended;
            }
            // Shared: the store may hold a later record than this instance's own.
            if !self.shared {
                continue;
            }
            match state.readings.iter().find(|r| is(r.kind, &r.value)) {
                Some(Reading {
                    read: Read::Answered(at),
                    since,
                    ..
                }) if now - since < self.recheck => {
                    if at.is_some_and(|at| ends(kind, at)) {
                        return Check::Ended;
                    }
                }
                _ => {
                    unread.get_or_insert((kind, value));
                }
            }
        }
        let Some((kind, value)) = unread else {
            return Check::Live;
        };
        if explaining {
            return Check::Unknown;
        }
        let at = (state.readings.iter()).position(|r| r.kind == kind && r.value == value);
        if let Some(r) = at.map(|i| &state.readings[i]) {
            let waited = round.after == Some(r.op.id);
            match r.read {
                // This request waited on it, and it failed (or was never reported).
                Read::Failed | Read::Asked if waited => return Check::Unknown,
                // Another request's reading under way: join it.
                Read::Asked if now - r.since <= self.timeout + 1.0 => {
                    return Check::Ask(r.op.clone())
                }
                _ => {}
            }
        }
        if round.fetches >= MAX_FETCH_ROUNDS {
            return Check::Unknown;
        }
        let key = self.store_key(kind.name(), value);
        let op = self.op(StoreAction::Read, key, String::new(), 0.0);
        let reading = Reading {
            kind,
            value: value.into(),
            op: op.clone(),
            read: Read::Asked,
            since: now,
        };
        match at {
            Some(i) => state.readings[i] = reading,
            None => {
                if state.readings.len() >= MAX_ENTRIES {
                    state.readings.remove(0);
                }
                state.readings.push(reading);
            }
        }
        Check::Ask(op)
    }
}

/// A stored logout time; one this gate did not write ends every session (fail closed).
fn logout_time(value: &str) -> f64 {
    value.parse::<u64>().map_or(f64::INFINITY, |t| t as f64)
}

impl Login {
    /// `POST <prefix>/backchannel-logout`: the logout token (§2.6), then its records.
    pub(crate) fn backchannel_logout(
        &self,
        request: &Request,
        body: Option<&str>,
        round: Round,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> Posted {
        let Some(bc) = &self.backchannel else {
            return Posted::Done(bad("no back-channel logout"));
        };
        if request.method != "POST" {
            return Posted::Done(refused(
                LoginError::Method,
                "the back-channel logout takes POST",
                method_not_allowed(),
            ));
        }
        let form = is_form(request);
        if !form {
            return Posted::Done(bad("the body is not a form"));
        }
        let Some(body) = body else {
            return Posted::Body(MAX_FORM);
        };
        if body.len() > MAX_FORM {
            return Posted::Done(bad("the body is too large"));
        }
        let token = match transaction::query_params(Some(body), &["logout_token"]) {
            Ok(mut p) => p.remove(0),
            Err(_) => None,
        };
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Posted::Done(bad("no logout_token, or more than one"));
        };
        let verified = match bc.verifier.verify_progress(&token, now, verdict) {
            Err(unverified) => {
                return Posted::Signature(HostCheck {
                    unverified,
                    checker: Checker::IdToken,
                })
            }
            Ok(Progress::NeedsFetch(f)) if round.fetches < MAX_FETCH_ROUNDS => {
                return Posted::Fetch(f)
            }
            Ok(Progress::NeedsFetch(_)) => return Posted::Done(unavailable()),
            Ok(Progress::Done(Err(e))) if e.is_keys_unavailable() => {
                return Posted::Done(unavailable())
            }
            Ok(Progress::Done(Err(e))) => return Posted::Done(bad(e.to_string())),
            Ok(Progress::Done(Ok(v))) => v,
        };
        let claims = match logout_claims(&token, &verified.claims, now) {
            Ok(c) => c,
            Err(why) => return Posted::Done(bad(why)),
        };
        let LogoutClaims { jti, sid, sub, iat } = claims;
        let records: Vec<(Kind, &str)> = match (sid, sub) {
            (Some(sid), Some(sub)) => vec![(Kind::Sid, sid), (Kind::NoSid, sub)],
            (Some(sid), None) => vec![(Kind::Sid, sid)],
            (None, Some(sub)) => vec![(Kind::Sub, sub)],
            (None, None) => return Posted::Done(bad("neither sid nor sub")),
        };
        let local: Vec<Record> = records
            .iter()
            .map(|&(kind, value)| Record {
                kind,
                value: value.into(),
                at: iat,
                until: now + bc.ttl,
            })
            .collect();
        // The jti is remembered while the token could still be accepted.
        let jti_until = iat + MAX_AGE + CLOCK_TOLERANCE;
        let mut state = bc.lock();
        if !bc.shared {
            state.jtis.retain(|(_, until)| *until > now);
            state.records.retain(|r| r.until > now);
            if state.jtis.iter().any(|(j, _)| j == jti) {
                return Posted::Done(replayed());
            }
            let new = local.iter().filter(|r| {
                let known = |o: &Record| o.kind == r.kind && o.value == r.value;
                !state.records.iter().any(known)
            });
            if state.records.len() + new.count() > MAX_RECORDS {
                return Posted::Done(unavailable());
            }
            if state.jtis.len() >= MAX_ENTRIES {
                state.jtis.remove(0);
            }
            state.jtis.push((jti.to_owned(), jti_until));
            remember(&mut state.records, local);
            return Posted::Done(recorded());
        }
        // Shared: each record (a `sub` one read first, and written only if it moves the time
        // later: a late or replayed token must not revive sessions), then the jti's claim,
        // last, so that a provider retrying after a failure writes the records again. One
        // store operation a round; each round reads the same token, so the same plan.
        let mut plan: Vec<(StoreAction, &str, &str)> = Vec::new();
        for &(kind, value) in &records {
            if kind != Kind::Sid {
                plan.push((StoreAction::Read, kind.name(), value));
            }
            plan.push((StoreAction::Publish, kind.name(), value));
        }
        plan.push((StoreAction::Claim, "jti", jti));
        let post = state.posts.iter().position(|p| round.after == Some(p.id));
        let next = match post.map(|i| state.posts.remove(i)) {
            None => 0,
            Some(Post { step, answer, .. }) => match (plan[step].0, answer) {
                (_, Some(Stored::Failed) | None) => return Posted::Done(unavailable()),
                (StoreAction::Read, Some(Stored::Answered(Some(at))))
                    if logout_time(&at) >= iat =>
                {
                    step + 2
                }
                (StoreAction::Claim, Some(Stored::Answered(first))) => {
                    // Known here at once, a replay's records being the same.
                    remember(&mut state.records, local);
                    return Posted::Done(match first {
                        None => recorded(),
                        Some(_) => replayed(),
                    });
                }
                _ => step + 1,
            },
        };
        if round.fetches >= MAX_FETCH_ROUNDS {
            return Posted::Done(unavailable());
        }
        let (action, kind, value) = plan[next];
        let op = match action {
            StoreAction::Claim => {
                let key = bc.store_key("jti", value);
                bc.op(action, key, "used".into(), jti_until - now)
            }
            _ => {
                let key = bc.store_key(kind, value);
                bc.op(action, key, (iat as u64).to_string(), bc.ttl)
            }
        };
        if state.posts.len() >= MAX_ENTRIES {
            state.posts.remove(0);
        }
        state.posts.push(Post {
            id: op.id,
            step: next,
            answer: None,
        });
        Posted::Store(op)
    }
}

/// The clock tolerance of logout tokens, as of ID tokens.
const CLOCK_TOLERANCE: f64 = 60.0;

/// A logout token's claims that matter, checked.
struct LogoutClaims<'a> {
    jti: &'a str,
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    iat: f64,
}

/// §2.4 and §2.6 beyond the signature, `iss`, `aud` and `exp` (the verifier's): the `typ`
/// header if any, `iat` recent, `jti`, the logout event, `sid` and/or `sub`, no `nonce`
/// (an ID token is not a logout token).
fn logout_claims<'a>(
    token: &str,
    claims: &'a Map<String, Value>,
    now: f64,
) -> std::result::Result<LogoutClaims<'a>, &'static str> {
    let typ = crate::verify::jws::parse(token)
        .ok()
        .and_then(|j| j.header.typ)
        .map(|t| t.to_ascii_lowercase());
    if let Some(t) = typ {
        let t = t.strip_prefix("application/").unwrap_or(&t);
        if t != "logout+jwt" && t != "jwt" {
            return Err("typ is not logout+jwt");
        }
    }
    let iat = claims.get("iat").and_then(Value::as_f64).unwrap_or(-1.0);
    if !(now - MAX_AGE - CLOCK_TOLERANCE..=now + CLOCK_TOLERANCE).contains(&iat) {
        return Err("iat is missing, in the future or too old");
    }
    let event = claims
        .get("events")
        .and_then(|e| e.get(EVENT))
        .is_some_and(Value::is_object);
    if !event {
        return Err("events holds no back-channel logout event");
    }
    if claims.contains_key("nonce") {
        return Err("a logout token has no nonce");
    }
    // Present, each must be a string that is not empty; one of them must be.
    let text = |name| match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        Some(_) => Err("jti, sid or sub is not a string"),
    };
    let (jti, sid, sub) = (text("jti")?, text("sid")?, text("sub")?);
    let jti = jti.ok_or("no jti")?;
    if sid.is_none() && sub.is_none() {
        return Err("neither sid nor sub");
    }
    Ok(LogoutClaims {
        jti,
        sid,
        sub,
        iat: iat.floor(),
    })
}

fn remember(records: &mut Vec<Record>, new: Vec<Record>) {
    for r in new {
        let newer = |old: &Record| old.kind == r.kind && old.value == r.value && old.at >= r.at;
        if records.iter().any(newer) {
            continue;
        }
        records.retain(|old| old.kind != r.kind || old.value != r.value);
        if records.len() >= MAX_RECORDS {
            records.remove(0);
        }
        records.push(r);
    }
}

fn recorded() -> Decision {
    Decision::passed(Passed::LogoutRecorded, json(200, "{}"), Under::NONE, None)
}

/// A refused logout token: why, for the logs; the provider is told only that it was refused
/// (§2.8: 400), as a token endpoint tells a client.
fn bad(why: impl Into<String>) -> Decision {
    Decision::refused(
        Error::Login(LoginError::LogoutToken, why.into()),
        json(400, r#"{"error":"invalid_request"}"#),
        Under::NONE,
    )
}

fn replayed() -> Decision {
    Decision::refused(
        Error::Login(LoginError::LogoutReplayed, "this jti was used".into()),
        json(400, r#"{"error":"invalid_request"}"#),
        Under::NONE,
    )
}

fn unavailable() -> Decision {
    Decision::refused(
        Error::Login(
            LoginError::Unavailable,
            "the logout could not be recorded".into(),
        ),
        json(503, r#"{"error":"temporarily_unavailable"}"#),
        Under::NONE,
    )
}

impl Login {
    /// Whether the session whose verified access token has `claims` was ended at the
    /// provider (see the module comment). `cookie`: the gate's own session cookies, whose
    /// user the sealed ID-token cookie names, whoever signs its access tokens; else a
    /// bearer, the login's issuer's only.
    pub(crate) fn check_session(
        &self,
        request: &Request,
        cookie: bool,
        claims: &Map<String, Value>,
        round: Round,
        now: f64,
        explaining: bool,
    ) -> Check {
        let Some(bc) = &self.backchannel else {
            return Check::Live;
        };
        let text = |c: &Map<String, Value>, name| c.get(name)?.as_str().map(str::to_owned);
        let ours = claims.get("iss").and_then(Value::as_str) == Some(self.issuer.as_str());
        let (sub, sid, login) = if cookie {
            // Every login seals one: a session without it, or with another user's, is not
            // one the gate can vouch was not ended (stolen cookies, the ID cookie dropped).
            let Some(id) = self.id_claims(request, request.secure()) else {
                return Check::Ended;
            };
            if ours && text(&id, "sub") != text(claims, "sub") {
                return Check::Ended;
            }
            let sid = ours.then(|| text(claims, "sid")).flatten();
            let login = id.get("iat").and_then(Value::as_f64);
            (text(&id, "sub"), sid.or_else(|| text(&id, "sid")), login)
        } else if ours {
            // A bearer (an API client's): its own sid, and issued when it says.
            let issued = claims.get("iat").and_then(Value::as_f64);
            (text(claims, "sub"), text(claims, "sid"), issued)
        } else {
            return Check::Live;
        };
        bc.check(
            sub.as_deref(),
            sid.as_deref(),
            login,
            round,
            now,
            explaining,
        )
    }
}
