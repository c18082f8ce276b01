//! An attacker's look at hosted login (tests/login.rs has the flow itself). What holds:
//! the routes before every rule, non-canonical spellings, planted and rotated
//! transactions, stolen codes and the exchange cache, the cap on exchanges in flight,
//! `explain`, hostile input, the fetch rounds of a cold callback. Then the findings, each
//! fixed: logout forged by same-origin subresources and router prefetches, a new login
//! that kept the previous session's refresh token, `returnTo` values that broke the
//! `Location` or the transaction cookie or looped through the provider, and the refresh
//! and login cookies sent upstream beside a kept auth cookie.
mod common;
#[path = "common/login.rs"]
mod login_common;

use common::*;
use edgegate::{Decision, Fetched, Request, Step};
use login_common::*;
use serde_json::{json, Value};

/// The gate under `login_options(extra)` before the provider of these tests, whose refresh
/// tokens name their owner.
fn env(extra: Value) -> Env {
    Env::with(
        extra,
        Provider {
            refresh_tokens: RefreshTokens::Owned,
            ..Provider::default()
        },
    )
}

/// A browser's cookie jar: `Set-Cookie` values applied in order.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn apply(&mut self, d: &Decision) {
        for c in &d.set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !c.contains("Max-Age=0") {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn post(url: &str, headers: &[(&str, &str)]) -> Request<'static> {
    Request {
        method: "POST".into(),
        ..get(url, headers)
    }
}

// ---------------------------------------------------------------------------------------
// What holds.

/// The login's routes are answered before any rule is looked at: a user's `public` rule
/// over `/auth/*` with an upstream, or a catch-all page rule, changes nothing.
#[test]
fn login_routes_come_before_every_rule() {
    let env = env(json!({ "rules": [
        { "match": "/auth/:path*", "kind": "public", "upstream": "https://legacy.internal" },
        { "match": "/:path*", "kind": "page" },
    ] }));
    let (d, login) = env.start("%2F", "");
    assert_eq!(d.code, "OK_LOGIN_STARTED");
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN");
    let mut jar = Jar::default();
    jar.apply(&d);
    let session = env.decide(&get(
        &format!("{APP}/auth/session"),
        &[("cookie", &jar.header())],
    ));
    assert_eq!(status(&session), 200);
    let logout = env.decide(&post(
        &format!("{APP}/auth/logout"),
        &[("cookie", &jar.header()), ("origin", APP)],
    ));
    assert_eq!(logout.code, "OK_LOGGED_OUT");
}

/// A non-canonical spelling of a login route is not the route (the gate answers one
/// spelling only, and exchanges no code for another): it goes where the rules say, and an
/// upstream never gets the login's cookies, nor the session's, with it.
#[test]
fn other_spellings_of_the_callback_never_carry_login_cookies_upstream() {
    let env = env(json!({ "rules": [
        { "match": "/auth/:path*", "kind": "public", "upstream": "https://legacy.internal" },
    ] }));
    let mut jar = Jar::default();
    jar.apply(&env.log_in(""));
    let (_, login) = env.start("%2F", &jar.header());
    let cookies = format!("{}; {}; theme=dark", jar.header(), login.tx);
    let exchanges = env.idp.count(TOKEN_ENDPOINT);
    for path in [
        "/auth/%63allback",
        "/auth//callback",
        "/auth/./callback",
        "/auth/x/../callback",
        "/AUTH/callback",
        "/auth/Callback",
        "/auth/callback/",
        "/auth\\callback",
    ] {
        let d = env.decide(&get(
            &format!("{APP}{path}?{}", login.query()),
            &[("cookie", &cookies)],
        ));
        assert!(d.error.is_none(), "{path}: {d:#?}");
        let edgegate::Action::Continue { headers, route, .. } = &d.action else {
            panic!("{path}: {d:#?}")
        };
        // To an upstream (where the rule matched this spelling): nothing of the login's or
        // the session's. Into the app (no rule opened a non-canonical spelling): the app's
        // own request, which carries the browser's cookies as every request to it does.
        if let Some(route) = route {
            assert!(
                route.target().starts_with("https://legacy.internal/"),
                "{path}"
            );
            assert_eq!(header(headers, "cookie"), Some("theme=dark"), "{path}");
            assert_eq!(header(headers, "authorization"), None, "{path}");
        }
        assert!(set(&d).is_empty(), "{path}");
    }
    assert_eq!(
        env.idp.count(TOKEN_ENDPOINT),
        exchanges,
        "no code exchanged"
    );
}

