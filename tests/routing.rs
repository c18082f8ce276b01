//! Exceptions are never wider than the handler they open, and the engine alone decides
//! where a request goes upstream: every spelling of every rule kind, with and without a
//! session, with the decision, its rule and the exact destination URL.

mod common;

use common::*;
use edgegate::Decision;
use serde_json::{json, Value};

const BACKEND: &str = "http://backend.internal:4000";

/// The example app's shape: its own login/logout route handlers (public, in the app), a
/// public backend endpoint, a page, the backend's API, and a guest page.
fn rules() -> Value {
    json!([
        { "match": ["/api/login", "/api/logout"], "kind": "public" },
        { "match": "/api/health", "kind": "public", "upstream": "backend" },
        { "match": "/dashboard/:path*", "kind": "page" },
        { "match": "/api/:path*", "kind": "api", "upstream": "backend" },
        { "match": "/login", "kind": "guest" },
    ])
}

fn routing_gate(extra: Value) -> edgegate::Gate {
    let mut o = json!({ "rules": rules(), "upstreams": { "backend": BACKEND } });
    if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
        o.extend(e);
    }
    gate(&options(&["HS256"], json!(SECRET), o))
}

fn valid_token() -> String {
    token(
        "HS256",
        &hmac_key(),
        &claims(json!({ "scope": "read:stocks" })),
    )
}

/// A request with the session cookie, named as the gate reads it for that URL.
fn signed_in(target: &str, t: &str) -> edgegate::Request<'static> {
    let name = if target.starts_with("https:") {
        "__Host-token"
    } else {
        "token"
    };
    get(target, &[("cookie", &format!("{name}={t}"))])
}

/// (code, rule, destination) — the destination only for a continuing decision.
fn outcome(d: &Decision) -> (&'static str, Option<usize>, Option<String>) {
    let dest = is_continue(d)
        .then(|| destination(d).map(str::to_owned))
        .flatten();
    (d.code, d.rule, dest)
}

/// Every spelling of an exception's path that Next (or a server behind it) might read
/// as that path, other than the path itself.
fn spellings(path: &str) -> Vec<String> {
    let (dir, last) = path.rsplit_once('/').unwrap();
    let first = last.chars().next().unwrap();
    let encoded = |hex: String| format!("{dir}/%{hex}{}", &last[1..]);
    vec![
        format!("{dir}/{}{}", first.to_ascii_uppercase(), &last[1..]),
        path.to_ascii_uppercase(),
        encoded(format!("{:02x}", first as u32)),
        encoded(format!("{:02X}", first as u32)),
        format!("{path}.json"),
        format!("{path}.rsc"),
        format!("/_next/data/build-1{path}.json"),
        format!("{path}.segments/_tree.segment.rsc"),
        format!("{path}/"),
        format!("/{path}"),
        format!("{dir}//{last}"),
        format!("/x/..{path}"),
        format!("{dir}/./{last}"),
        format!("{dir}/%2e/{last}"),
        format!("{dir}/%2E%2E{path}"),
        format!("{path}%20"),
        format!("{dir}\\{last}"),
    ]
}

#[test]
fn exceptions_open_only_the_exact_spelling() {
    let gate = routing_gate(json!({}));
    // The exact spellings: the exceptions apply.
    for (path, want) in [
        // Into the app, rewritten to the judged path: Next strips `.rsc` from the URL the
        // gate sees but routes the raw one, which could be another handler.
        (
            "/api/login",
            ("OK_PUBLIC", Some(0), Some("/api/login".into())),
        ),
        (
            "/api/logout",
            ("OK_PUBLIC", Some(0), Some("/api/logout".into())),
        ),
        (
            "/api/health",
            ("OK_PUBLIC", Some(1), Some(format!("{BACKEND}/api/health"))),
        ),
        // A guest page no protecting rule reaches by any spelling a host strips: on as it
        // came, no rewrite (tests/pass_through.rs).
        ("/login", ("OK_GUEST", Some(4), None)),
    ] {
        let d = gate.decide(&get(path, &[]));
        assert_eq!(outcome(&d), want, "{path}");
    }
    // Every other spelling of the API exceptions falls through to /api/:path*: 401 without
    // a session, and never an upstream destination.
    for path in ["/api/login", "/api/logout", "/api/health"] {
        for spelled in spellings(path) {
            let d = gate.decide(&get(&spelled, &[]));
            assert_eq!(
                (d.code, d.rule, status(&d)),
                ("ERR_NO_TOKEN", Some(3), 401),
                "{spelled}"
            );
        }
    }
    // The guest page's other spellings are simply not the guest page.
    for spelled in spellings("/login") {
        let d = gate.decide(&get(&spelled, &[]));
        assert_ne!(d.rule, Some(4), "{spelled}");
        assert_ne!(d.code, "OK_GUEST", "{spelled}");
    }
    // ...so a signed-in visitor is bounced from /login only, and nothing else changes.
    let t = valid_token();
    assert_eq!(status(&gate.decide(&signed_in("/login", &t))), 307);
    assert_eq!(gate.decide(&signed_in("/Login", &t)).code, "OK_PUBLIC");
}

