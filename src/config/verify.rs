//! How tokens are verified (`verify`), and remote keys (`verify.remote`).

use serde::Deserialize;
use serde_json::Value;

use super::{default_cache_size, yes, Duration, OneOrMany};

/// One identity provider: how its tokens are verified (jose's `jwtVerify` options).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOptions {
    /// The allowed `alg` values; `none` never is.
    pub algorithms: Vec<String>,
    /// A secret, PEM public key, JWK, JWKS, or an array of them.
    #[serde(default)]
    pub keys: Option<Value>,
    /// A JWKS URL, fetched by the host and cached (see `remote`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// With neither `keys` nor `jwksUri`, the keys are found by OIDC discovery from here.
    #[serde(default)]
    pub issuer: Option<OneOrMany>,
    /// Accepted `aud` values: the token's must contain one.
    #[serde(default)]
    pub audience: Option<OneOrMany>,
    /// Leeway for `exp`, `nbf` and `iat`.
    #[serde(default)]
    pub clock_tolerance: Option<Duration>,
    /// Greatest token age, from `iat`.
    #[serde(default)]
    pub max_token_age: Option<Duration>,
    /// Claims that must be present.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// The expected `typ` header (`at+jwt` also accepts `application/at+jwt`).
    #[serde(default)]
    pub typ: Option<String>,
    /// Refuse tokens without `exp`. Default true.
    #[serde(default = "yes")]
    pub require_exp: bool,
    /// Verified tokens remembered so repeat requests skip the signature check (0: off).
    /// Default 1000, at most 100000.
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
    /// On JS hosts, check RSA and ECDSA signatures with the host's native crypto (node:crypto
    /// on Node, else WebCrypto) instead of jwt-compact in wasm. HMAC stays in the engine, and
    /// Ed25519 too except on node:crypto: wherever that is faster (bench/README.md).
    #[serde(default = "yes")]
    pub web_crypto: bool,
    /// How remote keys (`jwksUri` or discovery) are fetched and cached.
    #[serde(default)]
    pub remote: RemoteOptions,
}

/// Remote key cache tuning. Durations are seconds or strings like `"10m"`; each has an
/// upper bound, which also catches jose's millisecond values passed by habit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteOptions {
    /// How long fetched keys are fresh. Default 10 minutes, at most a day.
    #[serde(default)]
    pub cache_max_age: Option<Duration>,
    /// Least time between two fetches (an unknown `kid`, a failure). Default 30 s.
    #[serde(default)]
    pub cooldown_duration: Option<Duration>,
    /// Give up on a fetch after this long. Default 5 s, at most 60.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
    /// How long stale keys still serve while the provider fails. Default 1 hour.
    #[serde(default)]
    pub stale_if_error: Option<Duration>,
    /// Largest answer read, in bytes. Default 256 KiB.
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// The `User-Agent` of key fetches. Default `edgegate/<version>`.
    #[serde(default)]
    pub user_agent: Option<String>,
}