/// Off loopback the transaction cookie is `__Host-`: a sibling subdomain cannot plant one.
/// One the gate sealed for the plain name (a loopback flow, or a `Host: localhost` request)
/// opens under no other name, so it cannot be carried over to an https callback.
#[test]
fn a_transaction_sealed_for_the_plain_name_never_opens_over_https() {
    let env = env(json!({ "login": { "redirectUri": "https://app.example/auth/callback" } }));
    let (_, plain) = env.start_at("http://localhost:3000", "%2F", "");
    assert!(plain.tx.starts_with("edgegate-tx-"), "{}", plain.tx);
    let value = plain.tx.split_once('=').unwrap().1;
    for jar in [
        plain.tx.clone(),
        format!("__Host-edgegate-tx-{}={value}", plain.params["state"]),
    ] {
        let d = env.callback(&plain.query(), &jar);
        assert_eq!(d.code, "ERR_LOGIN_STATE", "{jar}");
        assert!(set(&d).is_empty());
    }
    assert_eq!(env.idp.count(TOKEN_ENDPOINT), 0);
}

/// The exchange is remembered under code and PKCE verifier. A victim's code replayed in
/// another browser (its own transaction, so another verifier) within the minute the outcome
/// is kept gets a call of its own, never the victim's tokens: refused as spent, or, at a
/// provider that would redeem it twice, by the nonce.
#[test]
fn a_stolen_code_gets_its_own_exchange_never_the_remembered_tokens() {
    for lax in [false, true] {
        let env = env(json!({}));
        *env.idp.reuse_codes.borrow_mut() = lax;
        let (_, victim) = env.start("%2F", "");
        assert_eq!(
            env.callback(&victim.query(), &victim.tx).code,
            "OK_LOGGED_IN"
        );
        let (_, attacker) = env.start("%2F", "");
        let stolen = format!(
            "code={}&state={}&iss={}",
            victim.code,
            attacker.params["state"],
            encode(ISSUER)
        );
        env.clock.advance(5.0);
        let d = env.callback(&stolen, &attacker.tx);
        let expected = if lax {
            "ERR_LOGIN_ID_TOKEN"
        } else {
            "ERR_LOGIN_EXCHANGE"
        };
        assert_eq!(d.code, expected, "lax {lax}");
        assert!(set(&d).is_empty());
        assert_eq!(env.idp.count(TOKEN_ENDPOINT), 2, "a call of its own");
    }
}

/// Login options and the provider's answer alone make the authorization request: the
/// login route reads `returnTo` and nothing else from its query.
#[test]
fn the_login_route_reads_only_return_to() {
    let env = env(json!({}));
    let (_, login) = env.start(
        "%2F&prompt=none&redirect_uri=https%3A%2F%2Fevil.example&state=fixed&nonce=n&scope=openid&response_mode=form_post&client_id=evil",
        "",
    );
    let p = &login.params;
    assert_eq!(p["redirect_uri"], format!("{APP}/auth/callback"));
    assert_eq!(p["client_id"], CLIENT);
    assert_eq!(p["scope"], "openid profile email offline_access");
    assert_ne!(p["state"], "fixed");
    assert_ne!(p["nonce"], "n");
    assert!(!p.contains_key("prompt") && !p.contains_key("response_mode"));
}

