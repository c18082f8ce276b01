//! Helpers shared by the integration tests: real keys (tests/keys), a token signer that
//! can write any header and payload (attacks need malformed ones), and gate builders.
#![allow(dead_code)]

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use edgegate::{Action, Decision, FixedClock, Gate, Options, Request};
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use serde_json::{json, Value};

/// A clock the test moves.
pub struct ManualClock(pub std::sync::Mutex<f64>);

impl edgegate::Clock for ManualClock {
    fn now(&self) -> f64 {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    pub fn at(t: f64) -> Arc<ManualClock> {
        Arc::new(ManualClock(std::sync::Mutex::new(t)))
    }

    pub fn advance(&self, secs: f64) {
        *self.0.lock().unwrap() += secs;
    }
}

/// The fixed "now" of every test: 2023-11-14T22:13:20Z.
pub const NOW: f64 = 1_700_000_000.0;

pub const RSA_PUB: &str = include_str!("../keys/rsa.pub");
pub const RSA_PKCS1_PUB: &str = include_str!("../keys/rsa.pkcs1.pub");
pub const RSA2_PUB: &str = include_str!("../keys/rsa2.pub");
pub const RSA1024_PUB: &str = include_str!("../keys/rsa1024.pub");
pub const EC_PUB: &str = include_str!("../keys/ec.pub");
pub const EC_CERT: &str = include_str!("../keys/ec.crt");
pub const P384_PUB: &str = include_str!("../keys/p384.pub");
pub const P521_PUB: &str = include_str!("../keys/p521.pub");
pub const ED25519_PUB: &str = include_str!("../keys/ed25519.pub");
pub const SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!!";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    Base64UrlUnpadded::encode_string(bytes.as_ref())
}

