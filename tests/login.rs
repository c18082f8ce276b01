//! Hosted login against a scripted OpenID provider (discovery, JWKS, token and revocation
//! endpoints, RS256 keys) and a clock the test moves: the whole flow, each callback check
//! refused with its code and no session set, the transaction cookies, returnTo, logout's
//! CSRF rule, `/auth/session`, and the login's refresh. The same against oidc-provider
//! with real browsers is tests/e2e/login.test.mjs.
mod common;
#[path = "common/login.rs"]
mod login_common;

use common::*;
use edgegate::{Clock as _, Decision, Gate, Options, Request};
use login_common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn body(d: &Decision) -> Value {
    match &d.action {
        edgegate::Action::Respond { body, .. } => serde_json::from_str(body).unwrap(),
        other => panic!("not a response: {other:?}"),
    }
}

fn names(cookies: &[String]) -> Vec<&str> {
    cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect()
}

#[test]
fn a_login_goes_to_the_provider_and_comes_back_with_a_session() {
    let env = Env::new(json!({}));
    let (d, login) = env.start("%2Fdashboard%3Ftab%3D2", "");
    assert_eq!(d.code, "OK_LOGIN_STARTED");
    assert_eq!(
        header(response_headers(&d), "cache-control"),
        Some("private, no-store")
    );
    let p = &login.params;
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT);
    assert_eq!(p["redirect_uri"], format!("{APP}/auth/callback"));
    assert_eq!(p["scope"], "openid profile email offline_access");
    assert_eq!(p["code_challenge_method"], "S256");
    assert!(p["state"].len() >= 43 && p["nonce"].len() >= 43 && p["state"] != p["nonce"]);
    let tx_cookie = d.set_cookies.last().unwrap();
    for attribute in [
        "; Path=/",
        "; HttpOnly",
        "; SameSite=Lax",
        "; Secure",
        "; Max-Age=600",
    ] {
        assert!(tx_cookie.contains(attribute), "{tx_cookie}");
    }

    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
    assert_eq!(status(&d), 303);
    assert_eq!(
        header(response_headers(&d), "location"),
        Some("/dashboard?tab=2")
    );
    assert_eq!(
        header(response_headers(&d), "cache-control"),
        Some("private, no-store")
    );
    assert_eq!(
        names(&set(&d)),
        ["__Host-token", "__Host-refreshToken", "__Host-idToken"]
    );
    assert!(d
        .set_cookies
        .iter()
        .any(|c| c.starts_with("__Host-edgegate-tx-") && c.contains("Max-Age=0")));

    // PKCE: the verifier the gate sent hashes to the challenge it sent before.
    let exchange = env
        .idp
        .calls
        .borrow()
        .iter()
        .find(|f| f.url.ends_with("/token"))
        .cloned()
        .unwrap();
    let sent = form(exchange.body.as_deref().unwrap());
    assert_eq!(
        b64(Sha256::digest(sent["code_verifier"].as_bytes())),
        p["code_challenge"]
    );
    assert_eq!(sent["redirect_uri"], p["redirect_uri"]);
    assert!(header(&exchange.headers, "authorization")
        .unwrap()
        .starts_with("Basic "));

    // The session works: the dashboard, and the API with the bearer and none of the cookies.
    let jar = set(&d).join("; ");
    assert!(is_continue(
        &env.decide(&get(&format!("{APP}/dashboard"), &[("cookie", &jar)]))
    ));
    let api = env.decide(&get(
        &format!("{APP}/api/stocks"),
        &[("cookie", &format!("{jar}; {}; theme=dark", login.tx))],
    ));
    assert!(is_continue(&api));
    let access = set(&d)[0].split_once('=').unwrap().1.to_owned();
    assert_eq!(
        header(forwarded(&api), "authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    assert_eq!(header(forwarded(&api), "cookie"), Some("theme=dark"));
}

#[test]
fn pages_without_a_session_start_the_login() {
    let env = Env::new(json!({}));
    let d = env.decide(&get(&format!("{APP}/dashboard/settings?x=1"), &[]));
    assert_eq!(
        d.action,
        edgegate::Action::Redirect {
            location: "/auth/login?returnTo=%2Fdashboard%2Fsettings%3Fx%3D1".into()
        }
    );
}

#[test]
fn only_a_navigation_starts_a_transaction() {
    let env = Env::new(json!({}));
    for headers in [
        vec![("sec-fetch-mode", "cors")],
        vec![("sec-fetch-mode", "no-cors")],
        vec![("sec-fetch-mode", "navigate"), ("sec-purpose", "prefetch")],
        vec![("sec-fetch-mode", "navigate"), ("purpose", "prefetch")],
        vec![("rsc", "1"), ("next-router-prefetch", "1")],
        vec![],
        vec![
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-mode", "navigate"),
        ],
    ] {
        let d = env.decide(&get(
            &format!("{APP}/auth/login?returnTo=%2Fdashboard"),
            &headers,
        ));
        assert_eq!(
            (d.code, status(&d)),
            ("ERR_LOGIN_NAVIGATION", 401),
            "{headers:?}"
        );
        assert!(d.set_cookies.is_empty(), "{headers:?}");
    }
    assert_eq!(
        env.idp.calls.borrow().len(),
        0,
        "nothing fetched for a prefetch"
    );
}

#[test]
fn parallel_logins_keep_their_own_transactions() {
    let env = Env::new(json!({}));
    let (_, a) = env.start("%2Fa", "");
    let (_, b) = env.start("%2Fb", &a.tx);
    let jar = format!("{}; {}", a.tx, b.tx);
    let done_b = env.callback(&b.query(), &jar);
    let done_a = env.callback(&a.query(), &jar);
    assert_eq!(header(response_headers(&done_a), "location"), Some("/a"));
    assert_eq!(header(response_headers(&done_b), "location"), Some("/b"));
}

#[test]
fn at_most_three_live_transactions_the_oldest_dropped() {
    let env = Env::new(json!({}));
    let mut jar: Vec<String> = Vec::new();
    let mut first = None;
    for i in 0..4 {
        env.clock.advance(1.0);
        let (d, login) = env.start("%2F", &jar.join("; "));
        let cleared: Vec<&str> = d
            .set_cookies
            .iter()
            .filter(|c| c.contains("Max-Age=0"))
            .map(|c| c.split('=').next().unwrap())
            .collect();
        if i < 3 {
            assert!(cleared.is_empty(), "{i}: {cleared:?}");
        } else {
            let oldest: &String = first.as_ref().unwrap();
            assert_eq!(
                cleared,
                [oldest.split('=').next().unwrap()],
                "the first is the oldest"
            );
        }
        first.get_or_insert(login.tx.clone());
        jar.push(login.tx);
    }
    // A value that does not open is dropped too.
    let (d, _) = env.start("%2F", "__Host-edgegate-tx-AAAA=junk");
    assert!(d
        .set_cookies
        .iter()
        .any(|c| c.starts_with("__Host-edgegate-tx-AAAA=;") && c.contains("Max-Age=0")));
}

/// Each callback refusal: its code, a 400 that names it, the transaction cleared and no
/// session cookie set.
fn refused(d: &Decision, code: &str) {
    assert_eq!(d.code, code, "{d:#?}");
    assert_eq!(status(d), 400);
    assert_eq!(body(d)["code"], code);
    assert!(set(d).is_empty(), "no cookie set: {:?}", d.set_cookies);
    assert_eq!(
        header(response_headers(d), "cache-control"),
        Some("private, no-store")
    );
}

#[test]
fn the_state_must_name_this_browsers_transaction() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    let state = &login.params["state"];
    let iss = encode(ISSUER);
    let code = &login.code;
    let mut other = state.clone().into_bytes();
    other[0] = if other[0] == b'A' { b'B' } else { b'A' };
    let other = String::from_utf8(other).unwrap();
    for (query, jar) in [
        (format!("code={code}&iss={iss}"), login.tx.clone()), // no state
        (
            format!("code={code}&state={other}&iss={iss}"),
            login.tx.clone(),
        ), // tampered state
        (
            format!("code={code}&state={state}&iss={iss}"),
            String::new(),
        ), // no transaction cookie
        (
            format!("code={code}&state={state}&state={state}&iss={iss}"),
            login.tx.clone(),
        ), // repeated
        (
            format!("code={code}&state={state}&iss={iss}"),
            format!("{}x", login.tx),
        ), // tampered cookie
        (
            format!("code={code}&state={state}&iss={iss}"),
            format!("{0}; {0}", login.tx),
        ), // two cookies
        (
            format!("code={code}&state=..%2F..%2Fx&iss={iss}"),
            login.tx.clone(),
        ), // not a state at all
    ] {
        refused(&env.callback(&query, &jar), "ERR_LOGIN_STATE");
    }
    // Sealed by another gate's secret: the same name, a value that does not open here.
    let elsewhere =
        Env::new(json!({ "login": { "secret": "another-login-secret-of-32-bytes-or-more" } }));
    let (_, foreign) = elsewhere.start("%2F", "");
    refused(
        &env.callback(&foreign.query(), &foreign.tx),
        "ERR_LOGIN_STATE",
    );
    assert_eq!(
        env.idp.count("https://id.example/token"),
        0,
        "no code was exchanged"
    );
    // The real one still works.
    assert_eq!(env.callback(&login.query(), &login.tx).code, "OK_LOGGED_IN");
}

