//! Public keys as bytes: RSA `n` and `e`, a P-256, P-384 or P-521 point's `x` and `y`, an
//! Ed25519 point,
//! read from PEM (SPKI, PKCS#1) and checked without a big-integer or curve library, so the
//! default wasm build needs neither. Builds with the pure-Rust signature path
//! (`cfg(rust_crypto)`: native builds always, wasm32 with the `rust-crypto` feature) also
//! parse each key with the crate that checks its signatures, which validates points too.
//! Without it, an EC or Ed25519 point that is not on its curve is left to the host's
//! `importKey`, which refuses it, and a signature the host cannot check is invalid.

use base64ct::{Base64, Encoding};

use crate::error::{Error, Result};

/// RSA public key bytes: `n` and `e` big-endian, without leading zeros.
#[derive(Clone)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
    #[cfg(rust_crypto)]
    pub(crate) engine: rsa::RsaPublicKey,
}

/// The NIST curves of ES256, ES384 and ES512 (RFC 7518 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The JWK `crv` name, which is also WebCrypto's `namedCurve`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The curve of a JWK `crv`; `None` for any other (secp256k1, …).
    pub(crate) fn from_name(crv: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.name() == crv)
    }

    /// Bytes of a coordinate, and of each half of a signature (`r`, `s`).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// A P-256, P-384 or P-521 point, uncompressed.
#[derive(Clone)]
pub struct EcKey {
    curve: Curve,
    x: Vec<u8>,
    y: Vec<u8>,
    #[cfg(rust_crypto)]
    pub(crate) engine: EcEngine,
}

/// The point as the crate that checks its signatures holds it.
#[cfg(rust_crypto)]
#[derive(Clone)]
pub(crate) enum EcEngine {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// An Ed25519 public key, as encoded (RFC 8032).
#[derive(Clone)]
pub struct EdKey {
    bytes: [u8; 32],
    #[cfg(rust_crypto)]
    pub(crate) engine: ed25519_dalek::VerifyingKey,
}

impl PartialEq for RsaKey {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.e == other.e
    }
}
impl PartialEq for EcKey {
    fn eq(&self, other: &Self) -> bool {
        self.curve == other.curve && self.x == other.x && self.y == other.y
    }
}
impl PartialEq for EdKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

/// Largest RSA modulus accepted (the `rsa` crate's `RsaPublicKey::MAX_SIZE`).
const MAX_RSA_BITS: usize = 4096;
/// Largest RSA public exponent accepted (the `rsa` crate's `MAX_PUB_EXPONENT`).
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian unsigned integer.
pub(crate) fn bit_length(bytes: &[u8]) -> usize {
    let bytes = strip_zeros(bytes);
    match bytes.first() {
        None => 0,
        Some(&top) => bytes.len() * 8 - top.leading_zeros() as usize,
    }
}

/// `a < b` for big-endian unsigned integers.
fn less_than(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    (a.len(), a) < (b.len(), b)
}

impl RsaKey {
    /// A public key from big-endian `n` and `e`, with the `rsa` crate's checks (modulus at
    /// most 4096 bits and odd, `e` odd, in 2..2^33 and below `n`), then ours: at least
    /// `min_bits`, no ROCA fingerprint.
    pub fn new(n: &[u8], e: &[u8], min_bits: usize) -> Result<RsaKey> {
        let (n, e) = (strip_zeros(n), strip_zeros(e));
        check_rsa(n, e, min_bits)?;
        Ok(RsaKey {
            #[cfg(rust_crypto)]
            engine: {
                use rsa::BigUint;
                let key =
                    rsa::RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e));
                // The byte checks mirror the crate's own; it must agree.
                key.map_err(|err| Error::ConfigKey(format!("invalid RSA key: {err}")))?
            },
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// The modulus, big-endian, without leading zeros.
    pub fn n(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian, without leading zeros.
    pub fn e(&self) -> &[u8] {
        &self.e
    }
}

/// [`RsaKey::new`]'s checks, on the bytes alone.
fn check_rsa(n: &[u8], e: &[u8], min_bits: usize) -> Result<()> {
    let invalid = |why: &str| Error::ConfigKey(format!("invalid RSA key: {why}"));
    if bit_length(n) > MAX_RSA_BITS {
        return Err(invalid("modulus too large"));
    }
    let exponent = match e.len() {
        0..=8 => e.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)),
        _ => return Err(invalid("public exponent too large")),
    };
    if !less_than(e, n) || n.last().is_none_or(|b| b & 1 == 0) {
        return Err(invalid("invalid modulus"));
    }
    if exponent & 1 == 0 {
        return Err(invalid("invalid exponent"));
    }
    if exponent < 2 {
        return Err(invalid("public exponent too small"));
    }
    if exponent > MAX_RSA_EXPONENT {
        return Err(invalid("public exponent too large"));
    }
    let bits = bit_length(n);
    if bits < min_bits {
        return Err(Error::ConfigWeakKey(format!(
            "RSA modulus is {bits} bits; at least {min_bits} are required"
        )));
    }
    if roca_fingerprint(n) {
        return Err(Error::ConfigWeakKey(
            "RSA key has the ROCA fingerprint (CVE-2017-15361)".into(),
        ));
    }
    Ok(())
}

