//! Key material: the algorithms the gate verifies, parsed keys, and how they are read from
//! PEM and JWK (RFC 7517) and written back as public JWKs for host crypto. Keys are parsed
//! and checked once, when the gate is built or a JWKS arrives, never per request.
//!
//! A key fits an algorithm only by its type (an RSA key never verifies an HMAC), its size,
//! and the JWK's own `alg`, `use` and `key_ops`.

use std::sync::atomic::{AtomicUsize, Ordering};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value};

use super::pubkey::{pem_body, pkcs1, spki, PemKey};
pub use super::pubkey::{Curve, EcKey, EdKey, RsaKey};

use crate::error::{Error, Result};

/// The signature algorithms the gate verifies, by their JOSE names (RFC 7518, RFC 8037).
#[allow(missing_docs)] // the names say it all
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    EdDsa,
}

impl Alg {
    /// Every algorithm, in the order errors list them.
    pub const ALL: [Alg; 13] = [
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::EdDsa,
    ];

    /// Exact, case-sensitive JOSE name (RFC 7518): `none`, `None` or `hs256` match nothing.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The curve of ES256, ES384 and ES512.
    pub fn curve(self) -> Option<Curve> {
        match self {
            Alg::Es256 => Some(Curve::P256),
            Alg::Es384 => Some(Curve::P384),
            Alg::Es512 => Some(Curve::P521),
            _ => None,
        }
    }

    /// HS256/384/512: a shared secret, never a published key.
    pub fn is_hmac(self) -> bool {
        matches!(self, Alg::Hs256 | Alg::Hs384 | Alg::Hs512)
    }

    /// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
    pub(crate) fn min_hmac_bytes(self) -> usize {
        match self {
            Alg::Hs384 => 48,
            Alg::Hs512 => 64,
            _ => 32,
        }
    }
}

/// Shortest HMAC secret accepted at all (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// Smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;
/// Most keys one configuration or key set may hold.
pub const MAX_KEYS: usize = 64;

/// Parsed public key material.
#[derive(Clone)]
pub enum Material {
    /// An HMAC secret.
    Hmac(Vec<u8>),
    /// An RSA public key (2048 bits or more, no ROCA fingerprint).
    Rsa(RsaKey),
    /// A P-256, P-384 or P-521 public key.
    Ec(EcKey),
    /// An Ed25519 public key (not of small order).
    Ed25519(EdKey),
}

impl Material {
    pub(crate) fn is_symmetric(&self) -> bool {
        matches!(self, Material::Hmac(_))
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Material::Hmac(_) => "HMAC secret",
            Material::Rsa(_) => "RSA key",
            Material::Ec(k) => match k.curve() {
                Curve::P256 => "P-256 key",
                Curve::P384 => "P-384 key",
                Curve::P521 => "P-521 key",
            },
            Material::Ed25519(_) => "Ed25519 key",
        }
    }
}

impl Material {
    /// The public key as a JWK (RFC 7517), for hosts that import it into WebCrypto; `None`
    /// for HMAC secrets, which never leave the engine.
    pub fn public_jwk(&self) -> Option<Value> {
        let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
        Some(match self {
            Material::Hmac(_) => return None,
            Material::Rsa(k) => serde_json::json!({
                "kty": "RSA", "n": b64(k.n()), "e": b64(k.e()),
            }),
            Material::Ec(k) => serde_json::json!({
                "kty": "EC", "crv": k.curve().name(), "x": b64(k.x()), "y": b64(k.y()),
            }),
            Material::Ed25519(k) => {
                serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(k.as_bytes()) })
            }
        })
    }
}

impl Material {
    /// A public key from a DER `SubjectPublicKeyInfo` (RSA, P-256, P-384, P-521 or Ed25519), read and
    /// checked as a PEM `PUBLIC KEY` is.
    pub fn from_spki_der(der: &[u8]) -> Result<Material> {
        match spki(der, MIN_RSA_BITS)? {
            Some(PemKey::Rsa(k)) => Ok(Material::Rsa(k)),
            Some(PemKey::Ec(k)) => Ok(Material::Ec(k)),
            Some(PemKey::Ed(k)) => Ok(Material::Ed25519(k)),
            None => Err(Error::ConfigKey(
                "PEM public key is malformed or not RSA, P-256, P-384, P-521 or Ed25519".into(),
            )),
        }
    }
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe()) // never print secrets
    }
}