#[test]
fn rfc_9207_iss_must_be_the_issuer_and_present_when_advertised() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    let base = format!("code={}&state={}", login.code, login.params["state"]);
    refused(
        &env.callback(&format!("{base}&iss=https%3A%2F%2Fevil.example"), &login.tx),
        "ERR_LOGIN_ISS",
    );
    refused(&env.callback(&base, &login.tx), "ERR_LOGIN_ISS");
    // A provider that does not send iss: none is fine, a wrong one is not.
    let quiet = Env::with(
        json!({}),
        Provider {
            iss_supported: false,
            ..Provider::default()
        },
    );
    let (_, login) = quiet.start("%2F", "");
    let base = format!("code={}&state={}", login.code, login.params["state"]);
    refused(
        &quiet.callback(&format!("{base}&iss=https%3A%2F%2Fevil.example"), &login.tx),
        "ERR_LOGIN_ISS",
    );
    assert_eq!(quiet.callback(&base, &login.tx).code, "OK_LOGGED_IN");
}

#[test]
fn a_provider_error_goes_to_the_error_page() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    let q = format!(
        "error=access_denied&error_description=no&state={}&iss={}",
        login.params["state"],
        encode(ISSUER)
    );
    refused(&env.callback(&q, &login.tx), "ERR_LOGIN_PROVIDER");
    let paged = Env::new(json!({ "login": { "errorUrl": "/login-failed" } }));
    let (_, login) = paged.start("%2F", "");
    let q = format!(
        "error=access_denied&state={}&iss={}",
        login.params["state"],
        encode(ISSUER)
    );
    let d = paged.callback(&q, &login.tx);
    assert_eq!((d.code, status(&d)), ("ERR_LOGIN_PROVIDER", 303));
    assert_eq!(
        header(response_headers(&d), "location"),
        Some("/login-failed?error=ERR_LOGIN_PROVIDER")
    );
    assert!(set(&d).is_empty());
}

#[test]
fn a_replayed_or_refused_code_sets_nothing() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    assert_eq!(env.callback(&login.query(), &login.tx).code, "OK_LOGGED_IN");
    // At once: the gate remembers the code was spent, and calls nobody.
    refused(
        &env.callback(&login.query(), &login.tx),
        "ERR_LOGIN_EXCHANGE",
    );
    assert_eq!(env.idp.count("https://id.example/token"), 1);
    // Past the gate's memory of the exchange, the provider sees the code again.
    env.clock.advance(61.0);
    refused(
        &env.callback(&login.query(), &login.tx),
        "ERR_LOGIN_EXCHANGE",
    );
    let (_, login) = env.start("%2F", "");
    *env.idp.refuse.borrow_mut() = true;
    refused(
        &env.callback(&login.query(), &login.tx),
        "ERR_LOGIN_EXCHANGE",
    );
}

