//! Bad configuration fails when the gate is built, with a coded, readable error.

mod common;

use common::*;
use serde_json::{json, Value};

fn err(options: Value) -> (String, String) {
    let Err(e) = build(&options) else {
        panic!("configuration must be refused: {options}");
    };
    assert!(e.is_config());
    (e.code().to_string(), e.to_string())
}

fn verify(v: Value) -> Value {
    json!({ "verify": v })
}

#[test]
fn refused_configurations() {
    let hs = |keys: Value| verify(json!({"algorithms": ["HS256"], "keys": keys}));
    let rs = |keys: Value| verify(json!({"algorithms": ["RS256"], "keys": keys}));
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "empty algorithms",
            verify(json!({"algorithms": [], "keys": SECRET})),
            "ERR_CONFIG_ALGORITHMS",
            "empty",
        ),
        (
            "none",
            verify(json!({"algorithms": ["none"], "keys": SECRET})),
            "ERR_CONFIG_ALGORITHMS",
            "none",
        ),
        (
            "NONE",
            verify(json!({"algorithms": ["HS256", "NONE"], "keys": SECRET})),
            "ERR_CONFIG_ALGORITHMS",
            "none",
        ),
        (
            "unknown alg",
            verify(json!({"algorithms": ["HS257"], "keys": SECRET})),
            "ERR_CONFIG_ALGORITHMS",
            "HS257",
        ),
        (
            "lowercase alg",
            verify(json!({"algorithms": ["rs256"], "keys": RSA_PUB})),
            "ERR_CONFIG_ALGORITHMS",
            "rs256",
        ),
        (
            "31-byte secret",
            hs(json!("a".repeat(31))),
            "ERR_CONFIG_WEAK_KEY",
            "32",
        ),
        (
            "short {secret}",
            hs(json!({"secret": "short"})),
            "ERR_CONFIG_WEAK_KEY",
            "32",
        ),
        (
            "short oct JWK",
            hs(json!({"kty": "oct", "k": b64([1; 16])})),
            "ERR_CONFIG_WEAK_KEY",
            "32",
        ),
        (
            "oct JWK short for its alg",
            verify(
                json!({"algorithms": ["HS512"], "keys": {"kty": "oct", "alg": "HS512", "k": b64([1; 40])}}),
            ),
            "ERR_CONFIG_WEAK_KEY",
            "HS512",
        ),
        (
            "32-byte secret for HS512 only",
            verify(json!({"algorithms": ["HS512"], "keys": "k".repeat(32)})),
            "ERR_CONFIG_KEY",
            "HS512",
        ),
        (
            "RSA 1024",
            rs(json!(RSA1024_PUB)),
            "ERR_CONFIG_WEAK_KEY",
            "1024",
        ),
        (
            "EC key for RS256",
            rs(json!(EC_PUB)),
            "ERR_CONFIG_KEY",
            "P-256",
        ),
        (
            "RSA key for ES256",
            verify(json!({"algorithms": ["ES256"], "keys": RSA_PUB})),
            "ERR_CONFIG_KEY",
            "RSA",
        ),
        ("PEM for HS256", hs(json!(RSA_PUB)), "ERR_CONFIG_KEY", "RSA"),
        (
            "P-384 key for ES256",
            verify(json!({"algorithms": ["ES256"], "keys": P384_PUB})),
            "ERR_CONFIG_KEY",
            "P-384",
        ),
        (
            "P-521 key for ES384",
            verify(json!({"algorithms": ["ES384"], "keys": P521_PUB})),
            "ERR_CONFIG_KEY",
            "P-521",
        ),
        (
            "P-521 JWK with P-384 sized coordinates",
            verify(
                json!({"algorithms": ["ES512"], "keys": {"kty": "EC", "crv": "P-521", "x": b64([1; 48]), "y": b64([1; 48])}}),
            ),
            "ERR_CONFIG_KEY",
            "66 bytes",
        ),
        (
            "certificate",
            verify(json!({"algorithms": ["ES256"], "keys": EC_CERT})),
            "ERR_CONFIG_KEY",
            "certificate",
        ),
        (
            "private key",
            rs(json!(include_str!("keys/rsa.key"))),
            "ERR_CONFIG_KEY",
            "private",
        ),
        (
            "garbage PEM",
            rs(json!(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
            )),
            "ERR_CONFIG_KEY",
            "PEM",
        ),
        (
            "mixed key set",
            verify(json!({"algorithms": ["HS256", "RS256"], "keys": [SECRET, RSA_PUB]})),
            "ERR_CONFIG_KEY",
            "mix",
        ),
        (
            "duplicate kid",
            hs(
                json!({"keys": [{"kty": "oct", "kid": "a", "k": b64([1; 32])}, {"kty": "oct", "kid": "a", "k": b64([2; 32])}]}),
            ),
            "ERR_CONFIG_KEY",
            "duplicate",
        ),
        (
            "JWKS with no usable key",
            rs(json!({"keys": [{"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"}]})),
            "ERR_CONFIG_KEY",
            "JWKS",
        ),
        (
            "enc JWK",
            rs(json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"})),
            "ERR_CONFIG_KEY",
            "not usable",
        ),
        ("keys is a number", rs(json!(42)), "ERR_CONFIG_KEY", "keys"),
        (
            "missing keys",
            verify(json!({"algorithms": ["RS256"]})),
            "ERR_CONFIG_KEY",
            "keys",
        ),
        (
            // Hours of leeway would be no expiry at all (and 60000 is milliseconds by habit).
            "a clock tolerance of hours",
            verify(json!({"algorithms": ["HS256"], "keys": SECRET, "clockTolerance": "2h"})),
            "ERR_CONFIG_INVALID",
            "verify.clockTolerance",
        ),
        (
            "typo in an option",
            verify(json!({"algorithms": ["HS256"], "keys": SECRET, "audiance": "x"})),
            "ERR_CONFIG_INVALID",
            "audiance",
        ),
        (
            "unknown top-level option",
            json!({"verify": {"algorithms": ["HS256"], "keys": SECRET}, "loginURL": "/x"}),
            "ERR_CONFIG_INVALID",
            "loginURL",
        ),
        (
            "bad clockTolerance",
            verify(
                json!({"algorithms": ["HS256"], "keys": SECRET, "clockTolerance": "5 fortnights"}),
            ),
            "ERR_CONFIG_INVALID",
            "clockTolerance",
        ),
        (
            "negative maxTokenAge",
            verify(json!({"algorithms": ["HS256"], "keys": SECRET, "maxTokenAge": -1})),
            "ERR_CONFIG_INVALID",
            "maxTokenAge",
        ),
    ];
    let with = |extra: Value| options(&["HS256"], json!(SECRET), extra);
    let more: Vec<(&str, Value, &str, &str)> = vec![
        (
            "absolute loginUrl",
            with(json!({"loginUrl": "https://evil.example/login"})),
            "ERR_CONFIG_URL",
            "loginUrl",
        ),
        (
            "protocol-relative loginUrl",
            with(json!({"loginUrl": "//evil.example"})),
            "ERR_CONFIG_URL",
            "loginUrl",
        ),
        (
            "backslash loginUrl",
            with(json!({"loginUrl": "/\\evil.example"})),
            "ERR_CONFIG_URL",
            "loginUrl",
        ),
        (
            "relative loginUrl",
            with(json!({"loginUrl": "login"})),
            "ERR_CONFIG_URL",
            "loginUrl",
        ),
        (
            "javascript afterLoginUrl",
            with(json!({"afterLoginUrl": "javascript:alert(1)"})),
            "ERR_CONFIG_URL",
            "afterLoginUrl",
        ),
        (
            "bad returnToParam",
            with(json!({"returnToParam": "a&b"})),
            "ERR_CONFIG_INVALID",
            "returnToParam",
        ),
        (
            "bad pattern",
            with(json!({"rules": [{"match": "/(x", "kind": "page"}]})),
            "ERR_CONFIG_PATTERN",
            "Unbalanced",
        ),
        (
            "capturing group",
            with(json!({"rules": [{"match": "/x/(a(b))", "kind": "page"}]})),
            "ERR_CONFIG_PATTERN",
            "Capturing",
        ),
        (
            "relative pattern",
            with(json!({"rules": [{"match": "dashboard", "kind": "page"}]})),
            "ERR_CONFIG_PATTERN",
            "/",
        ),
        (
            "unknown rule kind",
            with(json!({"rules": [{"match": "/x", "kind": "admin"}]})),
            "ERR_CONFIG_INVALID",
            "admin",
        ),
        (
            "empty match list",
            with(json!({"rules": [{"match": [], "kind": "page"}]})),
            "ERR_CONFIG_INVALID",
            "empty",
        ),
        (
            "quote in scope",
            with(json!({"rules": [{"match": "/x", "kind": "api", "scopes": ["a\"b"]}]})),
            "ERR_CONFIG_INVALID",
            "scope",
        ),
        (
            "claim header authorization",
            with(json!({"upstream": {"claimHeaders": {"sub": "Authorization"}}})),
            "ERR_CONFIG_INVALID",
            "authorization",
        ),
        (
            "claim header with space",
            with(json!({"upstream": {"claimHeaders": {"sub": "x auth"}}})),
            "ERR_CONFIG_INVALID",
            "x auth",
        ),
        (
            "bad cookie name",
            with(json!({"token": {"cookie": "to ken"}})),
            "ERR_CONFIG_INVALID",
            "cookie",
        ),
        (
            "no token source",
            with(json!({"token": {"cookie": null, "header": false}})),
            "ERR_CONFIG_INVALID",
            "token",
        ),
        (
            "zero maxChunks",
            with(json!({"token": {"maxChunks": 0}})),
            "ERR_CONFIG_INVALID",
            "maxChunks",
        ),
        (
            "huge cacheSize",
            verify(json!({"algorithms": ["HS256"], "keys": SECRET, "cacheSize": 1_000_000})),
            "ERR_CONFIG_INVALID",
            "cacheSize",
        ),
        (
            "basePath with slash",
            with(json!({"basePath": "/docs/"})),
            "ERR_CONFIG_URL",
            "basePath",
        ),
        (
            "bad locale",
            with(json!({"locales": ["en|.*"]})),
            "ERR_CONFIG_INVALID",
            "locale",
        ),
    ];
    let total = cases.len() + more.len();
    for (name, options, code, words) in cases.into_iter().chain(more) {
        let (got, message) = err(options);
        assert_eq!(got, code, "{name}: {message}");
        assert!(
            message.contains(words),
            "{name}: message {message:?} should mention {words:?}"
        );
    }
    println!("config: {total} bad configurations, each refused with its code");
}

