//! The host's randomness, under one policy: fail closed. A host without a CSPRNG gets
//! [`Error::RandomUnavailable`] (`ERR_RANDOM_UNAVAILABLE`), at construction where the gate
//! needs randomness to exist at all, never predictable bytes.

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::error::{Error, Result};

/// `N` bytes from the host's CSPRNG (getrandom: `crypto.getRandomValues` on wasm).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|_| Error::RandomUnavailable)?;
    Ok(bytes)
}

/// `N` random bytes as base64url: state, nonce and PKCE verifier values.
pub fn random_token<const N: usize>() -> Result<String> {
    Ok(Base64UrlUnpadded::encode_string(&random_bytes::<N>()?))
}

/// A random number, for ids that must not repeat across instances.
pub(crate) fn random_u64() -> Result<u64> {
    random_bytes().map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token::<32>().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token::<32>().unwrap());
    }
}