#[test]
fn a_transaction_lives_ten_minutes() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    env.clock.advance(601.0);
    let d = env.callback(&login.query(), &login.tx);
    refused(&d, "ERR_LOGIN_EXPIRED");
}

#[test]
fn the_id_token_is_checked_as_openid_connect_core_says() {
    for (why, claims, other_key) in [
        ("nonce mismatch", json!({ "nonce": "another-nonce" }), false),
        ("no nonce", json!({ "nonce": null }), false),
        (
            "for another client",
            json!({ "aud": "another-client" }),
            false,
        ),
        (
            "several audiences without azp",
            json!({ "aud": [CLIENT, "other"] }),
            false,
        ),
        ("azp another client", json!({ "azp": "other" }), false),
        (
            "another issuer",
            json!({ "iss": "https://evil.example" }),
            false,
        ),
        ("expired", json!({ "exp": NOW - 120.0 }), false),
        ("no iat", json!({ "iat": null }), false),
        ("signed by another key", json!({}), true),
    ] {
        let env = Env::new(json!({}));
        let (_, login) = env.start("%2F", "");
        *env.idp.id_claims.borrow_mut() = claims;
        *env.idp.id_key_other.borrow_mut() = other_key;
        let d = env.callback(&login.query(), &login.tx);
        assert_eq!(d.code, "ERR_LOGIN_ID_TOKEN", "{why}: {d:#?}");
        refused(&d, "ERR_LOGIN_ID_TOKEN");
    }
    // Several audiences with azp = the client are fine.
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    *env.idp.id_claims.borrow_mut() = json!({ "aud": [CLIENT, "other"], "azp": CLIENT });
    assert_eq!(env.callback(&login.query(), &login.tx).code, "OK_LOGGED_IN");
}

#[test]
fn the_access_token_must_pass_verify() {
    let env = Env::new(json!({ "verify": { "audience": "https://another-api.example" } }));
    let (_, login) = env.start("%2F", "");
    refused(
        &env.callback(&login.query(), &login.tx),
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
    );
}

#[test]
fn return_to_survives_only_as_a_same_origin_path() {
    for (raw, lands) in [
        ("%2Fdashboard", "/dashboard"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%2509%2Fevil.example", "/"),
        ("https%3Aevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%252F%252Fevil.example", "/"),
        ("%2F%255Cevil.example", "/"),
        ("%5C%2Fevil.example", "/"),
        ("%2F%2F%2Fevil.example", "/"),
        ("%2F.%2F%2Fevil.example", "/"),
        ("%2FDashboard%2F..%2F%2Fevil", "/"),
        ("HtTpS%3A%2F%2Fevil.example", "/"),
        ("%2F%0D%0ASet-Cookie%3A%20x%3D1", "/"),
        ("javascript%3Aalert(1)", "/"),
    ] {
        let env = Env::new(json!({}));
        let (_, login) = env.start(raw, "");
        let d = env.callback(&login.query(), &login.tx);
        assert_eq!(
            header(response_headers(&d), "location"),
            Some(lands),
            "{raw}"
        );
    }
}

#[test]
fn logout_revokes_clears_and_ends_the_provider_session() {
    let env = Env::new(json!({ "login": { "postLogoutRedirectUri": "https://app.example/bye" } }));
    let (_, login) = env.start("%2F", "");
    let signed_in = env.callback(&login.query(), &login.tx);
    let jar = set(&signed_in).join("; ");
    let id_token = signed_in
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-idToken="))
        .unwrap();
    assert!(!id_token.contains("eyJ"), "the ID token cookie is sealed");

    let d = env.decide(&Request {
        method: "POST".into(),
        url: format!("{APP}/auth/logout").into(),
        headers: vec![
            ("cookie".into(), jar.clone().into()),
            ("sec-fetch-site".into(), "same-origin".into()),
        ],
    });
    assert_eq!((d.code, status(&d)), ("OK_LOGGED_OUT", 303), "{d:#?}");
    let revoke = env
        .idp
        .calls
        .borrow()
        .iter()
        .find(|f| f.url.ends_with("/revoke"))
        .cloned()
        .unwrap();
    let sent = form(revoke.body.as_deref().unwrap());
    let refresh = set(&signed_in)[1].split_once('=').unwrap().1.to_owned();
    assert_eq!(
        (sent["token"].as_str(), sent["token_type_hint"].as_str()),
        (refresh.as_str(), "refresh_token")
    );
    let location = header(response_headers(&d), "location").unwrap();
    let (end, query) = location.split_once('?').unwrap();
    assert_eq!(end, "https://id.example/logout");
    let q = form(query);
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(q["post_logout_redirect_uri"], "https://app.example/bye");
    assert!(
        q["id_token_hint"].starts_with("eyJ"),
        "the raw ID token, unsealed"
    );
    let cleared = names(&d.set_cookies);
    for name in ["__Host-token", "__Host-refreshToken", "__Host-idToken"] {
        assert!(cleared.contains(&name), "{name} cleared: {cleared:?}");
    }
    assert!(d.set_cookies.iter().all(|c| c.contains("Max-Age=0")));
    assert_eq!(
        header(response_headers(&d), "cache-control"),
        Some("private, no-store")
    );
}

#[test]
fn a_cross_site_logout_changes_nothing() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    let jar = set(&env.callback(&login.query(), &login.tx)).join("; ");
    for (method, headers) in [
        ("POST", vec![("sec-fetch-site", "cross-site")]),
        ("POST", vec![("sec-fetch-site", "same-site")]),
        ("POST", vec![("origin", "https://evil.example")]),
        ("POST", vec![]),
        ("GET", vec![("sec-fetch-site", "cross-site")]),
        ("GET", vec![]),
        ("GET", vec![("origin", APP)]),
    ] {
        let mut h: Vec<(std::borrow::Cow<str>, std::borrow::Cow<str>)> =
            vec![("cookie".into(), jar.clone().into())];
        h.extend(headers.iter().map(|(n, v)| ((*n).into(), (*v).into())));
        let d = env.decide(&Request {
            method: method.into(),
            url: format!("{APP}/auth/logout").into(),
            headers: h,
        });
        assert_eq!(
            (d.code, status(&d)),
            ("ERR_CSRF", 403),
            "{method} {headers:?}"
        );
        assert!(d.set_cookies.is_empty());
    }
    assert_eq!(env.idp.count("https://id.example/revoke"), 0);
    // A same-origin POST by Origin alone (no Fetch Metadata) and a typed GET do log out.
    let by_origin = env.decide(&Request {
        method: "POST".into(),
        url: format!("{APP}/auth/logout").into(),
        headers: vec![
            ("cookie".into(), jar.clone().into()),
            ("origin".into(), APP.into()),
        ],
    });
    assert_eq!(by_origin.code, "OK_LOGGED_OUT");
    let typed = env.decide(&get(
        &format!("{APP}/auth/logout"),
        &[
            ("cookie", &jar),
            ("sec-fetch-site", "none"),
            ("sec-fetch-mode", "navigate"),
        ],
    ));
    assert_eq!(typed.code, "OK_LOGGED_OUT");
}

