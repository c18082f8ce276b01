//! Remote keys: the fetch policy (single-flight, cooldown, max age, stale-if-error, unknown
//! kid, rotation, size cap, discovery, persisted copies) and several providers, driven
//! through the engine with a scripted provider and a clock the test moves. The same
//! policy against real servers (oidc-provider, a faulty JWKS server) is tests/node/remote.
mod common;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use common::*;
use edgegate::MAX_FETCH_ROUNDS;
use edgegate::{Decision, Gate, Options, Step};
use edgegate::{Fetch, Fetched};
use serde_json::{json, Value};

fn rsa_jwk(pem: &str, kid: &str) -> Value {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let k = rsa::RsaPublicKey::from_public_key_pem(pem).unwrap();
    json!({ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64(k.n().to_bytes_be()), "e": b64(k.e().to_bytes_be()) })
}

fn ec_jwk(kid: &str) -> Value {
    use p256::pkcs8::DecodePublicKey;
    let k = p256::ecdsa::VerifyingKey::from_public_key_pem(EC_PUB).unwrap();
    let p = k.to_encoded_point(false);
    json!({ "kty": "EC", "crv": "P-256", "kid": kid, "x": b64(p.x().unwrap()), "y": b64(p.y().unwrap()) })
}

fn signed(alg: &str, key: &SignKey, kid: &str, claims: &Value) -> String {
    sign_raw(
        alg,
        key,
        &json!({ "alg": alg, "typ": "JWT", "kid": kid }).to_string(),
        claims.to_string().as_bytes(),
    )
}

/// What the scripted provider answers next.
#[derive(Clone)]
enum Answer {
    Jwks(Value),
    Status(u16),
    Body(String),
    Timeout,
    Down,
}

/// A provider the test scripts: it counts fetches and answers what it is told.
struct Provider {
    answer: RefCell<Answer>,
    discovery: RefCell<Option<Value>>,
    fetched: RefCell<Vec<Fetch>>,
}

impl Provider {
    fn new(answer: Answer) -> Self {
        Provider {
            answer: RefCell::new(answer),
            discovery: RefCell::new(None),
            fetched: RefCell::new(Vec::new()),
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.borrow_mut() = answer;
    }

    fn count(&self) -> usize {
        self.fetched.borrow().len()
    }

    fn serve(&self, f: &Fetch) -> Fetched {
        self.fetched.borrow_mut().push(f.clone());
        if f.url.ends_with("/.well-known/openid-configuration") {
            if let Some(doc) = self.discovery.borrow().clone() {
                return Fetched::Response {
                    status: 200,
                    body: doc.to_string(),
                };
            }
        }
        match self.answer.borrow().clone() {
            Answer::Jwks(v) => Fetched::Response {
                status: 200,
                body: v.to_string(),
            },
            Answer::Status(status) => Fetched::Response {
                status,
                body: "oops".into(),
            },
            Answer::Body(body) => Fetched::Response { status: 200, body },
            Answer::Timeout => Fetched::Timeout,
            Answer::Down => Fetched::Network("connection refused".into()),
        }
    }
}

const JWKS_URL: &str = "https://id.example/.well-known/jwks.json";

fn remote_options(extra_verify: Value, extra: Value) -> Value {
    let mut o = options(&["RS256", "ES256"], Value::Null, extra);
    let v = o["verify"].as_object_mut().unwrap();
    v.remove("keys");
    v.insert("jwksUri".into(), json!(JWKS_URL));
    if let Value::Object(e) = extra_verify {
        v.extend(e);
    }
    o
}

fn build_at(options: &Value, clock: &Arc<ManualClock>) -> edgegate::Result<Gate> {
    let opts = Options::from_json(&options.to_string())?;
    Gate::with_clock(opts, clock.clone())
}

fn setup(extra_verify: Value, extra: Value) -> (Gate, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(NOW)));
    let gate = build_at(&remote_options(extra_verify, extra), &clock).expect("gate builds");
    (gate, clock)
}

fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