/// The provider's `error` never reaches a header or a body: only the fixed code does.
#[test]
fn the_providers_error_text_reaches_no_header() {
    let env = env(json!({ "login": { "errorUrl": "/oops?from=login" } }));
    let (_, login) = env.start("%2F", "");
    let q = format!(
        "error=x%0D%0ASet-Cookie%3A%20a%3D1&error_description=%0D%0Ax&state={}&iss={}",
        login.params["state"],
        encode(ISSUER)
    );
    let d = env.callback(&q, &login.tx);
    assert_eq!((d.code, status(&d)), ("ERR_LOGIN_PROVIDER", 303));
    assert_eq!(location(&d), "/oops?from=login&error=ERR_LOGIN_PROVIDER");
    // Even the log line keeps only the error's letters, digits and `_`.
    let why = d.error.as_ref().unwrap().to_string();
    assert!(
        !why.contains(['\r', '\n']) && !why.contains("Set-Cookie:"),
        "{why}"
    );
}

/// Floods are capped: at most 64 code exchanges in flight per gate; beyond that a callback
/// is refused without a call to the provider.
#[test]
fn code_exchanges_in_flight_are_capped() {
    let env = env(json!({}));
    env.log_in(""); // discovery and keys cached
    let before = env.idp.count(TOKEN_ENDPOINT);
    let mut tickets = 0;
    for i in 0..edgegate::session::MAX_REFRESHES_IN_FLIGHT + 1 {
        let (_, login) = env.start("%2F", "");
        let r = get(
            &format!("{APP}/auth/callback?{}", login.query()),
            &[("cookie", &login.tx)],
        );
        match env.gate.begin_round(&r, 0) {
            Step::NeedsFetch(f) => {
                assert_eq!(f.url, TOKEN_ENDPOINT);
                tickets += 1;
            }
            Step::Decided(d) => {
                assert_eq!(i, edgegate::session::MAX_REFRESHES_IN_FLIGHT, "{d:#?}");
                assert_eq!(d.code, "ERR_LOGIN_EXCHANGE");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tickets, edgegate::session::MAX_REFRESHES_IN_FLIGHT);
    assert_eq!(env.idp.count(TOKEN_ENDPOINT), before, "none was made here");
}

/// `explain` names a login route and does nothing: no transaction, no exchange, no cookie.
#[test]
fn explain_starts_finishes_and_ends_no_login() {
    let env = env(json!({}));
    let (_, login) = env.start("%2F", "");
    let calls = env.idp.calls.borrow().len();
    let callback = get(
        &format!("{APP}/auth/callback?{}", login.query()),
        &[("cookie", &login.tx)],
    );
    for r in [
        callback.clone(),
        get(
            &format!("{APP}/auth/login?returnTo=%2F"),
            &[("sec-fetch-mode", "navigate")],
        ),
        post(
            &format!("{APP}/auth/logout"),
            &[("origin", APP), ("cookie", &login.tx)],
        ),
    ] {
        let trace = env.gate.explain(&r);
        assert_eq!(trace.code, None, "{trace:#?}");
        assert!(trace.steps.iter().any(|s| s.step == "login"), "{trace:#?}");
    }
    assert_eq!(env.idp.calls.borrow().len(), calls);
    assert_eq!(env.decide(&callback).code, "OK_LOGGED_IN");
}

/// Sealed values are bound to their cookie's name and opened by every configured secret:
/// a transaction rotated out still finishes, one of a removed secret does not, and a
/// transaction is no ID-token cookie.
#[test]
fn sealed_login_cookies_rotate_and_stay_in_their_place() {
    let old = env(json!({}));
    let (_, login) = old.start("%2F", "");
    let rotated = env(json!({ "login": {
        "secret": "a-brand-new-login-secret-of-32-bytes!!", "secrets": [SEAL] } }));
    rotated
        .idp
        .nonces
        .borrow_mut()
        .insert(login.code.clone(), login.params["nonce"].clone());
    let d = rotated.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN");
    let removed = env(json!({ "login": { "secret": "a-brand-new-login-secret-of-32-bytes!!" } }));
    assert_eq!(
        removed.callback(&login.query(), &login.tx).code,
        "ERR_LOGIN_STATE"
    );

    // A transaction's value under the ID-token cookie's name lends no profile.
    let mut jar = Jar::default();
    jar.apply(&d);
    let value = login.tx.split_once('=').unwrap().1;
    let swapped = format!(
        "__Host-token={}; __Host-idToken={value}",
        jar.get("__Host-token").unwrap()
    );
    let s = rotated.decide(&get(
        &format!("{APP}/auth/session"),
        &[("cookie", &swapped)],
    ));
    let edgegate::Action::Respond { body, .. } = &s.action else {
        panic!()
    };
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["authenticated"], true);
    assert_eq!(body.get("name"), None, "{body}");
}

/// Hostile input on every login route: no panic, a refusal with a code, no session set.
#[test]
fn hostile_input_never_panics_nor_signs_in() {
    let env = env(json!({}));
    let (_, login) = env.start("%2F", "");
    let state = login.params["state"].clone();
    let long = "A".repeat(7000);
    let queries = [
        String::new(),
        "%".into(),
        "state=%".into(),
        "state=%E2%82".into(),
        "state=%E2%82%AC".repeat(15),
        format!("state={}", "é".repeat(21)),
        format!("state={}%", &state[..42]),
        format!("state={state}&code=%zz"),
        format!("state={state}&code=&iss={}", encode(ISSUER)),
        format!("state={state}&iss=&code=x"),
        format!("state={state}&code={long}&iss={}", encode(ISSUER)),
        format!("state={state}&error=&iss={}", encode(ISSUER)),
        "&&&=&==&state".into(),
        format!("state={state}&state"),
    ];
    let jars = [
        login.tx.clone(),
        String::new(),
        format!("__Host-edgegate-tx-{state}="),
        format!("__Host-edgegate-tx-{state}=\"\""),
        format!("__Host-edgegate-tx-{state}={long}"),
        format!("__Host-edgegate-tx-{state}=é€"),
        "__Host-edgegate-tx-=x; edgegate-tx-; =; ;;".into(),
    ];
    for q in &queries {
        for jar in &jars {
            let d = env.callback(q, jar);
            assert!(d.error.is_some(), "{q} / {jar}: {d:#?}");
            assert!(set(&d).is_empty(), "{q} / {jar}");
        }
    }
    for jar in &jars {
        for path in [
            "/auth/login?returnTo=%",
            "/auth/login?returnTo=%E2",
            "/auth/login?returnTo",
            "/auth/session",
        ] {
            env.decide(&get(
                &format!("{APP}{path}"),
                &[("cookie", jar), ("sec-fetch-mode", "navigate")],
            ));
        }
        env.decide(&post(
            &format!("{APP}/auth/logout"),
            &[("cookie", jar), ("origin", APP)],
        ));
    }
}

/// A callback on a cold isolate whose access tokens come from another issuer needs every
/// fetch round there is: the login's discovery, the code exchange, the ID token's keys
/// (discovery, JWKS) and the access token's (discovery, JWKS). It fits in
/// `MAX_FETCH_ROUNDS`; when the fetches never succeed, the host is never asked past the
/// bound and the login fails closed.
#[test]
fn a_cold_callback_fits_the_fetch_rounds_and_never_loops() {
    let cold = || {
        let env = env(json!({ "verify": { "issuer": API_ISSUER } }));
        *env.idp.access_iss.borrow_mut() = API_ISSUER.into();
        env
    };
    // The callback reaches another isolate than the login did: it has nothing cached.
    let (_, login) = cold().start("%2F", "");
    let env = cold();
    env.idp
        .nonces
        .borrow_mut()
        .insert(login.code.clone(), login.params["nonce"].clone());
    let d = env.callback(&login.query(), &login.tx);
    assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
    let rounds = env.idp.calls.borrow().len();
    assert_eq!(rounds, 6, "one round per fetch");
    assert!(
        rounds <= usize::from(edgegate::MAX_FETCH_ROUNDS),
        "within the bound"
    );

    // Key endpoints that time out: the host is asked each round, never beyond the bound.
    let env = cold();
    let (_, login) = env.start("%2F", "");
    let r = get(
        &format!("{APP}/auth/callback?{}", login.query()),
        &[("cookie", &login.tx)],
    );
    let mut round = 0;
    let d = loop {
        match env.gate.begin_round(&r, round) {
            Step::NeedsFetch(f) => {
                let answer = match f.url.as_str() {
                    TOKEN_ENDPOINT => env.idp.serve(&f, NOW),
                    _ => Fetched::Timeout,
                };
                env.gate.complete(f.id, answer);
                round += 1;
            }
            Step::Decided(d) => break d,
            other => panic!("{other:?}"),
        }
    };
    assert!(round <= edgegate::MAX_FETCH_ROUNDS, "{round}");
    assert!(d.error.is_some(), "{d:#?}");
    assert!(set(&d).is_empty());
}

// ---------------------------------------------------------------------------------------
// Findings, each with its fix.

/// A GET logout is a link the user followed: a same-origin `<img src=/auth/logout>` (user
/// content, a markdown image) or Next's `<Link href="/auth/logout">` prefetch carries
/// `Sec-Fetch-Site: same-origin` too, and must neither end the session nor revoke it.
#[test]
fn a_get_logout_must_be_a_navigation_not_an_image_or_a_prefetch() {
    let env = env(json!({}));
    let mut jar = Jar::default();
    jar.apply(&env.log_in(""));
    let cookie = jar.header();
    for headers in [
        // <img src="/auth/logout">
        vec![
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "no-cors"),
            ("sec-fetch-dest", "image"),
        ],
        // <Link href="/auth/logout"> in view: Next prefetches it
        vec![
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
            ("rsc", "1"),
            ("next-router-prefetch", "1"),
        ],
        // speculation rules / <link rel=prefetch>
        vec![
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-purpose", "prefetch"),
        ],
        // a same-origin script's fetch
        vec![
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
        ],
    ] {
        let mut h = headers.clone();
        h.push(("cookie", &cookie));
        let d = env.decide(&get(&format!("{APP}/auth/logout"), &h));
        assert_eq!((d.code, status(&d)), ("ERR_CSRF", 403), "{headers:?}");
        assert!(d.set_cookies.is_empty(), "{headers:?}");
    }
    assert_eq!(env.idp.count("https://id.example/revoke"), 0);
    // The user's own click on a same-origin link still logs out.
    let click = env.decide(&get(
        &format!("{APP}/auth/logout"),
        &[
            ("cookie", &cookie),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
        ],
    ));
    assert_eq!(click.code, "OK_LOGGED_OUT");
}

