//! OpenID Connect Back-Channel Logout 1.0 against the scripted provider: logout tokens
//! checked as §2.6 says (each refusal with its code, ending nothing), the sessions they end
//! refused on every instance sharing a store (at once where the token landed, within
//! `recheckDuration` elsewhere), a stolen session that drops its ID-token cookie ended all
//! the same, logins after a logout live, and the store's failures answered by policy. The
//! same against oidc-provider, `next start` and workerd is tests/e2e/backchannel.test.mjs.
mod common;
#[path = "common/login.rs"]
mod login_common;

use std::cell::RefCell;
use std::collections::HashMap;

use common::*;
use edgegate::session::{StoreAction, StoreOp, Stored};
use edgegate::{Clock as _, Decision, Gate, Options, Request, Round, Step};
use login_common::*;
use serde_json::{json, Value};

/// A shared store (Redis, a Durable Object) as the instances see it.
#[derive(Default)]
struct Store {
    entries: RefCell<HashMap<String, String>>,
    fail: RefCell<bool>,
    /// Fail this one kind of operation.
    fail_on: RefCell<Option<StoreAction>>,
    ops: RefCell<Vec<StoreOp>>,
}

impl Store {
    fn perform(&self, op: &StoreOp) -> Stored {
        self.ops.borrow_mut().push(op.clone());
        if *self.fail.borrow() || *self.fail_on.borrow() == Some(op.action) {
            return Stored::Failed;
        }
        let mut entries = self.entries.borrow_mut();
        let found = entries.get(&op.key).cloned();
        match op.action {
            StoreAction::Claim if found.is_none() => {
                entries.insert(op.key.clone(), op.value.clone());
            }
            StoreAction::Publish => {
                entries.insert(op.key.clone(), op.value.clone());
            }
            _ => {}
        }
        Stored::Answered(found.filter(|_| op.action != StoreAction::Publish))
    }

    fn reads(&self) -> usize {
        let ops = self.ops.borrow();
        ops.iter().filter(|o| o.action == StoreAction::Read).count()
    }
}

/// Instances of one app behind a shared store, before one provider.
struct App {
    env: Env,
    /// Another instance: its own memory, the same options, store, provider and clock.
    other: Gate,
    store: Store,
}

fn options(backchannel: Value) -> Value {
    login_options(json!({ "login": { "backchannelLogout": backchannel } }))
}

impl App {
    fn new(backchannel: Value) -> App {
        App::with(json!({}), backchannel)
    }

    /// `extra` options beside `login.backchannelLogout`.
    fn with(extra: Value, backchannel: Value) -> App {
        let mut extra = extra;
        merge(
            &mut extra,
            json!({ "login": { "backchannelLogout": backchannel } }),
        );
        let env = Env::new(extra.clone());
        let parsed = Options::from_json(&login_options(extra).to_string()).unwrap();
        let other = Gate::with_clock(parsed, env.clock.clone()).unwrap();
        App {
            env,
            other,
            store: Store::default(),
        }
    }

    fn shared() -> App {
        App::new(json!({ "store": "shared" }))
    }

    /// `r` on `gate` to its decision: fetches from the provider, store operations on the
    /// store, the body (when asked for) `body`, signatures checked here.
    fn on(&self, gate: &Gate, r: &Request, body: &str) -> Decision {
        let mut round = Round::default();
        let mut given = None;
        let mut step = gate.begin_round(r, round);
        loop {
            step = match step {
                Step::Decided(d) => return d,
                Step::NeedsSignature(p) => {
                    let valid = p.unverified.check_here();
                    gate.resume_step(p, valid)
                }
                Step::NeedsFetch(f) => {
                    gate.complete(f.id, self.env.idp.serve(&f, self.env.clock.now()));
                    round = round.next(f.id);
                    gate.begin_body(r, round, given)
                }
                Step::NeedsStore(op) => {
                    gate.stored(op.id, self.store.perform(&op));
                    round = round.next(op.id);
                    gate.begin_body(r, round, given)
                }
                Step::NeedsBody(max) => {
                    assert!(given.is_none(), "the body asked for twice");
                    assert!(max >= 4096, "room for a logout token: {max}");
                    given = Some(body);
                    gate.begin_body(r, round, given)
                }
            }
        }
    }

    /// A login of `ada` on the first instance, the provider's session `sid`: the cookie jar.
    fn log_in(&self, sid: &str) -> String {
        self.log_in_as("ada", sid)
    }

