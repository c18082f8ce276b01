//! What each rule kind answers, in the shape hosts rely on.

mod common;

use common::*;
use edgegate::{Action, RuleKind};
use serde_json::json;

fn valid() -> String {
    token("HS256", &hmac_key(), &claims(json!({})))
}

#[test]
fn page_without_token_redirects_with_a_safe_return_to() {
    let g = hs_gate();
    let cases = [
        ("/dashboard", "/login?returnTo=%2Fdashboard"),
        (
            "/dashboard/x?tab=1&y=%2F",
            "/login?returnTo=%2Fdashboard%2Fx%3Ftab%3D1%26y%3D%252F",
        ),
        (
            "https://evil.example//dashboard",
            "/login?returnTo=%2Fdashboard",
        ),
        ("//dashboard", "/login?returnTo=%2Fdashboard"),
        ("/\\dashboard", "/login?returnTo=%2Fdashboard"),
        ("/dashboard/..%2F..%2Fevil", ""), // refused, not redirected
    ];
    for (url, location) in cases {
        let d = g.decide(&get(url, &[]));
        if location.is_empty() {
            assert_eq!(status(&d), 400, "{url}");
            continue;
        }
        assert_eq!(
            d.action,
            Action::Redirect {
                location: location.into()
            },
            "{url}"
        );
        assert_eq!(d.kind, Some(RuleKind::Page));
        // The decoded returnTo is always one same-origin path.
        let rt = location.split_once("returnTo=").unwrap().1;
        assert!(rt.starts_with("%2F") && !rt.starts_with("%2F%2F") && !rt.starts_with("%2F%5C"));
    }
    // A login URL with its own query gets `&`.
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"loginUrl": "/auth?x=1", "returnToParam": "next"}),
    ));
    assert_eq!(
        g.decide(&get("/dashboard", &[])).action,
        Action::Redirect {
            location: "/auth?x=1&next=%2Fdashboard".into()
        }
    );
}

