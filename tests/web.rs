//! The wasm boundary in a real browser (wasm-bindgen-test, headless Chromium and Firefox):
//! options go in as a JS object, decisions come out as plain objects, errors as
//! `EdgeGateError`s with the engine's codes.
#![cfg(target_arch = "wasm32")]

use edgegate::wasm::JsGate;
use js_sys::{Array, Reflect, JSON};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "common/sealed.rs"]
mod sealed;

const SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!!";
const NOW: f64 = 1_700_000_000.0;

fn js(json: &str) -> JsValue {
    JSON::parse(json).expect("valid JSON")
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn text(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_default()
}

fn gate() -> JsGate {
    let options = js(&format!(
        r#"{{ "verify": {{ "algorithms": ["HS256"], "keys": "{SECRET}", "clockTolerance": "1m" }},
              "upstream": {{ "claimHeaders": {{ "sub": "x-auth-sub" }} }} }}"#
    ));
    JsGate::new(options, Some(NOW)).expect("gate builds")
}

fn token(exp: i64) -> String {
    let claims = Claims::new(serde_json::json!({ "sub": "browser-user", "exp": exp }));
    Hs256
        .token(&Header::empty(), &claims, &Hs256Key::new(SECRET))
        .unwrap()
}

fn request(url: &str, headers: JsValue) -> JsValue {
    let r = js("{}");
    Reflect::set(&r, &"method".into(), &"GET".into()).unwrap();
    Reflect::set(&r, &"url".into(), &url.into()).unwrap();
    Reflect::set(&r, &"headers".into(), &headers).unwrap();
    r
}

fn pairs(headers: &[(&str, &str)]) -> JsValue {
    let out = Array::new();
    for (n, v) in headers {
        out.push(&Array::of2(&(*n).into(), &(*v).into()));
    }
    out.into()
}

fn headers_object(list: &[(&str, &str)]) -> JsValue {
    let ctor = Reflect::get(&js_sys::global(), &"Headers".into()).unwrap();
    Reflect::construct(
        ctor.unchecked_ref::<js_sys::Function>(),
        &Array::of1(&pairs(list)),
    )
    .unwrap()
}

#[wasm_bindgen_test]
fn decisions_cross_the_boundary() {
    let g = gate();
    let d = g
        .decide(
            request("https://app.example/dashboard?x=1", js("{}")),
            None,
            None,
            None,
        )
        .unwrap();
    assert_eq!(text(&d, "action"), "redirect");
    assert_eq!(get(&d, "status").as_f64(), Some(307.0));
    assert_eq!(text(&d, "location"), "/login?returnTo=%2Fdashboard%3Fx%3D1");
    assert_eq!(text(&d, "code"), "ERR_NO_TOKEN");

    let d = g
        .decide(
            request("https://app.example/api/x", js("{}")),
            None,
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        (text(&d, "action"), get(&d, "status").as_f64()),
        ("respond".into(), Some(401.0))
    );
    assert_eq!(text(&d, "body"), "{}");

    // Headers, Map-like pairs and plain objects all work as header sources.
    let t = token(NOW as i64 + 600);
    let cookie = format!("theme=dark; __Host-token={t}");
    let plain = js("{}");
    Reflect::set(&plain, &"cookie".into(), &cookie.as_str().into()).unwrap();
    for headers in [
        headers_object(&[("cookie", &cookie)]),
        pairs(&[("Cookie", &cookie)]),
        plain,
    ] {
        let d = g
            .decide(
                request("https://app.example/api/x", headers),
                None,
                None,
                None,
            )
            .unwrap();
        assert_eq!(text(&d, "code"), "OK_AUTHENTICATED");
        assert_eq!(text(&d, "tokenSource"), "cookie");
        let forwarded: Array = get(&d, "requestHeaders").unchecked_into();
        let find = |name: &str| {
            forwarded
                .iter()
                .map(|p| p.unchecked_into::<Array>())
                .find(|p| p.get(0).as_string().as_deref() == Some(name))
                .and_then(|p| p.get(1).as_string())
        };
        assert_eq!(find("authorization"), Some(format!("Bearer {t}")));
        assert_eq!(find("cookie").as_deref(), Some("theme=dark"));
        assert_eq!(find("x-auth-sub").as_deref(), Some("browser-user"));
    }
    // An expired token (past the 60 s tolerance) is refused with its code.
    let expired = format!("token={}", token(NOW as i64 - 61));
    let d = g
        .decide(
            request("/api/x", pairs(&[("cookie", &expired)])),
            None,
            None,
            None,
        )
        .unwrap();
    assert_eq!(text(&d, "code"), "ERR_JWT_EXPIRED");
    assert!(text(&d, "message").contains("exp"));
}

