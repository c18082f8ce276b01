//! Token refresh at the edge, against a scripted token endpoint and a clock the test moves:
//! mandatory and early refresh, single-flight, the grace window, failures that end the
//! session (cookies cleared) and failures that do not. The same against a real provider
//! with rotation is tests/e2e/refresh.test.mjs.
mod common;

use std::cell::RefCell;
use std::sync::Arc;

use common::*;
use edgegate::{Action, Decision, Gate, Options, Request, Step};
use edgegate::{Fetch, Fetched};
use serde_json::{json, Value};

const ENDPOINT: &str = "https://id.example/oauth/token";
const URL: &str = "https://app.example";

/// A token endpoint the test scripts; it counts calls and rotates refresh tokens.
struct Endpoint {
    calls: RefCell<Vec<Fetch>>,
    answer: RefCell<Option<(u16, String)>>,
}

impl Endpoint {
    fn new() -> Self {
        Endpoint {
            calls: RefCell::new(Vec::new()),
            answer: RefCell::new(None),
        }
    }

    fn count(&self) -> usize {
        self.calls.borrow().len()
    }

    fn serve(&self, f: &Fetch, now: f64) -> Fetched {
        self.calls.borrow_mut().push(f.clone());
        if let Some((status, body)) = self.answer.borrow().clone() {
            return Fetched::Response { status, body };
        }
        let n = self.count();
        token_response(n, now, &format!("refreshed-{n}"))
    }
}

fn refresh_gate(secret: Option<&str>, extra: Value) -> (Gate, Arc<ManualClock>) {
    let mut refresh = json!({ "tokenEndpoint": ENDPOINT, "clientId": "web app" });
    if let Some(s) = secret {
        refresh["clientSecret"] = json!(s);
    }
    let mut o = options(&["HS256"], json!(SECRET), json!({ "refresh": refresh }));
    if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
        o.extend(e);
    }
    let clock = ManualClock::at(NOW);
    let gate =
        Gate::with_clock(Options::from_json(&o.to_string()).unwrap(), clock.clone()).unwrap();
    (gate, clock)
}

fn request(path: &str, cookie: &str) -> Request<'static> {
    get(&format!("{URL}{path}"), &[("cookie", cookie)])
}

fn run(gate: &Gate, ep: &Endpoint, clock: &ManualClock, r: &Request) -> Decision {
    gate.decide_with(r, |f| ep.serve(f, clock.now()))
}

use edgegate::Clock as _;

fn expired() -> String {
    token("HS256", &hmac_key(), &claims(json!({ "exp": NOW - 1.0 })))
}

#[test]
fn an_expired_session_is_refreshed_and_stored_again() {
    let (gate, clock) = refresh_gate(Some("s3cret:&"), json!({}));
    let ep = Endpoint::new();
    for (name, cookie) in [
        (
            "access cookie expired",
            format!(
                "__Host-token={}; __Host-refreshToken=rt-0; theme=dark",
                expired()
            ),
        ),
        (
            "access cookie gone (Max-Age passed)",
            "__Host-refreshToken=rt-0; theme=dark".to_string(),
        ),
    ] {
        let (gate, clock) = (&gate, &clock);
        let before = ep.count();
        let d = run(gate, &ep, clock, &request("/api/stocks", &cookie));
        assert_eq!(d.code, "OK_REFRESHED", "{name}: {d:?}");
        assert_eq!(ep.count(), before + 1);
        let headers = forwarded(&d);
        let bearer = header(headers, "authorization").unwrap();
        assert!(bearer.starts_with("Bearer ey"), "{name}");
        assert_eq!(
            header(headers, "cookie"),
            Some("theme=dark"),
            "no session cookie goes upstream"
        );
        assert_eq!(d.set_cookies.len(), 2);
        assert!(d.set_cookies[0].starts_with(&format!("__Host-token={}; ", &bearer[7..])));
        assert!(d.set_cookies[0].ends_with("Secure; Max-Age=900"));
        assert!(d.set_cookies[1].starts_with(&format!("__Host-refreshToken=rt-{}; ", ep.count())));
        clock.advance(60.0); // past the grace window: the next case refreshes anew
    }
    // What the endpoint received: RFC 6749 §6, client_secret_basic with form-encoded parts.
    let call = ep.calls.borrow()[0].clone();
    assert_eq!((call.method, call.url.as_str()), ("POST", ENDPOINT));
    assert_eq!(
        call.body.as_deref(),
        Some("grant_type=refresh_token&refresh_token=rt-0")
    );
    let auth = call
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap();
    assert_eq!(auth.1, format!("Basic {}", b64_std("web+app:s3cret%3A%26")));
}