    fn log_in_as(&self, user: &str, sid: &str) -> String {
        *self.env.idp.user.borrow_mut() = Some(user.into());
        *self.env.idp.id_claims.borrow_mut() = json!({ "sid": sid });
        let d = self.env.log_in("");
        set(&d).join("; ")
    }

    fn page(&self, gate: &Gate, jar: &str) -> Decision {
        self.on(
            gate,
            &get(&format!("{APP}/dashboard"), &[("cookie", jar)]),
            "",
        )
    }

    fn api(&self, gate: &Gate, jar: &str) -> Decision {
        self.on(gate, &get(&format!("{APP}/api/x"), &[("cookie", jar)]), "")
    }

    /// The provider posting `token` to `gate`.
    fn post(&self, gate: &Gate, token: &str) -> Decision {
        let r = post_form(&format!("{APP}/auth/backchannel-logout"));
        self.on(gate, &r, &format!("logout_token={token}"))
    }
}

fn post_form(url: &str) -> Request<'static> {
    let mut r = get(
        url,
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    r.method = "POST".into();
    r
}

/// The subject of the session in `jar`, from its access token.
fn sub_of(jar: &str) -> String {
    let token = jar
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-token="))
        .unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_str(&decode_b64(payload)).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

fn decode_b64(s: &str) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    String::from_utf8(Base64UrlUnpadded::decode_vec(s).unwrap()).unwrap()
}

/// A logout token as the provider signs it (§2.4), `extra`'s members in place of its own
/// (null removes one).
fn logout_token(now: f64, extra: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120.0,
        "jti": format!("jti-{}", rand_id()),
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    for (k, v) in extra.as_object().unwrap() {
        match v {
            Value::Null => claims.as_object_mut().unwrap().remove(k),
            v => claims.as_object_mut().unwrap().insert(k.clone(), v.clone()),
        };
    }
    sign_raw(
        "RS256",
        &rsa_key(),
        r#"{"alg":"RS256","kid":"k1","typ":"logout+jwt"}"#,
        claims.to_string().as_bytes(),
    )
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn ended(d: &Decision, status_code: u16) {
    assert_eq!(
        (d.code, status(d)),
        ("ERR_SESSION_ENDED", status_code),
        "{d:#?}"
    );
    let cleared = |name: &str| {
        d.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
    };
    for name in ["__Host-token", "__Host-refreshToken", "__Host-idToken"] {
        assert!(cleared(name), "{name} not cleared: {:#?}", d.set_cookies);
    }
}

fn live(d: &Decision) {
    assert!(is_continue(d), "{d:#?}");
}

#[test]
fn a_logout_ends_the_session_here_at_once_and_on_every_instance_within_the_recheck() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let sub = sub_of(&jar);
    for gate in [&app.env.gate, &app.other] {
        live(&app.page(gate, &jar));
        live(&app.api(gate, &jar));
    }

    let now = app.env.clock.now();
    let d = app.post(
        &app.env.gate,
        &logout_token(now, json!({ "sid": "sid-1", "sub": sub })),
    );
    assert_eq!((d.code, status(&d)), ("OK_LOGOUT_RECORDED", 200), "{d:#?}");
    assert_eq!(
        header(response_headers(&d), "cache-control"),
        Some("private, no-store")
    );

    // Where it landed: at once. A page goes to the login, an API answers 401.
    let page = app.page(&app.env.gate, &jar);
    ended(&page, 307);
    assert!(
        matches!(&page.action, edgegate::Action::Redirect { location }
            if location == "/auth/login?returnTo=%2Fdashboard"),
        "{page:#?}"
    );
    ended(&app.api(&app.env.gate, &jar), 401);

    // Elsewhere: its "not ended" holds for recheckDuration (10 s), then it reads again.
    live(&app.page(&app.other, &jar));
    app.env.clock.advance(11.0);
    ended(&app.page(&app.other, &jar), 307);
    ended(&app.api(&app.other, &jar), 401);

    // The user signs in again: a new provider session, live everywhere.
    app.env.clock.advance(1.0);
    let again = app.log_in("sid-2");
    assert_eq!(sub_of(&again), sub, "the same user");
    for gate in [&app.env.gate, &app.other] {
        live(&app.page(gate, &again));
    }
}

