//! `explain`: the whole trace of how a request would be decided — normalized path, every
//! rule tried, token source, CSRF, each JWS and claim check, scopes — for debugging.
//!
//! Side-effect free: it reads the verified-token cache without counting, never starts a
//! key fetch or a refresh, and checks signatures with the engine. A gate never puts a trace
//! in a response; the host decides where it goes.

use serde_json::Value;

use crate::config::RuleKind;
use crate::decide::{joined, secure_context, values, Gate, Request, Route};
use crate::error::Error;
use crate::extract::TokenSource;
use crate::normalize::{normalize, NormalizedPath};
use crate::verify::{jws, scopes_of, Alg, Candidates};

/// One step of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStep {
    pub step: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Every step of a decision, in order; the first failing step (if any) is why it would be
/// refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub steps: Vec<TraceStep>,
}

impl Trace {
    fn push(&mut self, step: &'static str, ok: bool, detail: impl Into<String>) -> bool {
        self.steps.push(TraceStep {
            step,
            ok,
            detail: detail.into(),
        });
        ok
    }
}

fn failed(e: &Error) -> String {
    format!("{}: {e}", e.code())
}

impl Gate {
    /// The trace of how `request` would be decided (see the module comment).
    pub fn explain(&self, request: &Request) -> Trace {
        let mut t = Trace::default();
        let path = match normalize(&request.url) {
            Ok(p) => {
                t.push("normalize", true, format!("path {:?}", p.path));
                p
            }
            Err(e) => {
                t.push("normalize", false, failed(&e));
                return t;
            }
        };
        let matched = match self.rule_for(&path) {
            Ok(matched) => matched,
            Err((i, e)) => {
                let sources = &self.rules[i].sources;
                t.push(
                    "match",
                    false,
                    format!("rule {i} {sources:?}: {}", failed(&e)),
                );
                return t;
            }
        };
        let narrowed = if path.canonical {
            ""
        } else {
            " (the target is not in canonical form, so no public or guest rule applies)"
        };
        let Some(index) = matched else {
            t.push("match", true, format!("no rule matches: public{narrowed}"));
            self.explain_route(&mut t, &path, None);
            return t;
        };
        let rule = &self.rules[index];
        t.push(
            "match",
            true,
            format!(
                "rule {index} ({}) {:?}{narrowed}",
                rule.kind.as_str(),
                rule.sources
            ),
        );
        if rule.kind == RuleKind::Public {
            self.explain_route(&mut t, &path, Some(index));
            return t;
        }

        let cookies = joined(&request.headers, "cookie", "; ");
        let authorization: Vec<&str> = values(&request.headers, "authorization").collect();
        let secure = secure_context(&request.url);
        let cookie_name = self.extractor.cookie_name(secure).unwrap_or_default();
        let found = match self
            .extractor
            .extract(cookies.as_deref(), &authorization, secure)
        {
            Ok(f) => {
                let from = match f.source {
                    TokenSource::Cookie => format!("cookie {cookie_name:?}"),
                    TokenSource::Header => "Authorization header".into(),
                };
                t.push("token", true, format!("from the {from}"));
                f
            }
            Err(e) => {
                let refresh = self
                    .refresher
                    .as_ref()
                    .and_then(|_| self.extractor.refresh_token(cookies.as_deref(), secure));
                let hint = if refresh.is_some() {
                    " (a refresh cookie is present: the gate would refresh)"
                } else {
                    ""
                };
                t.push(
                    "token",
                    rule.kind == RuleKind::Guest,
                    format!("{} (looked for cookie {cookie_name:?}){hint}", failed(&e)),
                );
                if rule.kind == RuleKind::Guest {
                    self.explain_route(&mut t, &path, Some(index));
                }
                return t;
            }
        };
        if found.source == TokenSource::Cookie && rule.kind != RuleKind::Guest {
            let csrf = self.csrf.check(request);
            let ok = csrf.is_ok();
            let detail = match csrf {
                Ok(()) => format!("{} with a cookie: allowed", request.method),
                Err(e) => failed(&e),
            };
            if !t.push("csrf", ok, detail) {
                return t;
            }
        }
        self.explain_token(&mut t, &found.token);
        if t.steps.iter().all(|s| s.ok) && !rule.scopes.is_empty() {
            let claims = jws::parse(&found.token).ok().and_then(|j| j.claims());
            let claims = claims.unwrap_or_default();
            let have = scopes_of(&claims);
            let missing: Vec<&String> = rule
                .scopes
                .iter()
                .filter(|s| !have.contains(&s.as_str()))
                .collect();
            t.push(
                "scopes",
                missing.is_empty(),
                if missing.is_empty() {
                    format!("has {:?}", rule.scopes)
                } else {
                    format!("{}: lacks {missing:?}", Error::InsufficientScope.code())
                },
            );
        }
        if t.steps.iter().all(|s| s.ok) && rule.kind != RuleKind::Guest {
            self.explain_route(&mut t, &path, Some(index));
        }
        t
    }