#[test]
fn authenticated_requests_go_to_the_rules_upstream_at_the_judged_path() {
    let gate = routing_gate(json!({}));
    let t = valid_token();
    for (target, path) in [
        ("/api/stocks", "/api/stocks"),
        ("/api/stocks?tab=2&x=%2F", "/api/stocks?tab=2&x=%2F"),
        ("https://app.example/api/stocks?q=1", "/api/stocks?q=1"),
        ("/api/Login", "/api/Login"),
        ("/API/stocks", "/API/stocks"),
        ("/api/l%6fgin", "/api/login"),
        ("/api/login.json", "/api/login.json"),
        ("/api/login/", "/api/login/"),
        ("//api/login", "/api/login"),
        ("/x/../api/login", "/api/login"),
        ("/api/%2e/login", "/api/login"),
        ("/api\\stocks", "/api/stocks"),
        (
            "/_next/data/b/api/login.json",
            "/_next/data/b/api/login.json",
        ),
        ("/api/caf%c3%a9", "/api/caf%C3%A9"),
        ("/api/a%20b", "/api/a%20b"),
    ] {
        let d = gate.decide(&signed_in(target, &t));
        assert_eq!(
            outcome(&d),
            (
                "OK_AUTHENTICATED",
                Some(3),
                Some(format!("{BACKEND}{path}"))
            ),
            "{target}"
        );
        let headers = forwarded(&d);
        assert_eq!(
            header(headers, "authorization"),
            Some(&*format!("Bearer {t}"))
        );
    }
    // Pages and unmatched paths stay in the app.
    assert_eq!(
        outcome(&gate.decide(&signed_in("/dashboard", &t))),
        ("OK_AUTHENTICATED", Some(2), None)
    );
    assert_eq!(
        outcome(&gate.decide(&get("/about", &[]))),
        ("OK_PUBLIC", None, None)
    );
    // An invalid token never gets a destination.
    let forged = token(
        "HS256",
        &SignKey::Hmac(b"another-secret-of-at-least-32-bytes!".to_vec()),
        &claims(json!({ "scope": "read:stocks" })),
    );
    for target in ["/api/stocks", "/api/login.json", "/api/Health"] {
        let d = gate.decide(&signed_in(target, &forged));
        assert_eq!((status(&d), d.rule), (401, Some(3)), "{target}");
    }
}

