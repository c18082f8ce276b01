//! Which rule a request falls under. Rules are written in Next.js `matcher` syntax
//! ([`matcher`], compiled by [`path_to_regexp`] onto the small backtracking [`regex`] engine); the first rule whose sources
//! match the normalized path wins. Rules that protect (`page`, `api`) are read wide, every
//! spelling Next might route to their handler; exceptions (`public`, `guest`) are read
//! exactly, and only for a target already in canonical form. A rule may name the
//! [`upstream`] its requests go to.

pub(crate) mod matcher;
pub(crate) mod path_to_regexp;
pub(crate) mod regex;
pub(crate) mod upstream;

use crate::config::{Options, RuleKind};
use crate::error::{Error, Result};
use crate::normalize::NormalizedPath;
use crate::trace::{failed, Observer};
pub use matcher::{Matcher, Reading, Site};
pub use upstream::Upstream;
#[cfg(feature = "_integration_test")]
pub use {matcher::compile_regex, path_to_regexp::path_to_regexp, regex::Regex};

/// One rule, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// The `match` sources as written, for traces.
    pub(crate) sources: Vec<String>,
    matchers: Vec<Matcher>,
    pub(crate) kind: RuleKind,
    /// Scopes the token must carry, all of them.
    pub(crate) scopes: Vec<String>,
    pub(crate) upstream: Option<Upstream>,
}

/// The rules of a gate, in order.
#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    /// The configured rules, then the session library's routes, then the gate's own
    /// (matched by their routes, not here).
    rules: Vec<Rule>,
    configured: usize,
    /// Where the session library's routes are in `rules`: matched before the configured
    /// rules (its handlers answer there), under indices after them, so a configured rule's
    /// index is its place in `rules`.
    library: std::ops::Range<usize>,
    /// Next's `basePath` (empty without one): where its `_next/data` forms start.
    base_path: String,
}

/// A rule whose matcher failed (the backtracking bound): the request is refused.
pub(crate) type MatchError = (usize, Error);

impl RuleSet {
    /// Compiles `rules` (or the defaults) for the site of `basePath` and `locales`, with
    /// their upstreams resolved through `upstreams`.
    pub(crate) fn new(options: &Options) -> Result<RuleSet> {
        let site = Site::new(options.base_path.as_deref(), &options.locales)?;
        for (name, url) in &options.upstreams {
            Upstream::new(url, &format!("upstreams.{name}"))?;
            // A rule's `upstream` with a `:` is a URL, so such a name could never be used.
            if name.contains(':') {
                return Err(Error::ConfigUrl(format!("upstreams: {name:?} has a \":\"")));
            }
        }
        let mut rules = Vec::new();
        for (i, rule) in options.rules_or_default().into_iter().enumerate() {
            let sources = rule.matcher.into_vec();
            let reading = if rule.kind.is_exception() {
                Reading::Exact
            } else {
                Reading::Wide
            };
            let matchers = sources
                .iter()
                .map(|source| Matcher::new(source, &site, reading))
                .collect::<Result<Vec<_>>>()?;
            if matchers.is_empty() {
                return Err(Error::ConfigInvalid(
                    "a rule has an empty \"match\" list".into(),
                ));
            }
            // An absolute URL, or the name of one in `upstreams` (names have no `:`).
            let upstream = match &rule.upstream {
                None => None,
                Some(url) if url.contains(':') => Some(url),
                Some(name) => Some(options.upstreams.get(name).ok_or_else(|| {
                    Error::ConfigUrl(format!(
                        "rules[{i}].upstream: {name:?} is neither an absolute URL nor a name in upstreams"
                    ))
                })?),
            }
            .map(|url| Upstream::new(url, &format!("rules[{i}].upstream")))
            .transpose()?;
            if !rule.scopes.iter().all(|s| is_scope_token(s)) {
                return Err(Error::ConfigInvalid(format!(
                    "scopes must be RFC 6749 scope tokens, got {:?}",
                    rule.scopes
                )));
            }
            rules.push(Rule {
                sources,
                matchers,
                kind: rule.kind,
                scopes: rule.scopes,
                upstream,
            });
        }
        let configured = rules.len();
        // The library a session comes from answers its own routes (`/api/auth/signin`, …):
        // left open as a public rule is, read exactly.
        if let Some(session) = &options.session {
            let sources: Vec<String> = session.format.routes().iter().map(|&r| r.into()).collect();
            rules.push(Rule {
                matchers: sources
                    .iter()
                    .map(|source| Matcher::new(source, &site, Reading::Exact))
                    .collect::<Result<_>>()?,
                sources,
                kind: RuleKind::Public,
                scopes: Vec::new(),
                upstream: None,
            });
        }
        Ok(RuleSet {
            library: configured..rules.len(),
            configured,
            rules,
            base_path: site.base_path.unwrap_or_default(),
        })
    }

    /// Adds a rule of the gate's own (hosted login's `/session`, judged as an API), which
    /// no path matches: the caller picks it by route. Returns its index.
    pub(crate) fn push_internal(&mut self, kind: RuleKind) -> usize {
        self.rules.push(Rule {
            sources: Vec::new(),
            matchers: Vec::new(),
            kind,
            scopes: Vec::new(),
            upstream: None,
        });
        self.rules.len() - 1
    }