/// The URLs the provider sends the browser back to are the app's, never ones a client's
/// `Host` (or `X-Forwarded-Host`, through a host that builds the URL from it) chose: off
/// loopback they come from `login.appBaseUrl`, and a request to another origin cannot log in.
#[test]
fn the_provider_returns_only_to_the_apps_origins() {
    let navigate = |env: &Env, url: &str| env.decide(&get(url, &[("sec-fetch-mode", "navigate")]));
    let navigate_host = |env: &Env, url: &str, host: &str| {
        env.decide(&get(url, &[("sec-fetch-mode", "navigate"), ("host", host)]))
    };
    let redirect_uri = |d: &Decision| {
        let location = header(response_headers(d), "location").unwrap().to_owned();
        form(location.split_once('?').unwrap().1)["redirect_uri"].clone()
    };
    // Listed origins, the preview's too: each returns to itself.
    let env = Env::new(json!({ "login": { "appBaseUrl": [APP, "https://preview.app.example/"] } }));
    let d = navigate(&env, "https://preview.app.example/auth/login");
    assert_eq!(
        redirect_uri(&d),
        "https://preview.app.example/auth/callback"
    );
    // An unlisted host: no transaction, no redirect to the provider.
    for url in [
        "https://evil.example/auth/login",
        "http://app.example/auth/login",
    ] {
        let d = navigate(&env, url);
        assert_eq!(
            (status(&d), d.code),
            (503, "ERR_LOGIN_UNAVAILABLE"),
            "{url}"
        );
        assert!(d.set_cookies.is_empty(), "{url}");
    }
    // Behind a TLS-terminating proxy the URL is the host's idea of itself (Next:
    // https://localhost:<port>); the client's Host, passed on by the proxy, names the listed
    // origin it came to. An unlisted Host names none, whatever the URL.
    let proxied = |host: &str| {
        env.decide(&get(
            "https://localhost:3000/auth/login",
            &[("sec-fetch-mode", "navigate"), ("host", host)],
        ))
    };
    assert_eq!(
        redirect_uri(&proxied("preview.app.example")),
        "https://preview.app.example/auth/callback"
    );
    for host in [
        "evil.example",
        "app.example@evil.example",
        "evil.example/app.example",
        "",
    ] {
        let d = proxied(host);
        assert_eq!(
            (status(&d), d.code),
            (503, "ERR_LOGIN_UNAVAILABLE"),
            "{host}"
        );
    }
    // Without appBaseUrl only loopback builds them from the request (development).
    let dev = Env::new(json!({ "login": { "appBaseUrl": null } }));
    // ...from its URL, never from an unlisted Host.
    let d = navigate_host(&dev, "https://localhost:3000/auth/login", "evil.example");
    assert_eq!(redirect_uri(&d), "https://localhost:3000/auth/callback");
    let d = navigate(&dev, "http://127.0.0.1:3000/auth/login");
    assert_eq!(redirect_uri(&d), "http://127.0.0.1:3000/auth/callback");
    let d = navigate(&dev, "https://app.example/auth/login");
    assert_eq!((status(&d), d.code), (503, "ERR_LOGIN_UNAVAILABLE"));
    // An explicit redirectUri needs no origin list.
    let fixed = Env::new(
        json!({ "login": { "appBaseUrl": null, "redirectUri": "https://app.example/auth/callback" } }),
    );
    let d = navigate(&fixed, "https://evil.example/auth/login");
    assert_eq!(redirect_uri(&d), "https://app.example/auth/callback");
    // Logging out at an unlisted origin ends the local session, and names no way back.
    let (_, login) = env.start("%2F", "");
    let jar = set(&env.callback(&login.query(), &login.tx)).join("; ");
    let out = env.decide(&get(
        "https://evil.example/auth/logout",
        &[
            ("cookie", &jar),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
        ],
    ));
    assert_eq!(out.code, "OK_LOGGED_OUT");
    let location = header(response_headers(&out), "location").unwrap();
    assert!(!location.contains("post_logout_redirect_uri"), "{location}");
    assert!(!location.contains("evil"), "{location}");
    // appBaseUrl is a list of origins: a path or a bare host is refused at construction.
    for bad in [
        json!("https://app.example/app"),
        json!("app.example"),
        json!(["https://app.example", "ftp://x"]),
    ] {
        let options = Options::from_json(
            &login_options(json!({ "login": { "appBaseUrl": bad } })).to_string(),
        )
        .unwrap();
        let e = Gate::with_clock(options, ManualClock::at(NOW)).unwrap_err();
        assert_eq!(e.code(), "ERR_CONFIG_URL", "{bad}");
    }
}

