//! The gate reading the session cookie: the cookie catalogue through the whole gate
//! (duplicates, quoting, look-alike names, chunking and size caps), each with the decision
//! on `/api` (401 unless the one real token is found). Writing them: `cookies_written.rs`.

mod common;

use common::*;
use serde_json::json;

#[test]
fn cookie_catalogue() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let other = token("HS256", &hmac_key(), &claims(json!({"sub": "admin"})));
    let (a, b) = t.split_at(t.len() / 2);
    let (b1, b2) = b.split_at(b.len() / 2);
    let pad = "x".repeat(17_000); // past the 16 KiB Cookie header cap
    let cases: Vec<(String, &str)> = vec![
        (format!("token={t}"), "OK_AUTHENTICATED"),
        (format!("a=1; token={t}; b=2"), "OK_AUTHENTICATED"),
        (format!("token=\"{t}\""), "OK_AUTHENTICATED"),
        (format!("token.0={a}; token.1={b}"), "OK_AUTHENTICATED"),
        (
            format!("token.2={b2}; token.0={a}; token.1={b1}"),
            "OK_AUTHENTICATED",
        ),
        // duplicates: two parsers could pick different ones
        (format!("token={t}; token={other}"), "ERR_COOKIE_AMBIGUOUS"),
        (format!("token={t}; token={t}"), "ERR_COOKIE_AMBIGUOUS"),
        (
            format!("token={t}; token.0={a}; token.1={b}"),
            "ERR_COOKIE_AMBIGUOUS",
        ),
        (
            format!("token.0={a}; token.0={a}; token.1={b}"),
            "ERR_COOKIE_AMBIGUOUS",
        ),
        // look-alikes are other cookies, so no token at all
        (format!("Token={t}"), "ERR_NO_TOKEN"),
        (format!("__Host-token={t}"), "ERR_NO_TOKEN"),
        (format!("__host-token={t}"), "ERR_NO_TOKEN"),
        (format!("\u{2000}token={t}"), "ERR_NO_TOKEN"),
        (format!("tok%65n={t}"), "ERR_NO_TOKEN"),
        (format!("x, token={t}"), "ERR_NO_TOKEN"),
        ("token=".to_string(), "ERR_NO_TOKEN"),
        // chunk gaps and junk suffixes
        (format!("token.0={a}; token.2={b}"), "ERR_COOKIE_CHUNKS"),
        (format!("token.1={b}"), "ERR_COOKIE_CHUNKS"),
        (format!("token.0={a}; token.01={b}"), "ERR_COOKIE_CHUNKS"),
        (format!("token.0={a}; token.1x={b}"), "ERR_COOKIE_CHUNKS"),
        (format!("token.0={a}; token.-1={b}"), "ERR_COOKIE_CHUNKS"),
        (
            (0..11)
                .map(|i| format!("token.{i}=x"))
                .collect::<Vec<_>>()
                .join("; "),
            "ERR_COOKIE_CHUNKS",
        ),
        // size caps, before any parsing
        (format!("token={t}; pad={pad}"), "ERR_TOO_LARGE"),
        // quoted junk is still just a bad token
        ("token=\"not.a.jwt\"".to_string(), "ERR_JWT_INVALID"),
        (
            format!("token={t}x"),
            "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        ),
    ];
    let total = cases.len();
    for (cookie, want) in cases {
        let d = g.decide(&get("/api/stocks", &[("cookie", &cookie)]));
        assert_eq!(d.code, want, "{cookie:.80}");
        let want_status = if want == "OK_AUTHENTICATED" { 200 } else { 401 };
        assert_eq!(status(&d), want_status, "{cookie:.80}");
    }
    println!("cookies: {total} cases, each with its expected decision");
}

#[test]
fn several_cookie_headers_are_one_jar() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let cookie = format!("token={t}");
    let d = g.decide(&get("/api/x", &[("cookie", "a=1"), ("cookie", &cookie)]));
    assert_eq!(d.code, "OK_AUTHENTICATED");
    let d = g.decide(&get("/api/x", &[("cookie", &cookie), ("Cookie", &cookie)]));
    assert_eq!(d.code, "ERR_COOKIE_AMBIGUOUS");
}