#[test]
fn upstream_requests_carry_the_gates_forwarding_headers_not_the_clients() {
    let gate = routing_gate(json!({}));
    let t = valid_token();
    let d = gate.decide(&get(
        "https://app.example/api/stocks",
        &[
            ("cookie", &format!("__Host-token={t}")),
            ("host", "app.example"),
            ("x-forwarded-host", "evil.example"),
            ("X-Forwarded-Proto", "http"),
            ("x_forwarded_port", "1"),
            ("forwarded", "host=evil.example;proto=http"),
            ("accept", "application/json"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-prefix", "/admin"),
            ("x-original-host", "evil.example"),
            ("proxy-authorization", "Basic cHJveHk6cHc="),
        ],
    ));
    assert_eq!(destination(&d), Some(&*format!("{BACKEND}/api/stocks")));
    let headers = forwarded(&d);
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    for gone in [
        "forwarded",
        "x-forwarded-port",
        "x_forwarded_port",
        "x-real-ip",
        "x-forwarded-prefix",
        "x-original-host",
        "proxy-authorization",
    ] {
        assert!(!names.contains(&gone), "{gone} forwarded: {names:?}");
    }
    let all = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(all("x-forwarded-host"), ["app.example"]);
    assert_eq!(all("x-forwarded-proto"), ["https"]);
    assert_eq!(all("accept"), ["application/json"]);
    // Hosts set the upstream's own Host from the destination (Next's proxy copies this one
    // into x-forwarded-host).
    assert_eq!(all("host"), ["app.example"]);

    // An origin-form request (a host adapter without the scheme): no forwarding headers,
    // and still none of the client's.
    let d = gate.decide(&get(
        "/api/health",
        &[
            ("host", "app.example:8443"),
            ("x-forwarded-host", "evil.example"),
        ],
    ));
    assert!(all_of(&d, "x-forwarded-host").is_empty());
    assert!(all_of(&d, "x-forwarded-proto").is_empty());

    // A public upstream gets no credential the gate did not verify: no client bearer, no
    // session cookie; other cookies pass.
    let d = gate.decide(&get(
        "https://app.example/api/health",
        &[
            ("authorization", "Bearer forged.token.here"),
            (
                "cookie",
                "__Host-token=unverified; theme=dark; __Host-refreshToken=r",
            ),
        ],
    ));
    assert_eq!(d.code, "OK_PUBLIC");
    assert!(all_of(&d, "authorization").is_empty());
    assert_eq!(all_of(&d, "cookie"), ["theme=dark"]);
    // Into the app, a public request keeps them (its route handlers read the session).
    let d = gate.decide(&get(
        "/api/logout",
        &[
            ("authorization", "Bearer x"),
            ("cookie", "token=t; theme=dark"),
        ],
    ));
    assert_eq!(all_of(&d, "authorization"), ["Bearer x"]);
    assert_eq!(all_of(&d, "cookie"), ["token=t; theme=dark"]);

    // An origin-form URL with `://` in its query names no scheme and no host.
    let d = gate.decide(&get("/api/health?next=https://evil.example:444/x", &[]));
    assert!(all_of(&d, "x-forwarded-host").is_empty());
    assert!(all_of(&d, "x-forwarded-proto").is_empty());
    assert_eq!(
        destination(&d),
        Some(&*format!(
            "{BACKEND}/api/health?next=https://evil.example:444/x"
        ))
    );

    // Keeping the auth cookie upstream (stripAuthCookie: false) is for a verified session
    // only: a public pass still drops it.
    let keeping = routing_gate(json!({ "upstream": { "stripAuthCookie": false } }));
    let d = keeping.decide(&get(
        "/api/health",
        &[(
            "cookie",
            "token=forged.jwt.value; refreshToken=r; theme=dark",
        )],
    ));
    assert_eq!(all_of(&d, "cookie"), ["theme=dark"]);
    let t = valid_token();
    let d = keeping.decide(&get("/api/stocks", &[("cookie", &format!("token={t}"))]));
    assert_eq!(all_of(&d, "cookie"), [format!("token={t}").as_str()]);

    // Requests into the app keep their headers as they were: Next reads its own.
    let d = gate.decide(&get(
        "https://app.example/about",
        &[("host", "app.example"), ("x-forwarded-host", "app.example")],
    ));
    assert_eq!(all_of(&d, "host"), ["app.example"]);
    assert_eq!(all_of(&d, "x-forwarded-host"), ["app.example"]);
}

fn all_of<'a>(d: &'a Decision, name: &str) -> Vec<&'a str> {
    forwarded(d)
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn base_path_and_locales() {
    let gate = routing_gate(json!({ "basePath": "/app", "locales": ["en", "fr"] }));
    let t = valid_token();
    assert_eq!(gate.decide(&get("/app/api/login", &[])).code, "OK_PUBLIC");
    assert_eq!(
        destination(&gate.decide(&get("/app/api/health?x=1", &[]))),
        Some(&*format!("{BACKEND}/app/api/health?x=1"))
    );
    // The locale prefix widens protection, never an exception.
    for target in [
        "/app/fr/api/login",
        "/app/en/api/health",
        "/app/api/Login",
        "/api/login/../../app/api/Login",
    ] {
        let d = gate.decide(&get(target, &[]));
        assert_eq!((d.code, d.rule), ("ERR_NO_TOKEN", Some(3)), "{target}");
    }
    assert_eq!(
        outcome(&gate.decide(&signed_in("/app/fr/api/stocks", &t))),
        (
            "OK_AUTHENTICATED",
            Some(3),
            Some(format!("{BACKEND}/app/fr/api/stocks"))
        )
    );
    assert_eq!(gate.decide(&get("/app/fr/login", &[])).rule, None);
    assert_eq!(gate.decide(&get("/app/login", &[])).code, "OK_GUEST");
}

