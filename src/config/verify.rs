//! How tokens are verified (`verify`), and remote keys (`verify.remote`).

use serde_json::Value;

use super::read::{any, boolean, count, duration, one_or_many, string, strings, Fields};
use super::{Duration, OneOrMany};
use crate::error::Result;

/// One identity provider: how its tokens are verified (jose's `jwtVerify` options).
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The allowed `alg` values; `none` never is.
    pub algorithms: Vec<String>,
    /// A secret, PEM public key, JWK, JWKS, or an array of them.
    pub keys: Option<Value>,
    /// A JWKS URL, fetched by the host and cached (see `remote`).
    pub jwks_uri: Option<String>,
    /// With neither `keys` nor `jwksUri`, the keys are found by OIDC discovery from here.
    pub issuer: Option<OneOrMany>,
    /// Accepted `aud` values: the token's must contain one.
    pub audience: Option<OneOrMany>,
    /// Leeway for `exp`, `nbf` and `iat`.
    pub clock_tolerance: Option<Duration>,
    /// Greatest token age, from `iat`.
    pub max_token_age: Option<Duration>,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// The expected `typ` header (`at+jwt` also accepts `application/at+jwt`).
    pub typ: Option<String>,
    /// Refuse tokens without `exp`. Default true.
    pub require_exp: bool,
    /// Verified tokens remembered so repeat requests skip the signature check (0: off).
    /// Default 1000, at most 100000.
    pub cache_size: usize,
    /// On JS hosts, check RSA and ECDSA signatures with the host's native crypto (node:crypto
    /// on Node, else WebCrypto) instead of jwt-compact in wasm. HMAC stays in the engine, and
    /// Ed25519 too except on node:crypto: wherever that is faster (bench/README.md).
    pub web_crypto: bool,
    /// How remote keys (`jwksUri` or discovery) are fetched and cached.
    pub remote: RemoteOptions,
}

/// Remote key cache tuning. Durations are seconds or strings like `"10m"`; each has an
/// upper bound, which also catches jose's millisecond values passed by habit.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// How long fetched keys are fresh. Default 10 minutes, at most a day.
    pub cache_max_age: Option<Duration>,
    /// Least time between two fetches (an unknown `kid`, a failure). Default 30 s.
    pub cooldown_duration: Option<Duration>,
    /// Give up on a fetch after this long. Default 5 s, at most 60.
    pub timeout_duration: Option<Duration>,
    /// How long stale keys still serve while the provider fails. Default 1 hour.
    pub stale_if_error: Option<Duration>,
    /// Largest answer read, in bytes. Default 256 KiB.
    pub max_response_bytes: Option<usize>,
    /// The `User-Agent` of key fetches. Default `edgegate/<version>`.
    pub user_agent: Option<String>,
}

impl VerifyOptions {
    #[inline(never)]
    pub(super) fn read(path: &str, value: Value) -> Result<VerifyOptions> {
        let mut f = Fields::new(path, value, "VerifyOptions")?;
        let options = VerifyOptions {
            algorithms: f.required("algorithms", strings)?,
            keys: f.opt("keys", any)?,
            jwks_uri: f.opt("jwksUri", string)?,
            issuer: f.opt("issuer", one_or_many)?,
            audience: f.opt("audience", one_or_many)?,
            clock_tolerance: f.opt("clockTolerance", duration)?,
            max_token_age: f.opt("maxTokenAge", duration)?,
            required_claims: f.or("requiredClaims", Vec::new(), strings)?,
            typ: f.opt("typ", string)?,
            require_exp: f.or("requireExp", true, boolean)?,
            cache_size: f.or("cacheSize", 1000, count)?,
            web_crypto: f.or("webCrypto", true, boolean)?,
            remote: f.or("remote", RemoteOptions::default(), RemoteOptions::read)?,
        };
        f.finish().map(|()| options)
    }
}

impl RemoteOptions {
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<RemoteOptions> {
        let mut f = Fields::new(path, value, "RemoteOptions")?;
        let options = RemoteOptions {
            cache_max_age: f.opt("cacheMaxAge", duration)?,
            cooldown_duration: f.opt("cooldownDuration", duration)?,
            timeout_duration: f.opt("timeoutDuration", duration)?,
            stale_if_error: f.opt("staleIfError", duration)?,
            max_response_bytes: f.opt("maxResponseBytes", count)?,
            user_agent: f.opt("userAgent", string)?,
        };
        f.finish().map(|()| options)
    }
}
