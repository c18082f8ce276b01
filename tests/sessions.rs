//! Sessions written by the real libraries (tests/data/sessions.json, made by
//! tests/node/sessions/fixtures.mjs with Auth.js, next-auth 4, nextjs-auth0 4 and 3, and
//! Kinde's SDK): each is read by a gate with `session: { format, secrets }`, and either its
//! access token reaches the backend as the bearer (without the library's cookies, which
//! stay on requests into the app), or the request is refused with the code the case calls
//! for and nothing is forwarded.
mod common;

use std::sync::Arc;

use common::{forwarded, get, header};
use edgegate::{FixedClock, Gate, Options};
use serde_json::{json, Value};

use common::SESSIONS as DATA;

/// Where the gate refuses what a library accepts, and why (`library_differs` says the same
/// in the data, for the others).
const STRICTER: [(&str, &str); 4] = [
    // A base cookie beside chunks is ambiguous here, as for the gate's own cookie; the SDKs
    // let the base win, which lets whoever can add a cookie choose which one is read.
    (
        "auth0v4/https/base-wins-over-chunks",
        "ERR_COOKIE_AMBIGUOUS",
    ),
    (
        "auth0v3/https/base-wins-over-chunks",
        "ERR_COOKIE_AMBIGUOUS",
    ),
    // The v4 format reads `__session`; a v3 `appSession` is `format: "auth0-v3"`.
    ("auth0v4/https/legacy-appSession", "ERR_NO_TOKEN"),
    ("auth0v4/https/legacy-appSession-expired", "ERR_NO_TOKEN"),
];

/// The code a refused vector must get, from what its name says is wrong.
fn expected_code(name: &str) -> Option<&'static str> {
    let rules: [(&str, &str); 16] = [
        ("tampered", "ERR_JWE_DECRYPTION_FAILED"),
        ("wrong-secret", "ERR_JWE_DECRYPTION_FAILED"),
        ("wrong-salt", "ERR_JWE_DECRYPTION_FAILED"),
        ("unknown-kid", "ERR_JWE_DECRYPTION_FAILED"),
        ("no-kid/second-secret", "ERR_JWE_DECRYPTION_FAILED"),
        ("access-token-expired", "ERR_SESSION_TOKEN_EXPIRED"),
        ("expired-token", "ERR_JWT_EXPIRED"),
        ("expired", "ERR_SESSION_EXPIRED"),
        ("past", "ERR_SESSION_EXPIRED"),
        ("ceiling-reached", "ERR_SESSION_EXPIRED"),
        ("header-exp-now", "ERR_SESSION_EXPIRED"),
        ("missing", "ERR_COOKIE_CHUNKS"),
        ("chunk-without-base", "ERR_COOKIE_CHUNKS"),
        ("base-mixed", "ERR_COOKIE_AMBIGUOUS"),
        ("dpop", "ERR_SESSION_NO_TOKEN"),
        ("only-http-cookie", "ERR_NO_TOKEN"),
    ];
    let algs = [
        ("enc-A128", "ERR_JOSE_ALG_NOT_ALLOWED"),
        ("alg-A256KW", "ERR_JOSE_ALG_NOT_ALLOWED"),
    ];
    rules
        .iter()
        .chain(&algs)
        .find(|(part, _)| name.contains(part))
        .map(|(_, code)| *code)
}