#[wasm_bindgen_test]
fn errors_are_coded() {
    let weak = js(r#"{ "verify": { "algorithms": ["HS256"], "keys": "short" } }"#);
    let err = JsGate::new(weak, None).err().expect("weak key refused");
    let err: js_sys::Error = err.dyn_into().expect("a real Error");
    assert_eq!(String::from(err.name()), "EdgeGateError");
    assert_eq!(text(&err, "code"), "ERR_CONFIG_WEAK_KEY");

    let typo = js(
        r#"{ "verify": { "algorithms": ["HS256"], "keys": "an-hmac-secret-of-at-least-32-bytes!!", "audiance": "x" } }"#,
    );
    let err = JsGate::new(typo, None).err().unwrap();
    assert_eq!(text(&err, "code"), "ERR_CONFIG_INVALID");
    assert!(String::from(err.unchecked_ref::<js_sys::Error>().message()).contains("audiance"));

    // A request without a URL is a host bug: a TypeError, not a decision.
    let err = gate().decide(js("{}"), None, None, None).err().unwrap();
    assert!(err.is_instance_of::<js_sys::TypeError>());
}

/// The sessions the real libraries write (tests/data/sessions.json), opened in the browser:
/// the same verdicts as the Rust core (tests/sessions.rs) and Node give.
#[wasm_bindgen_test]
fn library_sessions_open_in_the_browser() {
    let data: serde_json::Value = serde_json::from_str(include_str!("data/sessions.json")).unwrap();
    let stricter = [
        "auth0v4/https/base-wins-over-chunks",
        "auth0v3/https/base-wins-over-chunks",
        "auth0v4/https/legacy-appSession",
    ];
    let vectors = data["vectors"].as_array().unwrap();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let format = match v["format"].as_str().unwrap() {
            "authjs" => "authjs",
            "nextAuth4" => "next-auth",
            "auth0v4" => "auth0",
            "auth0v3" => "auth0-v3",
            _ => "kinde",
        };
        let mut session = serde_json::json!({ "format": format });
        if format != "kinde" {
            session["secrets"] = v["secrets"].clone();
        }
        let options = serde_json::json!({
            "rules": [{ "match": "/api/:path*", "kind": "api" }],
            "verify": { "algorithms": ["HS256"], "keys": data["backend_token_key"]["secret"] },
            "session": session,
        });
        let gate = JsGate::new(js(&options.to_string()), v["now"].as_f64()).expect("gate builds");
        let cookie: Vec<String> = v["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c[0].as_str().unwrap(), c[1].as_str().unwrap()))
            .collect();
        let url = format!("{}://app.example/api/things", v["scheme"].as_str().unwrap());
        let d = gate
            .decide(
                request(&url, pairs(&[("cookie", &cookie.join("; "))])),
                None,
                None,
                None,
            )
            .unwrap();
        let code = text(&d, "code");
        match v["expect"]["token"].as_str() {
            Some(token) if !stricter.contains(&name) => {
                assert_eq!(code, "OK_AUTHENTICATED", "{name}");
                let headers = Array::from(&get(&d, "requestHeaders"));
                let bearer = headers
                    .iter()
                    .map(|pair| Array::from(&pair))
                    .find(|pair| pair.get(0).as_string().as_deref() == Some("authorization"))
                    .and_then(|pair| pair.get(1).as_string());
                assert_eq!(bearer, Some(format!("Bearer {token}")), "{name}");
            }
            _ => assert!(!code.starts_with("OK_"), "{name} accepted: {code}"),
        }
    }
    assert!(vectors.len() >= 90);
}

/// Values the native build sealed (tests/data/sealed.json) open here, under their purpose
/// only; every bit flip fails; and what the browser seals with its own randomness opens.
#[wasm_bindgen_test]
fn sealed_values_cross_hosts() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("data/sealed.json")).unwrap();
    sealed::check(&doc);
    let s = sealed::sealer(&doc["secrets"]);
    let here = s
        .seal("__Host-edgegate-tx-x", b"made in the browser")
        .unwrap();
    assert_eq!(
        s.open("__Host-edgegate-tx-x", &here).unwrap(),
        b"made in the browser"
    );
    assert_ne!(
        here,
        s.seal("__Host-edgegate-tx-x", b"made in the browser")
            .unwrap()
    );
}