/// Logout asks where a request came from by the gate's one rule (`csrf`'s): an origin the
/// options allow may log out, and turning the CSRF guard off for APIs never opens logout.
#[test]
fn logout_follows_the_gates_one_origin_rule() {
    let post = |env: &Env, jar: &str, origin: &str| {
        env.decide(&Request {
            method: "POST".into(),
            url: format!("{APP}/auth/logout").into(),
            headers: vec![
                ("cookie".into(), jar.to_owned().into()),
                ("origin".into(), origin.to_owned().into()),
            ],
        })
    };
    let env = Env::new(json!({ "csrf": { "allowedOrigins": ["https://admin.example"] } }));
    let (_, login) = env.start("%2F", "");
    let jar = set(&env.callback(&login.query(), &login.tx)).join("; ");
    assert_eq!(post(&env, &jar, "https://evil.example").code, "ERR_CSRF");
    assert_eq!(
        post(&env, &jar, "https://admin.example").code,
        "OK_LOGGED_OUT"
    );

    let off = Env::new(json!({ "csrf": { "enabled": false } }));
    let (_, login) = off.start("%2F", "");
    let jar = set(&off.callback(&login.query(), &login.tx)).join("; ");
    let d = post(&off, &jar, "https://evil.example");
    assert_eq!((d.code, status(&d)), ("ERR_CSRF", 403));
    assert!(d.set_cookies.is_empty());
    assert_eq!(post(&off, &jar, APP).code, "OK_LOGGED_OUT");
}

#[test]
fn the_session_route_gives_a_profile_never_a_token() {
    let env = Env::new(json!({}));
    let anonymous = env.decide(&get(&format!("{APP}/auth/session"), &[]));
    assert_eq!(
        (status(&anonymous), body(&anonymous)),
        (200, json!({ "authenticated": false }))
    );
    let (_, login) = env.start("%2F", "");
    let signed_in = env.callback(&login.query(), &login.tx);
    let jar = set(&signed_in).join("; ");
    let d = env.decide(&get(&format!("{APP}/auth/session"), &[("cookie", &jar)]));
    let sub = &login.code["code-".len()..];
    assert_eq!(
        body(&d),
        json!({ "authenticated": true, "sub": sub, "exp": NOW + 300.0, "email": "ada@example.com", "name": "Ada" })
    );
    assert_eq!(
        header(response_headers(&d), "cache-control"),
        Some("private, no-store")
    );
    let text = match &d.action {
        edgegate::Action::Respond { body, .. } => body.clone(),
        _ => unreachable!(),
    };
    assert!(!text.contains("eyJ"), "no token in {text}");
    // Someone else's (sealed) ID-token cookie does not lend its profile.
    let (_, other) = env.start("%2F", "");
    let theirs = env.callback(&other.query(), &other.tx);
    let their_id = set(&theirs)
        .into_iter()
        .find(|c| c.starts_with("__Host-idToken"))
        .unwrap();
    let mixed = format!("{}; {}; {their_id}", set(&signed_in)[0], set(&signed_in)[1]);
    let d = env.decide(&get(&format!("{APP}/auth/session"), &[("cookie", &mixed)]));
    assert_eq!(body(&d).get("email"), None);
}

#[test]
fn the_login_refreshes_at_its_providers_token_endpoint() {
    let env = Env::new(json!({}));
    let jar = "__Host-refreshToken=rt-0";
    let d = env.decide(&get(&format!("{APP}/api/stocks"), &[("cookie", jar)]));
    assert_eq!(d.code, "OK_REFRESHED", "{d:#?}");
    let call = env
        .idp
        .calls
        .borrow()
        .iter()
        .find(|f| f.url.ends_with("/token"))
        .cloned()
        .unwrap();
    assert_eq!(
        form(call.body.as_deref().unwrap())["grant_type"],
        "refresh_token"
    );
}

#[test]
fn bad_login_options_fail_at_construction() {
    for (extra, code) in [
        (
            json!({ "login": { "secret": "short" } }),
            "ERR_CONFIG_WEAK_KEY",
        ),
        (json!({ "login": { "secret": null } }), "ERR_CONFIG_INVALID"),
        (
            json!({ "login": { "scope": "profile email" } }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "login": { "authorizationParams": { "state": "fixed" } } }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "login": { "authorizationParams": { "redirect_uri": "https://evil" } } }),
            "ERR_CONFIG_INVALID",
        ),
        (json!({ "login": { "prefix": "//auth" } }), "ERR_CONFIG_URL"),
        (json!({ "login": { "prefix": "/auth/" } }), "ERR_CONFIG_URL"),
        (
            json!({ "login": { "errorUrl": "https://evil.example/" } }),
            "ERR_CONFIG_URL",
        ),
        (
            json!({ "login": { "redirectUri": "http://app.example/cb" } }),
            "ERR_CONFIG_URL",
        ),
        (
            json!({ "login": { "issuer": "http://id.example" } }),
            "ERR_CONFIG_URL",
        ),
        (
            json!({ "login": { "idTokenAlgorithms": ["HS256"] } }),
            "ERR_CONFIG_ALGORITHMS",
        ),
        (
            json!({ "login": { "tokenEndpointAuthMethod": "none" } }),
            "ERR_CONFIG_INVALID",
        ),
        (json!({ "login": { "clientId": "" } }), "ERR_CONFIG_INVALID"),
        (
            json!({ "refresh": { "tokenEndpoint": "https://id.example/token", "clientId": "x" } }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "session": { "format": "authjs", "secret": SEAL } }),
            "ERR_CONFIG_INVALID",
        ),
    ] {
        let e = Gate::with_clock(
            Options::from_json(&login_options(extra.clone()).to_string()).unwrap(),
            ManualClock::at(NOW),
        )
        .map(|_| ())
        .unwrap_err();
        assert_eq!(e.code(), code, "{extra}: {e}");
    }
    // A public client and refresh timing beside login are fine.
    let ok =
        login_options(json!({ "login": { "clientSecret": null }, "refresh": { "window": "2m" } }));
    assert!(Gate::with_clock(
        Options::from_json(&ok.to_string()).unwrap(),
        ManualClock::at(NOW)
    )
    .is_ok());
}