#[test]
fn a_session_reads_the_store_at_most_once_per_recheck() {
    let app = App::new(json!({ "store": "shared", "recheckDuration": "30s" }));
    let jar = app.log_in("sid-1");
    live(&app.api(&app.other, &jar));
    let after_first = app.store.reads();
    assert_eq!(after_first, 2, "the sid's record and the sub's");
    for _ in 0..20 {
        live(&app.api(&app.other, &jar));
    }
    assert_eq!(app.store.reads(), after_first, "cached for recheckDuration");
    app.env.clock.advance(31.0);
    live(&app.api(&app.other, &jar));
    assert_eq!(app.store.reads(), after_first + 2);
}

#[test]
fn a_logout_by_sub_ends_the_sessions_that_began_before_it_only() {
    let app = App::shared();
    let before = app.log_in("sid-1");
    let sub = sub_of(&before);
    app.env.clock.advance(5.0);
    let now = app.env.clock.now();
    let d = app.post(&app.other, &logout_token(now, json!({ "sub": sub })));
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    app.env.clock.advance(11.0);
    for gate in [&app.env.gate, &app.other] {
        ended(&app.page(gate, &before), 307);
    }
    // Logged in after the logout: live.
    let after = app.log_in("sid-9");
    for gate in [&app.env.gate, &app.other] {
        live(&app.page(gate, &after));
    }
    // Another user: untouched.
    *app.env.idp.user.borrow_mut() = None;
    let (_, login) = app.env.start("%2F", "");
    let d = app.env.callback(&login.query(), &login.tx);
    let someone = set(&d).join("; ");
    assert_ne!(sub_of(&someone), sub);
    live(&app.page(&app.env.gate, &someone));
}

/// Every login seals who logged in (the ID-token cookie): token cookies without it, or with
/// another user's, are no session the gate can vouch for, before any logout and after.
#[test]
fn a_cookie_session_without_its_own_id_cookie_is_refused() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let without_id: String = jar
        .split("; ")
        .filter(|c| !c.starts_with("__Host-idToken="))
        .collect::<Vec<_>>()
        .join("; ");
    // The thief's own ID-token cookie beside the stolen tokens.
    let theirs = app.log_in_as("mallory", "sid-theirs");
    let their_id = theirs
        .split("; ")
        .find(|c| c.starts_with("__Host-idToken="))
        .unwrap();
    let with_theirs = format!("{without_id}; {their_id}");
    for stolen in [&without_id, &with_theirs] {
        for gate in [&app.env.gate, &app.other] {
            ended(&app.page(gate, stolen), 307);
        }
    }
    live(&app.page(&app.env.gate, &jar));

    // So a sid-only logout reaches a session however its cookies are sent.
    let now = app.env.clock.now();
    let d = app.post(&app.env.gate, &logout_token(now, json!({ "sid": "sid-1" })));
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    ended(&app.page(&app.env.gate, &jar), 307);
}

/// A login whose ID token is too large for a cookie (Entra, Keycloak with many groups)
/// keeps who logged in all the same: a logout ends it, and the next login lives.
#[test]
fn a_session_whose_id_token_is_too_large_for_a_cookie_is_ended_and_logs_in_again() {
    let app = App::shared();
    let groups: Vec<String> = (0..200).map(|i| format!("group-{i:04}")).collect();
    *app.env.idp.user.borrow_mut() = Some("ada".into());
    *app.env.idp.id_claims.borrow_mut() = json!({ "sid": "sid-1", "groups": groups.clone() });
    let jar = set(&app.env.log_in("")).join("; ");
    let id = jar
        .split("; ")
        .find(|c| c.starts_with("__Host-idToken="))
        .unwrap();
    assert!(id.len() < 1024, "the identity alone: {}", id.len());
    live(&app.page(&app.other, &jar));
    let now = app.env.clock.now();
    let token = logout_token(now, json!({ "sid": "sid-1", "sub": "ada" }));
    assert_eq!(app.post(&app.env.gate, &token).code, "OK_LOGOUT_RECORDED");
    ended(&app.page(&app.env.gate, &jar), 307);
    app.env.clock.advance(11.0);
    ended(&app.page(&app.other, &jar), 307);
    // Signed in again (a new provider session): live, not locked out for the records' life.
    *app.env.idp.id_claims.borrow_mut() = json!({ "sid": "sid-2", "groups": groups });
    let again = set(&app.env.log_in("")).join("; ");
    for gate in [&app.env.gate, &app.other] {
        live(&app.page(gate, &again));
    }
}

