//! The identity providers a gate trusts: `verify` alone, or `providers`, each with its own
//! issuer; a token goes to the provider its `iss` names. Each builds its [`Verifier`] from
//! its options, and every option is checked here, when the gate is built.

use std::sync::Arc;

use super::jwk::Alg;
use super::keys::{KeyResolver, KeySet};
use super::remote::{RemoteKeys, RemotePolicy, Source};
use super::{jws, ClaimsPolicy, Verifier};
use crate::config::{durations, Duration, OneOrMany, Options, VerifyOptions};
use crate::error::{Error, Result};
use crate::trace::Observer;

/// One identity provider: how its tokens are verified.
pub(crate) struct Provider {
    /// The `iss` that routes a token here (several providers only).
    pub(crate) issuer: Option<String>,
    pub(crate) verifier: Verifier,
    /// May a JS host check its signatures with its own crypto (`verify.webCrypto`)?
    pub(crate) web_crypto: bool,
}

/// Every provider of a gate.
pub(crate) struct Providers {
    list: Vec<Provider>,
}

impl Providers {
    /// The providers of `options`; `resolver`, when given, replaces the keys of the one
    /// provider (tests, or a host with its own key source).
    pub(crate) fn new(options: &Options, resolver: Option<Arc<dyn KeyResolver>>) -> Result<Self> {
        let routed = match (&options.verify, options.providers.is_empty()) {
            (Some(v), true) => {
                return Ok(Providers {
                    list: vec![Provider::new(v, None, resolver)?],
                })
            }
            (None, false) => &options.providers,
            (Some(_), false) => {
                return Err(Error::ConfigInvalid(
                    "give either verify or providers, not both".into(),
                ))
            }
            (None, true) => {
                return Err(Error::ConfigInvalid(
                    "verify (or providers) is required".into(),
                ))
            }
        };
        if resolver.is_some() {
            return Err(Error::ConfigInvalid(
                "a custom key resolver serves one provider, not providers".into(),
            ));
        }
        let mut list: Vec<Provider> = Vec::new();
        for (i, v) in routed.iter().enumerate() {
            let Some(OneOrMany::One(issuer)) = &v.issuer else {
                return Err(Error::ConfigInvalid(format!(
                    "providers[{i}].issuer must be one string: tokens are routed by it"
                )));
            };
            if list.iter().any(|p| p.issuer.as_deref() == Some(issuer)) {
                return Err(Error::ConfigInvalid(format!(
                    "providers: issuer {issuer:?} appears twice"
                )));
            }
            list.push(Provider::new(v, Some(issuer.clone()), None)?);
        }
        Ok(Providers { list })
    }

    /// Provider `index`, as [`Providers::route`] returned it.
    pub(crate) fn get(&self, index: usize) -> &Provider {
        &self.list[index]
    }

    /// The first provider (the only one unless `providers` is configured).
    pub(crate) fn first(&self) -> &Provider {
        &self.list[0]
    }

    /// The keys of the provider of `issuer`, to verify its other tokens (ID tokens) with.
    pub(crate) fn keys_of(&self, issuer: &str) -> Option<Arc<dyn KeyResolver>> {
        self.list
            .iter()
            .find(|p| p.verifier.policy().issuer.iter().any(|i| i == issuer))
            .map(|p| p.verifier.key_resolver())
    }

    /// All of them, in configuration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.list.iter()
    }

    /// The provider that verifies `token`: the only one, or the one named by its `iss`
    /// (read before verification only to route; the provider then checks it again).
    pub(crate) fn route(&self, token: &str, o: &mut Observer) -> Result<usize> {
        if self.list.len() == 1 && self.list[0].issuer.is_none() {
            return Ok(0);
        }
        let routed = jws::parse(token).and_then(|jws| {
            let iss = jws
                .claims()
                .and_then(|c| c.get("iss")?.as_str().map(str::to_owned))
                .ok_or(Error::IssuerUnknown)?;
            self.list
                .iter()
                .position(|p| p.issuer.as_deref() == Some(iss.as_str()))
                .ok_or(Error::IssuerUnknown)
        });
        match &routed {
            Ok(i) => o.step("provider", true, || {
                format!(
                    "routed by iss to {:?}",
                    self.list[*i].issuer.as_deref().unwrap_or_default()
                )
            }),
            Err(e) => o.error("provider", e),
        }
        routed
    }
}