#[test]
fn a_provider_without_keys_is_unavailable_not_a_bad_token() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    *env.idp.jwks_down.borrow_mut() = true;
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(
        (d.code, status(&d)),
        ("ERR_LOGIN_UNAVAILABLE", 503),
        "{d:#?}"
    );
    assert!(set(&d).is_empty());
}

/// An ID token a browser would drop (over 4 KB: Entra with many groups) is not kept whole:
/// only who logged in (`sub`, `sid`, `iat`), sealed, which back-channel logout and the
/// profile read; logout then sends no `id_token_hint` (a token it does not have).
#[test]
fn an_id_token_too_large_for_a_cookie_keeps_only_its_identity() {
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    let groups: Vec<String> = (0..200).map(|i| format!("group-{i:04}")).collect();
    *env.idp.id_claims.borrow_mut() = json!({ "groups": groups, "sid": "s-1" });
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
    assert_eq!(
        names(&set(&d)),
        ["__Host-token", "__Host-refreshToken", "__Host-idToken"]
    );
    assert!(d.set_cookies.iter().all(|c| c.len() <= 4096));
    let jar = set(&d).join("; ");
    let id = jar
        .split("; ")
        .find(|c| c.starts_with("__Host-idToken="))
        .unwrap();
    assert!(id.len() < 512, "{id}");

    let profile = env.decide(&get(&format!("{APP}/auth/session"), &[("cookie", &jar)]));
    assert_eq!(body(&profile)["authenticated"], true, "{profile:#?}");
    let out = env.decide(&Request {
        method: "POST".into(),
        url: format!("{APP}/auth/logout").into(),
        headers: vec![
            ("cookie".into(), jar.clone().into()),
            ("origin".into(), APP.into()),
        ],
    });
    let to = location(&out);
    assert!(
        to.contains("client_id=") && !to.contains("id_token_hint"),
        "{to}"
    );
}

/// The callback as the default wasm build runs it, where RSA signatures are the host's:
/// each step, counting the signature checks handed out (played here by jwt-compact).
fn callback_host_checked(env: &Env, login: &Login) -> (Decision, usize) {
    let r = get(
        &format!("{APP}/auth/callback?{}", login.query()),
        &[("cookie", &login.tx)],
    );
    let (mut round, mut checks) = (0, 0);
    let mut step = env.gate.begin_round(&r, round);
    loop {
        step = match step {
            edgegate::Step::Decided(d) => return (d, checks),
            edgegate::Step::NeedsSignature(pending) => {
                assert!(!pending.unverified.engine_checks());
                checks += 1;
                assert!(checks <= 2, "one check per token at most");
                let valid = pending.unverified.check_here();
                env.gate.resume_step(pending, valid)
            }
            edgegate::Step::NeedsFetch(f) => {
                let outcome = env.idp.serve(&f, env.clock.now());
                env.gate.complete(f.id, outcome);
                round += 1;
                env.gate.begin_round(&r, round)
            }
            edgegate::Step::NeedsStore(op) => panic!("a login callback touches no store: {op:?}"),
            edgegate::Step::NeedsBody(_) => panic!("a login callback reads no body"),
        }
    }
}

#[test]
fn where_only_the_host_checks_rsa_the_callback_asks_it_for_each_token() {
    edgegate::verify::host_only(true);
    // The ID token, then the access token: two checks, and the login completes.
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2Fdashboard", "");
    let (d, checks) = callback_host_checked(&env, &login);
    assert_eq!((d.code, checks), ("OK_LOGGED_IN", 2), "{d:#?}");
    assert_eq!(header(response_headers(&d), "location"), Some("/dashboard"));

    // An ID token the host finds forged is refused at once; the access token is not asked.
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    *env.idp.id_key_other.borrow_mut() = true;
    let (d, checks) = callback_host_checked(&env, &login);
    assert_eq!((checks, d.code), (1, "ERR_LOGIN_ID_TOKEN"), "{d:#?}");
    refused(&d, "ERR_LOGIN_ID_TOKEN");

    // The ID token's other checks still hold after the host's verdict.
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    *env.idp.id_claims.borrow_mut() = json!({ "nonce": "another-nonce" });
    let (d, _) = callback_host_checked(&env, &login);
    refused(&d, "ERR_LOGIN_ID_TOKEN");

    // Through decide_with (the engine's own loop) the same.
    let env = Env::new(json!({}));
    let (_, login) = env.start("%2F", "");
    assert_eq!(env.callback(&login.query(), &login.tx).code, "OK_LOGGED_IN");
    edgegate::verify::host_only(false);
}

#[test]
fn where_only_the_host_checks_rsa_explain_leaves_the_signature_open() {
    edgegate::verify::host_only(true);
    let env = Env::new(json!({}));
    // A login first, so the provider's keys are loaded (explain fetches nothing).
    let (_, login) = env.start("%2F", "");
    assert_eq!(env.callback(&login.query(), &login.tx).code, "OK_LOGGED_IN");
    let token = kid_token(
        &rsa_key(),
        &json!({ "iss": ISSUER, "aud": API, "sub": "u", "iat": NOW, "exp": NOW + 300.0 }),
    );
    let trace = env.gate.explain(&get(
        &format!("{APP}/api/x"),
        &[("authorization", &format!("Bearer {token}"))],
    ));
    assert_eq!(trace.code, None, "{trace:#?}");
    assert!(
        trace.steps.iter().any(|s| s.step == "signature" && s.ok),
        "{trace:#?}"
    );
    edgegate::verify::host_only(false);
}

