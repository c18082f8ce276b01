//! The signature primitive: the `hmac` crate (HS256/384/512) or jwt-compact checks a
//! signature over the signing input with a parsed key. The one place signatures are
//! checked in the engine.
//!
//! HMAC is checked here in every build. RSA, ECDSA and Ed25519 only where the pure-Rust
//! path is built (`cfg(rust_crypto)`: native builds, and wasm32 with the `rust-crypto`
//! feature); the default wasm build leaves them to the host's crypto, and here they are
//! simply invalid (fail closed).

use hmac::{Hmac, Mac};
#[cfg(rust_crypto)]
use jwt_compact::alg::{Ed25519, Es256, Rsa};
#[cfg(rust_crypto)]
use jwt_compact::{Algorithm, AlgorithmSignature};
use sha2::{Sha256, Sha384, Sha512};

use super::jwk::{Alg, Material};

/// HMAC of `message` under `key`, compared with `tag` in constant time (`verify_slice`
/// refuses a tag of another length). The `hmac` crate directly, as jwt-compact's HS256/384/512
/// are built on it: its instances are shared with the sealed sessions' HMAC-SHA-512. Out of
/// line, so an HS256 gate's first check compiles SHA-256 alone, not all three digests.
#[inline(never)]
fn hmac_valid<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    <M as hmac::digest::KeyInit>::new_from_slice(key).is_ok_and(|mut mac| {
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    })
}

/// A signature's bytes as its jwt-compact type. Not `try_from_slice`: for ES256 and EdDSA it
/// wraps the error in `anyhow`, whose backtrace printing (symbol demangling included) is
/// ~28 KB of the .wasm for an error that is only ever dropped.
#[cfg(rust_crypto)]
trait FromBytes: Sized {
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

#[cfg(rust_crypto)]
impl FromBytes for p256::ecdsa::Signature {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_slice(bytes).ok()
    }
}

#[cfg(rust_crypto)]
impl FromBytes for ed25519_dalek::Signature {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_slice(bytes).ok()
    }
}

/// RSA signatures parse without an error path.
#[cfg(rust_crypto)]
macro_rules! from_bytes_via_jwt_compact {
    ($($t:ty),*) => {$(
        impl FromBytes for $t {
            fn from_bytes(bytes: &[u8]) -> Option<Self> {
                <$t as AlgorithmSignature>::try_from_slice(bytes).ok()
            }
        }
    )*};
}
#[cfg(rust_crypto)]
from_bytes_via_jwt_compact!(jwt_compact::alg::RsaSignature);

/// Can the engine itself check signatures of `alg` in this build? HMAC always; the rest
/// only with the pure-Rust path (`cfg(rust_crypto)`).
pub fn engine_checks(alg: Alg) -> bool {
    #[cfg(feature = "_integration_test")]
    if HOST_ONLY.get() {
        return alg.is_hmac();
    }
    cfg!(rust_crypto) || alg.is_hmac()
}

#[cfg(feature = "_integration_test")]
thread_local! {
    static HOST_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tests: on this thread, decide as the default wasm build does, leaving RSA, ECDSA and
/// Ed25519 to "the host" (which a native test plays with [`check_signature`], as
/// `Gate::decide_with` does).
#[cfg(feature = "_integration_test")]
pub fn host_only(on: bool) {
    HOST_ONLY.set(on);
}

/// The signature primitive: jwt-compact checks `signature` over `message`. The key's type
/// decides which implementation runs; a pairing that does not fit is simply false.
/// Public so the Wycheproof suites can drive exactly the code path tokens take.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
pub fn check_signature(alg: Alg, key: &Material, message: &[u8], signature: &[u8]) -> bool {
    #[cfg(rust_crypto)]
    fn run<A: Algorithm>(a: A, key: &A::VerifyingKey, message: &[u8], signature: &[u8]) -> bool
    where
        A::Signature: FromBytes,
    {
        if A::Signature::LENGTH.is_some_and(|len| signature.len() != len.get()) {
            return false;
        }
        A::Signature::from_bytes(signature).is_some_and(|s| a.verify_signature(&s, key, message))
    }
    match (alg, key) {
        (Alg::Hs256, Material::Hmac(k)) => hmac_valid::<Hmac<Sha256>>(k, message, signature),
        (Alg::Hs384, Material::Hmac(k)) => hmac_valid::<Hmac<Sha384>>(k, message, signature),
        (Alg::Hs512, Material::Hmac(k)) => hmac_valid::<Hmac<Sha512>>(k, message, signature),
        #[cfg(rust_crypto)]
        (_, Material::Rsa(k)) => {
            let rsa = match alg {
                Alg::Rs256 => Rsa::rs256(),
                Alg::Rs384 => Rsa::rs384(),
                Alg::Rs512 => Rsa::rs512(),
                Alg::Ps256 => Rsa::ps256(),
                Alg::Ps384 => Rsa::ps384(),
                Alg::Ps512 => Rsa::ps512(),
                _ => return false,
            };
            run(rsa, &k.engine, message, signature)
        }
        #[cfg(rust_crypto)]
        (Alg::Es256 | Alg::Es384 | Alg::Es512, Material::Ec(k)) => {
            use super::pubkey::EcEngine;
            use p256::ecdsa::signature::Verifier;
            // Each curve's `verify` hashes with its own digest: SHA-256, SHA-384, SHA-512
            // (RFC 7518 §3.4), and `from_slice` takes exactly the JOSE `r || s` length.
            match (alg, &k.engine) {
                (Alg::Es256, EcEngine::P256(key)) => run(Es256, key, message, signature),
                (Alg::Es384, EcEngine::P384(key)) => p384::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|s| key.verify(message, &s).is_ok()),
                (Alg::Es512, EcEngine::P521(key)) => p521::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|s| key.verify(message, &s).is_ok()),
                _ => false,
            }
        }
        #[cfg(rust_crypto)]
        (Alg::EdDsa, Material::Ed25519(k)) => run(Ed25519, &k.engine, message, signature),
        // Without the pure-Rust path (the default wasm build) only the host checks these.
        _ => false,
    }
}