    /// Where a request let through goes: the rule's upstream or the app, at the judged path.
    fn explain_route(&self, t: &mut Trace, path: &NormalizedPath, index: Option<usize>) {
        let detail = match self.route(path, index) {
            Some(Route::Upstream(url)) => format!("to {url}"),
            Some(Route::Rewrite(path)) => format!("into the app, rewritten to {path}"),
            None => "on into the app".to_owned(),
        };
        t.push("route", true, detail);
    }

    fn explain_token(&self, t: &mut Trace, token: &str) {
        let provider = match self.provider(token) {
            Ok(p) => p,
            Err(e) => {
                t.push("provider", false, failed(&e));
                return;
            }
        };
        let p = &self.providers[provider];
        if let Some(iss) = &p.issuer {
            t.push("provider", true, format!("routed by iss to {iss:?}"));
        }
        let v = &p.verifier;
        let jws = match jws::parse(token) {
            Ok(j) => j,
            Err(e) => {
                t.push("parse", false, failed(&e));
                return;
            }
        };
        let h = &jws.header;
        t.push(
            "parse",
            true,
            format!("alg {:?}, kid {:?}, typ {:?}", h.alg, h.kid, h.typ),
        );
        let Some(alg) = Alg::from_name(&h.alg).filter(|a| v.algorithms().contains(a)) else {
            t.push("algorithm", false, failed(&Error::AlgNotAllowed));
            return;
        };
        t.push("algorithm", true, format!("{} is allowed", alg.name()));
        if let Err(e) = v.policy().check_typ(h.typ.as_deref()) {
            t.push("typ", false, failed(&e));
            return;
        }
        let now = self.clock.now();
        let candidates = match v.keys().candidates_now(alg, h.kid.as_deref(), now) {
            Some(Ok(Candidates::Ready(keys))) => keys,
            Some(Ok(Candidates::Fetch(f))) => {
                t.push(
                    "keys",
                    false,
                    format!("keys not loaded yet: would fetch {}", f.url),
                );
                return;
            }
            Some(Err(e)) => {
                t.push("keys", false, failed(&e));
                return;
            }
            None => {
                t.push("keys", false, "keys not loaded yet (remote)");
                return;
            }
        };
        t.push(
            "keys",
            true,
            format!("{} candidate key(s)", candidates.len()),
        );
        let valid = candidates.iter().any(|k| {
            crate::verify::check_signature(
                alg,
                &k.material,
                jws.signing_input.as_bytes(),
                &jws.signature,
            )
        });
        if !t.push(
            "signature",
            valid,
            if valid {
                "valid".to_string()
            } else {
                failed(&Error::SignatureInvalid)
            },
        ) {
            return;
        }
        let Some(claims) = jws.claims() else {
            t.push(
                "claims",
                false,
                failed(&Error::JwtInvalid("claims are not a JSON object")),
            );
            return;
        };
        for (name, result) in v.policy().explain(&claims, now) {
            let detail = match &result {
                Ok(()) => claim_detail(&claims, name),
                Err(e) => failed(e),
            };
            t.push("claim", result.is_ok(), format!("{name}: {detail}"));
        }
    }
}

fn claim_detail(claims: &serde_json::Map<String, Value>, name: &str) -> String {
    let key = match name {
        "exp" | "nbf" | "iss" | "aud" => name,
        "iat / maxTokenAge" => "iat",
        _ => return "ok".into(),
    };
    match claims.get(key) {
        Some(v) => format!("ok ({v})"),
        None => "ok (absent)".into(),
    }
}