/// Access tokens of another issuer than the login's (an API's own authorization server):
/// the session is the login's, and its logout ends it.
#[test]
fn a_session_whose_access_tokens_another_issuer_signs_is_ended() {
    let app = App::with(
        json!({ "verify": { "issuer": API_ISSUER } }),
        json!({ "store": "shared" }),
    );
    *app.env.idp.access_iss.borrow_mut() = API_ISSUER.into();
    let jar = app.log_in("sid-1");
    live(&app.page(&app.env.gate, &jar));
    let now = app.env.clock.now();
    let d = app.post(&app.env.gate, &logout_token(now, json!({ "sid": "sid-1" })));
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    ended(&app.page(&app.env.gate, &jar), 307);
    app.env.clock.advance(11.0);
    ended(&app.page(&app.other, &jar), 307);
}

/// A later logout recorded elsewhere is read even where an earlier one of the same user is
/// known; an earlier one arriving late does not move the store's time back.
#[test]
fn the_latest_logout_of_a_user_wins_on_every_instance() {
    let app = App::shared();
    let first = app.log_in("sid-1");
    app.env.clock.advance(1.0);
    let now = app.env.clock.now();
    let early = logout_token(now, json!({ "sub": "ada" }));
    assert_eq!(app.post(&app.env.gate, &early).code, "OK_LOGOUT_RECORDED");
    ended(&app.page(&app.env.gate, &first), 307);
    app.env.clock.advance(5.0);
    let second = app.log_in("sid-2");
    live(&app.page(&app.env.gate, &second));
    app.env.clock.advance(5.0);
    let later = logout_token(app.env.clock.now(), json!({ "sub": "ada" }));
    assert_eq!(app.post(&app.other, &later).code, "OK_LOGOUT_RECORDED");
    app.env.clock.advance(11.0);
    // The first instance knows the early one itself, and still reads the later one.
    ended(&app.page(&app.env.gate, &second), 307);

    // An earlier token (another jti) delivered late: the store keeps the later time.
    let stale = logout_token(now + 1.0, json!({ "sub": "ada" }));
    assert_eq!(app.post(&app.other, &stale).code, "OK_LOGOUT_RECORDED");
    let times: Vec<String> = app
        .store
        .entries
        .borrow()
        .values()
        .filter(|v| *v != "used")
        .cloned()
        .collect();
    assert_eq!(times, [((now + 10.0) as u64).to_string()], "{times:?}");
}

/// A logout whose records could not all be written answers 503; the provider's retry of the
/// same token writes them and is not taken for a replay.
#[test]
fn a_retry_after_a_failed_write_is_recorded_not_refused() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let now = app.env.clock.now();
    let token = logout_token(now, json!({ "sid": "sid-1", "sub": "ada" }));
    *app.store.fail_on.borrow_mut() = Some(StoreAction::Publish);
    let d = app.post(&app.env.gate, &token);
    assert_eq!(
        (d.code, status(&d)),
        ("ERR_LOGIN_UNAVAILABLE", 503),
        "{d:#?}"
    );
    *app.store.fail_on.borrow_mut() = None;
    let d = app.post(&app.env.gate, &token);
    assert_eq!((d.code, status(&d)), ("OK_LOGOUT_RECORDED", 200), "{d:#?}");
    app.env.clock.advance(11.0);
    ended(&app.page(&app.other, &jar), 307);
    assert_eq!(app.post(&app.other, &token).code, "ERR_LOGOUT_REPLAYED");
}

/// A session refreshed on its way in, then not checkable: 503, and the new tokens kept
/// (its old refresh token is spent), never cleared.
#[test]
fn a_refreshed_session_the_store_cannot_check_keeps_its_new_tokens() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    app.env.clock.advance(301.0);
    *app.store.fail.borrow_mut() = true;
    let d = app.page(&app.other, &jar);
    assert_eq!(
        (d.code, status(&d)),
        ("ERR_SESSION_UNCHECKED", 503),
        "{d:#?}"
    );
    let token = d
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-token="))
        .unwrap();
    assert!(
        !token.starts_with("__Host-token=;"),
        "the refreshed token is stored: {token}"
    );
    assert!(
        d.set_cookies.iter().all(|c| !c.contains("Max-Age=0")),
        "{:#?}",
        d.set_cookies
    );
}

#[test]
fn a_bearer_from_an_api_client_is_ended_by_its_sub() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let sub = sub_of(&jar);
    let token = jar
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-token="))
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let api = |gate: &Gate| {
        let r = get(&format!("{APP}/api/x"), &[("authorization", &bearer)]);
        app.on(gate, &r, "")
    };
    live(&api(&app.env.gate));
    let now = app.env.clock.now();
    let d = app.post(
        &app.env.gate,
        &logout_token(now + 1.0, json!({ "sub": sub })),
    );
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    let d = api(&app.env.gate);
    assert_eq!((d.code, status(&d)), ("ERR_SESSION_ENDED", 401), "{d:#?}");
}

