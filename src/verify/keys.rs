//! Which keys may check a token: the [`KeyResolver`] seam, and the static [`KeySet`] from
//! the `keys` option. (Remote keys are the other resolver: [`super::remote`].) The
//! algorithm that verifies a token is the token's `alg` only after it passed the
//! allow-list *and* a configured key fits it.

use std::sync::Arc;

use base64ct::{Base64, Encoding};
use serde_json::Value;

use super::jwk::{
    decode_b64url, from_jwk, from_pem, Alg, Key, KeyId, Material, MAX_KEYS, MIN_SECRET_BYTES,
};
use crate::error::{Error, Result};
use crate::fetch::{Fetched, Progress};

/// The keys that may check a token, or the fetch that must happen first.
pub type Candidates = Progress<Vec<Arc<Key>>>;

/// Where verification keys come from: the static [`KeySet`], or a provider's JWKS fetched
/// by the host ([`RemoteKeys`](super::remote::RemoteKeys)).
pub trait KeyResolver: Send + Sync {
    /// Keys that may verify a token with this `alg` and `kid` at `now`, or the fetch that
    /// must happen first.
    fn candidates(&self, alg: Alg, kid: Option<&str>, now: f64) -> Result<Candidates>;

    /// Applies the outcome of fetch `id` if it is this resolver's; see
    /// `RemoteKeys::complete`.
    fn complete(&self, id: u64, fetched: Fetched, now: f64) -> Option<bool> {
        let _ = (id, fetched, now);
        None
    }

    /// Is fetch `id` this resolver's?
    fn owns(&self, id: u64) -> bool {
        let _ = id;
        false
    }

    /// `candidates` as they are now, changing nothing: where a fetch would start, the
    /// ticket it would get, unregistered (`explain`). The default is `candidates` itself,
    /// right for a resolver that never fetches; one that does must override it.
    fn peek(&self, alg: Alg, kid: Option<&str>, now: f64) -> Result<Candidates> {
        self.candidates(alg, kid, now)
    }
}

/// The keys of `keys` that may verify a token with this `alg` and `kid`.
pub(crate) fn select(keys: &[Arc<Key>], alg: Alg, kid: Option<&str>) -> Vec<Arc<Key>> {
    keys.iter()
        .filter(|k| k.selected_by(kid) && k.fits(alg))
        .cloned()
        .collect()
}

/// A fixed set of keys from configuration.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<Key>>,
}

impl KeyResolver for KeySet {
    fn candidates(&self, alg: Alg, kid: Option<&str>, _now: f64) -> Result<Candidates> {
        let found = select(&self.keys, alg, kid);
        if found.is_empty() {
            return Err(Error::NoMatchingKey);
        }
        Ok(Progress::Done(found))
    }
}

