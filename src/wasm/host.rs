//! How a JS host checks a signature itself: WebCrypto's `importKey` and `verify`
//! parameters, and node:crypto's `verify(algorithm, data, { key, ...options }, signature)`.
//! The engine chooses them per algorithm; the host only applies them.
//!
//! Built per algorithm from the hash it uses, and written out in one place
//! ([`HostParams::members`]). (Serde structs for these few constants cost 2 KB of the
//! gzipped .wasm.)

use wasm_bindgen::prelude::*;

use crate::Alg;

/// How a host checks one algorithm.
#[derive(Debug, Clone)]
pub(super) struct HostParams {
    alg: Alg,
    /// WebCrypto's `importKey("jwk", jwk, import, false, ["verify"])` algorithm (JSON).
    import: String,
    /// WebCrypto's `verify(verify, key, signature, data)` algorithm (JSON).
    verify: String,
    /// node:crypto's digest; none for Ed25519.
    digest: Option<&'static str>,
    /// node:crypto's key options (JSON): 6 is `RSA_PKCS1_PSS_PADDING`.
    options: String,
}

impl HostParams {
    /// How a host checks `alg`; `None` for HMAC, which the engine checks faster than a
    /// crossing. Ed25519 goes to the host too: in workerd its WebCrypto takes half the
    /// engine's time (bench/README.md). RFC 7518 §3.5: the PSS salt is as long as the hash.
    pub(super) fn of(alg: Alg) -> Option<HostParams> {
        let (hash, digest, salt) = match alg {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => return None,
            Alg::Rs256 | Alg::Ps256 | Alg::Es256 => ("SHA-256", "sha256", 32),
            Alg::Rs384 | Alg::Ps384 | Alg::Es384 => ("SHA-384", "sha384", 48),
            Alg::Rs512 | Alg::Ps512 | Alg::Es512 => ("SHA-512", "sha512", 64),
            Alg::EdDsa => {
                let ed = r#"{"name":"Ed25519"}"#;
                return Some(HostParams {
                    alg,
                    import: ed.into(),
                    verify: ed.into(),
                    digest: None,
                    options: "{}".into(),
                });
            }
        };
        let (import, verify, options) = match alg {
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 => (
                format!(r#"{{"name":"RSASSA-PKCS1-v1_5","hash":"{hash}"}}"#),
                r#"{"name":"RSASSA-PKCS1-v1_5"}"#.into(),
                "{}".into(),
            ),
            Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => (
                format!(r#"{{"name":"RSA-PSS","hash":"{hash}"}}"#),
                format!(r#"{{"name":"RSA-PSS","saltLength":{salt}}}"#),
                format!(r#"{{"padding":6,"saltLength":{salt}}}"#),
            ),
            // ES512 is P-521 with SHA-512 (RFC 7518 §3.4), the curve from the algorithm.
            _ => (
                format!(
                    r#"{{"name":"ECDSA","namedCurve":"{}"}}"#,
                    alg.curve().map_or("", |c| c.name())
                ),
                format!(r#"{{"name":"ECDSA","hash":"{hash}"}}"#),
                r#"{"dsaEncoding":"ieee-p1363"}"#.into(),
            ),
        };
        Some(HostParams {
            alg,
            import,
            verify,
            digest: Some(digest),
            options,
        })
    }

    /// The JSON members `"alg":…,"webCrypto":{"import":…,"verify":…},"node":{"algorithm":…,
    /// "options":…}`, to splice into an object.
    pub(super) fn members(&self) -> String {
        let digest = match self.digest {
            Some(d) => format!("\"{d}\""),
            None => "null".into(),
        };
        format!(
            r#""alg":"{}","webCrypto":{{"import":{},"verify":{}}},"node":{{"algorithm":{digest},"options":{}}}"#,
            self.alg.name(),
            self.import,
            self.verify,
            self.options
        )
    }
}

/// `{ alg, webCrypto, node }`, how a host checks `alg`, as JSON; `undefined` where the
/// engine checks it. The same for every gate, so the shim asks once per algorithm.
#[wasm_bindgen(js_name = hostParams)]
pub fn host_params_json(alg: &str) -> Option<String> {
    let params = HostParams::of(Alg::from_name(alg)?)?;
    Some(format!("{{{}}}", params.members()))
}