fn b64_std(s: &str) -> String {
    use base64ct::{Base64, Encoding};
    Base64::encode_string(s.as_bytes())
}

#[test]
fn a_public_client_names_itself_in_the_body() {
    let (gate, clock) = refresh_gate(None, json!({}));
    let ep = Endpoint::new();
    run(
        &gate,
        &ep,
        &clock,
        &request("/api/x", "__Host-refreshToken=a+b"),
    );
    let call = ep.calls.borrow()[0].clone();
    assert_eq!(
        call.body.as_deref(),
        Some("grant_type=refresh_token&refresh_token=a%2Bb&client_id=web+app")
    );
    assert!(!call.headers.iter().any(|(n, _)| n == "authorization"));
}

#[test]
fn concurrent_requests_share_one_refresh_and_late_ones_get_the_same_tokens() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    let requests: Vec<Request> = (0..50)
        .map(|i| {
            request(
                &format!("/api/item/{i}"),
                &format!("__Host-token={}; __Host-refreshToken=rt-0", expired()),
            )
        })
        .collect();
    let tickets: Vec<Fetch> = requests
        .iter()
        .map(|r| match gate.begin(r) {
            Step::NeedsFetch(f) => f,
            other => panic!("expected a refresh, got {other:?}"),
        })
        .collect();
    assert!(
        tickets.iter().all(|t| t.id == tickets[0].id),
        "one call for 50 requests"
    );
    assert!(gate.complete(tickets[0].id, ep.serve(&tickets[0], NOW)));
    let mut bearers = std::collections::HashSet::new();
    for r in &requests {
        let d = match gate.begin_round(r, 1) {
            Step::Decided(d) => d,
            Step::NeedsSignature(p) => {
                let ok = p.unverified.check_here();
                gate.resume(p, ok)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(d.code, "OK_REFRESHED");
        bearers.insert(header(forwarded(&d), "authorization").unwrap().to_string());
    }
    assert_eq!((ep.count(), bearers.len()), (1, 1));
    // Within the grace window, a request still holding the rotated token gets the result.
    clock.advance(20.0);
    let d = run(&gate, &ep, &clock, &requests[0]);
    assert_eq!((d.code, ep.count()), ("OK_REFRESHED", 1));
    // After it, the old refresh token goes to the provider again (which would refuse it).
    clock.advance(11.0);
    run(&gate, &ep, &clock, &requests[0]);
    assert_eq!(ep.count(), 2);
    println!("50 concurrent requests with one expired session: 1 token-endpoint call");
}

#[test]
fn a_refused_refresh_ends_the_session() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    *ep.answer.borrow_mut() = Some((400, r#"{"error":"invalid_grant"}"#.into()));
    let cookie = format!("__Host-token={}; __Host-refreshToken=revoked", expired());
    let api = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!((status(&api), api.code), (401, "ERR_REFRESH_FAILED"));
    let removed =
        |name: &str| format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0");
    let mut cleared = vec![removed("__Host-token")];
    cleared.extend((0..10).map(|i| removed(&format!("__Host-token.{i}"))));
    cleared.push(removed("__Host-refreshToken"));
    assert_eq!(api.set_cookies, cleared);
    // The engine's own answer carrying cookies is never for a shared cache.
    let Action::Respond { headers, .. } = &api.action else {
        panic!("{api:?}")
    };
    let cache: Vec<_> = headers
        .iter()
        .filter(|(n, _)| n == "cache-control")
        .collect();
    assert_eq!(
        cache,
        [&("cache-control".into(), "private, no-store".into())]
    );
    let page = run(&gate, &ep, &clock, &request("/dashboard", &cookie));
    assert!(
        matches!(&page.action, Action::Redirect { location } if location.starts_with("/login?returnTo="))
    );
    assert_eq!(page.set_cookies, cleared);
    assert_eq!(
        ep.count(),
        1,
        "the refusal is remembered for the grace window"
    );
}

/// A provider that cannot be reached is the provider's fault, not the user's: the request is
/// answered 503 (a 401 or a login redirect would tell a signed-in user they are not), the
/// session is kept, and the refresh is tried again seconds later — not after the grace
/// period, which kept every session failing for 30 s after the provider was back (found by
/// the chaos run, tests/e2e/chaos.test.mjs).
#[test]
fn an_unreachable_endpoint_is_unavailable_keeps_the_session_and_is_retried_soon() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    *ep.answer.borrow_mut() = Some((503, "busy".into()));
    let cookie = format!("__Host-token={}; __Host-refreshToken=rt", expired());
    let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!((status(&d), d.code), (503, "ERR_REFRESH_FAILED"));
    assert!(
        d.set_cookies.is_empty(),
        "the refresh token may work again later"
    );
    let page = run(&gate, &ep, &clock, &request("/dashboard", &cookie));
    assert_eq!((status(&page), page.code), (503, "ERR_REFRESH_FAILED"));
    assert!(page.set_cookies.is_empty());
    assert_eq!(ep.count(), 1, "requests right behind share the failure");

    // The provider is back: within seconds the same session refreshes.
    *ep.answer.borrow_mut() = None;
    clock.advance(edgegate::session::RETRY_AFTER_UNREACHABLE + 0.5);
    let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!((status(&d), d.code), (200, "OK_REFRESHED"));
    assert_eq!(ep.count(), 2);

    // With keysUnavailableStatus 401 the provider's outage is a 401, as for its keys.
    let (gate, clock) = refresh_gate(Some("s"), json!({ "keysUnavailableStatus": 401 }));
    *ep.answer.borrow_mut() = Some((503, "busy".into()));
    let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!((status(&d), d.code), (401, "ERR_REFRESH_FAILED"));
}

#[test]
fn refreshing_early_keeps_the_current_token_when_it_fails() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    let soon = token("HS256", &hmac_key(), &claims(json!({ "exp": NOW + 30.0 })));
    let cookie = format!("__Host-token={soon}; __Host-refreshToken=rt");
    let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!(
        (d.code, ep.count()),
        ("OK_REFRESHED", 1),
        "within the 60 s window"
    );
    // A fresh isolate whose early refresh is refused: the still-valid token is used.
    *ep.answer.borrow_mut() = Some((400, "{}".into()));
    let (gate2, clock2) = refresh_gate(Some("s"), json!({}));
    let d = run(&gate2, &ep, &clock2, &request("/api/x", &cookie));
    assert_eq!(d.code, "OK_AUTHENTICATED", "{d:?}");
    assert_eq!(
        header(forwarded(&d), "authorization"),
        Some(format!("Bearer {soon}").as_str())
    );
    assert!(d.set_cookies.is_empty());
    // ...but not one that would expire on its way to the backend: with under 2 s left it
    // is refreshed as an expired one is, and while the provider is down, not forwarded.
    let last_second = token("HS256", &hmac_key(), &claims(json!({ "exp": NOW + 1.5 })));
    let cookie = format!("__Host-token={last_second}; __Host-refreshToken=rt");
    *ep.answer.borrow_mut() = Some((503, "down".into()));
    let (gate3, clock3) = refresh_gate(Some("s"), json!({}));
    let d = run(&gate3, &ep, &clock3, &request("/api/x", &cookie));
    assert_eq!((status(&d), d.code), (503, "ERR_REFRESH_FAILED"));
    *ep.answer.borrow_mut() = None;
    clock3.advance(edgegate::session::RETRY_AFTER_UNREACHABLE + 0.1);
    let d = run(&gate3, &ep, &clock3, &request("/api/x", &cookie));
    assert_eq!(d.code, "OK_REFRESHED");
    // Far from expiry, no refresh at all.
    let fresh = token("HS256", &hmac_key(), &claims(json!({})));
    let before = ep.count();
    run(
        &gate2,
        &ep,
        &clock2,
        &request(
            "/api/x",
            &format!("__Host-token={fresh}; __Host-refreshToken=rt"),
        ),
    );
    assert_eq!(ep.count(), before);
}