impl KeySet {
    /// Builds the key set from the `keys` option: a secret or PEM string, a
    /// `{ secret }`, a JWK, a JWKS `{ keys: [...] }`, or an array of these.
    pub fn from_config(value: &Value, allowed: &[Alg]) -> Result<KeySet> {
        let mut keys = Vec::new();
        collect(value, allowed, &mut keys, 0)?;
        if keys.is_empty() {
            return Err(Error::ConfigKey(
                "no key fits the allowed algorithms".into(),
            ));
        }
        if keys.len() > MAX_KEYS {
            return Err(Error::ConfigKey(format!("more than {MAX_KEYS} keys")));
        }
        // Wycheproof "MixedKeySet": a set that holds both a secret and public keys invites
        // algorithm confusion, so it is refused outright.
        let symmetric = keys.iter().filter(|k| k.material.is_symmetric()).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(Error::ConfigKey(
                "a key set may not mix HMAC secrets with public keys".into(),
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if let KeyId::Exact(kid) = &k.id {
                if keys[..i].iter().any(|o| o.id == k.id) {
                    return Err(Error::ConfigKey(format!("duplicate kid {kid:?}")));
                }
            }
        }
        Ok(KeySet {
            keys: keys
                .into_iter()
                .enumerate()
                .map(|(handle, key)| Arc::new(Key { handle, ..key }))
                .collect(),
        })
    }
}

fn collect(value: &Value, allowed: &[Alg], out: &mut Vec<Key>, depth: u8) -> Result<()> {
    let fit_check = |key: Key| -> Result<Key> {
        if allowed.iter().any(|&a| key.fits(a)) {
            Ok(key)
        } else {
            Err(Error::ConfigKey(format!(
                "the {} does not fit any allowed algorithm ({})",
                key.material.describe(),
                allowed
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    match value {
        Value::String(s) if s.contains("-----BEGIN") => out.push(fit_check(Key {
            handle: 0,
            id: KeyId::Any,
            alg: None,
            material: from_pem(s)?,
        })?),
        // A string that is not PEM can only be a secret: it could never parse as a public
        // key, so no PEM text is ever mistaken for an HMAC secret.
        Value::String(s) => out.push(fit_check(secret_key(s.as_bytes().to_vec())?)?),
        Value::Array(items) if depth == 0 => {
            for item in items {
                collect(item, allowed, out, 1)?;
            }
        }
        Value::Object(o) if o.contains_key("keys") => {
            let Some(Value::Array(members)) = o.get("keys") else {
                return Err(Error::ConfigKey(
                    "\"keys\" of a JWKS must be an array".into(),
                ));
            };
            if members.len() > MAX_KEYS {
                return Err(Error::ConfigKey(format!("more than {MAX_KEYS} keys")));
            }
            let before = out.len();
            for member in members {
                let Value::Object(jwk) = member else {
                    return Err(Error::ConfigKey("a JWKS member is not an object".into()));
                };
                // Providers publish keys for other uses and algorithms; those are skipped,
                // but a malformed or weak key is an error.
                if let Some(key) = from_jwk(jwk, false)? {
                    if allowed.iter().any(|&a| key.fits(a)) {
                        out.push(key);
                    }
                }
            }
            if out.len() == before {
                return Err(Error::ConfigKey(
                    "no key of the JWKS fits the allowed algorithms".into(),
                ));
            }
        }
        Value::Object(o) if o.contains_key("kty") => match from_jwk(o, true)? {
            Some(key) => out.push(fit_check(key)?),
            None => {
                return Err(Error::ConfigKey(
                    "the JWK is not usable for signature verification".into(),
                ))
            }
        },
        Value::Object(o) if o.contains_key("secret") => {
            let bytes = match (o.get("secret"), o.get("encoding").and_then(Value::as_str)) {
                (Some(Value::String(s)), None | Some("utf8")) => s.as_bytes().to_vec(),
                (Some(Value::String(s)), Some("base64url")) => decode_b64url(s)?,
                (Some(Value::String(s)), Some("base64")) => Base64::decode_vec(s)
                    .map_err(|_| Error::ConfigKey("the secret is not valid base64".into()))?,
                _ => {
                    return Err(Error::ConfigKey(
                        "\"secret\" must be a string; \"encoding\" utf8, base64url or base64"
                            .into(),
                    ))
                }
            };
            out.push(fit_check(secret_key(bytes)?)?);
        }
        _ => {
            return Err(Error::ConfigKey(
                "\"keys\" must be a secret, a PEM public key, a JWK, a JWKS or an array of them"
                    .into(),
            ))
        }
    }
    Ok(())
}

fn secret_key(bytes: Vec<u8>) -> Result<Key> {
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(Error::ConfigWeakKey(format!(
            "HMAC secret is {} bytes; at least {MIN_SECRET_BYTES} are required",
            bytes.len()
        )));
    }
    Ok(Key {
        handle: 0,
        id: KeyId::Any,
        alg: None,
        material: Material::Hmac(bytes),
    })
}
