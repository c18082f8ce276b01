//! The gate's own sealed values: login transactions, the ID-token cookie and, for refresh
//! coordination, outcomes kept in a shared store. AES-256-GCM (RustCrypto `aes-gcm`,
//! already linked for the session formats) under a key derived with HKDF-SHA-256 from a
//! configured secret of at least 32 bytes; a list of secrets rotates them, the first seals
//! and every one opens.
//!
//! Wire form: base64url(`kid` (4 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16)). The `kid`
//! names the secret, so opening tries one key, not all. The associated data is the
//! *purpose* (for cookies, their name): a value sealed for one purpose never opens as
//! another, so a transaction cookie is no ID-token cookie, and renaming a cookie breaks it.
//! Nonces are random (96 bits): a key seals far fewer than 2^32 values before it rotates.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64ct::{Base64UrlUnpadded, Encoding};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::random::random_bytes;

/// The shortest secret accepted: 256 bits, the key size.
pub const MIN_SECRET_BYTES: usize = 32;
/// Sealed values larger than this are refused unread (cookies and store entries are small).
const MAX_SEALED_CHARS: usize = 16 * 1024;
const KID: usize = 4;
const NONCE: usize = 12;
const TAG: usize = 16;

/// Seals and opens with the configured secrets.
pub struct Sealer {
    /// Newest first: the first seals.
    keys: Vec<(Vec<u8>, [u8; KID])>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Sealer {
    /// A sealer for `secrets` (newest first), each at least 32 bytes (UTF-8). `what`
    /// names the option in errors (`login.secret`).
    pub fn new(secrets: &[String], what: &str) -> Result<Sealer> {
        if secrets.is_empty() {
            return Err(Error::ConfigInvalid(format!("{what} is required")));
        }
        let mut keys: Vec<(Vec<u8>, [u8; KID])> = Vec::new();
        for secret in secrets {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(Error::ConfigWeakKey(format!(
                    "{what} must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 32`)"
                )));
            }
            let key = hkdf_sha256(secret.as_bytes(), b"edgegate seal", b"aes-256-gcm key", 32)
                .ok_or_else(|| Error::ConfigInvalid(format!("{what}: key derivation failed")))?;
            let id = hkdf_sha256(secret.as_bytes(), b"edgegate seal", b"key id", KID)
                .ok_or_else(|| Error::ConfigInvalid(format!("{what}: key derivation failed")))?;
            let id: [u8; KID] = id
                .try_into()
                .map_err(|_| Error::ConfigInvalid(what.into()))?;
            if keys.iter().any(|(_, other)| *other == id) {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: a secret appears twice"
                )));
            }
            keys.push((key, id));
        }
        Ok(Sealer { keys })
    }

    /// `plaintext` sealed for `purpose` with the newest secret.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String> {
        let (key, id) = &self.keys[0];
        let nonce: [u8; NONCE] = random_bytes()?;
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::SealInvalid)?;
        let mut out = Vec::with_capacity(KID + NONCE + plaintext.len() + TAG);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = cipher
            .encrypt_in_place_detached(
                &Nonce::from(nonce),
                purpose.as_bytes(),
                &mut out[KID + NONCE..],
            )
            .map_err(|_| Error::SealInvalid)?;
        out.extend_from_slice(&tag);
        Ok(Base64UrlUnpadded::encode_string(&out))
    }

    /// The plaintext of a value sealed for `purpose` by one of the secrets; anything else
    /// (tampered, truncated, another purpose, an unknown secret) is [`Error::SealInvalid`].
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>> {
        if sealed.len() > MAX_SEALED_CHARS {
            return Err(Error::SealInvalid);
        }
        let mut bytes = Base64UrlUnpadded::decode_vec(sealed).map_err(|_| Error::SealInvalid)?;
        if bytes.len() < KID + NONCE + TAG {
            return Err(Error::SealInvalid);
        }
        let (key, _) = self
            .keys
            .iter()
            .find(|(_, k)| k[..] == bytes[..KID])
            .ok_or(Error::SealInvalid)?;
        let nonce: [u8; NONCE] = bytes[KID..KID + NONCE]
            .try_into()
            .map_err(|_| Error::SealInvalid)?;
        let tag: [u8; TAG] = bytes[bytes.len() - TAG..]
            .try_into()
            .map_err(|_| Error::SealInvalid)?;
        let end = bytes.len() - TAG;
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::SealInvalid)?;
        cipher
            .decrypt_in_place_detached(
                &Nonce::from(nonce),
                purpose.as_bytes(),
                &mut bytes[KID + NONCE..end],
                &Tag::from(tag),
            )
            .map_err(|_| Error::SealInvalid)?;
        bytes.truncate(end);
        bytes.drain(..KID + NONCE);
        Ok(bytes)
    }
}

