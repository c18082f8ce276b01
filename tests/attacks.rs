//! The JWT attack catalogue: every known way to get a forged, stale or confusing token past
//! a verifier, each with the refusal (stable code) it must get.

mod common;

use common::*;
use edgegate::{Error, Gate};
use serde_json::{json, Value};

/// Verifies `token` with `gate` at NOW and returns the stable code ("OK" when accepted).
fn code(gate: &Gate, token: &str) -> &'static str {
    match gate.verifier().unwrap().verify(token, NOW) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

fn check(label: &str, cases: Vec<(&str, &Gate, String, &str)>) {
    let total = cases.len();
    for (name, gate, token, expected) in cases {
        assert_eq!(code(gate, &token), expected, "{label}: {name}");
    }
    println!("attacks/{label}: {total} cases, all with the expected verdict");
}

fn rs_gate() -> Gate {
    gate(&options(&["RS256"], json!(RSA_PUB), json!({})))
}

fn header(alg: &str, extra: Value) -> String {
    let mut h = json!({ "alg": alg });
    if let (Value::Object(h), Value::Object(e)) = (&mut h, extra) {
        h.extend(e);
    }
    h.to_string()
}

fn hs(header: &str, payload: &str) -> String {
    sign_raw("HS256", &hmac_key(), header, payload.as_bytes())
}

#[test]
fn alg_none_in_every_casing() {
    let hs = hs_gate();
    let rs = rs_gate();
    let body = b64(claims(json!({})).to_string());
    let mut cases = vec![];
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let h = b64(json!({ "alg": alg }).to_string());
        for sig in ["", "AAAA"] {
            cases.push((
                "none",
                &hs,
                format!("{h}.{body}.{sig}"),
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ));
            cases.push((
                "none",
                &rs,
                format!("{h}.{body}.{sig}"),
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ));
        }
    }
    // And "none" cannot even be configured.
    let err = build(&options(&["none"], json!(SECRET), json!({}))).unwrap_err();
    assert_eq!(err.code(), "ERR_CONFIG_ALGORITHMS");
    check("none", cases);
}

#[test]
fn hmac_with_the_public_key_as_secret() {
    let c = claims(json!({})).to_string();
    let pem_key = SignKey::Hmac(RSA_PUB.as_bytes().to_vec());
    let jwk_text = json!({"kty":"RSA","n":"x","e":"AQAB"}).to_string();
    let jwk_key = SignKey::Hmac(jwk_text.as_bytes().to_vec());
    let forged_pem = sign_raw("HS256", &pem_key, &header("HS256", json!({})), c.as_bytes());
    let forged_jwk = sign_raw("HS256", &jwk_key, &header("HS256", json!({})), c.as_bytes());
    let rs = rs_gate();
    // Even an app that allows both families keeps them apart: the PEM is an RSA key.
    let both = gate(&options(&["RS256", "HS256"], json!(RSA_PUB), json!({})));
    check(
        "key-confusion",
        vec![
            (
                "HS256 with PEM bytes, RS256 gate",
                &rs,
                forged_pem.clone(),
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                "HS256 with JWK bytes, RS256 gate",
                &rs,
                forged_jwk,
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                "HS256 with PEM bytes, RS256+HS256 gate",
                &both,
                forged_pem,
                "ERR_JWKS_NO_MATCHING_KEY",
            ),
        ],
    );
    // A PEM is never accepted as an HMAC secret.
    let err = build(&options(&["HS256"], json!(RSA_PUB), json!({}))).unwrap_err();
    assert_eq!(err.code(), "ERR_CONFIG_KEY");
}