/// A login replaces the whole session. When the new login brings no refresh token, the
/// previous one (another account's, on a shared browser or after switching accounts) must
/// not stay behind: once the new access token expires, the gate would refresh with it and
/// silently hand the browser the other account.
#[test]
fn a_new_login_without_a_refresh_token_drops_the_previous_one() {
    let env = env(json!({}));
    let mut jar = Jar::default();
    jar.apply(&env.log_in(""));
    let first = jar.get("__Host-refreshToken").unwrap().to_owned();

    // Another account signs in on the same browser; this time no refresh token is issued.
    *env.idp.no_refresh.borrow_mut() = true;
    let second = env.log_in(&jar.header());
    jar.apply(&second);
    assert_eq!(
        jar.get("__Host-refreshToken"),
        None,
        "the first login's refresh token {first} outlived the second login"
    );

    // Past the second access token's expiry the session ends; it never becomes the first.
    env.clock.advance(400.0);
    let calls = env.idp.count(TOKEN_ENDPOINT);
    let d = env.decide(&get(
        &format!("{APP}/api/stocks"),
        &[("cookie", &jar.header())],
    ));
    assert_ne!(d.code, "OK_REFRESHED", "{d:#?}");
    assert_eq!(env.idp.count(TOKEN_ENDPOINT), calls, "no refresh was made");
}