/// The browser's WebCrypto with the parameters the engine hands every host (`hostParams`):
/// for ES256, ES384 and ES512 (P-521) a signature the browser made verifies, and a flipped
/// bit, swapped `r` and `s`, or a short signature do not. (The engine's own verdicts are
/// held to node:crypto, WebCrypto and workerd's in tests/node/webcrypto.test.mjs and
/// tests/e2e/worker.test.mjs.)
#[wasm_bindgen_test]
async fn the_browser_checks_ecdsa_with_the_engines_parameters() {
    use wasm_bindgen_futures::JsFuture;
    let subtle = get(&get(&js_sys::global(), "crypto"), "subtle");
    let call = |name: &str, args: Array| {
        let f: js_sys::Function = get(&subtle, name).unchecked_into();
        let promise: js_sys::Promise = f.apply(&subtle, &args).unwrap().unchecked_into();
        JsFuture::from(promise)
    };
    for (alg, curve, hash) in [
        ("ES256", "P-256", "SHA-256"),
        ("ES384", "P-384", "SHA-384"),
        ("ES512", "P-521", "SHA-512"),
    ] {
        let params = js(&edgegate::wasm::host_params_json(alg).expect("a host checks ECDSA"));
        let web = get(&params, "webCrypto");
        let (import, check) = (get(&web, "import"), get(&web, "verify"));
        assert_eq!(text(&import, "namedCurve"), curve, "{alg}");
        assert_eq!(text(&check, "hash"), hash, "{alg}: RFC 7518 §3.4");
        let generate = js(&format!(r#"{{"name":"ECDSA","namedCurve":"{curve}"}}"#));
        let usages = js(r#"["sign","verify"]"#);
        let pair = call("generateKey", Array::of3(&generate, &true.into(), &usages))
            .await
            .unwrap();
        let jwk = call(
            "exportKey",
            Array::of2(&"jwk".into(), &get(&pair, "publicKey")),
        )
        .await
        .unwrap();
        let key = call(
            "importKey",
            Array::of5(
                &"jwk".into(),
                &jwk,
                &import,
                &false.into(),
                &js(r#"["verify"]"#),
            ),
        )
        .await
        .unwrap();
        let data = js_sys::Uint8Array::from(&b"eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1In0"[..]);
        let signed = call("sign", Array::of3(&check, &get(&pair, "privateKey"), &data))
            .await
            .unwrap();
        let sig = js_sys::Uint8Array::new(&signed).to_vec();
        let half = sig.len() / 2;
        let mut flipped = sig.clone();
        flipped[0] ^= 1;
        let swapped = [&sig[half..], &sig[..half]].concat();
        for (name, bytes, want) in [
            ("valid", sig.clone(), true),
            ("flipped", flipped, false),
            ("r and s swapped", swapped, false),
            ("short", sig[1..].to_vec(), false),
        ] {
            let signature = js_sys::Uint8Array::from(&bytes[..]);
            let verdict = call("verify", Array::of4(&check, &key, &signature, &data))
                .await
                .map(|v| v.as_bool() == Some(true))
                .unwrap_or(false);
            assert_eq!(verdict, want, "{alg} {name}");
        }
    }
}
