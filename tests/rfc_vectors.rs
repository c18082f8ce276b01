//! RFC 7515 Appendix A.1–A.3 and RFC 8037 A.4 verify with a fixed clock; A.5 (`none`) is
//! refused. The tokens and keys are the RFCs' own.

mod common;

use std::sync::Arc;

use edgegate::verify::{Alg, ClaimsPolicy, KeySet, Verifier};
use edgegate::Error;
use serde_json::{json, Value};

const CLAIMS_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// The RFC examples expire at 1300819380 (2011-03-22T18:43:00Z).
const BEFORE_EXP: f64 = 1_300_819_379.0;

fn verifier(alg: Alg, key: Value) -> Verifier {
    let keys = KeySet::from_config(&key, &[alg]).expect("RFC key parses");
    let policy = ClaimsPolicy {
        issuer: vec!["joe".into()],
        require_exp: true,
        ..ClaimsPolicy::default()
    };
    Verifier::new(vec![alg], Arc::new(keys), policy)
}

fn rsa_a2_jwk() -> Value {
    json!({
        "kty": "RSA",
        "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
        "e": "AQAB"
    })
}

#[test]
fn a1_hs256() {
    let token = format!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{CLAIMS_PAYLOAD}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    let v = verifier(
        Alg::Hs256,
        json!({ "kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow" }),
    );
    let ok = v.verify(&token, BEFORE_EXP).unwrap();
    assert_eq!(ok.claims["iss"], "joe");
    assert_eq!(ok.claims["http://example.com/is_root"], true);
    // The same token one second later is expired (RFC 7519: on or after exp).
    assert_eq!(
        v.verify(&token, BEFORE_EXP + 1.0).unwrap_err(),
        Error::Expired
    );
    // One flipped signature character fails.
    let forged = token.replace("dBjf", "dBjg");
    assert_eq!(
        v.verify(&forged, BEFORE_EXP).unwrap_err(),
        Error::SignatureInvalid
    );
}

#[test]
fn a2_rs256() {
    let token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{CLAIMS_PAYLOAD}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    );
    let v = verifier(Alg::Rs256, rsa_a2_jwk());
    assert_eq!(v.verify(&token, BEFORE_EXP).unwrap().alg, Some(Alg::Rs256));
    let mut bytes = token.into_bytes();
    let last = bytes.len() - 5;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).unwrap();
    assert_eq!(
        v.verify(&forged, BEFORE_EXP).unwrap_err(),
        Error::SignatureInvalid
    );
}

#[test]
fn a3_es256() {
    let token = format!(
        "eyJhbGciOiJFUzI1NiJ9.{CLAIMS_PAYLOAD}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    let v = verifier(
        Alg::Es256,
        json!({
            "kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }),
    );
    assert_eq!(v.verify(&token, BEFORE_EXP).unwrap().alg, Some(Alg::Es256));
}

#[test]
fn rfc8037_a4_eddsa() {
    // RFC 8037 A.4 signs the text "Example of Ed25519 signing": a JWS, not a JWT, so it is
    // checked at the signature layer.
    let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let v = verifier(
        Alg::EdDsa,
        json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }),
    );
    let (jws, alg) = v.verify_signature(token).unwrap();
    assert_eq!(alg, Alg::EdDsa);
    assert_eq!(jws.payload, b"Example of Ed25519 signing");
    // As a JWT it is refused: the payload is not a claims object.
    assert_eq!(
        v.verify(token, BEFORE_EXP).unwrap_err(),
        Error::JwtInvalid("claims are not a JSON object")
    );
}

#[test]
fn a5_unsecured_jws_is_refused() {
    let token = format!("eyJhbGciOiJub25lIn0.{CLAIMS_PAYLOAD}.");
    for alg in [Alg::Hs256, Alg::Rs256] {
        let key = if alg == Alg::Hs256 {
            json!(common::SECRET)
        } else {
            rsa_a2_jwk()
        };
        let v = verifier(alg, key);
        assert_eq!(
            v.verify(&token, BEFORE_EXP).unwrap_err(),
            Error::AlgNotAllowed
        );
    }
}
