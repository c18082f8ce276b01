//! `explain` and `decide` run the same steps, so they must agree. Every decision any test in
//! this crate makes is explained too (the `_integration_test` hook in `Gate::decide_with`):
//! the trace must end with the decision's code, and its first step that failed with a code
//! must carry the decision's error. This test adds a corpus of its own, wide on purpose —
//! gates × targets × credentials × methods × origins — and counts the decisions compared.
mod common;

use std::sync::atomic::Ordering;

use common::*;
use edgegate::gate::AGREEMENTS;
use edgegate::{Gate, Request};
use serde_json::{json, Value};

fn gates() -> Vec<(&'static str, Gate)> {
    let hs = || options(&["HS256"], json!(SECRET), json!({}));
    let with = |extra: Value| {
        let mut o = hs();
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        gate(&o)
    };
    vec![
        ("default rules", hs_gate()),
        (
            "public and guest exceptions, an upstream",
            with(json!({
                "rules": [
                    { "match": "/api/login", "kind": "public" },
                    { "match": "/login", "kind": "guest" },
                    { "match": "/api/:path*", "kind": "api", "upstream": "https://api.internal" },
                    { "match": "/:path*", "kind": "page" },
                ],
            })),
        ),
        (
            "header precedence, csrf off, basePath",
            with(json!({
                "token": { "precedence": "header", "hostPrefix": false },
                "csrf": { "enabled": false },
                "basePath": "/app",
                "rules": [{ "match": "/api/:path*", "kind": "api", "scopes": ["read:stocks"] }],
            })),
        ),
        (
            "a required jti, 401 when keys are missing",
            with(json!({
                "keysUnavailableStatus": 401,
                "verify": {
                    "algorithms": ["HS256"], "keys": SECRET, "requiredClaims": ["jti"],
                    "issuer": "https://issuer.example", "audience": "api://edgegate",
                },
            })),
        ),
        (
            "two providers routed by iss",
            gate(&json!({
                "providers": [
                    { "algorithms": ["HS256"], "keys": SECRET, "issuer": "https://issuer.example" },
                    { "algorithms": ["ES256"], "keys": EC_PUB, "issuer": "https://other.example" },
                ],
            })),
        ),
    ]
}

fn tokens() -> Vec<String> {
    let hs = hmac_key();
    vec![
        token("HS256", &hs, &claims(json!({}))),
        token(
            "HS256",
            &hs,
            &claims(json!({ "scope": "admin read:stocks", "jti": "1" })),
        ),
        token("HS256", &hs, &claims(json!({ "exp": NOW - 1.0 }))),
        token(
            "HS256",
            &hs,
            &claims(json!({ "exp": NOW - 1.0, "aud": "other", "nbf": NOW + 60.0 })),
        ),
        token(
            "HS256",
            &hs,
            &claims(json!({ "iss": "https://other.example" })),
        ),
        token(
            "ES256",
            &ec_key(),
            &claims(json!({ "iss": "https://other.example" })),
        ),
        token("HS256", &hs, &claims(json!({ "scope": "profile" }))),
        token("HS256", &hs, &json!("not an object")),
        token("RS256", &rsa_key(), &claims(json!({}))),
        format!("{}x", token("HS256", &hs, &claims(json!({})))),
        "not.a.jwt".into(),
        sign_raw("HS256", &hs, r#"{"alg":"none"}"#, b"{}"),
    ]
}

fn requests(tokens: &[String]) -> Vec<Request<'static>> {
    let targets = [
        "/dashboard",
        "https://app.example/dashboard/a/../b?x=1",
        "/api/stocks",
        "/api/admin/users",
        "/API/Stocks",
        "/api/login",
        "/api/l%6fgin",
        "/api/login.rsc",
        "/login",
        "/register",
        "/app/api/stocks",
        "/about",
        "/api/a%2Fb",
        "/api/a%3Fb",
    ];
    let mut credentials: Vec<Vec<(String, String)>> = vec![vec![]];
    for t in tokens {
        credentials.push(vec![("cookie".into(), format!("token={t}"))]);
        credentials.push(vec![("authorization".into(), format!("Bearer {t}"))]);
        credentials.push(vec![("cookie".into(), format!("__Host-token={t}"))]);
    }
    credentials.push(vec![("cookie".into(), "token=a; token=b".into())]);
    credentials.push(vec![("cookie".into(), "refreshToken=r".into())]);
    credentials.push(vec![
        ("authorization".into(), "Bearer a".into()),
        ("authorization".into(), "Bearer b".into()),
    ]);
    let origins: [&[(&str, &str)]; 3] = [
        &[],
        &[("sec-fetch-site", "cross-site")],
        &[("origin", "https://app.example")],
    ];
    let mut out = Vec::new();
    for target in targets {
        for creds in &credentials {
            for (method, origins) in [("GET", &origins[..1]), ("POST", &origins[..])] {
                for origin in origins {
                    let mut headers: Vec<(&str, &str)> = creds
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    headers.extend_from_slice(origin);
                    let mut r = get(target, &headers);
                    r.method = method.into();
                    out.push(r);
                }
            }
        }
    }
    out
}

#[test]
fn explain_agrees_with_every_decision() {
    let requests = requests(&tokens());
    let before = AGREEMENTS.load(Ordering::Relaxed);
    let mut decided = 0;
    for (name, gate) in gates() {
        for request in &requests {
            // Compared inside `decide`: a disagreement panics with both sides printed.
            let decision = gate.decide(request);
            let trace = gate.explain(request);
            assert_eq!(trace.code, Some(decision.code), "{name}: {request:?}");
            decided += 1;
        }
    }
    let compared = AGREEMENTS.load(Ordering::Relaxed) - before;
    println!("explain agreed with decide on {compared} decisions ({decided} made)");
    if cfg!(debug_assertions) {
        assert_eq!(
            compared, decided,
            "every decision of this corpus is conclusive"
        );
    } else {
        println!("the in-decide cross-check runs in debug builds only; codes compared above");
    }
}