fn rs_token(kid: &str, extra: Value) -> String {
    signed("RS256", &rsa_key(), kid, &claims(extra))
}

fn api(gate: &Gate, p: &Provider, token: &str) -> Decision {
    gate.decide_with(&with_cookie("/api/stocks", token), |f| p.serve(f))
}

#[test]
fn cold_start_fetches_once_then_serves_from_cache() {
    let (gate, _) = setup(json!({}), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    let d = api(&gate, &p, &rs_token("k1", json!({})));
    assert!(is_continue(&d), "{d:?}");
    assert_eq!(p.count(), 1);
    let ticket = p.fetched.borrow()[0].clone();
    assert_eq!(ticket.url, JWKS_URL);
    assert_eq!(ticket.timeout_ms, 5000);
    assert_eq!(ticket.max_bytes, 256 * 1024);
    assert_eq!(ticket.method, "GET");
    assert!(ticket
        .headers
        .iter()
        .any(|(n, v)| n == "user-agent" && v.starts_with("edgegate/")));
    assert!(ticket.may_use_stored);
    for sub in ["a", "b", "c"] {
        let d = api(&gate, &p, &rs_token("k1", json!({ "sub": sub })));
        assert!(is_continue(&d), "{d:?}");
    }
    assert_eq!(p.count(), 1, "warm keys need no fetch");
    println!("cold start: 1 fetch for 4 requests with 4 tokens");
}

#[test]
fn concurrent_cold_requests_share_one_fetch() {
    let (gate, _) = setup(json!({}), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    let requests: Vec<_> = (0..200)
        .map(|i| {
            with_cookie(
                "/api/stocks",
                &rs_token("k1", json!({ "sub": format!("u{i}") })),
            )
        })
        .collect();
    // All 200 arrive before the fetch completes: every one gets the same ticket.
    let tickets: Vec<Fetch> = requests
        .iter()
        .map(|r| match gate.begin(r) {
            Step::NeedsFetch(f) => f,
            other => panic!("expected a fetch, got {other:?}"),
        })
        .collect();
    assert!(tickets.iter().all(|t| t.id == tickets[0].id));
    assert!(gate.complete(tickets[0].id, p.serve(&tickets[0])));
    // A second report of the same ticket is ignored.
    assert!(!gate.complete(tickets[0].id, Fetched::Timeout));
    for r in &requests {
        match gate.begin_round(r, 1) {
            Step::NeedsSignature(pending) => {
                let ok = pending.unverified.check_here();
                assert!(is_continue(&gate.resume(pending, ok)));
            }
            other => panic!("expected keys to be ready, got {other:?}"),
        }
    }
    assert_eq!(p.count(), 1);
    println!("200 concurrent cold requests: {} fetch", p.count());
}

#[test]
fn provider_down_at_cold_start_fails_closed_then_retries_after_cooldown() {
    let (gate, clock) = setup(json!({}), json!({}));
    let p = Provider::new(Answer::Down);
    let token = rs_token("k1", json!({}));
    let d = api(&gate, &p, &token);
    assert_eq!((status(&d), d.code), (503, "ERR_JWKS_UNAVAILABLE"));
    let page = gate.decide_with(&with_cookie("/dashboard", &token), |f| p.serve(f));
    assert_eq!((status(&page), page.code), (503, "ERR_JWKS_UNAVAILABLE"));
    assert_eq!(p.count(), 1, "within the cooldown nothing is refetched");
    clock.advance(29.0);
    api(&gate, &p, &token);
    assert_eq!(p.count(), 1);
    p.set(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    clock.advance(1.0);
    assert!(is_continue(&api(&gate, &p, &token)));
    assert_eq!(p.count(), 2, "one retry after the 30 s cooldown");
}

#[test]
fn unavailable_keys_can_answer_401_and_login_instead() {
    let (gate, _) = setup(json!({}), json!({ "keysUnavailableStatus": 401 }));
    let p = Provider::new(Answer::Down);
    let token = rs_token("k1", json!({}));
    let d = api(&gate, &p, &token);
    assert_eq!((status(&d), d.code), (401, "ERR_JWKS_UNAVAILABLE"));
    let page = gate.decide_with(&with_cookie("/dashboard", &token), |f| p.serve(f));
    assert_eq!((status(&page), page.code), (307, "ERR_JWKS_UNAVAILABLE"));
}

#[test]
fn each_fault_has_its_code_and_never_replaces_good_keys() {
    let good = jwks(&[rsa_jwk(RSA_PUB, "k1")]);
    let cases = [
        ("timeout", Answer::Timeout, "ERR_JWKS_TIMEOUT"),
        ("HTTP 500", Answer::Status(500), "ERR_JWKS_UNAVAILABLE"),
        ("HTTP 404", Answer::Status(404), "ERR_JWKS_UNAVAILABLE"),
        ("garbage", Answer::Body("<html>".into()), "ERR_JWKS_INVALID"),
        (
            "not a JWKS",
            Answer::Body("{\"foo\":1}".into()),
            "ERR_JWKS_INVALID",
        ),
        (
            "5 MB",
            Answer::Body(format!(
                "{{\"keys\":[],\"pad\":\"{}\"}}",
                "x".repeat(5 << 20)
            )),
            "ERR_JWKS_INVALID",
        ),
        (
            "no usable key",
            Answer::Jwks(jwks(&[
                json!({"kty":"oct","k":b64(SECRET)}),
                json!({"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}),
            ])),
            "ERR_JWKS_INVALID",
        ),
        (
            "keys not an array",
            Answer::Jwks(json!({"keys": {"kty": "RSA"}})),
            "ERR_JWKS_INVALID",
        ),
    ];
    for (name, answer, code) in cases {
        // Cold: the fault is the answer.
        let (gate, clock) = setup(json!({}), json!({}));
        let p = Provider::new(answer.clone());
        let token = rs_token("k1", json!({ "exp": NOW + 86_400.0 }));
        let d = api(&gate, &p, &token);
        assert_eq!((status(&d), d.code), (503, code), "cold, {name}");
        // Warm: keys fetched, then the fault at refresh time; the old keys stay.
        p.set(Answer::Jwks(good.clone()));
        clock.advance(30.0);
        assert!(is_continue(&api(&gate, &p, &token)), "{name}");
        p.set(answer);
        clock.advance(601.0);
        let d = api(
            &gate,
            &p,
            &rs_token("k1", json!({ "sub": "other", "exp": NOW + 86_400.0 })),
        );
        assert!(is_continue(&d), "stale keys after {name}: {d:?}");
        println!("fault {name}: cold {code} (503); warm: stale keys kept");
    }
}

#[test]
fn stale_keys_serve_within_the_bound_then_everything_is_refused() {
    let (gate, clock) = setup(json!({ "remote": { "staleIfError": "1h" } }), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    let cached = rs_token("k1", json!({ "exp": NOW + 86_400.0 }));
    assert!(is_continue(&api(&gate, &p, &cached)));
    p.set(Answer::Down);
    // Past max age: one fetch attempt fails; the stale keys still serve.
    clock.advance(601.0);
    let fresh = rs_token(
        "k1",
        json!({ "sub": "new", "iat": NOW + 600.0, "exp": NOW + 86_400.0 }),
    );
    assert!(is_continue(&api(&gate, &p, &fresh)));
    assert!(is_continue(&api(&gate, &p, &cached)));
    assert_eq!(p.count(), 2);
    // Near the end of the bound (10 min fresh + 1 h stale), still served.
    clock.advance(3_500.0);
    assert!(is_continue(&api(&gate, &p, &cached)));
    // Past it: refused, the cached token too (cache hits re-check their keys).
    clock.advance(100.0);
    let d = api(&gate, &p, &cached);
    assert_eq!((status(&d), d.code), (503, "ERR_JWKS_UNAVAILABLE"), "{d:?}");
    let d = api(&gate, &p, &fresh);
    assert_eq!(status(&d), 503);
    println!(
        "provider down: {} fetch attempts; stale keys served for 1 h past max age, then refused",
        p.count()
    );
}

#[test]
fn rotation_picks_up_new_kids_and_drops_removed_keys() {
    let (gate, clock) = setup(json!({}), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "old")])));
    let old = rs_token("old", json!({}));
    assert!(is_continue(&api(&gate, &p, &old)));
    // The provider rotates: a token with the new kid triggers a refetch at once.
    p.set(Answer::Jwks(jwks(&[rsa_jwk(RSA2_PUB, "new")])));
    clock.advance(31.0);
    let new = signed("RS256", &rsa2_key(), "new", &claims(json!({})));
    assert!(is_continue(&api(&gate, &p, &new)));
    assert_eq!(p.count(), 2);
    // The old key left the set: its token is refused, even though it was cached.
    let d = api(&gate, &p, &old);
    assert_eq!(
        (status(&d), d.code),
        (401, "ERR_JWKS_NO_MATCHING_KEY"),
        "{d:?}"
    );
    // Unknown kids refetch at most once per cooldown (no fetch storms).
    clock.advance(30.0);
    let before = p.count();
    for i in 0..50 {
        let d = api(&gate, &p, &rs_token(&format!("bogus{i}"), json!({})));
        assert_eq!(d.code, "ERR_JWKS_NO_MATCHING_KEY");
    }
    assert_eq!(p.count(), before + 1);
    println!("rotation: new kid fetched on first sight; 50 unknown kids -> 1 fetch");
}

#[test]
fn unchanged_keys_keep_their_cached_tokens_across_refreshes() {
    let (gate, clock) = setup(json!({}), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    let token = rs_token("k1", json!({ "exp": NOW + 86_400.0 }));
    assert!(is_continue(&api(&gate, &p, &token)));
    let misses = gate.verifier().unwrap().cache_stats().unwrap().misses;
    p.set(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1"), ec_jwk("e1")])));
    clock.advance(601.0);
    assert!(is_continue(&api(&gate, &p, &token)));
    assert_eq!(p.count(), 2);
    // Still a cache hit: the unchanged key kept its identity through the refresh.
    assert_eq!(
        gate.verifier().unwrap().cache_stats().unwrap().misses,
        misses
    );
}

#[test]
fn fetch_rounds_are_bounded() {
    // A provider whose set never holds the kid, and no cooldown: the request still ends.
    let (gate, _) = setup(json!({ "remote": { "cooldownDuration": 0 } }), json!({}));
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    let d = api(&gate, &p, &rs_token("missing", json!({})));
    assert_eq!((status(&d), d.code), (503, "ERR_JWKS_UNAVAILABLE"), "{d:?}");
    assert_eq!(
        p.count(),
        usize::from(MAX_FETCH_ROUNDS),
        "one fetch per round"
    );
}

#[test]
fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let issuer = "https://issuer.example";
    let mut o = options(&["RS256"], Value::Null, json!({}));
    o["verify"].as_object_mut().unwrap().remove("keys");
    let clock = Arc::new(ManualClock(Mutex::new(NOW)));
    let gate = build_at(&o, &clock).unwrap();
    let p = Provider::new(Answer::Jwks(jwks(&[rsa_jwk(RSA_PUB, "k1")])));
    *p.discovery.borrow_mut() =
        Some(json!({ "issuer": issuer, "jwks_uri": "https://issuer.example/jwks" }));
    assert!(is_continue(&api(&gate, &p, &rs_token("k1", json!({})))));
    let urls: Vec<String> = p.fetched.borrow().iter().map(|f| f.url.clone()).collect();
    assert_eq!(
        urls,
        [
            "https://issuer.example/.well-known/openid-configuration",
            "https://issuer.example/jwks"
        ]
    );

    for (doc, why) in [
        (
            json!({ "issuer": "https://evil.example", "jwks_uri": "https://issuer.example/jwks" }),
            "another issuer",
        ),
        (
            json!({ "issuer": "https://issuer.example/", "jwks_uri": "https://issuer.example/jwks" }),
            "trailing slash",
        ),
        (
            json!({ "issuer": issuer, "jwks_uri": "http://evil.example/jwks" }),
            "plain http",
        ),
        (json!({ "issuer": issuer }), "no jwks_uri"),
    ] {
        let gate = build_at(&o, &clock).unwrap();
        *p.discovery.borrow_mut() = Some(doc);
        let d = api(&gate, &p, &rs_token("k1", json!({})));
        assert_eq!((status(&d), d.code), (503, "ERR_JWKS_INVALID"), "{why}");
    }
}

#[test]
fn a_persisted_copy_saves_the_cold_fetch() {
    let (gate, clock) = setup(json!({}), json!({}));
    let body = jwks(&[rsa_jwk(RSA_PUB, "k1")]).to_string();
    let network = RefCell::new(0);
    let token = rs_token("k1", json!({}));
    let serve = |stored_at: Option<f64>| {
        let body = body.clone();
        let network = &network;
        let gate = &gate;
        move |f: &Fetch| {
            if let (true, Some(at)) = (f.may_use_stored, stored_at) {
                if gate.complete(
                    f.id,
                    Fetched::Stored {
                        body: body.clone(),
                        fetched_at: at,
                    },
                ) {
                    return Fetched::Timeout; // ignored: the ticket is already complete
                }
            }
            *network.borrow_mut() += 1;
            Fetched::Response {
                status: 200,
                body: body.clone(),
            }
        }
    };
    // Stored two minutes ago: used, no network.
    let d = gate.decide_with(&with_cookie("/api/x", &token), serve(Some(NOW - 120.0)));
    assert!(is_continue(&d));
    assert_eq!(*network.borrow(), 0);
    // That copy ages out 10 min after it was fetched, not after it was loaded.
    clock.advance(481.0);
    gate.decide_with(&with_cookie("/api/x", &token), serve(None));
    assert_eq!(*network.borrow(), 1);

    // A copy older than max age + staleIfError is refused; the same ticket goes on to the
    // network.
    let (gate2, _) = setup(json!({}), json!({}));
    let d = gate2.decide_with(&with_cookie("/api/x", &token), |f: &Fetch| {
        assert!(!gate2.complete(
            f.id,
            Fetched::Stored {
                body: body.clone(),
                fetched_at: NOW - 5_000.0
            }
        ));
        Fetched::Response {
            status: 200,
            body: body.clone(),
        }
    });
    assert!(is_continue(&d));
}

fn providers_options() -> Value {
    json!({
        "providers": [
            { "issuer": "https://a.example", "audience": "api-a", "algorithms": ["RS256"],
              "keys": rsa_jwk(RSA_PUB, "a1") },
            { "issuer": "https://b.example", "audience": "api-b", "algorithms": ["ES256"],
              "jwksUri": "https://b.example/jwks" },
        ],
    })
}

#[test]
fn several_providers_route_by_issuer_and_refuse_confusion() {
    let clock = Arc::new(ManualClock(Mutex::new(NOW)));
    let gate = build_at(&providers_options(), &clock).unwrap();
    let p = Provider::new(Answer::Jwks(jwks(&[ec_jwk("b1")])));
    let a = |extra: Value| {
        let mut c = claims(json!({ "iss": "https://a.example", "aud": "api-a" }));
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let b = |extra: Value| {
        let mut c = claims(json!({ "iss": "https://b.example", "aud": "api-b" }));
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let cases = [
        (
            "A's token",
            signed("RS256", &rsa_key(), "a1", &a(json!({}))),
            "OK_AUTHENTICATED",
        ),
        (
            "B's token",
            signed("ES256", &ec_key(), "b1", &b(json!({}))),
            "OK_AUTHENTICATED",
        ),
        (
            "iss B, signed with A's key",
            signed("RS256", &rsa_key(), "a1", &b(json!({}))),
            "ERR_JOSE_ALG_NOT_ALLOWED",
        ),
        (
            "iss B, ES256 with A's kid",
            signed("ES256", &ec_key(), "a1", &b(json!({}))),
            "ERR_JWKS_NO_MATCHING_KEY",
        ),
        (
            "iss A, signed with B's key",
            signed("ES256", &ec_key(), "b1", &a(json!({}))),
            "ERR_JOSE_ALG_NOT_ALLOWED",
        ),
        (
            "A's token for B's audience",
            signed("RS256", &rsa_key(), "a1", &a(json!({ "aud": "api-b" }))),
            "ERR_JWT_CLAIM_VALIDATION_FAILED",
        ),
        (
            "B's token for A's audience",
            signed("ES256", &ec_key(), "b1", &b(json!({ "aud": "api-a" }))),
            "ERR_JWT_CLAIM_VALIDATION_FAILED",
        ),
        (
            "unknown issuer",
            signed(
                "RS256",
                &rsa_key(),
                "a1",
                &a(json!({ "iss": "https://c.example" })),
            ),
            "ERR_JWT_ISSUER_UNKNOWN",
        ),
        (
            "no issuer",
            signed("RS256", &rsa_key(), "a1", &a(json!({ "iss": null }))),
            "ERR_JWT_ISSUER_UNKNOWN",
        ),
        (
            "issuer not a string",
            signed(
                "RS256",
                &rsa_key(),
                "a1",
                &a(json!({ "iss": ["https://a.example"] })),
            ),
            "ERR_JWT_ISSUER_UNKNOWN",
        ),
    ];
    for (name, token, code) in cases {
        let d = gate.decide_with(&with_cookie("/dashboard", &token), |f| p.serve(f));
        assert_eq!(d.code, code, "{name}: {d:?}");
    }
    assert_eq!(p.count(), 1, "only B's JWKS is remote, fetched once");
}

#[test]
fn remote_configuration_is_checked_at_construction() {
    let base = |verify: Value| json!({ "verify": verify });
    let cases = [
        (
            base(json!({ "algorithms": ["RS256"], "jwksUri": "http://id.example/jwks" })),
            "ERR_CONFIG_URL",
        ),
        (
            base(json!({ "algorithms": ["RS256"], "jwksUri": "https://user:pw@id.example/jwks" })),
            "ERR_CONFIG_URL",
        ),
        (
            base(json!({ "algorithms": ["RS256"], "issuer": "http://id.example" })),
            "ERR_CONFIG_URL",
        ),
        (
            base(json!({ "algorithms": ["RS256"], "issuer": ["https://a", "https://b"] })),
            "ERR_CONFIG_KEY",
        ),
        (
            base(json!({ "algorithms": ["HS256"], "jwksUri": JWKS_URL })),
            "ERR_CONFIG_ALGORITHMS",
        ),
        (
            base(json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "keys": RSA_PUB })),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "timeoutDuration": 5000 } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "cacheMaxAge": 600000 } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "timeoutDuration": 0 } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "maxResponseBytes": 10 } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "userAgent": "a\nb" } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            base(
                json!({ "algorithms": ["RS256"], "jwksUri": JWKS_URL, "remote": { "maxAge": 5 } }),
            ),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "providers": [{ "algorithms": ["RS256"], "jwksUri": JWKS_URL }] }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "providers": [
            { "issuer": "https://a", "algorithms": ["RS256"], "keys": RSA_PUB },
            { "issuer": "https://a", "algorithms": ["RS256"], "keys": RSA2_PUB }] }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "verify": { "algorithms": ["RS256"], "keys": RSA_PUB },
                 "providers": [{ "issuer": "https://a", "algorithms": ["RS256"], "keys": RSA_PUB }] }),
            "ERR_CONFIG_INVALID",
        ),
        (json!({}), "ERR_CONFIG_INVALID"),
        (
            json!({ "verify": { "algorithms": ["RS256"], "keys": RSA_PUB }, "keysUnavailableStatus": 500 }),
            "ERR_CONFIG_INVALID",
        ),
    ];
    for (options, code) in cases {
        let clock = Arc::new(ManualClock(Mutex::new(NOW)));
        let err = build_at(&options, &clock).expect_err(&options.to_string());
        assert_eq!(err.code(), code, "{options}: {err}");
    }
}
