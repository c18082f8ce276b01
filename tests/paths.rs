//! The path-bypass catalogue: every spelling of a protected path that has slipped past some
//! middleware, with the secure decision edgegate takes without a token (307 to login for
//! the `/dashboard` page rule, 400 for refused paths) and with a valid one.

mod common;

use common::*;
use edgegate::{Action, Decision};
use serde_json::json;

/// A request, its headers, the status without a token, and the decision's code.
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    u16,
    &'static str,
);

fn without_token(url: &str, headers: &[(&str, &str)]) -> Decision {
    hs_gate().decide(&get(url, headers))
}

#[test]
fn bypass_catalogue() {
    // (request, headers, expected status without a token, expected code)
    let cases: Vec<Case> = vec![
        ("/dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/Dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/DASHBOARD/settings", vec![], 307, "ERR_NO_TOKEN"),
        ("/%64ashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/%44ASHBOARD", vec![], 307, "ERR_NO_TOKEN"),
        ("//dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("///dashboard//x", vec![], 307, "ERR_NO_TOKEN"),
        ("/public/../dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/public/%2e%2e/dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/public/.%2E/dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/./dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/x\\..\\dashboard", vec![], 307, "ERR_NO_TOKEN"),
        ("/dashboard/", vec![], 307, "ERR_NO_TOKEN"),
        (
            "/_next/data/abc/dashboard.json",
            vec![],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/_next/data/build-1/dashboard/x.json",
            vec![],
            307,
            "ERR_NO_TOKEN",
        ),
        ("/dashboard.rsc", vec![], 307, "ERR_NO_TOKEN"),
        ("/dashboard.json", vec![], 307, "ERR_NO_TOKEN"),
        (
            "/dashboard.segments/_tree.segment.rsc",
            vec![],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "https://app.example/dashboard?x=1#y",
            vec![],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![(
                "x-middleware-subrequest",
                "middleware:middleware:middleware:middleware:middleware",
            )],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![("x-middleware-subrequest", "src/middleware")],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![("x-original-url", "/public")],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![("x-rewrite-url", "/public")],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![("x-forwarded-uri", "/public")],
            307,
            "ERR_NO_TOKEN",
        ),
        (
            "/dashboard",
            vec![("x-forwarded-prefix", "/public")],
            307,
            "ERR_NO_TOKEN",
        ),
        ("/api/stocks", vec![], 401, "ERR_NO_TOKEN"),
        ("/API/stocks", vec![], 401, "ERR_NO_TOKEN"),
        ("/api%2Fstocks", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%2Fx", vec![], 400, "ERR_PATH_REJECTED"),
        // A decoded `?` or `#` would end the path for `/api/:path*`.
        ("/api/a%3Fb", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%23x", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%2fx", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%5Cx", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard;x", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard;jsessionid=1", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%3bx", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%00", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%00.png", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard\u{0}", vec![], 400, "ERR_PATH_REJECTED"),
        (
            "/dashboard%0d%0aSet-Cookie:x",
            vec![],
            400,
            "ERR_PATH_REJECTED",
        ),
        ("/%2564ashboard", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%ff", vec![], 400, "ERR_PATH_REJECTED"),
        ("/dashboard%", vec![], 400, "ERR_PATH_REJECTED"),
        // Only the path decides: these are public whatever the query or headers say.
        ("/public?next=/dashboard", vec![], 200, "OK_PUBLIC"),
        ("/public#/dashboard", vec![], 200, "OK_PUBLIC"),
        (
            "/public",
            vec![("x-original-url", "/dashboard")],
            200,
            "OK_PUBLIC",
        ),
        ("/dashboards", vec![], 200, "OK_PUBLIC"),
        ("/", vec![], 200, "OK_PUBLIC"),
    ];
    let total = cases.len();
    for (url, headers, want_status, want_code) in cases {
        let d = without_token(url, &headers);
        assert_eq!(
            (status(&d), d.code),
            (want_status, want_code),
            "{url:?} {headers:?}"
        );
    }
    println!("paths: {total} bypass attempts, each with its expected decision");
}

#[test]
fn spoofed_headers_never_reach_the_upstream() {
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let g = hs_gate();
    let cookie = format!("token={t}");
    let spoof = [
        ("cookie", cookie.as_str()),
        ("x-middleware-subrequest", "middleware"),
        ("X-Middleware-Subrequest", "middleware"),
        ("x_middleware_subrequest", "middleware"),
        ("x-auth-sub", "admin"),
        ("x_auth_sub", "admin"),
        ("X-AUTH-SUB", "admin"),
        ("x-original-url", "/admin"),
        ("x-forwarded-user", "admin"),
        ("remote-user", "admin"),
        ("authorization", "Bearer attacker-token"),
        ("accept", "text/html"),
    ];
    for url in ["/api/stocks", "/public", "/login"] {
        // A guest page is only passed through for visitors without a session.
        let headers: Vec<_> = spoof
            .iter()
            .filter(|(n, _)| url != "/login" || *n != "cookie")
            .copied()
            .collect();
        let d = g.decide(&get(url, &headers));
        let h = forwarded(&d);
        for (name, _) in h {
            assert!(
                ![
                    "x-middleware-subrequest",
                    "x_middleware_subrequest",
                    "x_auth_sub",
                    "x-original-url",
                    "x-forwarded-user",
                    "remote-user"
                ]
                .contains(&name.as_str()),
                "{url}: {name} was forwarded"
            );
        }
        assert_eq!(header(h, "accept"), Some("text/html"), "{url}");
        let subs: Vec<_> = h.iter().filter(|(n, _)| n == "x-auth-sub").collect();
        if url == "/api/stocks" {
            // Only the gate's own value, from the verified token.
            assert_eq!(
                subs,
                vec![&("x-auth-sub".to_string(), "user-1".to_string())]
            );
            assert_eq!(
                header(h, "authorization"),
                Some(format!("Bearer {t}").as_str())
            );
        } else {
            assert!(subs.is_empty(), "{url}: spoofed x-auth-sub forwarded");
        }
    }
    // The /login guest rule with a valid session redirects instead of continuing.
    let d = g.decide(&get("/login", &[("cookie", &cookie)]));
    assert_eq!(
        d.action,
        Action::Redirect {
            location: "/".into()
        }
    );
}

#[test]
fn hostile_patterns_fail_closed() {
    // A ReDoS-prone custom group: the bound is hit, the request is refused, nothing hangs.
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "rules": [ { "match": ["/((?:a|a)+(?!b)c)"], "kind": "api" } ] }),
    ));
    let d = g.decide(&get(&format!("/{}", "a".repeat(40)), &[]));
    assert_eq!((status(&d), d.code), (400, "ERR_MATCHER_LIMIT"));
}
