//! The check of tests/data/sealed.json every host runs (tests/seal.rs natively,
//! tests/web.rs in the browsers).
use base64ct::{Base64UrlUnpadded, Encoding};
use edgegate::random::random_token;
use edgegate::seal::Sealer;
use serde_json::Value;

pub fn sealer(secrets: &Value) -> Sealer {
    let secrets: Vec<String> = serde_json::from_value(secrets.clone()).unwrap();
    Sealer::new(&secrets, "test").unwrap()
}

/// What every host must find in the file: each value opens to its plaintext under its
/// purpose only, and no single-bit change, truncation or other purpose opens.
pub fn check(doc: &Value) {
    let s = sealer(&doc["secrets"]);
    for v in doc["values"].as_array().unwrap() {
        let (purpose, sealed) = (
            v["purpose"].as_str().unwrap(),
            v["sealed"].as_str().unwrap(),
        );
        assert_eq!(
            s.open(purpose, sealed).unwrap(),
            v["plaintext"].as_str().unwrap().as_bytes()
        );
        assert!(s.open("another-purpose", sealed).is_err());
        let bytes = Base64UrlUnpadded::decode_vec(sealed).unwrap();
        for i in 0..bytes.len() {
            let mut m = bytes.clone();
            m[i] ^= 0x80;
            assert!(
                s.open(purpose, &Base64UrlUnpadded::encode_string(&m))
                    .is_err(),
                "bit flip at {i}"
            );
        }
        assert!(s.open(purpose, &sealed[..sealed.len() - 1]).is_err());
    }
    let a = random_token::<32>().unwrap();
    assert_eq!(a.len(), 43);
    assert_ne!(a, random_token::<32>().unwrap());
}