/// A navigation to `/auth/login` (no cookies).
fn login_request() -> Request<'static> {
    get(
        &format!("{APP}/auth/login?returnTo=%2Fdashboard"),
        &[("sec-fetch-mode", "navigate")],
    )
}

#[test]
fn a_pushed_login_sends_the_browser_nothing_but_a_request_uri() {
    let env = Env::new(json!({ "login": { "pushedAuthorizationRequests": true } }));
    let (d, login) = env.start("%2Fdashboard", "");
    assert_eq!(d.code, "OK_LOGIN_STARTED");
    assert_eq!(env.idp.count(PAR_ENDPOINT), 1);
    // What went to the provider over the back channel: every parameter, the client
    // authenticated, `client_id` once.
    let push = env.idp.calls.borrow().last().cloned().unwrap();
    assert_eq!(push.method, "POST");
    assert!(header(&push.headers, "authorization")
        .unwrap()
        .starts_with("Basic "));
    let body = push.body.unwrap();
    assert_eq!(body.matches("client_id=").count(), 1, "{body}");
    let p = &login.params;
    assert_eq!(p["redirect_uri"], format!("{APP}/auth/callback"));
    assert_eq!(p["code_challenge_method"], "S256");
    assert!(p["state"].len() >= 43 && p["nonce"].len() >= 43);
    // The browser's cookie holds the pushed transaction, and the login completes.
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
    assert_eq!(location(&d), "/dashboard");
    let exchange = form(
        env.idp
            .calls
            .borrow()
            .iter()
            .find(|f| f.url == TOKEN_ENDPOINT)
            .unwrap()
            .body
            .as_deref()
            .unwrap(),
    );
    assert_eq!(
        b64(Sha256::digest(exchange["code_verifier"].as_bytes())),
        p["code_challenge"]
    );

    // With client_secret_post, the client's own parameters are not doubled either.
    let env = Env::new(json!({ "login": {
        "pushedAuthorizationRequests": true, "tokenEndpointAuthMethod": "client_secret_post" } }));
    env.start("%2F", "");
    let body = env.idp.calls.borrow().last().unwrap().body.clone().unwrap();
    assert_eq!(body.matches("client_id=").count(), 1, "{body}");
    assert_eq!(body.matches("client_secret=").count(), 1, "{body}");
}

#[test]
fn a_provider_that_requires_pushes_gets_them_and_one_without_the_endpoint_fails_closed() {
    let required = Provider {
        par_required: true,
        ..Provider::default()
    };
    let env = Env::with(json!({}), required);
    let (d, _) = env.start("%2F", "");
    assert_eq!(d.code, "OK_LOGIN_STARTED");
    assert_eq!(env.idp.count(PAR_ENDPOINT), 1);

    // Configured to push, and the provider cannot take one: no login in the front channel.
    let without = Provider {
        par_endpoint: false,
        ..Provider::default()
    };
    let env = Env::with(
        json!({ "login": { "pushedAuthorizationRequests": true } }),
        without,
    );
    let unavailable = |d: &Decision| {
        assert_eq!(
            (d.code, status(d)),
            ("ERR_LOGIN_UNAVAILABLE", 503),
            "{d:#?}"
        );
        assert!(d.set_cookies.is_empty(), "{d:#?}");
    };
    unavailable(&env.decide(&login_request()));
    let required_without = Provider {
        par_endpoint: false,
        par_required: true,
        ..Provider::default()
    };
    let env = Env::with(json!({}), required_without);
    unavailable(&env.decide(&login_request()));

    // A provider that refuses the push: its error, no transaction, no redirect.
    let env = Env::new(json!({ "login": { "pushedAuthorizationRequests": true } }));
    *env.idp.refuse_push.borrow_mut() = Some("invalid_client");
    let d = env.decide(&login_request());
    refused(&d, "ERR_LOGIN_PROVIDER");
    assert!(d.set_cookies.is_empty(), "{d:#?}");
    assert!(format!("{:?}", d.error).contains("invalid_client"));
}

/// A gate that pushes, its login request, and the discovery ticket that request's first
/// round waited on (done, as any cold login's).
fn pushing_after_discovery() -> (Env, Request<'static>, u64) {
    let env = Env::new(json!({ "login": { "pushedAuthorizationRequests": true } }));
    let r = login_request();
    let edgegate::Step::NeedsFetch(discovery) = env.gate.begin_round(&r, 0) else {
        panic!("discovery")
    };
    env.gate
        .complete(discovery.id, env.idp.serve(&discovery, NOW));
    (env, r, discovery.id)
}

#[test]
fn concurrent_pushed_logins_each_find_their_own_transaction_by_their_ticket() {
    let (env, r, discovery) = pushing_after_discovery();
    let round = edgegate::Round::from(0).next(discovery);
    let push = |round: edgegate::Round| match env.gate.begin_round(&r, round) {
        edgegate::Step::NeedsFetch(f) if f.url == PAR_ENDPOINT => f,
        other => panic!("a push: {other:?}"),
    };
    // Two identical requests in flight at once: two pushes, two transactions.
    let (a, b) = (push(round), push(round));
    assert_ne!(a.id, b.id);
    env.gate.complete(b.id, env.idp.serve(&b, NOW));
    env.gate.complete(a.id, env.idp.serve(&a, NOW));
    let state_of = |f: &edgegate::Fetch| form(f.body.as_deref().unwrap())["state"].clone();
    let finish = |ticket: u64| match env.gate.begin_round(&r, round.next(ticket)) {
        edgegate::Step::Decided(d) => d,
        other => panic!("a decision: {other:?}"),
    };
    let tx_state = |d: &Decision| {
        let cookie = d.set_cookies.last().unwrap();
        cookie["__Host-edgegate-tx-".len()..cookie.find('=').unwrap()].to_owned()
    };
    // Each run gets the transaction its own push carried, whatever the order.
    let db = finish(b.id);
    assert_eq!(tx_state(&db), state_of(&b));
    let da = finish(a.id);
    assert_eq!(tx_state(&da), state_of(&a));
    assert_ne!(location(&da), location(&db));
    // A ticket's transaction is handed out once: a run naming it again pushes anew.
    assert_eq!(push(round.next(a.id)).url, PAR_ENDPOINT);
    assert_eq!(env.idp.count(PAR_ENDPOINT), 2);
}

