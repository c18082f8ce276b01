//! Step 4: verify the token. [`jws`] parses it strictly, [`keys`] says which configured keys
//! may check it, jwt-compact checks the signature, and [`ClaimsPolicy`] checks the claims.

pub mod cache;
pub mod jws;
pub mod keys;
pub mod remote;

use std::sync::Arc;

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
pub use cache::{CacheStats, TokenCache};
pub use jws::{Header, Jws};
pub use keys::{Alg, Key, KeyResolver, KeySet, Material};
pub use remote::{Candidates, Fetch, Fetched, RemoteKeys, RemotePolicy, Source};

/// Seconds since the Unix epoch. Injected, because `wasm32-unknown-unknown` has no clock of
/// its own and tests need a fixed one.
pub trait Clock: Send + Sync {
    fn now(&self) -> f64;
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub f64);

impl Clock for FixedClock {
    fn now(&self) -> f64 {
        self.0
    }
}

/// The operating system's clock (not available on `wasm32-unknown-unknown`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// Largest integer a JavaScript number holds exactly; later timestamps are refused.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Claim checks, named after jose's `jwtVerify` options.
#[derive(Debug, Clone, Default)]
pub struct ClaimsPolicy {
    /// Accepted `iss` values (exact match); empty accepts any.
    pub issuer: Vec<String>,
    /// The token's `aud` must contain one of these; empty skips the check.
    pub audience: Vec<String>,
    /// Seconds of leeway for `exp`, `nbf` and `iat`.
    pub clock_tolerance: f64,
    /// Greatest age in seconds, measured from `iat` (which becomes required).
    pub max_token_age: Option<f64>,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Expected `typ` header (`at+jwt` also accepts `application/at+jwt`).
    pub typ: Option<String>,
    /// Refuse tokens without `exp` (default true).
    pub require_exp: bool,
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub alg: Alg,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    /// The keys it was checked against; a cached token is trusted only while one of them
    /// is still among the provider's keys.
    pub keys: Vec<Arc<Key>>,
}

impl Verified {
    /// Scopes from `scope` (space-separated), `scp` (array or string) and `permissions`.
    pub fn scopes(&self) -> Vec<&str> {
        scopes_of(&self.claims)
    }

    pub fn exp(&self) -> Option<f64> {
        self.claims.get("exp").and_then(Value::as_f64)
    }
}