/// `returnTo` becomes the callback's `Location`. Hosts hand it to the WHATWG `Headers`,
/// which throw on a character past U+00FF: `?q=€` turned a finished login into a 500 (and
/// the cached exchange repeated it for a minute). Only ASCII survives.
#[test]
fn return_to_is_ascii_so_the_location_is_a_byte_string() {
    for raw in [
        "%2Fsearch%3Fq%3D%E2%82%AC",
        "%2Fsearch%3Fq%3D%C3%A9",
        "%2Fx%3F%F0%9F%98%80",
    ] {
        let to = env(json!({})).lands(raw);
        assert!(to.is_ascii(), "{raw}: {to:?}");
    }
    // What the gate itself sends there (a page's own target, its query as the browser
    // encoded it) is ASCII already and survives.
    let env = env(json!({}));
    let d = env.decide(&get(&format!("{APP}/dashboard/search?q=%E2%82%AC"), &[]));
    let edgegate::Action::Redirect { location: to } = &d.action else {
        panic!("{d:#?}")
    };
    let raw = to.split_once("returnTo=").unwrap().1;
    assert_eq!(env.lands(raw), "/dashboard/search?q=%E2%82%AC");
}

/// The transaction cookie holds `returnTo`. Past 4096 bytes a browser drops a cookie
/// without a word, and the login can then never finish (`ERR_LOGIN_STATE`): a long
/// `returnTo` (a crafted link, or a page with a long query) lands on `/` instead.
#[test]
fn a_long_return_to_never_costs_the_login() {
    for (what, return_to) in [
        ("long path", format!("/{}", "a".repeat(3500))),
        ("JSON-escaped query", format!("/x?{}", "\"".repeat(1900))),
    ] {
        let env = env(json!({}));
        let (_, login) = env.start(&encode(&return_to), "");
        assert!(
            login.tx.len() <= 4096,
            "{what}: a {}-byte cookie is dropped by browsers",
            login.tx.len()
        );
        let d = env.callback(&login.query(), &login.tx);
        assert_eq!(d.code, "OK_LOGGED_IN", "{what}");
        assert_eq!(location(&d), "/", "{what}");
    }
    // A long one that fits is kept.
    let kept = format!("/dashboard?f={}", "a".repeat(1500));
    assert_eq!(env(json!({})).lands(&encode(&kept)), kept);
}