fn gate(data: &Value, vector: &Value) -> Gate {
    let format = common::session_format(vector["format"].as_str().unwrap());
    let mut session = json!({ "format": format });
    if format != "kinde" {
        session["secrets"] = vector["secrets"].clone();
    }
    let options = json!({
        "rules": [
            { "match": "/api/:path*", "kind": "api", "upstream": "https://api.internal" },
            { "match": "/dashboard/:path*", "kind": "page" },
        ],
        "verify": { "algorithms": ["HS256"], "keys": data["backend_token_key"]["secret"] },
        "session": session,
    });
    let now = vector["now"].as_f64().unwrap();
    Gate::with_clock(
        Options::from_json(&options.to_string()).unwrap(),
        Arc::new(FixedClock(now)),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", vector["name"]))
}

#[test]
fn every_vector_of_the_real_libraries() {
    let data: Value = serde_json::from_str(DATA).unwrap();
    let vectors = data["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 90, "{} vectors", vectors.len());
    let mut failures = Vec::new();
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let cookie: Vec<String> = vector["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                format!(
                    "{}={}",
                    pair[0].as_str().unwrap(),
                    pair[1].as_str().unwrap()
                )
            })
            .collect();
        let url = format!(
            "{}://app.example/api/things",
            vector["scheme"].as_str().unwrap()
        );
        let cookie = cookie.join("; ");
        let decision = gate(&data, vector).decide(&get(&url, &[("cookie", &cookie)]));
        let stricter = STRICTER
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, code)| *code);
        let outcome = match (&vector["expect"]["token"], stricter) {
            (Value::String(token), None) => {
                if decision.code != "OK_AUTHENTICATED" {
                    Err(format!("refused with {}", decision.code))
                } else {
                    let headers = forwarded(&decision);
                    let bearer = header(headers, "authorization");
                    let cookies = header(headers, "cookie");
                    if bearer != Some(&format!("Bearer {token}")) {
                        Err(format!("forwarded {bearer:?}"))
                    } else if cookies.is_some() {
                        Err(format!("sent the library's cookies upstream: {cookies:?}"))
                    } else {
                        // Into the app, the library's cookies stay: its auth() reads them.
                        let page = url.replace("/api/things", "/dashboard");
                        let d = gate(&data, vector).decide(&get(&page, &[("cookie", &cookie)]));
                        match header(forwarded(&d), "cookie") {
                            Some(kept) if kept == cookie => Ok(()),
                            kept => Err(format!("into the app the cookies became {kept:?}")),
                        }
                    }
                }
            }
            (_, want) => {
                let want = want.or_else(|| expected_code(name));
                if decision.code.starts_with("OK_") {
                    Err(format!(
                        "accepted ({}): {}",
                        decision.code, vector["expect"]["error"]
                    ))
                } else if want.is_some_and(|w| w != decision.code) {
                    Err(format!(
                        "refused with {}, not {}",
                        decision.code,
                        want.unwrap()
                    ))
                } else {
                    Ok(())
                }
            }
        };
        println!("{name:50} {}", decision.code);
        if let Err(why) = outcome {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_session_options_fail_at_construction() {
    let build = |session: Value| {
        let options = json!({
            "verify": { "algorithms": ["HS256"], "keys": common::SECRET },
            "session": session,
        });
        Options::from_json(&options.to_string())
            .and_then(|o| Gate::with_clock(o, Arc::new(FixedClock(0.0))))
    };
    let long = "a-session-secret-of-at-least-32-bytes!!";
    for (session, code) in [
        (json!({ "format": "authjs" }), "ERR_CONFIG_INVALID"),
        (
            json!({ "format": "authjs", "secret": "short" }),
            "ERR_CONFIG_WEAK_KEY",
        ),
        (
            json!({ "format": "auth0", "secrets": [long, "short"] }),
            "ERR_CONFIG_WEAK_KEY",
        ),
        (
            json!({ "format": "kinde", "secret": long }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "format": "iron-session", "secret": long }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "format": "authjs", "secret": long, "tokenPath": "a..b" }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "format": "authjs", "secret": long, "cookie": "bad name" }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "format": "authjs", "secret": long, "extra": 1 }),
            "ERR_CONFIG_INVALID",
        ),
    ] {
        assert_eq!(
            build(session.clone())
                .map(|_| "OK")
                .unwrap_or_else(|e| e.code()),
            code,
            "{session}"
        );
    }
    assert!(build(json!({ "format": "authjs", "secret": long })).is_ok());
    // verifyToken false: the session vouches for the token, so no verify beside it, and only
    // a sealed session can vouch (Kinde's cookie is the raw token).
    assert_eq!(
        build(json!({ "format": "authjs", "secret": long, "verifyToken": false }))
            .unwrap_err()
            .code(),
        "ERR_CONFIG_INVALID"
    );
    let vouching = |session: Value| {
        let options = json!({ "session": session });
        Options::from_json(&options.to_string())
            .and_then(|o| Gate::with_clock(o, Arc::new(FixedClock(0.0))))
    };
    assert!(vouching(json!({ "format": "auth0", "secret": long, "verifyToken": false })).is_ok());
    assert_eq!(
        vouching(json!({ "format": "kinde", "verifyToken": false }))
            .unwrap_err()
            .code(),
        "ERR_CONFIG_INVALID"
    );
    assert_eq!(
        vouching(json!({ "format": "auth0", "secret": long }))
            .unwrap_err()
            .code(),
        "ERR_CONFIG_INVALID"
    );
    // The library refreshes its own sessions: a refresh option beside it is a mistake.
    let options = json!({
        "verify": { "algorithms": ["HS256"], "keys": common::SECRET },
        "session": { "format": "next-auth", "secret": long },
        "refresh": { "tokenEndpoint": "https://id.example/token", "clientId": "c" },
    });
    let refused = Options::from_json(&options.to_string())
        .and_then(|o| Gate::with_clock(o, Arc::new(FixedClock(0.0))));
    assert_eq!(refused.unwrap_err().code(), "ERR_CONFIG_INVALID");
}