/// Scopes from `scope` (space-separated), `scp` (array or string) and `permissions`.
pub fn scopes_of(claims: &Map<String, Value>) -> Vec<&str> {
    let mut out = Vec::new();
    for name in ["scope", "scp", "permissions"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split_ascii_whitespace()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

/// Checks tokens against an allow-list of algorithms, a key resolver and a claims policy.
#[derive(Clone)]
pub struct Verifier {
    algorithms: Vec<Alg>,
    keys: Arc<dyn KeyResolver>,
    policy: ClaimsPolicy,
    cache: Option<Arc<TokenCache>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.algorithms)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(algorithms: Vec<Alg>, keys: Arc<dyn KeyResolver>, policy: ClaimsPolicy) -> Self {
        Verifier {
            algorithms,
            keys,
            policy,
            cache: None,
        }
    }

    /// Remembers up to `entries` verified tokens (0: no cache).
    #[must_use]
    pub fn with_cache(mut self, entries: usize) -> Self {
        self.cache = (entries > 0).then(|| Arc::new(TokenCache::new(entries)));
        self
    }

    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    pub fn policy(&self) -> &ClaimsPolicy {
        &self.policy
    }

    pub fn keys(&self) -> &dyn KeyResolver {
        self.keys.as_ref()
    }

    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|c| c.stats())
    }

    /// Full JWT verification: signature, then claims at `now`. A token verified before skips
    /// the signature, never the claim checks.
    pub fn verify(&self, token: &str, now: f64) -> Result<Arc<Verified>> {
        match self.start(token, now)? {
            Checked::Cached(hit) => Ok(hit),
            Checked::NeedsSignature(u) => {
                let valid = u.check_here();
                self.finish(u, valid, now)
            }
            Checked::NeedsKeys(_) => Err(Error::JwksUnavailable(
                "keys must be fetched first (use Gate::decide_with)".into(),
            )),
        }
    }

    /// Everything before the signature check: the cache, parsing, the allow-list, `typ` and
    /// key selection. What remains is checking the signature — with jwt-compact
    /// ([`Unverified::check_here`]) or with the host's WebCrypto — and [`Verifier::finish`].
    pub fn start(&self, token: &str, now: f64) -> Result<Checked> {
        if let Some(cache) = &self.cache {
            if let Some(hit) = cache.get(token) {
                match self.recheck(&hit, now) {
                    Ok(None) => return Ok(Checked::Cached(hit)),
                    Ok(Some(fetch)) => return Ok(Checked::NeedsKeys(fetch)),
                    // Expired, or its key left the provider's set: verify from scratch
                    // (which then fails with the precise reason).
                    Err(_) => cache.remove(token),
                }
            }
        }
        let jws = jws::parse(token)?;
        let alg = Alg::from_name(&jws.header.alg)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(Error::AlgNotAllowed)?;
        self.policy.check_typ(jws.header.typ.as_deref())?;
        let candidates = match self.keys.candidates(alg, jws.header.kid.as_deref(), now)? {
            Candidates::Ready(keys) => keys,
            Candidates::Fetch(fetch) => return Ok(Checked::NeedsKeys(fetch)),
        };
        Ok(Checked::NeedsSignature(Unverified {
            alg,
            candidates,
            signing_input: jws.signing_input.to_owned(),
            signature: jws.signature,
            payload: jws.payload,
            kid: jws.header.kid,
            token: token.to_owned(),
        }))
    }

    /// A cache hit holds if its claims hold now and a key it was verified with is still
    /// trusted (remote keys rotate, and may be past their stale-if-error bound).
    fn recheck(&self, hit: &Verified, now: f64) -> Result<Option<Fetch>> {
        self.policy.check(&hit.claims, now)?;
        match self.keys.candidates(hit.alg, hit.kid.as_deref(), now)? {
            Candidates::Fetch(fetch) => Ok(Some(fetch)),
            Candidates::Ready(current)
                if hit
                    .keys
                    .iter()
                    .any(|k| current.iter().any(|c| Arc::ptr_eq(k, c))) =>
            {
                Ok(None)
            }
            Candidates::Ready(_) => Err(Error::NoMatchingKey),
        }
    }

    /// Applies the outcome of a key fetch, if it is this verifier's.
    pub fn complete(&self, id: u64, fetched: Fetched, now: f64) -> Option<bool> {
        self.keys.complete(id, fetched, now)
    }

    /// Is fetch `id` this verifier's?
    pub fn owns(&self, id: u64) -> bool {
        self.keys.owns(id)
    }

    /// Everything after the signature check: claims at `now`, then the cache.
    pub fn finish(&self, u: Unverified, signature_valid: bool, now: f64) -> Result<Arc<Verified>> {
        if !signature_valid {
            return Err(Error::SignatureInvalid);
        }
        let claims = jws::parse_object(&u.payload)
            .ok_or(Error::JwtInvalid("claims are not a JSON object"))?;
        self.policy.check(&claims, now)?;
        let verified = Arc::new(Verified {
            alg: u.alg,
            kid: u.kid,
            claims,
            keys: u.candidates,
        });
        if let Some(cache) = &self.cache {
            cache.put(&u.token, verified.clone());
        }
        Ok(verified)
    }

    /// The JWS layer alone, with static keys: parse, allow-list, `typ`, key selection,
    /// signature. The payload is returned unread (Wycheproof's JWS vectors carry payloads
    /// that are not claims).
    pub fn verify_signature<'t>(&self, token: &'t str) -> Result<(Jws<'t>, Alg)> {
        let jws = jws::parse(token)?;
        let alg = Alg::from_name(&jws.header.alg)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(Error::AlgNotAllowed)?;
        self.policy.check_typ(jws.header.typ.as_deref())?;
        let Candidates::Ready(candidates) =
            self.keys.candidates(alg, jws.header.kid.as_deref(), 0.0)?
        else {
            return Err(Error::JwksUnavailable("keys must be fetched first".into()));
        };
        let input = jws.signing_input.as_bytes();
        if candidates
            .iter()
            .any(|key| check_signature(alg, &key.material, input, &jws.signature))
        {
            Ok((jws, alg))
        } else {
            Err(Error::SignatureInvalid)
        }
    }
}