#[test]
fn kid_injection_and_key_url_headers() {
    let c = claims(json!({})).to_string();
    let attacker = rsa2_key();
    let jwks = gate(&options(
        &["RS256"],
        json!({ "keys": [{ "kty": "RSA", "kid": "k1", "n": rsa_n(), "e": "AQAB" }] }),
        json!({}),
    ));
    let rs = rs_gate();
    let mut cases = vec![];
    for kid in [
        "../../../../dev/null",
        "' OR 1=1 --",
        "k1\u{0}",
        "K1",
        &"x".repeat(10 * 1024),
    ] {
        let t = sign_raw(
            "RS256",
            &rsa_key(),
            &header("RS256", json!({ "kid": kid })),
            c.as_bytes(),
        );
        cases.push((
            "unknown kid on a JWKS",
            &jwks,
            t,
            "ERR_JWKS_NO_MATCHING_KEY",
        ));
    }
    let good = sign_raw(
        "RS256",
        &rsa_key(),
        &header("RS256", json!({ "kid": "k1" })),
        c.as_bytes(),
    );
    cases.push(("right kid", &jwks, good, "OK"));
    let attacker_jwk = json!({ "kty": "RSA", "n": "AQAB", "e": "AQAB" });
    for extra in [
        json!({ "jku": "https://attacker.example/jwks.json" }),
        json!({ "x5u": "https://attacker.example/cert.pem" }),
        json!({ "x5c": ["MIIBattacker"] }),
        json!({ "jwk": attacker_jwk }),
    ] {
        let forged = sign_raw(
            "RS256",
            &attacker,
            &header("RS256", extra.clone()),
            c.as_bytes(),
        );
        cases.push((
            "key URL / embedded key is not trusted",
            &rs,
            forged,
            "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        ));
        // The same header on a genuinely signed token changes nothing: it is ignored.
        let real = sign_raw("RS256", &rsa_key(), &header("RS256", extra), c.as_bytes());
        cases.push(("key URL header ignored", &rs, real, "OK"));
    }
    check("kid-and-key-urls", cases);
}

fn rsa_n() -> String {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    b64(rsa::RsaPublicKey::from_public_key_pem(RSA_PUB)
        .unwrap()
        .n()
        .to_bytes_be())
}

#[test]
fn unsupported_jose_features() {
    let g = hs_gate();
    let c = claims(json!({})).to_string();
    let enc = b64(json!({"alg":"RSA-OAEP","enc":"A256GCM"}).to_string());
    check(
        "jose-features",
        vec![
            (
                "crit",
                &g,
                hs(&header("HS256", json!({"crit":["exp"],"exp":1})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "crit empty",
                &g,
                hs(&header("HS256", json!({"crit":[]})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "b64 false",
                &g,
                hs(&header("HS256", json!({"b64":false,"crit":["b64"]})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "b64 alone",
                &g,
                hs(&header("HS256", json!({"b64":false})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "cty JWT (nested)",
                &g,
                hs(&header("HS256", json!({"cty":"JWT"})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "JWE, 5 segments",
                &g,
                format!("{enc}.a.b.c.d"),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                "enc in a JWS header",
                &g,
                hs(&header("HS256", json!({"enc":"A256GCM"})), &c),
                "ERR_JOSE_NOT_SUPPORTED",
            ),
        ],
    );
}

#[test]
fn time_claims() {
    let g = hs_gate();
    let tolerant = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "verify": {
            "algorithms": ["HS256"], "keys": SECRET, "clockTolerance": "1 minute",
            "issuer": "https://issuer.example", "audience": "api://edgegate" } }),
    ));
    let aged = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "verify": {
            "algorithms": ["HS256"], "keys": SECRET, "maxTokenAge": "30m",
            "requiredClaims": ["jti"] } }),
    ));
    let t = |extra: Value| token("HS256", &hmac_key(), &claims(extra));
    check(
        "time",
        vec![
            ("valid", &g, t(json!({})), "OK"),
            ("exp == now", &g, t(json!({"exp": NOW})), "ERR_JWT_EXPIRED"),
            (
                "exp == now - 1",
                &g,
                t(json!({"exp": NOW - 1.0})),
                "ERR_JWT_EXPIRED",
            ),
            (
                "exp == now, 60 s tolerance",
                &tolerant,
                t(json!({"exp": NOW})),
                "OK",
            ),
            (
                "exp == now - 60, 60 s tolerance",
                &tolerant,
                t(json!({"exp": NOW - 60.0})),
                "ERR_JWT_EXPIRED",
            ),
            (
                "exp missing",
                &g,
                t(json!({"exp": null})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "nbf in the future",
                &g,
                t(json!({"nbf": NOW + 1.0})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "nbf in tolerance",
                &tolerant,
                t(json!({"nbf": NOW + 30.0})),
                "OK",
            ),
            ("nbf == now", &g, t(json!({"nbf": NOW})), "OK"),
            (
                "iat in the future",
                &g,
                t(json!({"iat": NOW + 5.0})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "iat in tolerance",
                &tolerant,
                t(json!({"iat": NOW + 30.0})),
                "OK",
            ),
            (
                "older than maxTokenAge",
                &aged,
                t(json!({"iat": NOW - 3600.0, "jti": "1"})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "within maxTokenAge",
                &aged,
                t(json!({"iat": NOW - 60.0, "jti": "1"})),
                "OK",
            ),
            (
                "maxTokenAge without iat",
                &aged,
                t(json!({"iat": null, "jti": "1"})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "required claim missing",
                &aged,
                t(json!({})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
        ],
    );
}

#[test]
fn numeric_date_shapes() {
    let g = hs_gate();
    let raw = |exp: &str| {
        let body =
            format!(r#"{{"iss":"https://issuer.example","aud":"api://edgegate","exp":{exp}}}"#);
        hs(&header("HS256", json!({})), &body)
    };
    check(
        "numeric-dates",
        vec![
            (
                "float exp",
                &g,
                raw(&format!("{}.5", NOW as u64 + 600)),
                "OK",
            ),
            ("exponent exp", &g, raw("1.8e9"), "OK"),
            (
                "string exp",
                &g,
                raw(&format!("\"{}\"", NOW as u64 + 600)),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "bool exp",
                &g,
                raw("true"),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "null exp",
                &g,
                raw("null"),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "array exp",
                &g,
                raw("[1]"),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "huge exp",
                &g,
                raw("1e300"),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "u64 max exp",
                &g,
                raw("18446744073709551615"),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            ("overflowing exp", &g, raw("1e400"), "ERR_JWT_INVALID"),
            (
                "huge integer exp",
                &g,
                raw(&"9".repeat(400)),
                "ERR_JWT_INVALID",
            ),
            ("negative exp", &g, raw("-1"), "ERR_JWT_EXPIRED"),
            ("NaN exp", &g, raw("NaN"), "ERR_JWT_INVALID"),
        ],
    );
}

#[test]
fn issuer_audience_and_typ() {
    let g = hs_gate();
    let at = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({ "verify": { "algorithms": ["HS256"], "keys": SECRET, "typ": "at+jwt" } }),
    ));
    let t = |extra: Value| token("HS256", &hmac_key(), &claims(extra));
    let typed = |typ: Option<&str>| {
        let h = match typ {
            Some(t) => json!({"alg":"HS256","typ":t}),
            None => json!({"alg":"HS256"}),
        };
        hs(&h.to_string(), &claims(json!({})).to_string())
    };
    check(
        "iss-aud-typ",
        vec![
            (
                "iss with trailing slash",
                &g,
                t(json!({"iss": "https://issuer.example/"})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "iss other case",
                &g,
                t(json!({"iss": "https://Issuer.example"})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "iss missing",
                &g,
                t(json!({"iss": null})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "iss as array",
                &g,
                t(json!({"iss": ["https://issuer.example"]})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            ("aud string", &g, t(json!({"aud": "api://edgegate"})), "OK"),
            (
                "aud array containing",
                &g,
                t(json!({"aud": ["other", "api://edgegate"]})),
                "OK",
            ),
            (
                "aud array without",
                &g,
                t(json!({"aud": ["other"]})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "aud empty array",
                &g,
                t(json!({"aud": []})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "aud empty string",
                &g,
                t(json!({"aud": ""})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "aud missing",
                &g,
                t(json!({"aud": null})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "aud with a non-string",
                &g,
                t(json!({"aud": ["api://edgegate", 1]})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "aud object",
                &g,
                t(json!({"aud": {"api://edgegate": true}})),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            ("typ at+jwt", &at, typed(Some("at+jwt")), "OK"),
            (
                "typ application/at+jwt",
                &at,
                typed(Some("application/at+jwt")),
                "OK",
            ),
            ("typ AT+JWT", &at, typed(Some("AT+JWT")), "OK"),
            (
                "typ JWT (an ID token)",
                &at,
                typed(Some("JWT")),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
            (
                "typ missing",
                &at,
                typed(None),
                "ERR_JWT_CLAIM_VALIDATION_FAILED",
            ),
        ],
    );
}

#[test]
fn signature_shapes() {
    let c = claims(json!({})).to_string();
    let hs_tok = token("HS256", &hmac_key(), &claims(json!({})));
    let rs_tok = sign_raw(
        "RS256",
        &rsa_key(),
        &header("RS256", json!({})),
        c.as_bytes(),
    );
    let es_tok = sign_raw(
        "ES256",
        &ec_key(),
        &header("ES256", json!({})),
        c.as_bytes(),
    );
    let es = gate(&options(&["ES256"], json!(EC_PUB), json!({})));
    let rs = rs_gate();
    let hs = hs_gate();
    let input = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
    let sig = |t: &str| {
        <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(
            t.rsplit_once('.').unwrap().1,
        )
        .unwrap()
    };
    let with_sig = |t: &str, s: &[u8]| format!("{}.{}", input(t), b64(s));
    // ES256 as DER (what OpenSSL emits) instead of JOSE's fixed r||s.
    let der = p256::ecdsa::Signature::from_slice(&sig(&es_tok))
        .unwrap()
        .to_der();
    check(
        "signatures",
        vec![
            ("valid HS256", &hs, hs_tok.clone(), "OK"),
            ("valid RS256", &rs, rs_tok.clone(), "OK"),
            ("valid ES256", &es, es_tok.clone(), "OK"),
            (
                "empty HS256",
                &hs,
                with_sig(&hs_tok, &[]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "truncated HS256",
                &hs,
                with_sig(&hs_tok, &sig(&hs_tok)[..31]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "extended HS256",
                &hs,
                with_sig(&hs_tok, &[sig(&hs_tok), vec![0]].concat()),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "empty RS256",
                &rs,
                with_sig(&rs_tok, &[]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "truncated RS256",
                &rs,
                with_sig(&rs_tok, &sig(&rs_tok)[..255]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "RS256 by another key",
                &rs,
                sign_raw(
                    "RS256",
                    &rsa2_key(),
                    &header("RS256", json!({})),
                    c.as_bytes(),
                ),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "ES256 all zero (CVE-2022-21449)",
                &es,
                with_sig(&es_tok, &[0; 64]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "ES256 DER-encoded",
                &es,
                with_sig(&es_tok, der.as_bytes()),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "ES256 63 bytes",
                &es,
                with_sig(&es_tok, &sig(&es_tok)[..63]),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "ES256 token on RS256 gate",
                &rs,
                es_tok.clone(),
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                "RS256 relabelled PS256",
                &gate(&options(&["PS256"], json!(RSA_PUB), json!({}))),
                format!(
                    "{}.{}",
                    b64(header("PS256", json!({}))),
                    rs_tok.split_once('.').unwrap().1
                ),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            ),
            (
                "padded base64 signature",
                &hs,
                format!("{}=", hs_tok),
                "ERR_JWT_INVALID",
            ),
            ("two segments", &hs, input(&hs_tok), "ERR_JWT_INVALID"),
            (
                "four segments",
                &hs,
                format!("{hs_tok}.x"),
                "ERR_JWT_INVALID",
            ),
            ("empty string", &hs, String::new(), "ERR_JWT_INVALID"),
        ],
    );
}

#[test]
fn hostile_json() {
    let g = hs_gate();
    let c = claims(json!({})).to_string();
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let dup_claims = c.replacen('{', r#"{"sub":"admin","#, 1);
    let mut cases = vec![
        (
            "duplicate alg in header",
            &g,
            hs(r#"{"alg":"HS256","alg":"none"}"#, &c),
            "ERR_JWT_INVALID",
        ),
        (
            "duplicate kid in header",
            &g,
            hs(r#"{"alg":"HS256","kid":"a","kid":"b"}"#, &c),
            "ERR_JWT_INVALID",
        ),
        (
            "duplicate sub in claims",
            &g,
            hs(&header("HS256", json!({})), &dup_claims),
            "ERR_JWT_INVALID",
        ),
        (
            "10,000-deep claims",
            &g,
            hs(&header("HS256", json!({})), &deep),
            "ERR_JWT_INVALID",
        ),
        (
            "header is an array",
            &g,
            hs("[\"HS256\"]", &c),
            "ERR_JWT_INVALID",
        ),
        (
            "alg is a number",
            &g,
            hs(r#"{"alg":256}"#, &c),
            "ERR_JWT_INVALID",
        ),
        (
            "kid is an object",
            &g,
            hs(r#"{"alg":"HS256","kid":{}}"#, &c),
            "ERR_JWT_INVALID",
        ),
        (
            "trailing garbage after header",
            &g,
            hs(r#"{"alg":"HS256"} x"#, &c),
            "ERR_JWT_INVALID",
        ),
    ];
    for payload in [
        "[]",
        "\"claims\"",
        "123",
        "null",
        "true",
        "",
        "{",
        "{\"exp\":1}}",
    ] {
        cases.push((
            "non-object payload",
            &g,
            hs(&header("HS256", json!({})), payload),
            "ERR_JWT_INVALID",
        ));
    }
    check("hostile-json", cases);
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let g = hs_gate();
    let big = format!(
        "{}.{}.{}",
        "a".repeat(500_000),
        "b".repeat(500_000),
        "c".repeat(100)
    );
    for request in [
        with_cookie("/api/x", &big),
        get("/api/x", &[("authorization", &format!("Bearer {big}"))]),
    ] {
        let d = g.decide(&request);
        assert_eq!(d.code, "ERR_TOO_LARGE");
        assert_eq!(status(&d), 401);
    }
    // The error type says which cap was hit.
    assert_eq!(
        g.decide(&get(
            "/api/x",
            &[("authorization", &format!("Bearer {big}"))]
        ))
        .error,
        Some(Error::TooLarge("token"))
    );
}