#[test]
fn api_answers_follow_rfc_6750() {
    let g = hs_gate();
    let respond = |d: &edgegate::Decision| match &d.action {
        Action::Respond {
            status,
            headers,
            body,
        } => (
            *status,
            header(headers, "www-authenticate").map(str::to_owned),
            body.clone(),
        ),
        other => panic!("expected a response, got {other:?}"),
    };
    // No token: no error attribute.
    let (s, w, body) = respond(&g.decide(&get("/api/stocks", &[])));
    assert_eq!(
        (s, w.as_deref(), body.as_str()),
        (401, Some("Bearer"), "{}")
    );
    // A failed token: invalid_token, and nothing about why.
    let forged = format!("{}x", valid());
    let (s, w, body) = respond(&g.decide(&with_cookie("/api/stocks", &forged)));
    assert_eq!(s, 401);
    assert_eq!(w.as_deref(), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(body, r#"{"error":"invalid_token"}"#);
    // Expired says so (clients refresh on it).
    let expired = token("HS256", &hmac_key(), &claims(json!({"exp": NOW - 5.0})));
    let d = g.decide(&with_cookie("/api/stocks", &expired));
    assert_eq!(d.code, "ERR_JWT_EXPIRED");
    assert!(respond(&d).1.unwrap().contains("expired"));
    // Missing scope: 403 insufficient_scope naming the scope.
    let d = g.decide(&with_cookie("/api/admin/users", &valid()));
    let (s, w, _) = respond(&d);
    assert_eq!((s, d.code), (403, "ERR_INSUFFICIENT_SCOPE"));
    assert_eq!(
        w.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="admin""#)
    );
    // With the scope (from `scp` or `permissions` too), it passes.
    for extra in [
        json!({"scope": "admin"}),
        json!({"scp": ["admin"]}),
        json!({"permissions": ["admin"]}),
    ] {
        let t = token("HS256", &hmac_key(), &claims(extra));
        assert_eq!(
            g.decide(&with_cookie("/api/admin/users", &t)).code,
            "OK_AUTHENTICATED"
        );
    }
}

#[test]
fn valid_token_continues_with_the_bearer_for_the_upstream() {
    let g = hs_gate();
    let t = valid();
    for request in [
        with_cookie("/api/stocks", &t),
        get("/api/stocks", &[("Authorization", &format!("Bearer {t}"))]),
        with_cookie("/dashboard", &t),
    ] {
        let d = g.decide(&request);
        assert_eq!(d.code, "OK_AUTHENTICATED");
        let h = forwarded(&d);
        assert_eq!(
            header(h, "authorization"),
            Some(format!("Bearer {t}").as_str())
        );
        assert_eq!(header(h, "x-auth-sub"), Some("user-1"));
        assert!(h
            .iter()
            .all(|(n, _)| n.chars().all(|c| !c.is_ascii_uppercase())));
        assert_eq!(h.iter().filter(|(n, _)| n == "authorization").count(), 1);
    }
    // A client Authorization header is replaced by the verified cookie token.
    let d = g.decide(&get(
        "/api/stocks",
        &[
            ("cookie", &format!("token={t}")),
            ("authorization", "Bearer other"),
        ],
    ));
    assert_eq!(
        header(forwarded(&d), "authorization"),
        Some(format!("Bearer {t}").as_str())
    );
    assert_eq!(d.token_source.map(|s| s.as_str()), Some("cookie"));
}

#[test]
fn claim_headers_are_always_valid_header_values() {
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"upstream": {"claimHeaders": {"sub": "x-auth-sub", "roles": "x-auth-roles", "name": "x-auth-name"}}}),
    ));
    let t = token(
        "HS256",
        &hmac_key(),
        &claims(json!({"sub": "a\r\nx-admin: 1", "roles": ["a", "b"], "name": "Zoë"})),
    );
    let d = g.decide(&with_cookie("/api/x", &t));
    let h = forwarded(&d);
    assert_eq!(header(h, "x-auth-sub"), Some("a\\u000d\\u000ax-admin: 1"));
    assert_eq!(header(h, "x-auth-roles"), Some(r#"["a","b"]"#));
    assert_eq!(header(h, "x-auth-name"), Some("Zo\\u00eb"));
    assert!(header(h, "x-admin").is_none());
}

#[test]
fn guest_rules() {
    let g = hs_gate();
    assert_eq!(
        g.decide(&with_cookie("/login", &valid())).action,
        Action::Redirect {
            location: "/".into()
        }
    );
    let d = g.decide(&get("/register", &[]));
    assert_eq!((d.code, status(&d)), ("OK_GUEST", 200));
    let expired = token("HS256", &hmac_key(), &claims(json!({"exp": NOW - 5.0})));
    assert_eq!(g.decide(&with_cookie("/login", &expired)).code, "OK_GUEST");
}

#[test]
fn default_rules_gate_dashboard_and_api() {
    let g = gate(&json!({ "verify": { "algorithms": ["HS256"], "keys": SECRET } }));
    assert_eq!(status(&g.decide(&get("/dashboard/x", &[]))), 307);
    assert_eq!(status(&g.decide(&get("/api/x", &[]))), 401);
    assert_eq!(status(&g.decide(&get("/about", &[]))), 200);
}

#[test]
fn every_algorithm_passes_end_to_end() {
    let cases: Vec<(&str, SignKey, serde_json::Value)> = vec![
        ("HS256", hmac_key(), json!(SECRET)),
        (
            "HS384",
            SignKey::Hmac(vec![7; 48]),
            json!({"secret": b64([7; 48]), "encoding": "base64url"}),
        ),
        (
            "HS512",
            SignKey::Hmac(vec![7; 64]),
            json!({"kty": "oct", "k": b64([7; 64])}),
        ),
        ("RS256", rsa_key(), json!(RSA_PUB)),
        ("RS384", rsa_key(), json!(RSA_PKCS1_PUB)),
        ("RS512", rsa_key(), json!(RSA_PUB)),
        ("PS256", rsa_key(), json!(RSA_PUB)),
        ("PS384", rsa_key(), json!(RSA_PUB)),
        ("PS512", rsa_key(), json!(RSA_PUB)),
        ("ES256", ec_key(), json!(EC_PUB)),
        ("ES384", p384_key(), ec_jwk(&p384_key())),
        ("ES512", p521_key(), ec_jwk(&p521_key())),
        ("EdDSA", ed_key(), json!(ED25519_PUB)),
    ];
    for (alg, key, keys) in cases {
        let g = gate(&options(&[alg], keys, json!({})));
        let t = token(alg, &key, &claims(json!({})));
        let d = g.decide(&with_cookie("/api/stocks", &t));
        assert_eq!(d.code, "OK_AUTHENTICATED", "{alg}");
    }
}

/// A sender-constrained access token (`cnf`, RFC 9449 / RFC 8705) proves nothing without its
/// key: from a cookie or an `Authorization` header, it is refused, never forwarded as a bearer.
#[test]
fn a_sender_constrained_token_is_never_forwarded() {
    let g = hs_gate();
    for cnf in [
        json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
        json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }),
    ] {
        let bound = token("HS256", &hmac_key(), &claims(json!({ "cnf": cnf })));
        for request in [
            with_cookie("/api/things", &bound),
            get(
                "/api/things",
                &[("authorization", &format!("Bearer {bound}"))],
            ),
        ] {
            let d = g.decide(&request);
            assert_eq!((status(&d), d.code), (401, "ERR_SESSION_NO_TOKEN"), "{cnf}");
            assert!(!is_continue(&d));
        }
        let page = g.decide(&with_cookie("/dashboard", &bound));
        assert!(matches!(page.action, Action::Redirect { .. }), "{cnf}");
    }
    // The same token without `cnf` passes.
    assert!(is_continue(
        &g.decide(&with_cookie("/api/things", &valid()))
    ));
}
