//! A decision that changes nothing says so, and only such a decision: the host then answers
//! with its bare pass-through (no header list, no rewrite, no route mark), so a page the
//! gate lets through costs it nothing. Every continuing decision carries its header changes,
//! which the debug build checks make its forwarded headers (`check_agreement`).

mod common;

use common::*;
use edgegate::{Action, Decision, HeaderChanges};
use serde_json::{json, Value};

/// The example's shape: the app's own login handlers as public exceptions inside a
/// protected `/api`, a page, a guest page, a public backend endpoint.
fn gate_with(rules: Value) -> edgegate::Gate {
    gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "rules": rules, "upstreams": { "backend": "http://backend.internal:4000" } }),
    ))
}

fn example() -> edgegate::Gate {
    gate_with(json!([
        { "match": ["/api/login", "/api/logout"], "kind": "public" },
        { "match": "/api/health", "kind": "public", "upstream": "backend" },
        { "match": "/dashboard/:path*", "kind": "page" },
        { "match": "/api/:path*", "kind": "api", "upstream": "backend" },
        { "match": "/login", "kind": "guest" },
        { "match": "/docs/:slug", "kind": "public" },
    ]))
}

fn changes(d: &Decision) -> &HeaderChanges {
    match &d.action {
        Action::Continue { changes, .. } => changes,
        other => panic!("expected continue, got {other:?} ({})", d.code),
    }
}

const BROWSER: [(&str, &str); 4] = [
    ("accept", "text/html"),
    ("user-agent", "Mozilla/5.0"),
    ("cookie", "theme=dark"),
    ("x-forwarded-proto", "https"),
];

#[test]
fn pages_the_gate_only_lets_through_pass_through() {
    let g = example();
    for url in [
        "/",
        "/about",
        "/about?x=1&y=%20",
        "https://app.example/pricing",
        "/login",
        "/login?returnTo=%2Fdashboard",
        "/docs/intro",
    ] {
        let d = g.decide(&get(url, &BROWSER));
        assert!(d.passes_through(), "{url}: {d:#?}");
        assert_eq!(forwarded(&d).len(), BROWSER.len(), "{url}");
    }
}

#[test]
fn anything_changed_is_no_pass_through_and_crosses_as_changes() {
    let g = example();
    // A spoofed identity header on a public page: removed, and said so.
    let d = g.decide(&get(
        "/about",
        &[("x-forwarded-user", "admin"), ("accept", "*/*")],
    ));
    assert!(!d.passes_through());
    assert_eq!(changes(&d).removed, ["x-forwarded-user"]);
    assert!(changes(&d).added.is_empty());
    assert_eq!(forwarded(&d), [("accept".into(), "*/*".into())]);
    // Next's recursion marker, spelt with `_` and in capitals: removed as spelt.
    let d = g.decide(&get("/", &[("X_Middleware_Subrequest", "middleware")]));
    assert_eq!(changes(&d).removed, ["x_middleware_subrequest"]);
    // A verified session on a page: the bearer and the claim header added, the cookie
    // replaced without the token.
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let d = g.decide(&get(
        "/dashboard",
        &[("cookie", &format!("theme=dark; token={t}"))],
    ));
    assert!(!d.passes_through(), "{d:#?}");
    assert_eq!(changes(&d).removed, ["cookie"]);
    let added: Vec<&str> = changes(&d).added.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(added, ["authorization", "cookie", "x-auth-sub"]);
    // To an upstream, even a public one: the forwarding headers are the gate's.
    let d = g.decide(&get("https://app.example/api/health", &BROWSER));
    assert!(!d.passes_through());
    assert!(changes(&d)
        .removed
        .contains(&"x-forwarded-proto".to_owned()));
}

#[test]
fn an_exception_inside_a_protected_rule_is_still_rewritten() {
    let g = example();
    // `/api/login.rsc` reaches a dynamic `/api/[name]` under Next, which shows the gate
    // `/api/login`: the judged path must be the routed one.
    for url in ["/api/login", "/api/logout?next=%2F"] {
        let d = g.decide(&get(url, &BROWSER));
        assert!(!d.passes_through(), "{url}");
        assert_eq!(rewrite(&d), Some(url), "{url}");
    }
}

#[test]
fn a_spelling_the_host_routes_elsewhere_is_rewritten_to_the_judged_path() {
    let g = gate_with(json!([
        { "match": "/files/:name", "kind": "page" },
        { "match": "/files/readme", "kind": "public" },
        { "match": "/shop/:path*", "kind": "public" },
        { "match": "/shop/:item.rsc", "kind": "page" },
    ]));
    // The public `/shop/cart` would pass, but its `.rsc` spelling (`/shop/cart.rsc`,
    // which a host may strip before the gate sees it) matches no protecting rule: the
    // exception is first. So it passes through.
    assert!(g.decide(&get("/shop/cart", &BROWSER)).passes_through());
    // No rule matches `/blog`, but `/blog.rsc`-like spellings of a protected rule would:
    let g = gate_with(json!([
        { "match": "/:section.rsc", "kind": "page" },
    ]));
    let d = g.decide(&get("/blog", &BROWSER));
    assert_eq!(rewrite(&d), Some("/blog"), "{d:#?}");
    // An exception reached through a spelling the host routes as written (not canonical):
    // falls through to the protecting rules, as before.
    let g = example();
    let d = g.decide(&get("/api/l%6Fgin", &BROWSER));
    assert_eq!(d.code, "ERR_NO_TOKEN");
}

#[test]
fn a_guest_page_redirects_a_session_and_passes_through_without_one() {
    let g = example();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let d = g.decide(&with_cookie("/login", &t));
    assert!(matches!(d.action, Action::Redirect { .. }), "{d:#?}");
    let d = g.decide(&with_cookie("/login", "expired.or.junk"));
    assert!(d.passes_through(), "{d:#?}");
}
