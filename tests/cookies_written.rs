//! The gate writing the session cookies, as setSession / clearSession do: secure
//! attributes, `__Host-` names off loopback, Max-Age from the token's lifetime. Reading
//! them: `cookies_read.rs`.
mod common;

use common::*;
use edgegate::Session;
use serde_json::json;

#[test]
fn session_cookies_have_secure_defaults() {
    let gate = hs_gate();
    let access = token("HS256", &hmac_key(), &claims(json!({ "exp": NOW + 900.0 })));
    let session = Session {
        access_token: access.clone(),
        refresh_token: Some("r-123".into()),
        expires_at: None,
    };
    let prod = gate
        .session_cookies("https://app.example/api/login", &session)
        .unwrap();
    assert_eq!(
        prod,
        [
            format!("__Host-token={access}; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=900"),
            "__Host-refreshToken=r-123; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=2592000"
                .to_string(),
        ]
    );
    let dev = gate
        .session_cookies("http://localhost:3000/api/login", &session)
        .unwrap();
    assert_eq!(
        dev[0],
        format!("token={access}; Path=/; HttpOnly; SameSite=Lax; Max-Age=900")
    );
    // An explicit expiry wins; a past one stores an already-expired cookie.
    let given = Session {
        expires_at: Some(NOW + 60.0),
        ..session.clone()
    };
    assert!(gate.session_cookies("https://a.example/", &given).unwrap()[0].ends_with("Max-Age=60"));
    let past = Session {
        expires_at: Some(NOW - 60.0),
        ..session.clone()
    };
    assert!(gate.session_cookies("https://a.example/", &past).unwrap()[0].ends_with("Max-Age=0"));
    // What the gate then reads back from the browser is what it wrote.
    let stored = prod[0].split(';').next().unwrap().to_string();
    let d = gate.decide(&get("https://app.example/api/x", &[("cookie", &stored)]));
    assert_eq!(d.code, "OK_AUTHENTICATED");
}

#[test]
fn clearing_expires_both_cookies() {
    let gate = hs_gate();
    assert_eq!(
        gate.clear_session_cookies("https://app.example/api/logout"),
        [
            "__Host-token=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0",
            "__Host-refreshToken=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0",
        ]
    );
    assert_eq!(
        gate.clear_session_cookies("http://127.0.0.1:3000/api/logout")[0],
        "token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    );
}

#[test]
fn values_that_would_break_the_header_are_refused() {
    let gate = hs_gate();
    for bad in [
        "",
        "a;b",
        "a b",
        "a\r\nSet-Cookie: x=1",
        "\"q\"",
        "a,b",
        &"x".repeat(5000),
    ] {
        let session = Session {
            access_token: bad.to_string(),
            ..Default::default()
        };
        let err = gate
            .session_cookies("https://a.example/", &session)
            .unwrap_err();
        assert_eq!(err.code(), "ERR_SESSION_INVALID", "{bad:.20}");
    }
    let session = Session {
        access_token: "a.b.c".into(),
        refresh_token: Some("r\nX".into()),
        expires_at: None,
    };
    assert!(gate
        .session_cookies("https://a.example/", &session)
        .is_err());
}