/// Every logout token §2.6 refuses: 400 with its code, and the session lives on.
#[test]
fn forged_foreign_stale_and_malformed_logout_tokens_end_nothing() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let sub = sub_of(&jar);
    let now = app.env.clock.now();
    let session = json!({ "sid": "sid-1", "sub": sub });
    // The session's sid and sub, then `extra` over them (its nulls remove claims).
    let with = |extra: Value| {
        let mut claims = session.clone();
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        logout_token(now, claims)
    };
    let foreign = {
        let claims = json!({ "iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120.0,
            "jti": "foreign", "sid": "sid-1", "sub": sub,
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} } });
        sign_raw(
            "RS256",
            &rsa2_key(),
            r#"{"alg":"RS256","kid":"k1","typ":"logout+jwt"}"#,
            claims.to_string().as_bytes(),
        )
    };
    let typed = |typ: &str| {
        let claims = json!({ "iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120.0,
            "jti": format!("typ-{typ}"), "sid": "sid-1",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} } });
        sign_raw(
            "RS256",
            &rsa_key(),
            &format!(r#"{{"alg":"RS256","kid":"k1","typ":"{typ}"}}"#),
            claims.to_string().as_bytes(),
        )
    };
    let cases = [
        ("signed with another key", foreign),
        ("another client's", with(json!({ "aud": "other-app" }))),
        (
            "another issuer's",
            with(json!({ "iss": "https://evil.example" })),
        ),
        ("expired", with(json!({ "exp": now - 61.0 }))),
        (
            "issued 20 minutes ago",
            with(json!({ "iat": now - 1200.0, "exp": now + 60.0 })),
        ),
        (
            "issued in the future",
            with(json!({ "iat": now + 600.0, "exp": now + 700.0 })),
        ),
        ("an ID token (nonce)", with(json!({ "nonce": "n" }))),
        ("without the event", with(json!({ "events": null }))),
        (
            "another event",
            with(json!({ "events": { "http://schemas.openid.net/event/other": {} } })),
        ),
        (
            "the event not an object",
            with(
                json!({ "events": { "http://schemas.openid.net/event/backchannel-logout": "yes" } }),
            ),
        ),
        ("without jti", with(json!({ "jti": null }))),
        (
            "neither sid nor sub",
            with(json!({ "sid": null, "sub": null })),
        ),
        ("sid a number", with(json!({ "sid": 7 }))),
        ("an access token's typ", typed("at+jwt")),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (what, token) in cases {
        let d = app.post(&app.env.gate, &token);
        assert_eq!(
            (d.code, status(&d)),
            ("ERR_LOGOUT_TOKEN", 400),
            "{what}: {d:#?}"
        );
        assert_eq!(body(&d)["error"], "invalid_request", "{what}");
        assert!(d.set_cookies.is_empty(), "{what}");
    }
    // Without exp (Keycloak before 22.0.8, Ory Hydra), its iat bounding its age: taken.
    let d = app.post(
        &app.env.gate,
        &with(json!({ "exp": null, "jti": "no-exp" })),
    );
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    // A logout+jwt typ in its media-type spelling is one.
    let d = app.post(&app.env.gate, &typed("application/logout+jwt"));
    assert_eq!(d.code, "OK_LOGOUT_RECORDED", "{d:#?}");
    app.env.clock.advance(1.0);
    let again = app.log_in("sid-2");
    live(&app.page(&app.env.gate, &again));
    live(&app.page(&app.other, &again));
}

#[test]
fn a_logout_token_is_taken_once_on_any_instance() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let now = app.env.clock.now();
    let token = logout_token(now, json!({ "sid": "sid-1" }));
    assert_eq!(app.post(&app.env.gate, &token).code, "OK_LOGOUT_RECORDED");
    for gate in [&app.env.gate, &app.other] {
        let d = app.post(gate, &token);
        assert_eq!((d.code, status(&d)), ("ERR_LOGOUT_REPLAYED", 400), "{d:#?}");
    }
    ended(&app.page(&app.env.gate, &jar), 307);

    // In memory, the same on the one instance.
    let one = App::new(json!({ "store": "memory" }));
    one.log_in("sid-1");
    let token = logout_token(now, json!({ "sid": "sid-1" }));
    assert_eq!(one.post(&one.env.gate, &token).code, "OK_LOGOUT_RECORDED");
    assert_eq!(one.post(&one.env.gate, &token).code, "ERR_LOGOUT_REPLAYED");
    assert!(
        one.store.ops.borrow().is_empty(),
        "memory: no store operation"
    );
}

