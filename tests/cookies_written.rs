//! The gate writing the session cookies, as setSession / clearSession do: secure
//! attributes, `__Host-` names off loopback, Max-Age from the token's lifetime, chunks for
//! tokens one cookie cannot hold (and the stale ones removed). Reading them:
//! `cookies_read.rs`.
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
        .session_cookies("https://app.example/api/login", Some(""), &session)
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
        .session_cookies("http://localhost:3000/api/login", Some(""), &session)
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
    assert!(gate
        .session_cookies("https://a.example/", Some(""), &given)
        .unwrap()[0]
        .ends_with("Max-Age=60"));
    let past = Session {
        expires_at: Some(NOW - 60.0),
        ..session.clone()
    };
    assert!(gate
        .session_cookies("https://a.example/", Some(""), &past)
        .unwrap()[0]
        .ends_with("Max-Age=0"));
    // What the gate then reads back from the browser is what it wrote.
    let stored = prod[0].split(';').next().unwrap().to_string();
    let d = gate.decide(&get("https://app.example/api/x", &[("cookie", &stored)]));
    assert_eq!(d.code, "OK_AUTHENTICATED");
}

#[test]
fn clearing_expires_both_cookies_and_every_chunk() {
    let gate = hs_gate();
    let removed =
        |name: &str| format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0");
    // Every chunk name the reader could join goes, whatever the request shows: a logout
    // whose request lost its cookies on the way must not leave a chunked session readable.
    let mut expected = vec![removed("__Host-token")];
    expected.extend((0..10).map(|i| removed(&format!("__Host-token.{i}"))));
    expected.push(removed("__Host-refreshToken"));
    for present in [Some("theme=dark"), Some(""), None] {
        assert_eq!(
            gate.clear_session_cookies("https://app.example/api/logout", present),
            expected,
            "{present:?}"
        );
    }
    assert_eq!(
        gate.clear_session_cookies("http://127.0.0.1:3000/api/logout", Some(""))[0],
        "token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    );
}

#[test]
fn values_that_would_break_the_header_are_refused() {
    let gate = hs_gate();
    for bad in ["", "a;b", "a b", "a\r\nSet-Cookie: x=1", "\"q\"", "a,b"] {
        let session = Session {
            access_token: bad.to_string(),
            ..Default::default()
        };
        let err = gate
            .session_cookies("https://a.example/", Some(""), &session)
            .unwrap_err();
        assert_eq!(err.code(), "ERR_SESSION_INVALID", "{bad:.20}");
    }
    let session = Session {
        access_token: "a.b.c".into(),
        refresh_token: Some("r\nX".into()),
        expires_at: None,
    };
    assert!(gate
        .session_cookies("https://a.example/", Some(""), &session)
        .is_err());
}

/// A valid HS256 token of about `bytes` bytes (a `groups` claim, as Entra's).
fn token_of(bytes: usize) -> String {
    let base = token("HS256", &hmac_key(), &claims(json!({})));
    let pad = (bytes.saturating_sub(base.len() + 20)) * 3 / 4;
    let t = token(
        "HS256",
        &hmac_key(),
        &claims(json!({ "groups": "g".repeat(pad) })),
    );
    assert!(t.len().abs_diff(bytes) < 40, "{} for {bytes}", t.len());
    t
}

fn session_of(access_token: String) -> Session {
    Session {
        access_token,
        refresh_token: Some("r-1".into()),
        expires_at: None,
    }
}

/// The token that reaches the upstream for a browser holding `jar`.
fn forwarded_token(gate: &edgegate::Gate, jar: &Jar) -> String {
    let d = gate.decide(&get(
        "https://app.example/api/x",
        &[("cookie", &jar.header())],
    ));
    assert_eq!(d.code, "OK_AUTHENTICATED", "{d:?}");
    let headers = forwarded(&d);
    assert_eq!(
        header(headers, "cookie"),
        None,
        "no session cookie goes upstream"
    );
    header(headers, "authorization").unwrap()["Bearer ".len()..].to_owned()
}

#[test]
fn tokens_past_one_cookie_are_chunked_and_read_back() {
    let gate = hs_gate();
    for kb in [3, 5, 8, 12] {
        let access = token_of(kb * 1024);
        let mut jar = Jar::default();
        let set = gate
            .session_cookies(
                "https://app.example/api/login",
                Some(""),
                &session_of(access.clone()),
            )
            .unwrap();
        jar.apply(&set);
        let expected: Vec<String> = match kb {
            3 => vec!["__Host-token".into()],
            _ => (0..(access.len() + 4000) / 4000)
                .map(|i| format!("__Host-token.{i}"))
                .collect(),
        };
        let mut names = jar.names();
        names.retain(|n| *n != "__Host-refreshToken");
        assert_eq!(names, expected, "{kb} KB");
        assert_eq!(forwarded_token(&gate, &jar), access, "{kb} KB");
        // The budget: the whole Cookie header stays under Node's 16 KB for all headers.
        assert!(
            jar.header().len() < 12 * 1024 + 200,
            "{kb} KB: {}",
            jar.header().len()
        );
    }
}

#[test]
fn a_session_that_grows_or_shrinks_leaves_no_stale_chunk() {
    let gate = hs_gate();
    let url = "https://app.example/api/login";
    let mut jar = Jar::default();
    for kb in [3, 12, 5, 8, 3, 3, 12, 2] {
        let access = token_of(kb * 1024);
        let set = gate
            .session_cookies(url, Some(&jar.header()), &session_of(access.clone()))
            .unwrap();
        jar.apply(&set);
        assert_eq!(forwarded_token(&gate, &jar), access, "after {kb} KB");
    }
    // Without the request's cookies, every chunk a reader could find is removed.
    let mut big = Jar::default();
    big.apply(
        &gate
            .session_cookies(url, None, &session_of(token_of(12 * 1024)))
            .unwrap(),
    );
    big.apply(
        &gate
            .session_cookies(url, None, &session_of(token_of(1024)))
            .unwrap(),
    );
    assert_eq!(big.names(), ["__Host-refreshToken", "__Host-token"]);
    // Clearing removes the chunks the browser holds, and the junk a reader refuses.
    jar.apply(
        &gate
            .session_cookies(url, Some(""), &session_of(token_of(9 * 1024)))
            .unwrap(),
    );
    jar.0.push(("__Host-token.x".into(), "junk".into()));
    // A name that is no cookie name is not echoed into a Set-Cookie.
    let odd = gate.clear_session_cookies(url, Some("__Host-token.x, evil=1"));
    assert!(odd.iter().all(|c| !c.contains("evil")), "{odd:?}");
    jar.0.push(("theme".into(), "dark".into()));
    jar.apply(&gate.clear_session_cookies(url, Some(&jar.header())));
    assert_eq!(jar.names(), ["theme"]);
}

/// `session` written for a request with the cookies `present` is refused as too large.
fn refused(gate: &edgegate::Gate, present: &str, session: &Session) {
    let e = gate
        .session_cookies("https://a.example/", Some(present), session)
        .unwrap_err();
    assert_eq!(e.code(), "ERR_TOO_LARGE");
}

#[test]
fn a_session_the_reader_would_refuse_is_not_written() {
    let gate = hs_gate();
    refused(&gate, "", &session_of(token_of(13 * 1024)));
    // Tighter limits are held to as the reader holds them.
    let three_chunks = session_of(token_of(9 * 1024));
    refused(
        &gate_with_token(json!({ "maxChunks": 2 })),
        "",
        &three_chunks,
    );
    // The budget counts what the browser sends beside the chunks: an 11 KB token fits
    // alone, not beside 6 KB of other cookies the reader would then refuse with it.
    let eleven = session_of(token_of(11 * 1024));
    assert!(gate
        .session_cookies("https://a.example/", Some(""), &eleven)
        .is_ok());
    refused(&gate, &format!("prefs={}", "p".repeat(6000)), &eleven);
    // A new refresh token replaces the old one in the budget, never counted beside it.
    let rotated = Session {
        refresh_token: Some("n".repeat(3000)),
        ..eleven.clone()
    };
    let old = format!("__Host-refreshToken={}", "o".repeat(3000));
    assert!(gate
        .session_cookies("https://a.example/", Some(&old), &rotated)
        .is_ok());
    // A cookie name so long that a chunk would hold little is refused, never sliced thin.
    let long_name = gate_with_token(json!({ "cookie": "t".repeat(3500) }));
    refused(&long_name, "", &session_of(token_of(5 * 1024)));
    let tight = gate_with_token(json!({ "maxCookieHeaderBytes": 6000 }));
    refused(&tight, "", &session_of(token_of(7 * 1024)));
    // A refresh token one cookie cannot hold is refused, not chunked.
    let session = Session {
        refresh_token: Some("r".repeat(5000)),
        ..session_of(token_of(1024))
    };
    refused(&gate, "", &session);
}

fn gate_with_token(token: serde_json::Value) -> edgegate::Gate {
    gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "token": token }),
    ))
}