    /// Rule `index`, as [`RuleSet::find`] returned it.
    pub(crate) fn get(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    /// The first rule whose sources match `path`. An exception (public, guest) is read
    /// exactly and only from a target already in canonical form: any other spelling falls
    /// through to the rules after it, which protect if they match.
    pub(crate) fn find(
        &self,
        path: &NormalizedPath,
        o: &mut Observer,
    ) -> std::result::Result<Option<usize>, MatchError> {
        let found = self.first_match(path);
        let narrowed = if path.canonical {
            ""
        } else {
            " (the target is not in canonical form, so no public or guest rule applies)"
        };
        match &found {
            Err((i, e)) => o.fail("match", e, || {
                format!("rule {i} {:?}: {}", self.rules[*i].sources, failed(e))
            }),
            Ok(None) => o.step("match", true, || {
                format!("no rule matches: public{narrowed}")
            }),
            Ok(Some(i)) => o.step("match", true, || {
                let rule = &self.rules[*i];
                format!(
                    "rule {i} ({}) {:?}{narrowed}",
                    rule.kind.as_str(),
                    rule.sources
                )
            }),
        }
        found
    }

    /// Would a host that strips a transport suffix before the gate sees the path route it
    /// as the gate judged `path`? Next hands middleware `/x` for `/x.rsc`,
    /// `/x.prefetch.rsc` and `/x.segments/….segment.rsc` but routes the raw one, which a
    /// dynamic segment may absorb (`/api/login.rsc` reaches `/api/[name]`). Unless every
    /// such spelling falls under no rule or an exception too, as `path` did, the request
    /// must be rewritten to the judged path.
    pub(crate) fn routes_alike(&self, path: &NormalizedPath) -> bool {
        const SUFFIXES: [&str; 3] = [".rsc", ".prefetch.rsc", ".segments/_tree.segment.rsc"];
        let base = if path.path == "/" {
            "/index"
        } else {
            &path.path
        };
        SUFFIXES.iter().all(|suffix| {
            let spelling = NormalizedPath {
                path: [base, suffix].concat(),
                query: None,
                canonical: path.canonical,
            };
            match self.first_match(&spelling) {
                Ok(None) => true,
                Ok(Some(i)) => self.rules[i].kind.is_exception(),
                // A matcher error reads as a difference: the rewrite is the safe side.
                Err(_) => false,
            }
        })
    }

    fn first_match(&self, path: &NormalizedPath) -> std::result::Result<Option<usize>, MatchError> {
        let order = self.library.clone().chain(0..self.configured);
        for (index, rule) in order.map(|i| (i, &self.rules[i])) {
            if rule.kind.is_exception() && !path.canonical {
                continue;
            }
            for m in &rule.matchers {
                if m.is_match(&path.path).map_err(|e| (index, e))? {
                    return Ok(Some(index));
                }
            }
        }
        Ok(None)
    }
}

/// RFC 6749 §3.3 scope-token (no space, quote or backslash: it is echoed in a header).
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;
    use crate::trace::Observer;

    fn rules(json: serde_json::Value) -> Result<RuleSet> {
        RuleSet::new(&Options::from_json(&json.to_string()).unwrap())
    }

    fn code(json: serde_json::Value) -> &'static str {
        rules(json).map(|_| "OK").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn rules_validate_themselves() {
        use serde_json::json;
        assert_eq!(code(json!({})), "OK");
        assert_eq!(
            code(json!({ "rules": [{ "match": [], "kind": "api" }] })),
            "ERR_CONFIG_INVALID"
        );
        assert_eq!(
            code(json!({ "rules": [{ "match": "/a", "kind": "api", "scopes": ["a b"] }] })),
            "ERR_CONFIG_INVALID"
        );
        assert_eq!(
            code(json!({ "rules": [{ "match": "/a", "kind": "api", "upstream": "backend" }] })),
            "ERR_CONFIG_URL"
        );
        assert_eq!(
            code(json!({ "upstreams": { "a:b": "https://api.internal" } })),
            "ERR_CONFIG_URL"
        );
        assert_eq!(code(json!({ "basePath": "/docs/" })), "ERR_CONFIG_URL");
        assert_eq!(code(json!({ "locales": ["en US"] })), "ERR_CONFIG_INVALID");
        assert_eq!(
            code(json!({ "rules": [{ "match": "/a(", "kind": "api" }] })),
            "ERR_CONFIG_PATTERN"
        );
    }

    #[test]
    fn the_first_match_wins_and_exceptions_need_a_canonical_target() {
        let set = rules(serde_json::json!({ "rules": [
            { "match": "/api/login", "kind": "public" },
            { "match": "/api/:path*", "kind": "api", "upstream": "https://api.internal" },
        ] }))
        .unwrap();
        let find = |target: &str| {
            set.find(&normalize(target).unwrap(), &mut Observer::quiet())
                .unwrap()
        };
        assert_eq!(find("/api/login"), Some(0));
        assert_eq!(find("/api/l%6fgin"), Some(1));
        assert_eq!(find("/API/login"), Some(1));
        assert_eq!(find("/about"), None);
        assert_eq!(
            set.get(1).upstream.as_ref().map(Upstream::base),
            Some("https://api.internal")
        );
    }
}