impl Provider {
    fn new(
        v: &VerifyOptions,
        issuer: Option<String>,
        resolver: Option<Arc<dyn KeyResolver>>,
    ) -> Result<Provider> {
        let algorithms = algorithms(&v.algorithms)?;
        if v.cache_size > 100_000 {
            return Err(Error::ConfigInvalid(format!(
                "verify.cacheSize must be at most 100000, got {}",
                v.cache_size
            )));
        }
        if !v.web_crypto && !algorithms.iter().all(|&a| super::engine_checks(a)) {
            return Err(Error::ConfigInvalid(
                "verify.webCrypto false needs the engine's own RSA, ECDSA and Ed25519, which \
                 this build leaves to the host (build with the rust-crypto feature)"
                    .into(),
            ));
        }
        let issuers = v.issuer.clone().map(|i| i.into_vec()).unwrap_or_default();
        let keys: Arc<dyn KeyResolver> = match (resolver, &v.keys, &v.jwks_uri) {
            (Some(r), _, _) => r,
            (None, Some(_), Some(_)) => {
                return Err(Error::ConfigInvalid(
                    "verify: give keys or jwksUri, not both".into(),
                ))
            }
            (None, Some(keys), None) => Arc::new(KeySet::from_config(keys, &algorithms)?),
            (None, None, remote) => {
                let source = match (remote, issuers.as_slice()) {
                    (Some(uri), _) => Source::Jwks(uri.clone()),
                    (None, [issuer]) => Source::Discovery {
                        issuer: issuer.clone(),
                    },
                    (None, _) => {
                        return Err(Error::ConfigKey(
                            "verify needs keys, a jwksUri, or one issuer to discover keys from"
                                .into(),
                        ))
                    }
                };
                if algorithms.iter().any(|a| a.is_hmac()) {
                    return Err(Error::ConfigAlgorithms(
                        "HMAC algorithms cannot use remote keys: a published secret is no secret"
                            .into(),
                    ));
                }
                Arc::new(RemoteKeys::new(
                    source,
                    RemotePolicy::new(&v.remote)?,
                    algorithms.clone(),
                )?)
            }
        };
        let policy = ClaimsPolicy {
            issuer: issuers,
            audience: v.audience.clone().map(|a| a.into_vec()).unwrap_or_default(),
            clock_tolerance: Duration::within(
                v.clock_tolerance.as_ref(),
                &durations::CLOCK_TOLERANCE,
            )?,
            max_token_age: Some(Duration::within(
                v.max_token_age.as_ref(),
                &durations::MAX_TOKEN_AGE,
            )?)
            .filter(|age| age.is_finite()),
            required_claims: v.required_claims.clone(),
            typ: v.typ.clone(),
            require_exp: v.require_exp,
        };
        Ok(Provider {
            issuer,
            verifier: Verifier::new(algorithms, keys, policy).with_cache(v.cache_size),
            web_crypto: v.web_crypto,
        })
    }
}

/// The allow-list: known JOSE names, never `none`, each once.
fn algorithms(names: &[String]) -> Result<Vec<Alg>> {
    if names.is_empty() {
        return Err(Error::ConfigAlgorithms("verify.algorithms is empty".into()));
    }
    let mut out = Vec::new();
    for name in names {
        if crate::http::same_name(name, "none") {
            return Err(Error::ConfigAlgorithms("\"none\" is never allowed".into()));
        }
        let alg = Alg::from_name(name).ok_or_else(|| {
            Error::ConfigAlgorithms(format!(
                "unknown algorithm {name:?}; supported: {}",
                Alg::ALL.map(Alg::name).join(", ")
            ))
        })?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_exact_and_never_none() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            algorithms(&names(&["RS256", "ES256", "RS256"])),
            Ok(vec![Alg::Rs256, Alg::Es256])
        );
        for bad in [&[][..], &["none"], &["NONE"], &["rs256"], &["ES256K"]] {
            let e = algorithms(&names(bad)).unwrap_err();
            assert_eq!(e.code(), "ERR_CONFIG_ALGORITHMS", "{bad:?}");
        }
    }

    #[test]
    fn providers_are_routed_by_one_distinct_issuer() {
        let options = |json: serde_json::Value| Options::from_json(&json.to_string()).unwrap();
        let key = "an-hmac-secret-of-at-least-32-bytes!!";
        let p = |iss: serde_json::Value| serde_json::json!({ "algorithms": ["HS256"], "keys": key, "issuer": iss });
        let built = |json| Providers::new(&options(json), None).map(|p| p.list.len());
        assert_eq!(
            built(
                serde_json::json!({ "providers": [p("https://a".into()), p("https://b".into())] })
            ),
            Ok(2)
        );
        for bad in [
            serde_json::json!({ "providers": [p("https://a".into()), p("https://a".into())] }),
            serde_json::json!({ "providers": [p(serde_json::json!(["https://a", "https://b"]))] }),
            serde_json::json!({ "verify": p("https://a".into()), "providers": [p("https://b".into())] }),
            serde_json::json!({}),
        ] {
            assert_eq!(
                built(bad.clone()).unwrap_err().code(),
                "ERR_CONFIG_INVALID",
                "{bad}"
            );
        }
    }
}