impl EcKey {
    /// A point of `curve` from its affine coordinates. Checked to be on the curve where the
    /// engine can check signatures; elsewhere by the host's `importKey`.
    pub fn new(curve: Curve, x: &[u8], y: &[u8]) -> Result<EcKey> {
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(Error::ConfigKey(format!(
                "{} JWK coordinates must be {len} bytes",
                curve.name()
            )));
        }
        Ok(EcKey {
            #[cfg(rust_crypto)]
            engine: {
                let sec1 = [&[4u8][..], x, y].concat();
                let off_curve = |_| {
                    Error::ConfigKey(format!("{} key is not a point on the curve", curve.name()))
                };
                match curve {
                    Curve::P256 => EcEngine::P256(
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
                    ),
                    Curve::P384 => EcEngine::P384(
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
                    ),
                    Curve::P521 => EcEngine::P521(
                        p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
                    ),
                }
            },
            curve,
            x: x.to_vec(),
            y: y.to_vec(),
        })
    }

    /// From a SEC1 encoding: uncompressed everywhere; compressed only for P-256 where the
    /// engine has its arithmetic to decompress it.
    fn from_sec1(curve: Curve, sec1: &[u8]) -> Result<EcKey> {
        let len = curve.coordinate_len();
        match sec1 {
            [4, point @ ..] if point.len() == 2 * len => {
                EcKey::new(curve, &point[..len], &point[len..])
            }
            #[cfg(rust_crypto)]
            [2 | 3, rest @ ..] if curve == Curve::P256 && rest.len() == 32 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map_err(|_| {
                    Error::ConfigKey("P-256 key is not a point on the curve".into())
                })?;
                let point = key.to_encoded_point(false);
                EcKey::new(curve, &point.as_bytes()[1..33], &point.as_bytes()[33..])
            }
            [2 | 3, ..] => Err(Error::ConfigKey(format!(
                "compressed {} points are not supported in this build; give the uncompressed key",
                curve.name()
            ))),
            _ => Err(Error::ConfigKey(format!(
                "malformed {} point",
                curve.name()
            ))),
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The affine x coordinate.
    pub fn x(&self) -> &[u8] {
        &self.x
    }

    /// The affine y coordinate.
    pub fn y(&self) -> &[u8] {
        &self.y
    }
}

/// The encodings of Ed25519's points of small order, sign bit cleared: y = 0, 1, p-1, the
/// two y of the points of order 8, and the non-canonical p and p+1 (libsodium's list).
const SMALL_ORDER: [[u8; 32]; 7] = {
    let mut list = [[0u8; 32]; 7];
    // y = 0 (order 4): all zero.
    // y = 1 (the identity).
    list[1][0] = 1;
    // y = p - 1 = 2^255 - 20 (order 2), p = 2^255 - 19, p + 1: 0xec / 0xed / 0xee, then
    // 0xff… and 0x7f.
    let mut i = 2;
    while i < 5 {
        list[i][0] = 0xea + i as u8;
        let mut j = 1;
        while j < 31 {
            list[i][j] = 0xff;
            j += 1;
        }
        list[i][31] = 0x7f;
        i += 1;
    }
    list[5] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ];
    list[6] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    list
};

/// Is this Ed25519 encoding one of a point of small order (in either sign)?
pub(crate) fn ed25519_small_order(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    SMALL_ORDER.contains(&y)
}

