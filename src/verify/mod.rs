//! Verify the token. [`jws`] parses it strictly, the provider's [`KeyResolver`] (the static
//! [`KeySet`], or [`RemoteKeys`] from a JWKS) says which keys may check it, [`signature`]
//! checks it with jwt-compact, and [`ClaimsPolicy`] checks the claims; a [`TokenCache`]
//! remembers tokens verified before. [`Providers`] builds one [`Verifier`] per identity
//! provider from the options.
//!
//! [`Verifier::start`] → (signature, here or on the host) → [`Verifier::finish`] is the only
//! path a token takes: `verify`, the wasm boundary's host checks and `explain` all use it.

mod cache;
mod claims;
mod jwk;
pub(crate) mod jws;
mod keys;
mod providers;
mod pubkey;
mod remote;
mod signature;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fetch::Progress;
use crate::trace::Observer;
pub use cache::{CacheStats, TokenCache};
pub use claims::{scopes_of, ClaimsPolicy};
pub(crate) use jwk::MIN_RSA_BITS as MIN_RSA_KEY_BITS;
pub use jwk::{Alg, Key, Material};
pub use jws::Jws;
pub use keys::{Candidates, KeyResolver, KeySet};
pub(crate) use providers::Providers;

/// Keys for `algorithms` discovered from `issuer` (OIDC discovery, then its JWKS), with the
/// default remote policy.
pub(crate) fn discovered_keys(issuer: &str, algorithms: Vec<Alg>) -> Result<Arc<dyn KeyResolver>> {
    let source = remote::Source::Discovery {
        issuer: issuer.to_owned(),
    };
    Ok(Arc::new(remote::RemoteKeys::new(
        source,
        remote::RemotePolicy::default(),
        algorithms,
    )?))
}
#[cfg(feature = "_integration_test")]
pub use signature::host_only;
pub use signature::{check_signature, engine_checks};
#[cfg(feature = "_integration_test")]
pub use {
    jwk::{EcKey, EdKey, KeyId, RsaKey, MAX_KEYS, MIN_RSA_BITS, MIN_SECRET_BYTES},
    jws::Header,
    remote::{RemoteKeys, RemotePolicy, Source},
};

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The algorithm its signature was checked with; `None` for a token an auth library's
    /// sealed session vouches for (`session.verifyToken: false`).
    pub alg: Option<Alg>,
    /// Its header's `kid`.
    pub kid: Option<String>,
    /// Its claims, all checks passed.
    pub claims: Map<String, Value>,
    /// The keys it was checked against; a cached token is trusted only while one of them
    /// is still among the provider's keys.
    pub keys: Vec<Arc<Key>>,
}

impl Verified {
    /// A token taken as is from a session whose encryption authenticated it, with the
    /// session's claims (for scopes and claim headers).
    pub fn vouched(claims: Map<String, Value>) -> Verified {
        Verified {
            alg: None,
            kid: None,
            claims,
            keys: Vec::new(),
        }
    }

    /// Scopes from `scope` (space-separated), `scp` (array or string) and `permissions`.
    pub fn scopes(&self) -> Vec<&str> {
        scopes_of(&self.claims)
    }

    /// The `exp` claim, if any.
    pub fn exp(&self) -> Option<f64> {
        self.claims.get("exp").and_then(Value::as_f64)
    }
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

/// A token on its way: verified before, or parsed with its signature still to check.
#[derive(Debug)]
pub(crate) enum Checked {
    /// Verified before and its claims hold now.
    Cached(Arc<Verified>),
    /// The signature must be checked before [`Verifier::finish`].
    NeedsSignature(Unverified),
}

/// A parsed token whose signature is still to be checked against `candidates`.
#[derive(Debug)]
pub struct Unverified {
    /// The algorithm to check with: allowed, and fitting every candidate.
    pub alg: Alg,
    /// The keys that may have signed it.
    pub candidates: Vec<Arc<Key>>,
    /// The bytes the signature covers.
    pub signing_input: String,
    /// The signature, decoded.
    pub signature: Vec<u8>,
    payload: Vec<u8>,
    kid: Option<String>,
    token: String,
}

impl Unverified {
    /// The token whose signature this is.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Can the engine check this signature itself in this build ([`engine_checks`])?
    /// Where not, only the host can; [`Unverified::check_here`] then says invalid.
    pub fn engine_checks(&self) -> bool {
        engine_checks(self.alg)
    }