#[test]
fn the_route_takes_a_form_post_only() {
    let app = App::shared();
    let url = format!("{APP}/auth/backchannel-logout");
    let now = app.env.clock.now();
    let token = logout_token(now, json!({ "sid": "s" }));
    let d = app.on(&app.env.gate, &get(&url, &[]), "");
    assert_eq!((d.code, status(&d)), ("ERR_LOGIN_METHOD", 405));
    let mut json_post = post_form(&url);
    json_post.headers = vec![("content-type".into(), "application/json".into())];
    let d = app.on(&app.env.gate, &json_post, &format!("logout_token={token}"));
    assert_eq!((d.code, status(&d)), ("ERR_LOGOUT_TOKEN", 400));
    let post = post_form(&url);
    for body in [
        String::new(),
        format!("logout_token={token}&logout_token={token}"),
        format!("logout_token={token}&pad={}", "x".repeat(20_000)),
        "logout_token=%zz".into(),
    ] {
        let d = app.on(&app.env.gate, &post, &body);
        assert_eq!(
            (d.code, status(&d)),
            ("ERR_LOGOUT_TOKEN", 400),
            "{body:.40}"
        );
    }
    // Without the option the path is no route of the gate's.
    let plain = Env::new(json!({}));
    let d = plain.decide(&post_form(&url));
    assert_eq!(d.code, "OK_PUBLIC");
}

#[test]
fn when_the_store_fails_sessions_are_unavailable_or_allowed_as_configured() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    *app.store.fail.borrow_mut() = true;
    let d = app.page(&app.other, &jar);
    assert_eq!(
        (d.code, status(&d)),
        ("ERR_SESSION_UNCHECKED", 503),
        "{d:#?}"
    );
    assert!(d.set_cookies.is_empty(), "the session is kept");
    let now = app.env.clock.now();
    let d = app.post(&app.env.gate, &logout_token(now, json!({ "sid": "sid-1" })));
    assert_eq!(
        (d.code, status(&d)),
        ("ERR_LOGIN_UNAVAILABLE", 503),
        "{d:#?}"
    );
    *app.store.fail.borrow_mut() = false;
    live(&app.page(&app.other, &jar));

    let lax = App::new(json!({ "store": "shared", "onStoreError": "allow" }));
    let jar = lax.log_in("sid-1");
    *lax.store.fail.borrow_mut() = true;
    live(&lax.page(&lax.other, &jar));
}

#[test]
fn a_value_the_gate_did_not_write_ends_the_session() {
    let app = App::shared();
    let jar = app.log_in("sid-1");
    let sub = sub_of(&jar);
    live(&app.page(&app.other, &jar));
    app.env.clock.advance(11.0);
    // Whatever sits under the sub's key and is no time: fail closed.
    let now = app.env.clock.now();
    app.post(&app.env.gate, &logout_token(now, json!({ "sub": sub })));
    for value in app.store.entries.borrow_mut().values_mut() {
        if value != "used" {
            *value = "garbage".into();
        }
    }
    ended(&app.page(&app.other, &jar), 307);
}

#[test]
fn bad_options_fail_at_construction() {
    for (backchannel, why) in [
        (json!({}), "store is required"),
        (json!({ "store": "redis" }), "store is shared or memory"),
        (
            json!({ "store": "shared", "recheckDuration": "2h" }),
            "recheck at most an hour",
        ),
        (
            json!({ "store": "shared", "timeoutDuration": "0s" }),
            "a timeout",
        ),
        (
            json!({ "store": "shared", "onStoreError": "ignore" }),
            "deny or allow",
        ),
        (
            json!({ "store": "shared", "storeTtl": "1d" }),
            "an unknown option",
        ),
    ] {
        let clock = ManualClock::at(NOW);
        let e = Options::from_json(&options(backchannel).to_string())
            .and_then(|o| Gate::with_clock(o, clock))
            .unwrap_err();
        assert_eq!(e.code(), "ERR_CONFIG_INVALID", "{why}: {e}");
    }
}

fn body(d: &Decision) -> Value {
    match &d.action {
        edgegate::Action::Respond { body, .. } => serde_json::from_str(body).unwrap(),
        other => panic!("not a response: {other:?}"),
    }
}
