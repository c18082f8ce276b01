//! An attacker's look at sessions (`session` options): every real library's vector
//! mutated (values flipped, truncated, extended; names respelled, duplicated, moved to the
//! other scheme's name), asserting no panic, nothing opened that was tampered with, and no
//! token forwarded but the one the session holds; then CSRF, `verifyToken: false` and what
//! reaches an upstream.
mod common;

use std::sync::Arc;

use common::{forwarded, get, header};
use edgegate::{Decision, FixedClock, Gate, Options, Request};
use serde_json::{json, Value};

use common::SESSIONS as DATA;

fn data() -> Value {
    serde_json::from_str(DATA).unwrap()
}

fn vector<'a>(data: &'a Value, name: &str) -> &'a Value {
    data["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// A gate for `vector`'s format and secrets, with `extra` options merged in (`verify` is
/// dropped when `extra` says `"verify": null`).
fn gate_with(data: &Value, vector: &Value, session_extra: Value, extra: Value) -> Gate {
    let format = common::session_format(vector["format"].as_str().unwrap());
    let mut session = json!({ "format": format });
    if format != "kinde" {
        session["secrets"] = vector["secrets"].clone();
    }
    for (k, v) in session_extra.as_object().unwrap() {
        session[k] = v.clone();
    }
    let mut options = json!({
        "rules": [
            { "match": "/api/:path*", "kind": "api", "upstream": "https://api.internal" },
            { "match": "/dashboard/:path*", "kind": "page" },
            { "match": "/open/:path*", "kind": "public", "upstream": "https://api.internal" },
        ],
        "verify": { "algorithms": ["HS256"], "keys": data["backend_token_key"]["secret"] },
        "session": session,
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            options.as_object_mut().unwrap().remove(k);
        } else {
            options[k] = v.clone();
        }
    }
    let now = vector["now"].as_f64().unwrap();
    Gate::with_clock(
        Options::from_json(&options.to_string()).unwrap(),
        Arc::new(FixedClock(now)),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", vector["name"]))
}

fn gate(data: &Value, vector: &Value) -> Gate {
    gate_with(data, vector, json!({}), json!({}))
}

/// Every token a genuine session of the vectors holds. A refused vector is a genuine
/// session plus something wrong (a stale chunk, a base beside chunks): taking the wrong part
/// away may leave the genuine session, which then rightly opens.
fn genuine_tokens(data: &Value) -> Vec<&str> {
    data["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["expect"]["token"].as_str())
        .collect()
}

fn pairs(vector: &Value) -> Vec<(String, String)> {
    vector["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_owned(),
                c[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn cookie_header(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn url(vector: &Value, path: &str) -> String {
    format!("{}://app.example{path}", vector["scheme"].as_str().unwrap())
}

/// Is `name` one of the cookies that carry the session (the session cookie or a chunk of
/// it), as opposed to the library's other cookies (Kinde's ID and refresh tokens)?
fn carries_session(format: &str, name: &str) -> bool {
    match format {
        "kinde" => {
            name == "access_token"
                || name
                    .strip_prefix("access_token")
                    .is_some_and(|s| s.parse::<u32>().is_ok())
        }
        _ => true,
    }
}

/// The invariant of every decision: a pass that is not `OK_AUTHENTICATED` forwards no
/// bearer, and `OK_AUTHENTICATED` forwards exactly the token the genuine session holds.
fn check(d: &Decision, expected: Option<&str>, what: &str) {
    check_any(d, expected.as_slice(), what)
}

/// [`check`] with several tokens allowed.
fn check_any(d: &Decision, allowed: &[&str], what: &str) {
    if d.code == "OK_AUTHENTICATED" {
        let bearer = header(forwarded(d), "authorization");
        assert!(
            allowed
                .iter()
                .any(|token| bearer == Some(format!("Bearer {token}").as_str())),
            "{what}: authenticated, forwarding {bearer:?}"
        );
    } else {
        assert!(!d.code.starts_with("OK_"), "{what}: {}", d.code);
    }
}

/// Ways to spoil a base64url JWE or JWT in place: a character changed, removed or added,
/// the value cut short or lengthened, a dot added.
fn value_mutations(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let len = bytes.len();
    let step = (len / 6).max(1);
    let mut out = Vec::new();
    let mut positions: Vec<usize> = (0..len).step_by(step).collect();
    positions.extend([len.saturating_sub(1), len.saturating_sub(2)]);
    // Every part boundary too: the characters either side of each dot.
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'.' {
            positions.extend([i.saturating_sub(1), (i + 1).min(len - 1)]);
        }
    }
    positions.sort_unstable();
    positions.dedup();
    for &i in &positions {
        let c = bytes[i];
        for replacement in [if c == b'A' { b'B' } else { b'A' }, b'.'] {
            if replacement != c {
                let mut v = bytes.to_vec();
                v[i] = replacement;
                out.push(String::from_utf8(v).unwrap());
            }
        }
        out.push(format!("{}{}", &value[..i], &value[i + 1..]));
        out.push(value[..i].to_owned());
    }
    for suffix in ["A", "AAAA", ".", "="] {
        out.push(format!("{value}{suffix}"));
        out.push(format!("{suffix}{value}"));
    }
    out.push(value.replace('-', "+").replace('_', "/"));
    out.push(format!("\"{value}"));
    out.push(String::new());
    out.retain(|m| m != value);
    out
}

/// A session's values altered one cookie at a time: nothing that was tampered with opens,
/// and nothing panics.
#[test]
fn mutated_sessions_never_open_nor_panic() {
    let data = data();
    let genuine = genuine_tokens(&data);
    let mut decisions = 0;
    for vector in data["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let format = common::session_format(vector["format"].as_str().unwrap());
        let gate = gate(&data, vector);
        let original = pairs(vector);
        let expected = vector["expect"]["token"].as_str();
        // The refused vectors are mutations already; some of their cookies are mutated below.
        if expected.is_none() && decisions % 3 != 0 {
            decisions += 1;
            continue;
        }
        let target = url(vector, "/api/things");
        let whole = |ps: &[(String, String)]| {
            let mut chunks: Vec<&(String, String)> = ps
                .iter()
                .filter(|(n, _)| carries_session(format, n))
                .collect();
            chunks.sort_by(|a, b| a.0.cmp(&b.0));
            chunks.iter().map(|(_, v)| v.as_str()).collect::<String>()
        };
        for (at, (cookie, value)) in original.iter().enumerate() {
            if !carries_session(format, cookie) {
                continue;
            }
            for mutated in value_mutations(value) {
                let mut pairs = original.clone();
                pairs[at].1 = mutated.clone();
                let d = gate.decide(&get(&target, &[("cookie", &cookie_header(&pairs))]));
                decisions += 1;
                // Only a chunk's edge moved to its neighbour (the same whole) may still open.
                let allowed = match expected {
                    Some(token) if whole(&pairs) == whole(&original) => vec![token],
                    Some(_) => vec![],
                    None => genuine.clone(),
                };
                if d.code.starts_with("OK_") && expected.is_none() {
                    println!("{name}: {cookie} = {mutated:.40}… opens: {}", d.code);
                }
                check_any(&d, &allowed, &format!("{name}: {cookie} = {mutated:.60}…"));
            }
        }
    }
    println!("{decisions} decisions");
    assert!(decisions > 4_000, "{decisions} decisions");
}

/// The session's cookies under other names: the other scheme's, `__Host-`, another case,
/// a chunk suffix, twice, or beside a second copy. Whatever the gate makes of them, it
/// forwards the genuine token or none.
#[test]
fn respelled_and_repeated_cookie_names_forward_no_other_token() {
    let data = data();
    let vectors = data["vectors"].as_array().unwrap();
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let gate = gate(&data, vector);
        let genuine = pairs(vector);
        let expected = vector["expect"]["token"].as_str();
        let allowed = expected.map_or_else(|| genuine_tokens(&data), |t| vec![t]);
        // Another valid session of the same format (an attacker's own), to add beside it.
        let other = vectors
            .iter()
            .find(|o| {
                o["format"] == vector["format"]
                    && o["name"] != vector["name"]
                    && o["expect"]["token"].is_string()
                    && o["expect"]["token"] != vector["expect"]["token"]
            })
            .map(pairs);
        let target = url(vector, "/api/things");
        let mut attempts: Vec<Vec<(String, String)>> = Vec::new();
        for (at, (cookie, _)) in genuine.iter().enumerate() {
            let bare = cookie.strip_prefix("__Secure-").unwrap_or(cookie);
            for respelled in [
                format!("__Secure-{bare}"),
                format!("__Host-{bare}"),
                format!("__secure-{bare}"),
                bare.to_owned(),
                bare.to_uppercase(),
                format!("{cookie}.0"),
                format!("{cookie}__0"),
                format!("{cookie}1"),
                format!("{cookie}.00"),
                format!("{cookie} "),
                format!(" {cookie}"),
                format!("{cookie}\t"),
                format!("\"{cookie}\""),
                format!("{cookie}%2E0"),
            ] {
                let mut pairs = genuine.clone();
                pairs[at].0 = respelled;
                attempts.push(pairs);
            }
            let mut twice = genuine.clone();
            twice.push(genuine[at].clone());
            attempts.push(twice);
        }
        if let Some(other) = &other {
            // The attacker's session beside the victim's, before and after it, and under
            // the other scheme's names.
            attempts.push([genuine.clone(), other.clone()].concat());
            attempts.push([other.clone(), genuine.clone()].concat());
            let other_scheme: Vec<(String, String)> = other
                .iter()
                .map(|(n, v)| match n.strip_prefix("__Secure-") {
                    Some(bare) => (bare.to_owned(), v.clone()),
                    None => (format!("__Secure-{n}"), v.clone()),
                })
                .collect();
            attempts.push([genuine.clone(), other_scheme.clone()].concat());
            attempts.push([other_scheme, genuine.clone()].concat());
        }
        for pairs in attempts {
            let header_value = cookie_header(&pairs);
            let d = gate.decide(&get(&target, &[("cookie", &header_value)]));
            check_any(&d, &allowed, &format!("{name}: {header_value:.200}"));
            // Split across two Cookie headers: the same reading.
            let (a, b) = pairs.split_at(pairs.len() / 2);
            let d = gate.decide(&get(
                &target,
                &[("cookie", &cookie_header(a)), ("cookie", &cookie_header(b))],
            ));
            check_any(
                &d,
                &allowed,
                &format!("{name} (two headers): {header_value:.200}"),
            );
        }
        // Header and cookie together: a forged bearer never wins over, or beside, the session.
        let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdHRhY2tlciJ9.AAAA";
        let d = gate.decide(&get(
            &target,
            &[
                ("cookie", &cookie_header(&genuine)),
                ("authorization", &format!("Bearer {forged}")),
            ],
        ));
        check(&d, expected, &format!("{name} with a forged bearer"));
    }
}

/// Hand-made JWEs with every header and part a sealed-format gate reads set to odd values:
/// no panic, no pass.
#[test]
fn crafted_jwes_never_panic_nor_pass() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let b64 = |b: &[u8]| Base64UrlUnpadded::encode_string(b);
    let data = data();
    let headers = [
        r#"{"alg":"dir","enc":"A256GCM"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","kid":""}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","kid":1}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","kid":null}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512","kid":["a"]}"#,
        r#"{"alg":"dir","enc":"A256GCM","exp":1e309,"iat":-1e308,"uat":"x"}"#,
        r#"{"alg":"dir","enc":"A256GCM","exp":99999999999999999999999,"iat":0,"uat":0}"#,
        r#"{"alg":"dir","enc":"A256GCM","enc":"A256GCM"}"#,
        r#"{"alg":"none","enc":"A256GCM"}"#,
        r#"{"alg":"DIR","enc":"a256gcm"}"#,
        r#"{"alg":"dir"}"#,
        r#"{}"#,
        r#"null"#,
        r#"{"alg":"dir","enc":"A256GCM"#,
        "\u{0}",
        "",
    ];
    let ivs: [&[u8]; 5] = [&[], &[0; 12], &[0; 16], &[0; 11], &[0; 17]];
    let cts: [&[u8]; 5] = [&[], &[0; 1], &[0; 15], &[0; 16], &[0; 33]];
    let tags: [&[u8]; 5] = [&[], &[0; 16], &[0; 32], &[0; 15], &[0; 64]];
    let mut count = 0;
    for name in [
        "authjs/https/single",
        "authjs/http/single",
        "nextAuth4/https/single",
        "auth0v4/https/single",
        "auth0v3/https/single",
    ] {
        let vector = vector(&data, name);
        let gate = gate(&data, vector);
        let cookie_name = &pairs(vector)[0].0;
        for h in headers {
            for iv in ivs {
                for ct in cts {
                    for tag in tags {
                        let jwe = format!(
                            "{}..{}.{}.{}",
                            b64(h.as_bytes()),
                            b64(iv),
                            b64(ct),
                            b64(tag)
                        );
                        let d = gate.decide(&get(
                            &url(vector, "/api/x"),
                            &[("cookie", &format!("{cookie_name}={jwe}"))],
                        ));
                        check(&d, None, &format!("{name}: {jwe}"));
                        count += 1;
                    }
                }
            }
        }
        // Odd URLs for the scheme test (`https()` slices the URL).
        for odd in [
            "https:/",
            "",
            "é",
            "httpsé://x/api/x",
            "HTTPS://app.example/api/x",
            "/api/x",
            "h\u{00e9}tps://x/api/x",
        ] {
            let genuine = cookie_header(&pairs(vector));
            let d = gate.decide(&get(odd, &[("cookie", &genuine)]));
            check(
                &d,
                vector["expect"]["token"].as_str(),
                &format!("{name} at {odd:?}"),
            );
        }
    }
    assert!(count > 1_000);
}

fn post(url: &str, headers: &[(&str, &str)]) -> Request<'static> {
    Request {
        method: "POST".into(),
        ..get(url, headers)
    }
}

/// A session cookie authenticates like the gate's own cookie: a cross-site unsafe request
/// carrying it is refused, in both verify modes; the same request with a bearer (no
/// cookie) is not a CSRF matter.
#[test]
fn session_cookies_go_through_the_csrf_guard() {
    let data = data();
    for name in [
        "authjs/https/single",
        "nextAuth4/https/chunked",
        "auth0v4/https/single",
        "auth0v3/https/single",
        "kinde/https/single",
    ] {
        let vector = vector(&data, name);
        let cookie = cookie_header(&pairs(vector));
        let mut gates = vec![gate(&data, vector)];
        if vector["format"] != "kinde" {
            gates.push(gate_with(
                &data,
                vector,
                json!({ "verifyToken": false }),
                json!({ "verify": null }),
            ));
        }
        for gate in gates {
            for path in ["/api/things", "/dashboard"] {
                let cross = post(
                    &url(vector, path),
                    &[
                        ("cookie", &cookie),
                        ("origin", "https://evil.example"),
                        ("sec-fetch-site", "cross-site"),
                    ],
                );
                assert_eq!(gate.decide(&cross).code, "ERR_CSRF", "{name} {path}");
                let no_origin = post(&url(vector, path), &[("cookie", &cookie)]);
                assert_eq!(
                    gate.decide(&no_origin).code,
                    "ERR_CSRF",
                    "{name} {path} without Origin"
                );
                let same = post(
                    &url(vector, path),
                    &[("cookie", &cookie), ("origin", &url(vector, ""))],
                );
                assert_eq!(
                    gate.decide(&same).code,
                    "OK_AUTHENTICATED",
                    "{name} {path} same origin"
                );
            }
        }
    }
}

/// `verifyToken: false`: only a sealed session the secret opens vouches for a token. A
/// bearer header (alone or beside the session), a Kinde-style raw cookie, a tampered or
/// expired session get nothing through, and client copies of claim headers never arrive.
#[test]
fn verify_token_false_lets_nothing_else_through() {
    let data = data();
    let claim_headers = json!({ "upstream": { "claimHeaders": { "sub": "x-auth-sub", "user": "x-auth-user", "exp": "x-auth-exp" } }, "verify": null });
    let vector_ok = vector(&data, "auth0v4/https/single");
    let gate = gate_with(
        &data,
        vector_ok,
        json!({ "verifyToken": false }),
        claim_headers.clone(),
    );
    let target = url(vector_ok, "/api/things");
    let genuine = cookie_header(&pairs(vector_ok));
    let token = vector_ok["expect"]["token"].as_str().unwrap();

    // A bearer alone: nothing vouches for it.
    let d = gate.decide(&get(
        &target,
        &[("authorization", "Bearer attacker-chosen")],
    ));
    assert_eq!(d.code, "ERR_NO_TOKEN");
    // A bearer beside the session: the session's token goes, not the header's.
    let d = gate.decide(&get(
        &target,
        &[
            ("cookie", &genuine),
            ("authorization", "Bearer attacker-chosen"),
        ],
    ));
    check(&d, Some(token), "bearer beside the session");
    // Kinde's raw token cookie, and the gate's default `token` cookie, open nothing.
    for raw in [
        "access_token=attacker-chosen",
        "token=attacker-chosen",
        "__Host-token=attacker-chosen",
        "__session=attacker-chosen",
    ] {
        let d = gate.decide(&get(&target, &[("cookie", raw)]));
        check(&d, None, raw);
    }
    // Client copies of the claim headers (any spelling) are dropped; the session's own
    // claims arrive.
    let d = gate.decide(&get(
        &target,
        &[
            ("cookie", &genuine),
            ("x-auth-sub", "admin"),
            ("X_Auth_User", "admin"),
            ("x-auth-exp", "9999999999"),
        ],
    ));
    check(&d, Some(token), "claim headers");
    let headers = forwarded(&d);
    assert!(
        headers
            .iter()
            .all(|(_, v)| v != "admin" && v != "9999999999"),
        "{headers:?}"
    );
    assert_eq!(
        headers.iter().filter(|(n, _)| n == "x-auth-exp").count(),
        1,
        "{headers:?}"
    );
    // Also on a public upstream route, where nothing is authenticated.
    let d = gate.decide(&get(
        &url(vector_ok, "/open/x"),
        &[
            ("cookie", &genuine),
            ("x-auth-sub", "admin"),
            ("authorization", "Bearer a"),
        ],
    ));
    let headers = forwarded(&d);
    assert!(
        headers
            .iter()
            .all(|(n, v)| v != "admin" && n != "authorization" && n != "cookie"),
        "{headers:?}"
    );

    // Refused vectors stay refused when the session vouches for its token.
    for vector in data["vectors"].as_array().unwrap() {
        let format = vector["format"].as_str().unwrap();
        if format == "kinde" || vector["expect"]["token"].is_string() {
            continue;
        }
        let name = vector["name"].as_str().unwrap();
        let gate = gate_with(
            &data,
            vector,
            json!({ "verifyToken": false }),
            json!({ "verify": null }),
        );
        let d = gate.decide(&get(
            &url(vector, "/api/things"),
            &[("cookie", &cookie_header(&pairs(vector)))],
        ));
        check(&d, None, &format!("{name} (verifyToken false)"));
    }
}

/// nextjs-auth0 4 keeps federated connection tokens in `__FC_<n>` cookies (same sealing as
/// the session; FORMATS.md) and still reads, and leaves behind, v3's `appSession` during a
/// migration: both hold tokens, and neither may reach an upstream.
#[test]
fn auth0_connection_and_legacy_cookies_never_reach_an_upstream() {
    let data = data();
    let v4 = vector(&data, "auth0v4/https/single");
    let v3 = vector(&data, "auth0v3/https/single");
    let gate = gate(&data, v4);
    let legacy = cookie_header(&pairs(v3));
    let cookie = format!(
        "theme=dark; __FC_0=connection-tokens; {legacy}; appSession.0=a; {}",
        cookie_header(&pairs(v4))
    );
    for path in ["/api/things", "/open/x"] {
        let d = gate.decide(&get(&url(v4, path), &[("cookie", &cookie)]));
        assert!(d.code.starts_with("OK_"), "{path}: {}", d.code);
        assert_eq!(
            header(forwarded(&d), "cookie"),
            Some("theme=dark"),
            "{path}"
        );
    }
}

/// Every library cookie, under every prefix a browser may send it with, stays away from an
/// upstream, authenticated or not.
#[test]
fn library_cookies_under_any_prefix_never_reach_an_upstream() {
    let data = data();
    for (name, library) in [
        (
            "authjs/https/single",
            &[
                "authjs.csrf-token",
                "authjs.callback-url",
                "authjs.pkce.code_verifier",
                "authjs.state",
                "authjs.nonce",
                "authjs.session-token",
                "authjs.session-token.0",
            ][..],
        ),
        (
            "nextAuth4/https/single",
            &[
                "next-auth.csrf-token",
                "next-auth.callback-url",
                "next-auth.state",
                "next-auth.session-token.1",
            ][..],
        ),
        (
            "auth0v3/https/single",
            &["auth_verification", "appSession.3"][..],
        ),
        (
            "kinde/https/single",
            &[
                "id_token",
                "id_token1",
                "refresh_token",
                "access_token_payload",
                "id_token_payload",
            ][..],
        ),
    ] {
        let vector = vector(&data, name);
        let gate = gate(&data, vector);
        let mut extra = Vec::new();
        for cookie in library {
            for prefix in ["", "__Secure-", "__Host-"] {
                extra.push(format!("{prefix}{cookie}=x"));
            }
        }
        let session = cookie_header(&pairs(vector));
        // Authenticated (the session plus the library's other cookies)…
        let with_session = format!("theme=dark; {}; {session}", extra.join("; "));
        let d = gate.decide(&get(
            &url(vector, "/api/things"),
            &[("cookie", &with_session)],
        ));
        assert!(
            d.code.starts_with("OK_") || d.code.starts_with("ERR_COOKIE"),
            "{name}: {}",
            d.code
        );
        if d.code.starts_with("OK_") {
            assert_eq!(
                header(forwarded(&d), "cookie"),
                Some("theme=dark"),
                "{name}"
            );
        }
        // …and on a public upstream route, with the session too.
        let d = gate.decide(&get(&url(vector, "/open/x"), &[("cookie", &with_session)]));
        assert_eq!(
            header(forwarded(&d), "cookie"),
            Some("theme=dark"),
            "{name} public"
        );
    }
}