pub enum SignKey {
    Hmac(Vec<u8>),
    Rsa(rsa::RsaPrivateKey),
    Ec(p256::ecdsa::SigningKey),
    Ec384(p384::ecdsa::SigningKey),
    Ec521(p521::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
}

pub fn rsa_key() -> SignKey {
    use rsa::pkcs8::DecodePrivateKey;
    SignKey::Rsa(rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../keys/rsa.key")).unwrap())
}
pub fn rsa2_key() -> SignKey {
    use rsa::pkcs8::DecodePrivateKey;
    SignKey::Rsa(rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../keys/rsa2.key")).unwrap())
}
pub fn ec_key() -> SignKey {
    use p256::pkcs8::DecodePrivateKey;
    SignKey::Ec(p256::ecdsa::SigningKey::from_pkcs8_pem(include_str!("../keys/ec.key")).unwrap())
}
/// An ES384 key from a fixed scalar (the tests need no key file for it).
pub fn p384_key() -> SignKey {
    SignKey::Ec384(p384::ecdsa::SigningKey::from_slice(&[3; 48]).unwrap())
}
/// An ES512 key (P-521) from a fixed scalar.
pub fn p521_key() -> SignKey {
    SignKey::Ec521(p521::ecdsa::SigningKey::from_slice(&[1; 66]).unwrap())
}
/// The public JWK of [`p384_key`] or [`p521_key`].
pub fn ec_jwk(key: &SignKey) -> Value {
    let (crv, point) = match key {
        SignKey::Ec384(k) => ("P-384", k.verifying_key().to_encoded_point(false)),
        SignKey::Ec521(k) => {
            let public = p521::ecdsa::VerifyingKey::from(k);
            return ec_point_jwk("P-521", public.to_encoded_point(false).as_bytes());
        }
        _ => panic!("ec_jwk takes a P-384 or P-521 key"),
    };
    ec_point_jwk(crv, point.as_bytes())
}
fn ec_point_jwk(crv: &str, sec1: &[u8]) -> Value {
    let half = (sec1.len() - 1) / 2;
    json!({ "kty": "EC", "crv": crv, "x": b64(&sec1[1..=half]), "y": b64(&sec1[1 + half..]) })
}
pub fn ed_key() -> SignKey {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    SignKey::Ed(
        ed25519_dalek::SigningKey::from_pkcs8_pem(include_str!("../keys/ed25519.key")).unwrap(),
    )
}
pub fn hmac_key() -> SignKey {
    SignKey::Hmac(SECRET.as_bytes().to_vec())
}

/// A token endpoint's answer to the `n`th refresh, at `now`: an HS256 access token for
/// `sub`, valid 900 s, and the rotated refresh token `rt-<n>`.
pub fn token_response(n: usize, now: f64, sub: &str) -> edgegate::Fetched {
    let access = token(
        "HS256",
        &hmac_key(),
        &claims(json!({ "iat": now, "exp": now + 900.0, "sub": sub })),
    );
    edgegate::Fetched::Response {
        status: 200,
        body: json!({ "access_token": access, "token_type": "Bearer", "refresh_token": format!("rt-{n}"), "expires_in": 900 }).to_string(),
    }
}

/// Signs `b64(header).b64(payload)` with `alg` (the JOSE name) exactly as written.
pub fn sign_raw(alg: &str, key: &SignKey, header: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = signature(alg, key, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

pub fn signature(alg: &str, key: &SignKey, msg: &[u8]) -> Vec<u8> {
    fn s<A: Algorithm>(a: A, k: &A::SigningKey, msg: &[u8]) -> Vec<u8> {
        a.sign(k, msg).as_bytes().into_owned()
    }
    match (alg, key) {
        ("HS256", SignKey::Hmac(k)) => s(Hs256, &Hs256Key::new(k), msg),
        ("HS384", SignKey::Hmac(k)) => s(Hs384, &Hs384Key::new(k), msg),
        ("HS512", SignKey::Hmac(k)) => s(Hs512, &Hs512Key::new(k), msg),
        ("RS256", SignKey::Rsa(k)) => s(Rsa::rs256(), k, msg),
        ("RS384", SignKey::Rsa(k)) => s(Rsa::rs384(), k, msg),
        ("RS512", SignKey::Rsa(k)) => s(Rsa::rs512(), k, msg),
        ("PS256", SignKey::Rsa(k)) => s(Rsa::ps256(), k, msg),
        ("PS384", SignKey::Rsa(k)) => s(Rsa::ps384(), k, msg),
        ("PS512", SignKey::Rsa(k)) => s(Rsa::ps512(), k, msg),
        ("ES256", SignKey::Ec(k)) => s(Es256, k, msg),
        ("ES384", SignKey::Ec384(k)) => {
            use p384::ecdsa::signature::Signer;
            let sig: p384::ecdsa::Signature = k.sign(msg);
            sig.to_bytes().to_vec()
        }
        ("ES512", SignKey::Ec521(k)) => {
            use p521::ecdsa::signature::Signer;
            let sig: p521::ecdsa::Signature = k.sign(msg);
            sig.to_bytes().to_vec()
        }
        ("EdDSA", SignKey::Ed(k)) => s(Ed25519, k, msg),
        _ => panic!("no signer for {alg}"),
    }
}

/// Standard claims valid at [`NOW`], merged with `extra`.
pub fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "user-1",
        "iss": "https://issuer.example",
        "aud": "api://edgegate",
        "iat": NOW - 60.0,
        "exp": NOW + 600.0,
        "scope": "read:stocks profile",
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
        for (k, v) in e {
            if v.is_null() {
                c.remove(&k);
            } else {
                c.insert(k, v);
            }
        }
    }
    c
}

/// A well-formed token: header `{"alg":…,"typ":"JWT"}` plus `extra_header`, claims as given.
pub fn token(alg: &str, key: &SignKey, claims: &Value) -> String {
    sign_raw(
        alg,
        key,
        &json!({ "alg": alg, "typ": "JWT" }).to_string(),
        claims.to_string().as_bytes(),
    )
}

/// Options for a gate over `keys` with `algorithms`, the default rules, and the claims
/// policy the standard claims satisfy; `extra` is merged at the top level.
pub fn options(algorithms: &[&str], keys: Value, extra: Value) -> Value {
    let mut o = json!({
        "verify": {
            "algorithms": algorithms,
            "keys": keys,
            "issuer": "https://issuer.example",
            "audience": "api://edgegate",
        },
        "rules": [
            { "match": ["/dashboard/:path*"], "kind": "page" },
            { "match": ["/api/admin/:path*"], "kind": "api", "scopes": ["admin"] },
            { "match": ["/api/:path*"], "kind": "api", "scopes": ["read:stocks"] },
            { "match": ["/login", "/register"], "kind": "guest" },
        ],
        "upstream": { "claimHeaders": { "sub": "x-auth-sub" } },
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
        for (k, v) in e {
            o.insert(k, v);
        }
    }
    o
}

pub fn build(options: &Value) -> edgegate::Result<Gate> {
    let opts: Options = Options::from_json(&options.to_string())?;
    Gate::with_clock(opts, Arc::new(FixedClock(NOW)))
}

pub fn gate(options: &Value) -> Gate {
    build(options).expect("gate builds")
}

/// The default HS256 gate.
pub fn hs_gate() -> Gate {
    gate(&options(&["HS256"], json!(SECRET), json!({})))
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Request<'static> {
    Request {
        method: "GET".into(),
        url: url.to_string().into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string().into(), v.to_string().into()))
            .collect(),
    }
}

pub fn with_cookie(url: &str, token: &str) -> Request<'static> {
    get(url, &[("cookie", &format!("token={token}"))])
}

pub fn is_continue(d: &Decision) -> bool {
    matches!(d.action, Action::Continue { .. })
}

pub fn forwarded(d: &Decision) -> &[(String, String)] {
    match &d.action {
        Action::Continue { headers, .. } => headers,
        other => panic!("expected continue, got {other:?} ({})", d.code),
    }
}

/// Where a continuing decision sends the request: the upstream URL or the rewritten path
/// (`None`: on into the app as it is). [`upstream`] and [`rewrite`] tell which.
pub fn destination(d: &Decision) -> Option<&str> {
    route(d).map(edgegate::Route::target)
}

/// The upstream URL of a continuing decision, if it goes to one.
pub fn upstream(d: &Decision) -> Option<&str> {
    match route(d) {
        Some(edgegate::Route::Upstream(url)) => Some(url),
        _ => None,
    }
}

/// The in-app path a continuing decision is rewritten to, if any.
pub fn rewrite(d: &Decision) -> Option<&str> {
    match route(d) {
        Some(edgegate::Route::Rewrite(path)) => Some(path),
        _ => None,
    }
}

fn route(d: &Decision) -> Option<&edgegate::Route> {
    match &d.action {
        Action::Continue { route, .. } => route.as_ref(),
        other => panic!("expected continue, got {other:?} ({})", d.code),
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub fn status(d: &Decision) -> u16 {
    match &d.action {
        Action::Continue { .. } => 200,
        Action::Redirect { .. } => 307,
        Action::Respond { status, .. } => *status,
    }
}

/// The session vectors written by the real libraries (tests/node/sessions/fixtures.mjs).
pub const SESSIONS: &str = include_str!("../data/sessions.json");

/// The `session.format` option of a vector's format name in tests/data/sessions.json.
pub fn session_format(vector: &str) -> &'static str {
    match vector {
        "authjs" => "authjs",
        "nextAuth4" => "next-auth",
        "auth0v4" => "auth0",
        "auth0v3" => "auth0-v3",
        "kinde" => "kinde",
        other => panic!("unknown format {other}"),
    }
}

/// A browser's cookie jar, enough for these tests: `Set-Cookie` values applied in order
/// (`Max-Age=0` removes), read back as the `Cookie` header it would send.
#[derive(Default)]
pub struct Jar(pub Vec<(String, String)>);

impl Jar {
    pub fn apply(&mut self, set_cookies: &[String]) {
        for set in set_cookies {
            assert!(
                set.len() <= 4096,
                "a browser keeps this cookie: {} bytes",
                set.len()
            );
            let (pair, attributes) = set.split_once("; ").unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !attributes.ends_with("Max-Age=0") {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        names
    }
}