#[test]
fn the_new_token_is_verified_like_any_other() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    let cookie = format!("__Host-token={}; __Host-refreshToken=rt", expired());
    for (body, code) in [
        // Signed with another key.
        (
            json!({ "access_token": token("HS256", &SignKey::Hmac(b"another-secret-of-at-least-32-bytes!!".to_vec()), &claims(json!({}))), "token_type": "Bearer" }),
            "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        ),
        // For another audience.
        (
            json!({ "access_token": token("HS256", &hmac_key(), &claims(json!({ "aud": "other" }))), "token_type": "Bearer" }),
            "ERR_JWT_CLAIM_VALIDATION_FAILED",
        ),
        // DPoP-bound: cannot be forwarded as a bearer.
        (
            json!({ "access_token": token("HS256", &hmac_key(), &claims(json!({}))), "token_type": "DPoP" }),
            "ERR_REFRESH_FAILED",
        ),
        (json!({ "token_type": "Bearer" }), "ERR_REFRESH_FAILED"),
    ] {
        *ep.answer.borrow_mut() = Some((200, body.to_string()));
        clock.advance(60.0);
        let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
        assert_eq!((status(&d), d.code), (401, code), "{body}");
    }
}

#[test]
fn no_refresh_for_bearer_headers_guest_pages_or_cross_site_posts() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    let r = get(
        &format!("{URL}/api/x"),
        &[("authorization", &format!("Bearer {}", expired()))],
    );
    assert_eq!(run(&gate, &ep, &clock, &r).code, "ERR_JWT_EXPIRED");
    let guest = run(
        &gate,
        &ep,
        &clock,
        &request("/login", "__Host-refreshToken=rt"),
    );
    assert_eq!(guest.code, "OK_GUEST");
    let mut post = request("/api/x", "__Host-refreshToken=rt");
    post.method = "POST".into();
    post.headers
        .push(("sec-fetch-site".into(), "cross-site".into()));
    assert_eq!(run(&gate, &ep, &clock, &post).code, "ERR_CSRF");
    assert_eq!(ep.count(), 0);
    // Without refresh configured, a lone refresh cookie is no session.
    let plain = common::gate(&options(&["HS256"], json!(SECRET), json!({})));
    assert_eq!(
        plain
            .decide(&request("/api/x", "__Host-refreshToken=rt"))
            .code,
        "ERR_NO_TOKEN"
    );
}