#[test]
fn upstreams_are_validated_when_the_gate_is_built() {
    let with = |rule_upstream: Value, upstreams: Value| {
        build(&options(
            &["HS256"],
            json!(SECRET),
            json!({
                "rules": [{ "match": "/api/:path*", "kind": "api", "upstream": rule_upstream }],
                "upstreams": upstreams,
            }),
        ))
    };
    for (upstream, upstreams) in [
        (json!("backend"), json!({})),
        (json!("Backend"), json!({ "backend": BACKEND })),
        (json!("ftp://files.internal"), json!({})),
        (json!("https://user:pw@api.internal"), json!({})),
        (json!("https://api.internal/?x=1"), json!({})),
        (json!("https://api.internal#f"), json!({})),
        (json!("https://api.internal/a/../b"), json!({})),
        (json!("https://"), json!({})),
        (json!("https://api.internal"), json!({ "bad": "/relative" })),
        (json!("https://api.internal"), json!({ "a:b": BACKEND })),
    ] {
        let e = with(upstream.clone(), upstreams.clone()).unwrap_err();
        assert_eq!(e.code(), "ERR_CONFIG_URL", "{upstream} {upstreams}: {e}");
    }
    for upstream in [json!(1), json!(["https://api.internal"])] {
        let e = with(upstream.clone(), json!({})).unwrap_err();
        assert_eq!(e.code(), "ERR_CONFIG_INVALID", "{upstream}: {e}");
    }
    assert!(with(json!("https://api.internal/v1/"), json!({})).is_ok());
    assert!(with(json!("backend"), json!({ "backend": BACKEND })).is_ok());
}

#[test]
fn explain_shows_the_destination() {
    let gate = routing_gate(json!({}));
    let t = valid_token();
    let trace = gate.explain(&signed_in("/api/l%6fgin?x=1", &t));
    let route = trace.steps.last().unwrap();
    assert_eq!(
        (route.step, route.ok, route.detail.as_str()),
        ("route", true, &*format!("to {BACKEND}/api/login?x=1"))
    );
    let trace = gate.explain(&get("/api/l%6fgin", &[]));
    let matched = trace.steps.iter().find(|s| s.step == "match").unwrap();
    assert!(
        matched.detail.starts_with("rule 3 (api)"),
        "{}",
        matched.detail
    );
    assert!(
        matched.detail.contains("not in canonical form"),
        "{}",
        matched.detail
    );
    assert!(!trace.steps.iter().any(|s| s.step == "route"));
    let trace = gate.explain(&get("/api/health", &[]));
    assert_eq!(
        trace.steps.last().unwrap().detail,
        format!("to {BACKEND}/api/health")
    );
}

#[test]
fn an_exception_is_rewritten_to_its_judged_path_once() {
    // Next strips a trailing `.rsc` from the URL the gate sees but routes the raw one, so an
    // exception's pass names the judged path; the host rewrites to it. Bound to a loopback
    // address, Next proxies that rewrite back through the gate: the mark ends the loop.
    let clock = ManualClock::at(NOW);
    let options = options(
        &["HS256"],
        json!(SECRET),
        json!({ "rules": rules(), "upstreams": { "backend": BACKEND } }),
    );
    let opts = edgegate::Options::from_json(&options.to_string()).unwrap();
    let gate = edgegate::Gate::with_clock(opts, clock.clone()).unwrap();
    let mark_of = |d: &Decision| all_of(d, "x-edgegate-route").first().map(|m| m.to_string());

    let first = gate.decide(&get(
        "/api/login?next=%2F",
        &[("x-edgegate-route", "1.forged")],
    ));
    assert_eq!(destination(&first), Some("/api/login?next=%2F"));
    // The engine says which kind of route it is; no host reads the string's shape.
    assert_eq!(rewrite(&first), Some("/api/login?next=%2F"));
    assert_eq!(upstream(&first), None);
    let health = gate.decide(&get("/api/health", &[]));
    assert_eq!(upstream(&health), Some(&*format!("{BACKEND}/api/health")));
    assert_eq!(rewrite(&health), None);
    let mark = mark_of(&first).expect("the pass carries the gate's mark");
    assert!(
        !mark.contains("forged"),
        "the client's mark is never forwarded"
    );

    // The same request back with that mark: on into the app as it is, mark consumed.
    let again = gate.decide(&get("/api/login?next=%2F", &[("x-edgegate-route", &mark)]));
    assert_eq!((again.code, destination(&again)), ("OK_PUBLIC", None));
    assert_eq!(mark_of(&again), None);

    // A mark is for one target, one gate, and a few seconds.
    let other = gate.decide(&get("/api/logout", &[("x-edgegate-route", &mark)]));
    assert_eq!(destination(&other), Some("/api/logout"));
    let elsewhere = routing_gate(json!({}));
    let d = elsewhere.decide(&get("/api/login?next=%2F", &[("x-edgegate-route", &mark)]));
    assert_eq!(destination(&d), Some("/api/login?next=%2F"));
    let twice = gate.decide(&get(
        "/api/login?next=%2F",
        &[("x-edgegate-route", &mark), ("x-edgegate-route", &mark)],
    ));
    assert_eq!(destination(&twice), Some("/api/login?next=%2F"));
    clock.advance(11.0);
    let stale = gate.decide(&get("/api/login?next=%2F", &[("x-edgegate-route", &mark)]));
    assert_eq!(destination(&stale), Some("/api/login?next=%2F"));

    // Requests to an upstream or into the app as they are carry no mark.
    let t = valid_token();
    for d in [
        gate.decide(&signed_in("/api/stocks", &t)),
        gate.decide(&signed_in("/dashboard", &t)),
        gate.decide(&get("/about", &[("x-edgegate-route", &mark)])),
    ] {
        assert_eq!(mark_of(&d), None, "{}", d.code);
    }
}