/// The outcome of [`Verifier::start`].
#[derive(Debug)]
pub enum Checked {
    /// Verified before and its claims hold now.
    Cached(Arc<Verified>),
    /// The signature must be checked before [`Verifier::finish`].
    NeedsSignature(Unverified),
    /// The provider's keys must be fetched first; then start again.
    NeedsKeys(Fetch),
}

/// A parsed token whose signature is still to be checked against `candidates`.
#[derive(Debug)]
pub struct Unverified {
    pub alg: Alg,
    pub candidates: Vec<Arc<Key>>,
    /// The bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
    payload: Vec<u8>,
    kid: Option<String>,
    token: String,
}

impl Unverified {
    /// Checks the signature with jwt-compact; true when any candidate key verifies it.
    pub fn check_here(&self) -> bool {
        let input = self.signing_input.as_bytes();
        self.candidates
            .iter()
            .any(|key| check_signature(self.alg, &key.material, input, &self.signature))
    }
}

/// A signature's bytes as its jwt-compact type. Not `try_from_slice`: for ES256 and EdDSA it
/// wraps the error in `anyhow`, whose backtrace printing (symbol demangling included) is
/// ~28 KB of the .wasm for an error that is only ever dropped.
trait FromBytes: Sized {
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

impl FromBytes for p256::ecdsa::Signature {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_slice(bytes).ok()
    }
}

impl FromBytes for ed25519_dalek::Signature {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_slice(bytes).ok()
    }
}

/// HMAC and RSA signatures parse without an error path.
macro_rules! from_bytes_via_jwt_compact {
    ($($t:ty),*) => {$(
        impl FromBytes for $t {
            fn from_bytes(bytes: &[u8]) -> Option<Self> {
                <$t as AlgorithmSignature>::try_from_slice(bytes).ok()
            }
        }
    )*};
}
from_bytes_via_jwt_compact!(
    jwt_compact::alg::Hs256Signature,
    jwt_compact::alg::Hs384Signature,
    jwt_compact::alg::Hs512Signature,
    jwt_compact::alg::RsaSignature
);

/// The signature primitive: jwt-compact checks `signature` over `message`. The key's type
/// decides which implementation runs; a pairing that does not fit is simply false.
/// Public so the Wycheproof suites can drive exactly the code path tokens take.
pub fn check_signature(alg: Alg, key: &Material, message: &[u8], signature: &[u8]) -> bool {
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
        (Alg::Hs256, Material::Hmac(k)) => run(Hs256, &Hs256Key::new(k), message, signature),
        (Alg::Hs384, Material::Hmac(k)) => run(Hs384, &Hs384Key::new(k), message, signature),
        (Alg::Hs512, Material::Hmac(k)) => run(Hs512, &Hs512Key::new(k), message, signature),
        (Alg::Rs256, Material::Rsa(k)) => run(Rsa::rs256(), k, message, signature),
        (Alg::Rs384, Material::Rsa(k)) => run(Rsa::rs384(), k, message, signature),
        (Alg::Rs512, Material::Rsa(k)) => run(Rsa::rs512(), k, message, signature),
        (Alg::Ps256, Material::Rsa(k)) => run(Rsa::ps256(), k, message, signature),
        (Alg::Ps384, Material::Rsa(k)) => run(Rsa::ps384(), k, message, signature),
        (Alg::Ps512, Material::Rsa(k)) => run(Rsa::ps512(), k, message, signature),
        (Alg::Es256, Material::P256(k)) => run(Es256, k, message, signature),
        (Alg::EdDsa, Material::Ed25519(k)) => run(Ed25519, k, message, signature),
        _ => false,
    }
}

fn claim_err(claim: &'static str, reason: &'static str) -> Error {
    Error::ClaimInvalid { claim, reason }
}

/// A NumericDate (RFC 7519 §2): a finite JSON number within JavaScript's safe range.
fn numeric_date(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<f64>> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if t.is_finite() && t.abs() <= MAX_SAFE_INTEGER => Ok(Some(t)),
            _ => Err(claim_err(claim, "invalid")),
        },
        Some(_) => Err(claim_err(claim, "invalid")),
    }
}