/// `returnTo` naming the login's own routes: `/auth/login` loops through the provider
/// (each round a new transaction and a code exchange) until the browser gives up.
#[test]
fn return_to_never_names_the_logins_own_routes() {
    for raw in [
        "%2Fauth%2Flogin",
        "%2Fauth%2Flogin%3FreturnTo%3D%252Fauth%252Flogin",
        "%2Fauth%2Fcallback%3Fcode%3Dx%26state%3Dy",
        "%2Fauth%2Flogout",
    ] {
        assert_eq!(env(json!({})).lands(raw), "/", "{raw}");
    }
    // Other paths under the prefix that are not routes are the app's.
    assert_eq!(env(json!({})).lands("%2Fauth%2Fhelp"), "/auth/help");
}

/// `upstream.stripAuthCookie: false` keeps the access-token cookie for a backend that reads
/// it. It kept the whole `Cookie` header: the refresh token (a 30-day credential the
/// backend has no use for) and the login's transaction and ID-token cookies went upstream
/// too, though nothing of the login's is ever to be sent there.
#[test]
fn a_kept_auth_cookie_takes_no_refresh_token_or_login_cookie_upstream() {
    let env = env(json!({ "upstream": { "stripAuthCookie": false } }));
    let mut jar = Jar::default();
    jar.apply(&env.log_in(""));
    let (_, login) = env.start("%2F", &jar.header());
    let d = env.decide(&get(
        &format!("{APP}/api/stocks"),
        &[(
            "cookie",
            &format!("{}; {}; theme=dark", jar.header(), login.tx),
        )],
    ));
    assert_eq!(d.code, "OK_AUTHENTICATED", "{d:#?}");
    let sent = header(forwarded(&d), "cookie").unwrap();
    let names: Vec<&str> = sent
        .split("; ")
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["__Host-token", "theme"], "{sent}");
}