#[test]
fn refresh_configuration_is_checked() {
    for (refresh, code) in [
        (
            json!({ "tokenEndpoint": "http://id.example/token", "clientId": "a" }),
            "ERR_CONFIG_URL",
        ),
        (
            json!({ "tokenEndpoint": ENDPOINT, "clientId": "" }),
            "ERR_CONFIG_INVALID",
        ),
        (json!({ "tokenEndpoint": ENDPOINT }), "ERR_CONFIG_INVALID"),
        (
            json!({ "tokenEndpoint": ENDPOINT, "clientId": "a", "window": 7200 }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "tokenEndpoint": ENDPOINT, "clientId": "a", "timeoutDuration": 0 }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "tokenEndpoint": ENDPOINT, "clientId": "a", "extra": 1 }),
            "ERR_CONFIG_INVALID",
        ),
    ] {
        let err = build(&options(
            &["HS256"],
            json!(SECRET),
            json!({ "refresh": refresh.clone() }),
        ))
        .expect_err(&refresh.to_string());
        assert_eq!(err.code(), code, "{refresh}");
    }
}

#[test]
fn made_up_refresh_tokens_cannot_flood_the_provider() {
    use edgegate::session::MAX_REFRESHES_IN_FLIGHT;
    let (gate, _) = refresh_gate(Some("s"), json!({}));
    let mut tickets = std::collections::HashSet::new();
    let mut refused = 0;
    for i in 0..200 {
        match gate.begin(&request(
            "/api/x",
            &format!("__Host-refreshToken=forged-{i}"),
        )) {
            Step::NeedsFetch(f) => {
                tickets.insert(f.id);
            }
            Step::Decided(d) => {
                assert_eq!((status(&d), d.code), (503, "ERR_REFRESH_FAILED"));
                assert!(
                    d.set_cookies.is_empty(),
                    "not the user's fault: nothing cleared"
                );
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (tickets.len(), refused),
        (MAX_REFRESHES_IN_FLIGHT, 200 - MAX_REFRESHES_IN_FLIGHT)
    );
    println!(
        "200 made-up refresh tokens at once: {} token-endpoint calls, {refused} refused",
        tickets.len()
    );
}

/// An Entra-sized token from the refresh: stored in chunks, read back from them on the next
/// request; a smaller one later removes the chunks the browser held.
#[test]
fn a_refresh_that_grows_or_shrinks_the_token_rewrites_its_chunks() {
    let (gate, clock) = refresh_gate(Some("s"), json!({}));
    let ep = Endpoint::new();
    let sized = |groups: usize, rt: &str| {
        let now = clock.now();
        let claims =
            claims(json!({ "iat": now, "exp": now + 900.0, "groups": "g".repeat(groups) }));
        let access = token("HS256", &hmac_key(), &claims);
        let body = json!({ "access_token": access, "token_type": "Bearer", "refresh_token": rt, "expires_in": 900 });
        *ep.answer.borrow_mut() = Some((200, body.to_string()));
        access
    };
    let mut jar = Jar(vec![("__Host-refreshToken".into(), "rt-0".into())]);
    let big = sized(7000, "rt-1");
    let d = run(
        &gate,
        &ep,
        &clock,
        &request("/api/x", "__Host-refreshToken=rt-0"),
    );
    assert_eq!(d.code, "OK_REFRESHED", "{d:?}");
    jar.apply(&d.set_cookies);
    let cookie = jar.header();
    assert_eq!(
        jar.names(),
        [
            "__Host-refreshToken",
            "__Host-token.0",
            "__Host-token.1",
            "__Host-token.2"
        ]
    );
    let again = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!(again.code, "OK_AUTHENTICATED", "{again:?}");
    assert_eq!(
        header(forwarded(&again), "authorization"),
        Some(&*format!("Bearer {big}"))
    );
    // The token runs out; the provider's next one is small again.
    clock.advance(1000.0);
    let small = sized(10, "rt-2");
    let d = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!(d.code, "OK_REFRESHED", "{d:?}");
    jar.apply(&d.set_cookies);
    let cookie = jar.header();
    assert_eq!(jar.names(), ["__Host-refreshToken", "__Host-token"]);
    let again = run(&gate, &ep, &clock, &request("/api/x", &cookie));
    assert_eq!(
        header(forwarded(&again), "authorization"),
        Some(&*format!("Bearer {small}"))
    );
}