    /// Checks the signature with jwt-compact; true when any candidate key verifies it.
    /// False, fail closed, for an algorithm this build leaves to the host.
    pub fn check_here(&self) -> bool {
        let input = self.signing_input.as_bytes();
        self.candidates
            .iter()
            .any(|key| check_signature(self.alg, &key.material, input, &self.signature))
    }
}

impl Verifier {
    /// A verifier accepting `algorithms`, with keys from `keys`, checking claims by `policy`.
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

    /// The allowed algorithms.
    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    /// The claim checks.
    pub fn policy(&self) -> &ClaimsPolicy {
        &self.policy
    }

    /// Where the keys come from.
    pub fn keys(&self) -> &dyn KeyResolver {
        self.keys.as_ref()
    }

    /// The key source, shared (another verifier of the same issuer may use it).
    pub(crate) fn key_resolver(&self) -> Arc<dyn KeyResolver> {
        self.keys.clone()
    }

    /// Hits, misses and size of the verified-token cache, if it has one.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|c| c.stats())
    }

    /// Full JWT verification: signature, then claims at `now`. A token verified before skips
    /// the signature, never the claim checks. (A signature only the host's crypto can check
    /// is invalid here: see [`Unverified::check_here`].)
    pub fn verify(&self, token: &str, now: f64) -> Result<Arc<Verified>> {
        let progress = self.verify_progress(token, now, None).unwrap_or_else(|u| {
            let valid = u.check_here();
            Progress::Done(self.finish(*u, valid, now, &mut Observer::quiet()))
        });
        match progress {
            Progress::Done(verified) => verified,
            Progress::NeedsFetch(_) => Err(Error::JwksUnavailable(
                "keys must be fetched first (use Gate::decide_with)".into(),
            )),
        }
    }

    /// [`Verifier::verify`], or the key fetch it needs first. The signature is checked here
    /// with jwt-compact where this build can ([`engine_checks`]); else it is the host's to
    /// check: `Err` hands it back, and verifying again with `verdict` (this token, and
    /// whether its signature is valid) finishes it. A valid one is then cached, if the
    /// verifier has a cache.
    pub(crate) fn verify_progress(
        &self,
        token: &str,
        now: f64,
        verdict: Option<(&str, bool)>,
    ) -> std::result::Result<Progress<Result<Arc<Verified>>>, Box<Unverified>> {
        let quiet = &mut Observer::quiet();
        Ok(match self.start(token, now, quiet) {
            Ok(Progress::Done(Checked::Cached(hit))) => Progress::Done(Ok(hit)),
            Ok(Progress::Done(Checked::NeedsSignature(u))) => {
                let valid = match verdict {
                    _ if u.engine_checks() => u.check_here(),
                    Some((checked, valid)) if checked == token => valid,
                    _ => return Err(Box::new(u)),
                };
                Progress::Done(self.finish(u, valid, now, quiet))
            }
            Ok(Progress::NeedsFetch(fetch)) => Progress::NeedsFetch(fetch),
            Err(e) => Progress::Done(Err(e)),
        })
    }