#[test]
fn accepted_key_forms() {
    let ok = |alg: &str, keys: Value| {
        build(&verify(json!({"algorithms": [alg], "keys": keys})))
            .map(|_| ())
            .unwrap()
    };
    ok("HS256", json!(SECRET));
    ok(
        "HS256",
        json!({"secret": b64([9; 32]), "encoding": "base64url"}),
    );
    ok("RS256", json!(RSA_PUB));
    ok("RS256", json!(RSA_PKCS1_PUB));
    ok("RS256", json!([RSA_PUB, RSA2_PUB]));
    ok("ES256", json!(EC_PUB));
    ok("ES384", json!(P384_PUB));
    ok("ES512", json!(P521_PUB));
    ok("EdDSA", json!(ED25519_PUB));
    // A JWKS keeps the keys that fit and skips the rest (providers publish several kinds).
    ok(
        "RS256",
        json!({"keys": [
            {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "other"},
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "enc"},
            {"kty": "RSA", "kid": "sig", "n": b64(rsa_modulus()), "e": "AQAB"}
        ]}),
    );
}

fn rsa_modulus() -> Vec<u8> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    rsa::RsaPublicKey::from_public_key_pem(RSA_PUB)
        .unwrap()
        .n()
        .to_bytes_be()
}

#[test]
fn arbitrary_option_shapes_never_panic() {
    for text in [
        "",
        "null",
        "[]",
        "{}",
        "{\"verify\":null}",
        "{\"verify\":{\"algorithms\":\"HS256\"}}",
        "{\"rules\":1}",
    ] {
        let built = edgegate::Options::from_json(text).and_then(|o| {
            edgegate::Gate::with_clock(o, std::sync::Arc::new(edgegate::FixedClock(NOW)))
        });
        assert!(built.is_err(), "{text}");
    }
}