/// How a key's `kid` takes part in selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyId {
    /// A key configured on its own (secret, PEM, lone JWK without `kid`): the token's
    /// `kid`, if any, does not matter.
    Any,
    /// A JWK with this `kid`.
    Exact(String),
    /// A member of a key set without `kid`: only tokens without `kid` select it (as jose).
    Absent,
}

/// A parsed key and how it is selected.
#[derive(Debug, Clone)]
pub struct Key {
    /// Stable index within its key set, so a host can cache its own form of the key.
    pub handle: usize,
    /// How the token's `kid` selects it.
    pub id: KeyId,
    /// The JWK's `alg`, which restricts the key to that one algorithm.
    pub alg: Option<Alg>,
    /// The public key (or secret).
    pub material: Material,
}

impl Key {
    /// Can this key verify a token signed with `alg`?
    pub fn fits(&self, alg: Alg) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match (&self.material, alg) {
            (Material::Hmac(k), Alg::Hs256 | Alg::Hs384 | Alg::Hs512) => {
                k.len() >= alg.min_hmac_bytes()
            }
            (
                Material::Rsa(_),
                Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512,
            ) => true,
            (Material::Ec(k), _) => alg.curve() == Some(k.curve()),
            (Material::Ed25519(_), Alg::EdDsa) => true,
            _ => false,
        }
    }

    /// The same published key: id, algorithm and public material (the handle may differ).
    pub(crate) fn same_key(&self, other: &Key) -> bool {
        self.id == other.id
            && self.alg == other.alg
            && match (&self.material, &other.material) {
                (Material::Hmac(a), Material::Hmac(b)) => a == b,
                (Material::Rsa(a), Material::Rsa(b)) => a == b,
                (Material::Ec(a), Material::Ec(b)) => a == b,
                (Material::Ed25519(a), Material::Ed25519(b)) => a == b,
                _ => false,
            }
    }

    pub(crate) fn selected_by(&self, kid: Option<&str>) -> bool {
        match (&self.id, kid) {
            (KeyId::Any, _) => true,
            (KeyId::Exact(mine), Some(theirs)) => mine == theirs,
            (KeyId::Absent, None) => true,
            _ => false,
        }
    }
}

/// Key handles are unique per process and never reused: the shim caches its imported
/// `CryptoKey` by handle, so a rotated key must never inherit an old key's handle.
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1 << 20);

pub(crate) fn fresh_handle() -> usize {
    NEXT_HANDLE.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn decode_b64url(s: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s)
        .map_err(|_| Error::ConfigKey("invalid base64url in key".into()))
}

pub(crate) fn from_pem(pem: &str) -> Result<Material> {
    // A PEM kept on one line with literal `\n`s is how `.env` files and hosting dashboards
    // store it; PEM has no backslash of its own, so reading them as line breaks is exact.
    let unescaped;
    let pem = if pem.contains("\\n") && !pem.contains('\n') {
        unescaped = pem.replace("\\r\\n", "\n").replace("\\n", "\n");
        unescaped.trim()
    } else {
        pem.trim()
    };
    let label = pem
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label)
        .unwrap_or_default();
    match label {
        "PUBLIC KEY" => match pem_body(pem, label) {
            Some(der) => Material::from_spki_der(&der),
            None => Err(Error::ConfigKey(
                "PEM public key is malformed or not RSA, P-256, P-384, P-521 or Ed25519".into(),
            )),
        },
        "RSA PUBLIC KEY" => pem_body(pem, label)
            .ok_or_else(|| Error::ConfigKey("malformed PKCS#1 RSA public key".into()))
            .and_then(|der| pkcs1(&der, MIN_RSA_BITS))
            .map(Material::Rsa),
        "CERTIFICATE" => Err(Error::ConfigKey(
            "X.509 certificates are not supported; pass the public key (openssl x509 -pubkey)"
                .into(),
        )),
        l if l.contains("PRIVATE KEY") => Err(Error::ConfigKey(
            "a private key was given; the gate needs only the public key".into(),
        )),
        _ => Err(Error::ConfigKey("unrecognised PEM block".into())),
    }
}