impl ClaimsPolicy {
    pub fn check_typ(&self, typ: Option<&str>) -> Result<()> {
        let Some(expected) = &self.typ else {
            return Ok(());
        };
        // RFC 7515 §4.1.9 / RFC 9068 §4: compare without the optional `application/` prefix,
        // case-insensitively.
        let bare = |t: &str| {
            let t = t.to_ascii_lowercase();
            t.strip_prefix("application/")
                .map(str::to_owned)
                .unwrap_or(t)
        };
        match typ {
            Some(t) if bare(t) == bare(expected) => Ok(()),
            _ => Err(claim_err("typ", "check_failed")),
        }
    }

    /// Claim checks at `now` (seconds), stopping at the first failure.
    pub fn check(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        CLAIM_CHECKS
            .iter()
            .try_for_each(|(_, check)| check(self, claims, now))
    }

    /// Every claim check at `now`, each with its result (for `explain`).
    pub fn explain(
        &self,
        claims: &Map<String, Value>,
        now: f64,
    ) -> Vec<(&'static str, Result<()>)> {
        CLAIM_CHECKS
            .iter()
            .map(|(name, check)| (*name, check(self, claims, now)))
            .collect()
    }

    fn check_required(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        match self
            .required_claims
            .iter()
            .find(|c| !claims.contains_key(*c))
        {
            Some(claim) => Err(Error::ClaimInvalid {
                claim: static_claim(claim),
                reason: "missing",
            }),
            None => Ok(()),
        }
    }

    /// RFC 7519: a token is expired when now >= exp.
    fn check_exp(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        match numeric_date(claims, "exp")? {
            None if self.require_exp => Err(claim_err("exp", "missing")),
            Some(exp) if now >= exp + self.clock_tolerance => Err(Error::Expired),
            _ => Ok(()),
        }
    }

    fn check_nbf(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        match numeric_date(claims, "nbf")? {
            Some(nbf) if now + self.clock_tolerance < nbf => Err(claim_err("nbf", "check_failed")),
            _ => Ok(()),
        }
    }

    fn check_iat(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        let iat = numeric_date(claims, "iat")?;
        if iat.is_some_and(|iat| iat > now + self.clock_tolerance) {
            return Err(claim_err("iat", "check_failed"));
        }
        if let Some(max_age) = self.max_token_age {
            let iat = iat.ok_or(claim_err("iat", "missing"))?;
            if now - iat > max_age + self.clock_tolerance {
                return Err(claim_err("iat", "check_failed"));
            }
        }
        Ok(())
    }

    fn check_iss(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        if self.issuer.is_empty() {
            return Ok(());
        }
        match claims.get("iss") {
            None => Err(claim_err("iss", "missing")),
            Some(Value::String(iss)) if self.issuer.iter().any(|i| i == iss) => Ok(()),
            Some(_) => Err(claim_err("iss", "check_failed")),
        }
    }

    fn check_aud(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        if self.audience.is_empty() {
            return Ok(());
        }
        let accepted = |a: &Value| {
            a.as_str()
                .is_some_and(|a| self.audience.iter().any(|x| x == a))
        };
        match claims.get("aud") {
            None => Err(claim_err("aud", "missing")),
            Some(aud @ Value::String(_)) if accepted(aud) => Ok(()),
            // Every member must be a string; one of them must be ours.
            Some(Value::Array(list))
                if list.iter().all(Value::is_string) && list.iter().any(accepted) =>
            {
                Ok(())
            }
            Some(_) => Err(claim_err("aud", "check_failed")),
        }
    }
}

type ClaimCheck = fn(&ClaimsPolicy, &Map<String, Value>, f64) -> Result<()>;

/// The claim checks in the order they run (and report).
const CLAIM_CHECKS: [(&str, ClaimCheck); 6] = [
    ("requiredClaims", ClaimsPolicy::check_required),
    ("exp", ClaimsPolicy::check_exp),
    ("nbf", ClaimsPolicy::check_nbf),
    ("iat / maxTokenAge", ClaimsPolicy::check_iat),
    ("iss", ClaimsPolicy::check_iss),
    ("aud", ClaimsPolicy::check_aud),
];

/// Error codes carry `&'static str` claim names; custom required claims report as "claim".
fn static_claim(name: &str) -> &'static str {
    match name {
        "sub" => "sub",
        "jti" => "jti",
        "iss" => "iss",
        "aud" => "aud",
        "exp" => "exp",
        "nbf" => "nbf",
        "iat" => "iat",
        "scope" => "scope",
        _ => "claim",
    }
}