/// To an upstream go neither the session nor the library's other cookies (CSRF, callback,
/// PKCE, ID and refresh tokens); the app's own cookies do.
#[test]
fn library_cookies_never_reach_an_upstream() {
    let data: Value = serde_json::from_str(DATA).unwrap();
    let vectors = data["vectors"].as_array().unwrap();
    for (name, extra) in [
        ("authjs/https/single", "__Host-authjs.csrf-token=c; __Secure-authjs.callback-url=u; authjs.pkce.code_verifier=v"),
        ("nextAuth4/https/single", "__Host-next-auth.csrf-token=c; next-auth.callback-url=u"),
        ("auth0v4/https/single", "__txn_abc=t"),
        ("kinde/https/single", "id_token1=x; access_token_payload=p"),
    ] {
        let vector = vectors.iter().find(|v| v["name"] == name).unwrap();
        let session: Vec<String> = vector["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c[0].as_str().unwrap(), c[1].as_str().unwrap()))
            .collect();
        let cookie = format!("theme=dark; {extra}; {}", session.join("; "));
        let d = gate(&data, vector).decide(&get("https://app.example/api/things", &[("cookie", &cookie)]));
        assert_eq!(d.code, "OK_AUTHENTICATED", "{name}");
        assert_eq!(header(forwarded(&d), "cookie"), Some("theme=dark"), "{name}");
    }
}

/// Choosing a library's session is the whole migration: its own routes stay open (its
/// sign-in, callback and sign-out handlers sit under the app's `/api/:path*`), pages send
/// visitors to its sign-in page with its return parameter, and the configured rules keep
/// their indices. Its routes are read as any public rule: exactly, so another spelling
/// falls to the rules that protect.
#[test]
fn each_library_brings_its_routes_sign_in_and_return_parameter() {
    use edgegate::{Action, RuleKind};
    let cases = [
        (
            "authjs",
            "/api/auth/callback/credentials",
            "/api/auth/signin?callbackUrl=%2Fdashboard%3Ftab%3D2",
        ),
        (
            "next-auth",
            "/api/auth/session",
            "/api/auth/signin?callbackUrl=%2Fdashboard%3Ftab%3D2",
        ),
        (
            "auth0",
            "/auth/callback",
            "/auth/login?returnTo=%2Fdashboard%3Ftab%3D2",
        ),
        (
            "auth0-v3",
            "/api/auth/callback",
            "/api/auth/login?returnTo=%2Fdashboard%3Ftab%3D2",
        ),
        (
            "kinde",
            "/api/auth/kinde_callback",
            "/api/auth/login?post_login_redirect_url=%2Fdashboard%3Ftab%3D2",
        ),
    ];
    for (format, route, sign_in) in cases {
        let mut session = json!({ "format": format });
        if format != "kinde" {
            session["secret"] = json!(common::SECRET);
        }
        let rules = json!([
            { "match": "/dashboard/:path*", "kind": "page" },
            { "match": "/:path*", "kind": "api" },
        ]);
        let options = json!({
            "rules": rules,
            "verify": { "algorithms": ["HS256"], "keys": common::SECRET },
            "session": session,
        });
        let g = common::gate(&options);
        let open = g.decide(&get(&format!("https://app.example{route}?code=c"), &[]));
        assert_eq!(
            (open.code, open.kind),
            ("OK_PUBLIC", Some(RuleKind::Public)),
            "{format} {route}"
        );
        assert_eq!(
            open.rule,
            Some(2),
            "{format}: the library's rule comes after the configured ones"
        );
        let page = g.decide(&get("https://app.example/dashboard?tab=2", &[]));
        assert_eq!(
            page.action,
            Action::Redirect {
                location: sign_in.into()
            },
            "{format}"
        );
        assert_eq!(page.rule, Some(0), "{format}");
        // An app's own route beside the library's is the app's: its rules protect it.
        let own_route = if format == "auth0" {
            "/auth/me"
        } else {
            "/api/auth/account"
        };
        let d = g.decide(&get(&format!("https://app.example{own_route}"), &[]));
        assert_eq!(d.code, "ERR_NO_TOKEN", "{format}: {own_route}");
        // Other spellings of a library route are not its route: they stay protected.
        let upper = route.replacen("auth", "AUTH", 1);
        for spelling in [
            upper.as_str(),
            &format!("{route}/../../x"),
            &format!("{route}%2f..%2f..%2fx"),
        ] {
            let d = g.decide(&get(&format!("https://app.example{spelling}"), &[]));
            assert_ne!(d.code, "OK_PUBLIC", "{format}: {spelling}");
        }

        // The options named still win.
        let mut own = options.clone();
        own["loginUrl"] = json!("/signin");
        own["returnToParam"] = json!("next");
        let page = common::gate(&own).decide(&get("https://app.example/dashboard?tab=2", &[]));
        assert_eq!(
            page.action,
            Action::Redirect {
                location: "/signin?next=%2Fdashboard%3Ftab%3D2".into()
            },
            "{format}"
        );
    }
    // Without a session, nothing of any library's.
    let plain = common::gate(&json!({
        "rules": [{ "match": "/:path*", "kind": "api" }],
        "verify": { "algorithms": ["HS256"], "keys": common::SECRET },
    }));
    assert_eq!(
        plain
            .decide(&get("https://app.example/api/auth/signin", &[]))
            .code,
        "ERR_NO_TOKEN"
    );
}