#[test]
fn a_host_that_does_not_name_the_ticket_it_waited_on_gets_a_refusal_not_a_push_per_round() {
    let (env, r, _) = pushing_after_discovery();
    // Round 1 by its count alone: no way to find a push again, so none is started.
    match env.gate.begin_round(&r, 1) {
        edgegate::Step::Decided(d) => {
            assert_eq!(
                (d.code, status(&d)),
                ("ERR_LOGIN_UNAVAILABLE", 503),
                "{d:#?}"
            );
            assert!(d.set_cookies.is_empty());
        }
        other => panic!("a refusal: {other:?}"),
    }
    assert_eq!(env.idp.count(PAR_ENDPOINT), 0);
}

/// `r` to its decision with `body` as its body (when the gate asks for it), the provider
/// serving its fetches and signatures checked here, or by "the host" (`resume_step`).
fn with_body(env: &Env, r: &Request, body: &str) -> Decision {
    let mut round = edgegate::Round::default();
    let mut given = None;
    let mut step = env.gate.begin_round(r, round);
    loop {
        step = match step {
            edgegate::Step::Decided(d) => return d,
            edgegate::Step::NeedsSignature(p) => {
                let valid = p.unverified.check_here();
                env.gate.resume_step(p, valid)
            }
            edgegate::Step::NeedsFetch(f) => {
                env.gate.complete(f.id, env.idp.serve(&f, env.clock.now()));
                round = round.next(f.id);
                env.gate.begin_body(r, round, given)
            }
            edgegate::Step::NeedsBody(max) => {
                assert!(
                    given.is_none() && max >= 1024,
                    "the body once, with room: {max}"
                );
                given = Some(body);
                env.gate.begin_body(r, round, given)
            }
            edgegate::Step::NeedsStore(op) => panic!("a callback touches no store: {op:?}"),
        }
    }
}

fn form_post(url: &str, headers: &[(&str, &str)]) -> Request<'static> {
    let mut r = get(url, headers);
    r.method = "POST".into();
    r
}

#[test]
fn with_form_post_the_provider_posts_the_code_and_only_a_post_is_taken() {
    let env = Env::new(json!({ "login": { "responseMode": "form_post" } }));
    let (d, login) = env.start("%2Fdashboard", "");
    assert_eq!(login.params["response_mode"], "form_post");
    // The transaction must ride the provider's cross-site POST back: SameSite=None, Secure.
    let tx_cookie = d.set_cookies.last().unwrap();
    assert!(
        tx_cookie.contains("; SameSite=None; Secure") && tx_cookie.contains("; HttpOnly"),
        "{tx_cookie}"
    );
    let url = format!("{APP}/auth/callback");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let post = form_post(&url, &[form, ("cookie", &login.tx)]);

    // The same answer in the query of a GET: not the mode asked for.
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!((d.code, status(&d)), ("ERR_LOGIN_METHOD", 405), "{d:#?}");
    // The answer in the query of a POST, or in a body that is no form: no state at all.
    let in_query = form_post(
        &format!("{url}?{}", login.query()),
        &[form, ("cookie", &login.tx)],
    );
    refused(&with_body(&env, &in_query, ""), "ERR_LOGIN_STATE");
    let json_body = form_post(
        &url,
        &[("content-type", "application/json"), ("cookie", &login.tx)],
    );
    refused(
        &with_body(&env, &json_body, &login.query()),
        "ERR_LOGIN_STATE",
    );

    // The real answer, then padding past the 16 KB the callback reads: no answer at all
    // (the host hands over the limit and one byte more), and the code is not spent.
    let padded = format!("{}&pad={}", login.query(), "a".repeat(16 * 1024));
    refused(
        &with_body(&env, &post, &padded[..16 * 1024 + 1]),
        "ERR_LOGIN_STATE",
    );

    let d = with_body(&env, &post, &login.query());
    assert_eq!((d.code, status(&d)), ("OK_LOGGED_IN", 303), "{d:#?}");
    assert_eq!(header(response_headers(&d), "location"), Some("/dashboard"));
    assert_eq!(
        names(&set(&d)),
        ["__Host-token", "__Host-refreshToken", "__Host-idToken"]
    );
    // The session stays SameSite=Lax; only the transaction's removal is cross-site.
    let session = d
        .set_cookies
        .iter()
        .filter(|c| !c.starts_with("__Host-edgegate-tx-"));
    assert!(session.clone().count() == 3 && session.clone().all(|c| c.contains("SameSite=Lax")));
    let cleared = d
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-edgegate-tx-"))
        .unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("SameSite=None"),
        "{cleared}"
    );
    // Replayed: the transaction is gone with the code.
    let again = with_body(&env, &post, &login.query());
    assert_ne!(again.code, "OK_LOGGED_IN");

    // The provider's error comes the same way.
    let (_, login) = env.start("%2F", "");
    let post = form_post(&url, &[form, ("cookie", &login.tx)]);
    let error = format!(
        "error=access_denied&state={}&iss={}",
        login.params["state"],
        encode(ISSUER)
    );
    refused(&with_body(&env, &post, &error), "ERR_LOGIN_PROVIDER");
}

#[test]
fn a_form_post_callback_whose_signatures_the_host_checks_keeps_its_body() {
    edgegate::verify::host_only(true);
    let env = Env::new(json!({ "login": { "responseMode": "form_post" } }));
    let (_, login) = env.start("%2F", "");
    let post = form_post(
        &format!("{APP}/auth/callback"),
        &[
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            ),
            ("cookie", &login.tx),
        ],
    );
    let d = with_body(&env, &post, &login.query());
    edgegate::verify::host_only(false);
    assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
}