impl EdKey {
    /// An Ed25519 key from its encoding; a point of small order is refused. (Whether the
    /// encoding is a point at all is checked where the engine has curve arithmetic, and
    /// elsewhere by the host's `importKey` and `verify`.)
    pub fn new(bytes: [u8; 32]) -> Result<EdKey> {
        #[cfg(rust_crypto)]
        let engine = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| Error::ConfigKey("Ed25519 key is not a valid point".into()))?;
        #[cfg(rust_crypto)]
        debug_assert_eq!(engine.is_weak(), ed25519_small_order(&bytes));
        if ed25519_small_order(&bytes) {
            return Err(Error::ConfigWeakKey("Ed25519 key has small order".into()));
        }
        Ok(EdKey {
            bytes,
            #[cfg(rust_crypto)]
            engine,
        })
    }

    /// The encoded point.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// ROCA (CVE-2017-15361): moduli from the flawed Infineon generator are `65537^k mod M`, so
/// for every small prime `p` here, `n mod p` lies in the subgroup generated by 65537. A
/// random modulus passes all these tests with negligible probability (Nemec et al., 2017).
/// `n` big-endian; `n mod p` by Horner's rule over its bytes.
pub(crate) fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u32, |r, &b| (r * 256 + u32::from(b)) % p);
        let generator = 65537 % p;
        let mut x = 1u32;
        // The subgroup has at most p-1 elements; walk it once.
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * generator % p;
        }
        false
    })
}

/// The public key in a PEM block.
pub(crate) enum PemKey {
    Rsa(RsaKey),
    Ec(EcKey),
    Ed(EdKey),
}

/// The DER inside a PEM block with this label: `-----BEGIN <label>-----`, base64 (line
/// breaks and spaces between), `-----END <label>-----`.
pub(crate) fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let rest = pem
        .strip_prefix("-----BEGIN ")?
        .strip_prefix(label)?
        .strip_prefix("-----")?;
    let end = format!("-----END {label}-----");
    let body = rest.trim_end().strip_suffix(end.as_str())?;
    let text: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // Encapsulated headers (`Proc-Type: …`) are not base64.
    Base64::decode_vec(&text).ok()
}