#[test]
fn pem_with_escaped_newlines_is_the_same_key() {
    // `.env` files and hosting dashboards keep a PEM on one line with literal `\n`s.
    for (alg, pem, key) in [
        ("RS256", RSA_PUB, rsa_key()),
        ("ES256", EC_PUB, ec_key()),
        ("EdDSA", ED25519_PUB, ed_key()),
    ] {
        for escaped in [pem.replace('\n', "\\n"), pem.replace('\n', "\\r\\n")] {
            assert!(!escaped.contains('\n'));
            let gate = gate(&options(&[alg], json!(escaped), json!({})));
            let t = token(alg, &key, &claims(json!({ "scope": "read:stocks" })));
            let d = gate.decide(&get(
                "/api/stocks",
                &[("authorization", &format!("Bearer {t}"))],
            ));
            assert_eq!(d.code, "OK_AUTHENTICATED", "{alg}");
        }
    }
    let broken = RSA_PUB.replace('\n', "\\n").replace("MII", "MIX");
    let (code, _) = err(options(&["RS256"], json!(broken), json!({})));
    assert_eq!(code, "ERR_CONFIG_KEY");
}

/// Options are checked in a fixed order, so a configuration with two faults always names
/// the same one: a remote key source's URL before its fetch limits.
#[test]
fn the_first_fault_is_named() {
    for remote in [
        json!({ "maxResponseBytes": 10 }),
        json!({ "userAgent": "" }),
        json!({ "timeoutDuration": 0 }),
    ] {
        for source in [
            json!({ "jwksUri": "http://idp.example/jwks" }),
            json!({ "issuer": "http://idp.example" }),
        ] {
            let mut v = json!({ "algorithms": ["RS256"], "remote": remote });
            v.as_object_mut()
                .unwrap()
                .extend(source.as_object().unwrap().clone());
            assert_eq!(err(verify(v.clone())).0, "ERR_CONFIG_URL", "{v}");
            // Alone, each fault has its own code.
            v.as_object_mut().unwrap().remove("jwksUri");
            v["issuer"] = json!("https://idp.example");
            assert_eq!(err(verify(v.clone())).0, "ERR_CONFIG_INVALID", "{v}");
        }
    }
}