/// HKDF-SHA-256 (RFC 5869) of `len` bytes; `None` past its 255 blocks.
pub(crate) fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut key = vec![0; len];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut key)
        .ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(secrets: &[&str]) -> Sealer {
        Sealer::new(
            &secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "s",
        )
        .unwrap()
    }

    const A: &str = "a-secret-of-at-least-thirty-two-bytes!!";
    const B: &str = "another-secret-of-at-least-32-bytes!!!!";

    #[test]
    fn seals_open_only_for_their_purpose_and_secret() {
        let s = sealer(&[A]);
        let sealed = s.seal("tx", b"hello").unwrap();
        assert_eq!(s.open("tx", &sealed).unwrap(), b"hello");
        assert_eq!(s.open("id", &sealed), Err(Error::SealInvalid));
        assert_eq!(sealer(&[B]).open("tx", &sealed), Err(Error::SealInvalid));
        // Random nonces: the same plaintext never seals the same way twice.
        assert_ne!(s.seal("tx", b"hello").unwrap(), sealed);
    }

    #[test]
    fn rotation_opens_old_values_and_seals_with_the_newest() {
        let old = sealer(&[A]).seal("tx", b"v").unwrap();
        let rotated = sealer(&[B, A]);
        assert_eq!(rotated.open("tx", &old).unwrap(), b"v");
        let new = rotated.seal("tx", b"v").unwrap();
        assert_eq!(sealer(&[B]).open("tx", &new).unwrap(), b"v");
        assert_eq!(sealer(&[A]).open("tx", &new), Err(Error::SealInvalid));
    }

    #[test]
    fn every_mutation_fails_and_nothing_panics() {
        let s = sealer(&[A]);
        let sealed = s.seal("tx", b"some plaintext").unwrap();
        let bytes = Base64UrlUnpadded::decode_vec(&sealed).unwrap();
        for i in 0..bytes.len() {
            let mut m = bytes.clone();
            m[i] ^= 1;
            assert_eq!(
                s.open("tx", &Base64UrlUnpadded::encode_string(&m)),
                Err(Error::SealInvalid),
                "byte {i}"
            );
        }
        for n in 0..bytes.len() {
            assert_eq!(
                s.open("tx", &Base64UrlUnpadded::encode_string(&bytes[..n])),
                Err(Error::SealInvalid)
            );
        }
        for junk in [
            "",
            "=",
            "!!!!",
            &"A".repeat(MAX_SEALED_CHARS + 1),
            &format!("{sealed}="),
        ] {
            assert_eq!(s.open("tx", junk), Err(Error::SealInvalid), "{junk:.20}");
        }
    }

    #[test]
    fn weak_or_missing_secrets_fail_at_construction() {
        let e = Sealer::new(&["short".into()], "login.secret").unwrap_err();
        assert_eq!(e.code(), "ERR_CONFIG_WEAK_KEY");
        assert_eq!(
            Sealer::new(&[], "login.secret").unwrap_err().code(),
            "ERR_CONFIG_INVALID"
        );
        assert_eq!(
            Sealer::new(&[A.into(), A.into()], "x").unwrap_err().code(),
            "ERR_CONFIG_INVALID"
        );
    }
}