/// One DER TLV from the front of `der`: (tag, contents, rest). Definite, minimal lengths.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&b, rest) = rest.split_first()?;
            (b >= 0x80).then_some((usize::from(b), rest))?
        }
        0x82 => {
            let (b, rest) = (rest.get(..2)?, &rest[2..]);
            let len = usize::from(b[0]) << 8 | usize::from(b[1]);
            (len >= 0x100).then_some((len, rest))?
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The one element of `der`, which must have `tag`.
fn only(der: &[u8], tag: u8) -> Option<&[u8]> {
    match tlv(der)? {
        (t, body, []) if t == tag => Some(body),
        _ => None,
    }
}

/// A DER INTEGER that must be positive and minimally encoded: its magnitude.
fn uint(body: &[u8]) -> Option<&[u8]> {
    match body {
        [] => None,
        [b, ..] if b & 0x80 != 0 => None,
        [0, next, ..] if next & 0x80 == 0 => None,
        [0, rest @ ..] if !rest.is_empty() => Some(rest),
        _ => Some(body),
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const SECP521R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub(crate) fn pkcs1(der: &[u8], min_bits: usize) -> Result<RsaKey> {
    let malformed = || Error::ConfigKey("malformed PKCS#1 RSA public key".into());
    let seq = only(der, SEQUENCE).ok_or_else(malformed)?;
    let (tag, n, rest) = tlv(seq).ok_or_else(malformed)?;
    let e = only(rest, INTEGER).and_then(uint).ok_or_else(malformed)?;
    let n = (tag == INTEGER)
        .then(|| uint(n))
        .flatten()
        .ok_or_else(malformed)?;
    RsaKey::new(n, e, min_bits)
}

/// `SubjectPublicKeyInfo` (RFC 5280) of an RSA, P-256, P-384, P-521 or Ed25519 key. `Ok(None)` for
/// well-formed DER of another algorithm, or malformed DER.
pub(crate) fn spki(der: &[u8], min_bits: usize) -> Result<Option<PemKey>> {
    let parsed = (|| {
        let seq = only(der, SEQUENCE)?;
        let (tag, algorithm, rest) = tlv(seq)?;
        let bits = only(rest, BIT_STRING)?;
        let key = bits.strip_prefix(&[0])?; // no unused bits
        (tag == SEQUENCE).then_some(())?;
        let (tag, oid, params) = tlv(algorithm)?;
        (tag == OID).then_some((oid, params, key))
    })();
    let Some((oid, params, key)) = parsed else {
        return Ok(None);
    };
    Ok(Some(match oid {
        RSA_ENCRYPTION if params.is_empty() || only(params, NULL) == Some(&[]) => {
            PemKey::Rsa(pkcs1(key, min_bits)?)
        }
        EC_PUBLIC_KEY => {
            let curve = match only(params, OID) {
                Some(PRIME256V1) => Curve::P256,
                Some(SECP384R1) => Curve::P384,
                Some(SECP521R1) => Curve::P521,
                _ => return Ok(None),
            };
            PemKey::Ec(EcKey::from_sec1(curve, key)?)
        }
        ED25519 if params.is_empty() => {
            let bytes: [u8; 32] = key
                .try_into()
                .map_err(|_| Error::ConfigKey("malformed Ed25519 public key".into()))?;
            PemKey::Ed(EdKey::new(bytes)?)
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_list_matches_dalek() {
        for enc in SMALL_ORDER {
            for sign in [0, 0x80] {
                let mut e = enc;
                e[31] |= sign;
                if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&e) {
                    assert!(k.is_weak(), "{e:02x?}");
                }
                assert!(ed25519_small_order(&e));
            }
        }
        // Dalek's own list of weak points agrees: every weak point it decodes is listed.
        let mut seen = 0;
        for y in 0u8..=255 {
            let mut e = [0u8; 32];
            e[0] = y;
            if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&e) {
                assert_eq!(k.is_weak(), ed25519_small_order(&e), "{e:02x?}");
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn rsa_byte_checks_agree_with_the_rsa_crate() {
        use rsa::BigUint;
        // An odd 2048-bit modulus without the ROCA fingerprint (2^2048 - 1 is odd).
        let n = vec![0xff; 256];
        let mut even = n.clone();
        even[255] = 0xfe;
        let mut big = vec![0x01];
        big.extend(vec![0xff; 512]); // 4097 bits
        for (why, n, e) in [
            ("fine", n.clone(), vec![1, 0, 1]),
            ("e = 3", n.clone(), vec![3]),
            (
                "leading zeros",
                [vec![0, 0], n.clone()].concat(),
                vec![0, 1, 0, 1],
            ),
            ("even modulus", even, vec![1, 0, 1]),
            ("e = 1", n.clone(), vec![1]),
            ("e = 0", n.clone(), vec![]),
            ("even e", n.clone(), vec![1, 0, 0]),
            ("e = 2^33 + 1", n.clone(), vec![2, 0, 0, 0, 1]),
            ("e = 2^33 - 1", n.clone(), vec![1, 0xff, 0xff, 0xff, 0xff]),
            ("e of 9 bytes", n.clone(), vec![1; 9]),
            ("e >= n", vec![0xff; 3], vec![0xff, 0xff, 0xff]),
            ("4097 bits", big, vec![1, 0, 1]),
        ] {
            let ours = check_rsa(strip_zeros(&n), strip_zeros(&e), 0).is_ok();
            let theirs =
                rsa::RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                    .is_ok();
            assert_eq!(ours, theirs, "{why}");
        }
    }

    #[test]
    fn der_is_read_strictly() {
        // Non-minimal lengths, negative or padded integers, trailing bytes.
        assert!(tlv(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_none());
        assert!(tlv(&[0x30, 0x82, 0x00, 0x05, 0, 0, 0, 0, 0]).is_none());
        assert!(tlv(&[0x30, 0x05, 0, 0]).is_none());
        assert_eq!(uint(&[0x80]), None);
        assert_eq!(uint(&[0x00, 0x7f]), None);
        assert_eq!(uint(&[0x00, 0x80]), Some(&[0x80][..]));
        assert_eq!(uint(&[0x00]), Some(&[0x00][..]));
        assert!(only(&[0x02, 0x01, 0x01, 0x00], INTEGER).is_none());
        assert!(matches!(spki(&[0x30, 0x00], 0), Ok(None)));
    }

    #[test]
    fn bit_length_on_bytes() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
    }
}
