//! The CSRF guard: a cookie-authenticated request with an unsafe method must come from this
//! origin. Bearer-header requests, safe methods and public rules are not affected.
mod common;

use common::*;
use edgegate::Request;
use serde_json::{json, Value};

const APP: &str = "https://app.example";

fn gate_with(extra: Value) -> edgegate::Gate {
    let mut rules = json!([{ "match": ["/api/login"], "kind": "public" }]);
    rules.as_array_mut().unwrap().extend(
        options(&["HS256"], json!(SECRET), json!({}))["rules"]
            .as_array()
            .unwrap()
            .clone(),
    );
    let mut extra = extra;
    extra["rules"] = rules;
    gate(&options(&["HS256"], json!(SECRET), extra))
}

/// name, method, url, headers, expected status, expected code
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
);

fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<'static> {
    let mut r = get(url, headers);
    r.method = method.to_string().into();
    r
}

#[test]
fn the_csrf_matrix() {
    let gate = gate_with(json!({ "csrf": { "allowedOrigins": ["https://admin.example"] } }));
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let cookie = format!("__Host-token={t}");
    let plain = format!("token={t}");
    let bearer = format!("Bearer {t}");
    let api = format!("{APP}/api/stocks");
    let page = format!("{APP}/dashboard");
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("cross-site POST", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")], 403, "ERR_CSRF"),
        ("cross-site POST to a page", "POST", &page, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")], 403, "ERR_CSRF"),
        ("same-site POST (sibling subdomain)", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "same-site"), ("origin", "https://blog.app.example")], 403, "ERR_CSRF"),
        ("same-origin POST", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "same-origin"), ("origin", APP)], 200, "OK_AUTHENTICATED"),
        ("user-initiated (none)", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "none")], 200, "OK_AUTHENTICATED"),
        ("no Sec-Fetch-Site, own Origin", "PUT", &api, vec![("cookie", &cookie), ("origin", APP)], 200, "OK_AUTHENTICATED"),
        ("no Sec-Fetch-Site, own Origin, :443 in the URL", "PATCH", "https://app.example:443/api/stocks", vec![("cookie", &cookie), ("origin", APP)], 200, "OK_AUTHENTICATED"),
        ("no Sec-Fetch-Site, Origin of the Host header", "POST", "http://localhost:3000/api/stocks", vec![("cookie", &plain), ("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")], 200, "OK_AUTHENTICATED"),
        ("no Sec-Fetch-Site, foreign Origin, own Host", "POST", &api, vec![("cookie", &cookie), ("host", "app.example"), ("origin", "https://evil.example")], 403, "ERR_CSRF"),
        ("no Sec-Fetch-Site, foreign Origin", "DELETE", &api, vec![("cookie", &cookie), ("origin", "https://evil.example")], 403, "ERR_CSRF"),
        ("no Sec-Fetch-Site, Origin over http", "POST", &api, vec![("cookie", &cookie), ("origin", "http://app.example")], 403, "ERR_CSRF"),
        ("no Sec-Fetch-Site, Origin null", "POST", &api, vec![("cookie", &cookie), ("origin", "null")], 403, "ERR_CSRF"),
        ("neither header", "POST", &api, vec![("cookie", &cookie)], 403, "ERR_CSRF"),
        ("two Origin headers", "POST", &api, vec![("cookie", &cookie), ("origin", APP), ("origin", "https://evil.example")], 403, "ERR_CSRF"),
        ("two Sec-Fetch-Site headers", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "same-origin"), ("sec-fetch-site", "cross-site")], 403, "ERR_CSRF"),
        ("an unknown method is unsafe", "PROPFIND", &api, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site")], 403, "ERR_CSRF"),
        ("lowercase post is not GET", "post", &api, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site")], 403, "ERR_CSRF"),
        ("allow-listed origin", "POST", &api, vec![("cookie", &cookie), ("sec-fetch-site", "same-site"), ("origin", "https://admin.example")], 200, "OK_AUTHENTICATED"),
        ("bearer header, cross-site", "POST", &api, vec![("authorization", &bearer), ("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")], 200, "OK_AUTHENTICATED"),
        ("cross-site GET (safe method)", "GET", &api, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")], 200, "OK_AUTHENTICATED"),
        ("cross-site HEAD", "HEAD", &api, vec![("cookie", &cookie), ("sec-fetch-site", "cross-site")], 200, "OK_AUTHENTICATED"),
        ("public rule, cross-site POST", "POST", "https://app.example/api/login", vec![("sec-fetch-site", "cross-site")], 200, "OK_PUBLIC"),
        ("forged cookie, cross-site: refused before verification", "POST", &api, vec![("cookie", "__Host-token=x.y.z"), ("sec-fetch-site", "cross-site")], 403, "ERR_CSRF"),
    ];
    for (name, method, url, headers, want_status, want_code) in cases {
        let d = gate.decide(&request(method, url, &headers));
        assert_eq!(
            (status(&d), d.code),
            (want_status, want_code),
            "{name}: {d:?}"
        );
    }
}

#[test]
fn public_rules_still_strip_spoofed_headers() {
    let gate = gate_with(json!({}));
    let d = gate.decide(&request(
        "POST",
        "/api/login",
        &[
            ("x-middleware-subrequest", "middleware"),
            ("x-auth-sub", "admin"),
        ],
    ));
    assert_eq!(d.code, "OK_PUBLIC");
    assert_eq!(d.kind, Some(edgegate::RuleKind::Public));
    // Only the gate's own mark for the rewrite to the judged path (tests/routing.rs).
    let names: Vec<&str> = forwarded(&d).iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["x-edgegate-route"]);
}

#[test]
fn the_guard_can_be_turned_off_and_origins_are_checked() {
    let off = gate_with(json!({ "csrf": { "enabled": false } }));
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let d = off.decide(&request(
        "POST",
        "/api/stocks",
        &[("cookie", &format!("token={t}"))],
    ));
    assert_eq!(d.code, "OK_AUTHENTICATED");
    for bad in [
        "https://a.example/",
        "a.example",
        "https://a.example/path",
        "ftp://a.example",
        "https://user@a.example",
    ] {
        let err = build(&options(
            &["HS256"],
            json!(SECRET),
            json!({ "csrf": { "allowedOrigins": [bad] } }),
        ))
        .expect_err(bad);
        assert_eq!(err.code(), "ERR_CONFIG_URL", "{bad}");
    }
}
