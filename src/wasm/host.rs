//! How a JS host checks a signature itself: WebCrypto's `importKey` and `verify`
//! parameters, and node:crypto's `verify(algorithm, data, { key, ...options }, signature)`.
//! The engine chooses them per algorithm; the host only applies them.
//!
//! One table row per algorithm, written out in one place ([`HostParams::json`]). (Serde
//! structs for these few constants cost 2 KB of the gzipped .wasm.)

use wasm_bindgen::prelude::*;

use crate::Alg;

/// How a host checks one algorithm.
#[derive(Debug, Clone, Copy)]
pub(super) struct HostParams {
    alg: Alg,
    /// WebCrypto's `importKey("jwk", jwk, import, false, ["verify"])` algorithm (JSON).
    import: &'static str,
    /// WebCrypto's `verify(verify, key, signature, data)` algorithm (JSON).
    verify: &'static str,
    /// node:crypto's digest; none for Ed25519.
    digest: Option<&'static str>,
    /// node:crypto's key options (JSON): 6 is `RSA_PKCS1_PSS_PADDING`.
    options: &'static str,
}

impl HostParams {
    /// How a host checks `alg`; `None` for HMAC, which the engine checks faster than a
    /// crossing. Ed25519 goes to the host too: in workerd its WebCrypto takes half the
    /// engine's time (bench/README.md). RFC 7518 §3.5: the PSS salt is as long as the hash.
    pub(super) fn of(alg: Alg) -> Option<HostParams> {
        let row = |import, verify, digest, options| HostParams {
            alg,
            import,
            verify,
            digest,
            options,
        };
        const PKCS1: &str = r#"{"name":"RSASSA-PKCS1-v1_5"}"#;
        Some(match alg {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => return None,
            Alg::Rs256 => row(
                r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
                PKCS1,
                Some("sha256"),
                "{}",
            ),
            Alg::Rs384 => row(
                r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-384"}"#,
                PKCS1,
                Some("sha384"),
                "{}",
            ),
            Alg::Rs512 => row(
                r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-512"}"#,
                PKCS1,
                Some("sha512"),
                "{}",
            ),
            Alg::Ps256 => row(
                r#"{"name":"RSA-PSS","hash":"SHA-256"}"#,
                r#"{"name":"RSA-PSS","saltLength":32}"#,
                Some("sha256"),
                r#"{"padding":6,"saltLength":32}"#,
            ),
            Alg::Ps384 => row(
                r#"{"name":"RSA-PSS","hash":"SHA-384"}"#,
                r#"{"name":"RSA-PSS","saltLength":48}"#,
                Some("sha384"),
                r#"{"padding":6,"saltLength":48}"#,
            ),
            Alg::Ps512 => row(
                r#"{"name":"RSA-PSS","hash":"SHA-512"}"#,
                r#"{"name":"RSA-PSS","saltLength":64}"#,
                Some("sha512"),
                r#"{"padding":6,"saltLength":64}"#,
            ),
            Alg::Es256 => row(
                r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
                r#"{"name":"ECDSA","hash":"SHA-256"}"#,
                Some("sha256"),
                r#"{"dsaEncoding":"ieee-p1363"}"#,
            ),
            Alg::EdDsa => row(r#"{"name":"Ed25519"}"#, r#"{"name":"Ed25519"}"#, None, "{}"),
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