#[test]
fn auth_cookie_is_stripped_upstream_and_others_kept() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let (a, b) = t.split_at(10);
    let d = g.decide(&get(
        "/api/x",
        &[(
            "cookie",
            &format!("theme=dark; token.0={a}; token.1={b}; sid=7"),
        )],
    ));
    assert_eq!(header(forwarded(&d), "cookie"), Some("theme=dark; sid=7"));
    assert_eq!(
        header(forwarded(&d), "authorization"),
        Some(format!("Bearer {t}").as_str())
    );
    // With stripAuthCookie off, the auth cookie is forwarded as sent (the refresh cookie
    // never is).
    let keep = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"upstream": {"stripAuthCookie": false}}),
    ));
    let d = keep.decide(&with_cookie("/api/x", &t));
    assert_eq!(
        header(forwarded(&d), "cookie"),
        Some(format!("token={t}").as_str())
    );
}

#[test]
fn host_prefix_on_secure_requests_defeats_cookie_tossing() {
    let gate = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    // (url, cookie header, expected code)
    let cases = [
        // A sibling subdomain can set `token` for this host; only this host over TLS can
        // set `__Host-token`. On https the plain name is not read at all.
        (
            "https://app.example/api/x",
            format!("token={t}"),
            "ERR_NO_TOKEN",
        ),
        (
            "https://app.example/api/x",
            format!("__Host-token={t}"),
            "OK_AUTHENTICATED",
        ),
        (
            "http://app.example/api/x",
            format!("token={t}"),
            "ERR_NO_TOKEN",
        ),
        (
            "https://127.0.0.1/api/x",
            format!("__Host-token={t}"),
            "OK_AUTHENTICATED",
        ),
        // Plain http on loopback (development): plain names.
        (
            "http://127.0.0.1:3000/api/x",
            format!("token={t}"),
            "OK_AUTHENTICATED",
        ),
        (
            "http://localhost:3000/api/x",
            format!("token={t}"),
            "OK_AUTHENTICATED",
        ),
        (
            "http://[::1]:3000/api/x",
            format!("token={t}"),
            "OK_AUTHENTICATED",
        ),
        (
            "http://localhost.evil.example/api/x",
            format!("token={t}"),
            "ERR_NO_TOKEN",
        ),
        (
            "http://127.0.0.1:3000/api/x",
            format!("__Host-token={t}"),
            "ERR_NO_TOKEN",
        ),
    ];
    for (url, cookie, code) in cases {
        let d = gate.decide(&get(url, &[("cookie", &cookie)]));
        assert_eq!(d.code, code, "{url} {cookie:.20}");
    }
    // Both spellings, and the refresh cookie, are stripped upstream either way.
    let d = gate.decide(&get(
        "https://app.example/api/x",
        &[(
            "cookie",
            &format!(
                "a=1; token=junk; __Host-token={t}; refreshToken=r; __Host-refreshToken=r; b=2"
            ),
        )],
    ));
    assert_eq!(header(forwarded(&d), "cookie"), Some("a=1; b=2"));
    // Opting out reads the plain name everywhere.
    let plain = common::gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "token": { "hostPrefix": false } }),
    ));
    let d = plain.decide(&get(
        "https://app.example/api/x",
        &[("cookie", &format!("token={t}"))],
    ));
    assert_eq!(d.code, "OK_AUTHENTICATED");
}

/// Over https the gate reads the session from `__Host-token` only. A cookie under the plain
/// name (a login route that wrote it itself, tested on plain http on localhost) is not read
/// there; the decision's reason and `explain` say why, the code stays ERR_NO_TOKEN.
#[test]
fn a_plain_cookie_name_over_https_is_explained() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let plain = get(
        "https://app.example/api/stocks",
        &[("cookie", &format!("token={t}"))],
    );
    let d = g.decide(&plain);
    assert_eq!((status(&d), d.code), (401, "ERR_NO_TOKEN"));
    let reason = d.error.as_ref().unwrap().to_string();
    assert!(
        reason.contains("plain name over https") && reason.contains("__Host-"),
        "{reason}"
    );
    let trace = g.explain(&plain);
    let step = trace.steps.iter().find(|s| s.step == "token").unwrap();
    assert!(
        step.detail.contains("plain name over https"),
        "{}",
        step.detail
    );
    assert!(step.detail.contains("__Host-token"), "{}", step.detail);

    // The same cookie on plain http on loopback is read; under __Host- on https too.
    let local = get(
        "http://localhost:3000/api/stocks",
        &[("cookie", &format!("token={t}"))],
    );
    assert_eq!(g.decide(&local).code, "OK_AUTHENTICATED");
    let host = get(
        "https://app.example/api/stocks",
        &[("cookie", &format!("__Host-token={t}"))],
    );
    assert_eq!(g.decide(&host).code, "OK_AUTHENTICATED");
    // No cookie at all: the plain reason.
    let none = g.decide(&get("https://app.example/api/stocks", &[]));
    assert_eq!(none.error.unwrap().to_string(), "no token in the request");
}