    /// The JWS layer alone: parse, allow-list, `typ`, key selection, signature. The payload
    /// is returned unread (Wycheproof's JWS vectors carry payloads that are not claims).
    pub fn verify_signature<'t>(&self, token: &'t str) -> Result<(Jws<'t>, Alg)> {
        let Progress::Done((jws, alg, candidates)) =
            self.prepare(token, 0.0, &mut Observer::quiet())?
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

    /// Everything before the signature check: the cache (when deciding), then
    /// [`Verifier::prepare`]. What remains is checking the signature, with jwt-compact
    /// ([`Unverified::check_here`]) or the host's crypto, and [`Verifier::finish`].
    pub(crate) fn start(
        &self,
        token: &str,
        now: f64,
        o: &mut Observer,
    ) -> Result<Progress<Checked>> {
        if let Some(cache) = self.cache.as_ref().filter(|_| !o.explaining()) {
            if let Some(hit) = cache.get(token) {
                match self.recheck(&hit, now) {
                    Ok(None) => return Ok(Progress::Done(Checked::Cached(hit))),
                    Ok(Some(fetch)) => return Ok(Progress::NeedsFetch(fetch)),
                    // Expired, or its key left the provider's set: verify from scratch
                    // (which then fails with the precise reason).
                    Err(_) => cache.remove(token),
                }
            }
        }
        Ok(match self.prepare(token, now, o)? {
            Progress::NeedsFetch(fetch) => Progress::NeedsFetch(fetch),
            Progress::Done((jws, alg, candidates)) => {
                Progress::Done(Checked::NeedsSignature(Unverified {
                    alg,
                    candidates,
                    signing_input: jws.signing_input.to_owned(),
                    signature: jws.signature,
                    payload: jws.payload,
                    kid: jws.header.kid,
                    token: token.to_owned(),
                }))
            }
        })
    }

    /// The one path from a token to the keys that may check it: parse, the algorithm
    /// allow-list, `typ`, then the candidate keys (or the fetch they need first).
    #[allow(clippy::type_complexity)]
    fn prepare<'t>(
        &self,
        token: &'t str,
        now: f64,
        o: &mut Observer,
    ) -> Result<Progress<(Jws<'t>, Alg, Vec<Arc<Key>>)>> {
        let jws = jws::parse(token).inspect_err(|e| o.error("parse", e))?;
        let h = &jws.header;
        o.step("parse", true, || {
            let named = |name: &str, value: &Option<String>| match value {
                Some(v) => format!(", {name} {v:?}"),
                None => format!(", no {name}"),
            };
            format!(
                "alg {:?}{}{}",
                h.alg,
                named("kid", &h.kid),
                named("typ", &h.typ)
            )
        });
        let Some(alg) = Alg::from_name(&h.alg).filter(|a| self.algorithms.contains(a)) else {
            o.error("algorithm", &Error::AlgNotAllowed);
            return Err(Error::AlgNotAllowed);
        };
        o.step("algorithm", true, || format!("{} is allowed", alg.name()));
        self.policy
            .check_typ(h.typ.as_deref())
            .inspect_err(|e| o.error("typ", e))?;
        // Explaining fetches nothing: it reads the keys as the gate holds them now.
        let candidates = if o.explaining() {
            self.keys.peek(alg, h.kid.as_deref(), now)
        } else {
            self.keys.candidates(alg, h.kid.as_deref(), now)
        }
        .inspect_err(|e| o.error("keys", e))?;
        Ok(match candidates {
            Progress::Done(keys) => {
                o.step("keys", true, || format!("{} candidate key(s)", keys.len()));
                Progress::Done((jws, alg, keys))
            }
            Progress::NeedsFetch(fetch) => {
                o.step("keys", false, || {
                    format!("keys not loaded yet: would fetch {}", fetch.url)
                });
                o.inconclusive();
                Progress::NeedsFetch(fetch)
            }
        })
    }

    /// A cache hit holds if its claims hold now and a key it was verified with is still
    /// trusted (remote keys rotate, and may be past their stale-if-error bound).
    fn recheck(&self, hit: &Verified, now: f64) -> Result<Option<crate::fetch::Fetch>> {
        self.policy.check(&hit.claims, now)?;
        // Only verified tokens are cached, each with its algorithm.
        let alg = hit.alg.ok_or(Error::NoMatchingKey)?;
        match self.keys.candidates(alg, hit.kid.as_deref(), now)? {
            Progress::NeedsFetch(fetch) => Ok(Some(fetch)),
            Progress::Done(current)
                if hit
                    .keys
                    .iter()
                    .any(|k| current.iter().any(|c| Arc::ptr_eq(k, c))) =>
            {
                Ok(None)
            }
            Progress::Done(_) => Err(Error::NoMatchingKey),
        }
    }

    /// Applies the outcome of a key fetch, if it is this verifier's.
    pub fn complete(&self, id: u64, fetched: crate::fetch::Fetched, now: f64) -> Option<bool> {
        self.keys.complete(id, fetched, now)
    }

    /// Is fetch `id` this verifier's?
    pub fn owns(&self, id: u64) -> bool {
        self.keys.owns(id)
    }

    /// Everything after the signature check: claims at `now`, then the cache.
    pub(crate) fn finish(
        &self,
        u: Unverified,
        signature_valid: bool,
        now: f64,
        o: &mut Observer,
    ) -> Result<Arc<Verified>> {
        if !signature_valid {
            o.error("signature", &Error::SignatureInvalid);
            return Err(Error::SignatureInvalid);
        }
        o.step("signature", true, || "valid".into());
        let claims = jws::parse_object(&u.payload).ok_or_else(|| {
            let e = Error::JwtInvalid("claims are not a JSON object");
            o.error("claims", &e);
            e
        })?;
        self.policy.check_observed(&claims, now, o)?;
        let verified = Arc::new(Verified {
            alg: Some(u.alg),
            kid: u.kid,
            claims,
            keys: u.candidates,
        });
        if let Some(cache) = self.cache.as_ref().filter(|_| !o.explaining()) {
            cache.put(&u.token, verified.clone());
        }
        Ok(verified)
    }
}