/// Parses a JWK. `Ok(None)` means "not for us" (wrong use, unsupported type or algorithm);
/// an error means a key that claims to be usable but is malformed or weak.
/// `lone` is true for a JWK configured on its own, whose missing `kid` matches any token.
pub fn from_jwk(jwk: &Map<String, Value>, lone: bool) -> Result<Option<Key>> {
    let text = |name: &str| -> Result<Option<&str>> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::ConfigKey(format!(
                "JWK member {name:?} is not a string"
            ))),
        }
    };
    if text("use")?.is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops
            .as_array()
            .ok_or_else(|| Error::ConfigKey("JWK \"key_ops\" is not an array".into()))?;
        if !ops.iter().any(|op| op == "verify") {
            return Ok(None);
        }
    }
    let alg = match text("alg")? {
        None => None,
        Some(name) => match Alg::from_name(name) {
            Some(a) => Some(a),
            None => return Ok(None), // ES224, RSA1_5, A256GCM, ...: not a signing key of ours
        },
    };
    let id = match (text("kid")?, lone) {
        (Some(kid), _) => KeyId::Exact(kid.to_owned()),
        (None, true) => KeyId::Any,
        (None, false) => KeyId::Absent,
    };
    let field = |name: &str| -> Result<Vec<u8>> {
        decode_b64url(text(name)?.ok_or_else(|| Error::ConfigKey(format!("JWK lacks {name:?}")))?)
    };
    let material = match text("kty")? {
        Some("oct") => {
            let k = field("k")?;
            if k.len() < MIN_SECRET_BYTES {
                return Err(Error::ConfigWeakKey(format!(
                    "oct JWK is {} bytes; at least {MIN_SECRET_BYTES} are required",
                    k.len()
                )));
            }
            if let Some(a) = alg {
                if k.len() < a.min_hmac_bytes() {
                    return Err(Error::ConfigWeakKey(format!(
                        "oct JWK is too short for {}",
                        a.name()
                    )));
                }
            }
            Material::Hmac(k)
        }
        Some("RSA") => Material::Rsa(RsaKey::new(&field("n")?, &field("e")?, MIN_RSA_BITS)?),
        Some("EC") => {
            let Some(curve) = text("crv")?.and_then(Curve::from_name) else {
                return Ok(None); // secp256k1 and others: not supported here
            };
            let (x, y) = (field("x")?, field("y")?);
            Material::Ec(EcKey::new(curve, &x, &y)?)
        }
        Some("OKP") => {
            if text("crv")? != Some("Ed25519") {
                return Ok(None);
            }
            let x: [u8; 32] = field("x")?
                .try_into()
                .map_err(|_| Error::ConfigKey("Ed25519 JWK must be 32 bytes".into()))?;
            Material::Ed25519(EdKey::new(x)?)
        }
        Some(_) => return Ok(None),
        None => return Err(Error::ConfigKey("JWK lacks \"kty\"".into())),
    };
    let key = Key {
        handle: 0,
        id,
        alg,
        material,
    };
    // A JWK whose own `alg` contradicts its type (kty RSA, alg ES256) is unusable.
    if alg.is_some_and(|a| !key.fits(a)) {
        return Err(Error::ConfigKey(format!(
            "JWK alg {} does not fit its key type",
            alg.map(Alg::name).unwrap_or_default()
        )));
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(Alg::from_name("RS256"), Some(Alg::Rs256));
        assert_eq!(Alg::from_name("EdDSA"), Some(Alg::EdDsa));
        assert_eq!(Alg::from_name("ES512"), Some(Alg::Es512));
        for bad in [
            "none", "None", "NONE", "nOnE", "rs256", "HS256 ", "ES521", "ES256K", "es512", "",
        ] {
            assert_eq!(Alg::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn roca_detects_a_vulnerable_shape_and_spares_a_random_one() {
        use super::super::pubkey::roca_fingerprint;
        use rsa::BigUint;
        // 65537^k mod M for M the product of the primes is the ROCA form; any such number
        // (times nothing) carries the fingerprint.
        let mut m = BigUint::from(1u32);
        for p in [
            3u32, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
        ] {
            m *= BigUint::from(p);
        }
        let fake = BigUint::from(65537u32).modpow(&BigUint::from(1234567u32), &m) + &m * 7u32;
        assert!(roca_fingerprint(&fake.to_bytes_be()));
        // 2^2048 - 1 is not of that form.
        let plain = (BigUint::from(1u32) << 2048usize) - 1u32;
        assert!(!roca_fingerprint(&plain.to_bytes_be()));
    }
}