/// A route mark is attacker input like any header: one whose MAC is base64url of the wrong
/// length (`AA` is one byte) is ignored, never a panic, which in wasm would abort the
/// instance and throw away every gate's keys, cache and refreshes in flight.
#[test]
fn a_malformed_route_mark_is_ignored() {
    let gate = routing_gate(json!({}));
    for mark in [
        "1.AA",
        "1700000000.AAAA",
        "0.",
        ".",
        "1700000000.",
        "x.y.z",
        &"A".repeat(9000),
    ] {
        let d = gate.decide(&get("/api/login?next=%2F", &[("x-edgegate-route", mark)]));
        assert_eq!(
            (d.code, rewrite(&d)),
            ("OK_PUBLIC", Some("/api/login?next=%2F")),
            "{mark}"
        );
    }
}

/// An exception opens only the spelling it was written in: whenever one lets a request
/// into the app, the path it judged is the very path the request was sent with. So a host
/// that routes on the path as sent (Hono chose its handler before any middleware ran) sends
/// an exception's request to that exception's handler, and no host code compares paths.
#[test]
fn an_exception_opens_only_the_path_as_sent() {
    let gate = routing_gate(json!({ "locales": ["en", "de"] }));
    let mut opened = 0;
    for path in ["/api/login", "/api/logout", "/login"] {
        let (dir, last) = path.rsplit_once('/').unwrap();
        let (first, rest) = last.split_at(1);
        let hex = format!("%{:02x}", first.as_bytes()[0]);
        let spellings = [
            path.to_owned(),
            format!("{path}?next=%2F"),
            format!("{dir}/{}{rest}", first.to_uppercase()),
            path.to_uppercase(),
            format!("{dir}/{hex}{rest}"),
            format!("{dir}/{}{rest}", hex.to_uppercase()),
            format!("{path}/"),
            format!("/{path}"),
            format!("{dir}//{last}"),
            format!("/x/..{path}"),
            format!("{dir}/./{last}"),
            format!("{dir}/%2e/{last}"),
            format!("{path}.json"),
            format!("{path}.rsc"),
            format!("{path}%20"),
            format!("{dir}\\{last}"),
            format!("/en{path}"),
            format!("/_next/data/build-1{path}.json"),
        ];
        for spelling in spellings {
            for origin in ["https://app.example", "http://127.0.0.1:3000"] {
                let d = gate.decide(&get(&format!("{origin}{spelling}"), &[]));
                let continues = matches!(d.action, edgegate::Action::Continue { .. })
                    && d.kind.is_some_and(|k| k.is_exception());
                // Rewritten to the judged path, or on as it came (then the host routes the
                // spelling as sent, which must be the judged one).
                let judged = continues
                    .then(|| rewrite(&d).or(d.passes_through().then_some(spelling.as_str())));
                if let Some(judged) = judged.flatten() {
                    assert_eq!(
                        judged, spelling,
                        "{spelling} was opened as {judged} ({})",
                        d.code
                    );
                    opened += 1;
                }
            }
        }
    }
    // The canonical spellings (with and without a query) are the ones that open.
    assert_eq!(opened, 12);
}
