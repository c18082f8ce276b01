//! The verified-token cache: repeat requests skip the signature check, never the claim
//! checks; forged or expired tokens never ride on a cached entry; the cache stays bounded.

mod common;

use common::*;
use edgegate::Error;
use serde_json::json;

fn stats(gate: &edgegate::Gate) -> (u64, u64, usize) {
    let s = gate
        .verifier()
        .unwrap()
        .cache_stats()
        .expect("cache is on by default");
    (s.hits, s.misses, s.entries)
}

#[test]
fn a_repeat_token_is_a_hit_and_claims_are_rechecked() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({"exp": NOW + 10.0})));
    assert!(g.verifier().unwrap().verify(&t, NOW).is_ok());
    assert!(g.verifier().unwrap().verify(&t, NOW + 5.0).is_ok());
    assert_eq!(stats(&g), (1, 1, 1));
    // Past exp the cached entry is refused and dropped.
    assert_eq!(
        g.verifier().unwrap().verify(&t, NOW + 10.0).unwrap_err(),
        Error::Expired
    );
    assert_eq!(stats(&g).2, 0);
    assert_eq!(
        g.verifier().unwrap().verify(&t, NOW + 10.0).unwrap_err(),
        Error::Expired
    );
}

#[test]
fn forged_and_altered_tokens_miss() {
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    g.verifier().unwrap().verify(&t, NOW).unwrap();
    let (head, _) = t.rsplit_once('.').unwrap();
    let other_sig = token(
        "HS256",
        &SignKey::Hmac(b"another-secret-of-at-least-32-bytes".to_vec()),
        &claims(json!({})),
    );
    let forged = format!("{head}.{}", other_sig.rsplit_once('.').unwrap().1);
    assert_ne!(forged, t);
    assert_eq!(
        g.verifier().unwrap().verify(&forged, NOW).unwrap_err(),
        Error::SignatureInvalid
    );
    // Same claims, same key, other header: a different token, verified on its own.
    let retyped = sign_raw(
        "HS256",
        &hmac_key(),
        r#"{"alg":"HS256"}"#,
        claims(json!({})).to_string().as_bytes(),
    );
    assert!(g.verifier().unwrap().verify(&retyped, NOW).is_ok());
    assert_eq!(stats(&g), (0, 3, 2));
}

#[test]
fn a_cached_signature_on_altered_claims_misses() {
    // Entries are found by the token's last bytes (its signature); a token carrying a cached
    // signature over other claims lands on the same slot and must still be refused.
    let g = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({"sub": "alice"})));
    g.verifier().unwrap().verify(&t, NOW).unwrap();
    let (_, sig) = t.rsplit_once('.').unwrap();
    let admin = token("HS256", &hmac_key(), &claims(json!({"sub": "admin"})));
    let (admin_input, _) = admin.rsplit_once('.').unwrap();
    let grafted = format!("{admin_input}.{sig}");
    assert_eq!(&grafted[grafted.len() - 32..], &t[t.len() - 32..]);
    assert_eq!(
        g.verifier().unwrap().verify(&grafted, NOW).unwrap_err(),
        Error::SignatureInvalid
    );
    assert_eq!(stats(&g), (0, 2, 1));
    // The genuine token still hits.
    let hit = g.verifier().unwrap().verify(&t, NOW).unwrap();
    assert_eq!(hit.claims["sub"], "alice");
    assert_eq!(stats(&g), (1, 2, 1));
}

#[test]
fn failures_are_never_cached() {
    let g = hs_gate();
    let early = token("HS256", &hmac_key(), &claims(json!({"nbf": NOW + 60.0})));
    for _ in 0..2 {
        assert!(matches!(
            g.verifier().unwrap().verify(&early, NOW),
            Err(Error::ClaimInvalid { claim: "nbf", .. })
        ));
    }
    assert_eq!(stats(&g), (0, 2, 0));
    // Once nbf has passed the same token is accepted (it was never cached as a failure).
    assert!(g.verifier().unwrap().verify(&early, NOW + 60.0).is_ok());
}

#[test]
fn scopes_are_checked_per_rule_on_hits() {
    let g = hs_gate();
    let t = token(
        "HS256",
        &hmac_key(),
        &claims(json!({"scope": "read:stocks"})),
    );
    assert_eq!(
        g.decide(&with_cookie("/api/stocks", &t)).code,
        "OK_AUTHENTICATED"
    );
    assert_eq!(
        g.decide(&with_cookie("/api/admin/users", &t)).code,
        "ERR_INSUFFICIENT_SCOPE"
    );
    assert_eq!(
        stats(&g).0,
        1,
        "the second request was a cache hit, and still refused"
    );
}

#[test]
fn bounded_and_can_be_turned_off() {
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"verify": {
        "algorithms": ["HS256"], "keys": SECRET, "cacheSize": 8 }}),
    ));
    for i in 0..20 {
        let t = token("HS256", &hmac_key(), &claims(json!({"jti": i})));
        g.verifier().unwrap().verify(&t, NOW).unwrap();
    }
    assert_eq!(stats(&g).2, 8);
    let off = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"verify": {
        "algorithms": ["HS256"], "keys": SECRET, "cacheSize": 0 }}),
    ));
    assert!(off.verifier().unwrap().cache_stats().is_none());
}

#[test]
fn least_recently_used_goes_first() {
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"verify": {
        "algorithms": ["HS256"], "keys": SECRET, "cacheSize": 2 }}),
    ));
    let t: Vec<String> = (0..3)
        .map(|i| token("HS256", &hmac_key(), &claims(json!({"jti": i}))))
        .collect();
    g.verifier().unwrap().verify(&t[0], NOW).unwrap();
    g.verifier().unwrap().verify(&t[1], NOW).unwrap();
    g.verifier().unwrap().verify(&t[0], NOW).unwrap(); // t0 is now the most recent
    g.verifier().unwrap().verify(&t[2], NOW).unwrap(); // evicts t1
    let before = stats(&g);
    g.verifier().unwrap().verify(&t[0], NOW).unwrap();
    g.verifier().unwrap().verify(&t[1], NOW).unwrap();
    let after = stats(&g);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "t0 hit, t1 missed"
    );
}

#[test]
fn lru_order_survives_many_hits() {
    // Hits append to the order log, which compacts itself; the LRU order must stay exact.
    let g = gate(&options(
        &["HS256"],
        json!(SECRET),
        json!({"verify": {
        "algorithms": ["HS256"], "keys": SECRET, "cacheSize": 3 }}),
    ));
    let t: Vec<String> = (0..4)
        .map(|i| token("HS256", &hmac_key(), &claims(json!({"jti": i}))))
        .collect();
    for tok in &t[..3] {
        g.verifier().unwrap().verify(tok, NOW).unwrap();
    }
    for _ in 0..5_000 {
        g.verifier().unwrap().verify(&t[1], NOW).unwrap();
        g.verifier().unwrap().verify(&t[2], NOW).unwrap();
    }
    g.verifier().unwrap().verify(&t[3], NOW).unwrap(); // evicts t0, the least recently used
    let before = stats(&g);
    for tok in [&t[1], &t[2], &t[3], &t[0]] {
        g.verifier().unwrap().verify(tok, NOW).unwrap();
    }
    let after = stats(&g);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (3, 1),
        "t1, t2, t3 hit; t0 was evicted"
    );
}
