//! The pipeline's last step: what a request's verified token (or its failure) comes to
//! under its rule — scopes, the sender-constraint rule, the answer or the pass — and the
//! session cookies a refresh leaves on it.

use std::sync::Arc;

use super::Gate;
use crate::answer;
use crate::config::RuleKind;
use crate::decision::{Action, Decision, Under};
use crate::error::{Error, Passed, RefreshFailure, Result};
use crate::extract::TokenSource;
use crate::forward::Auth;
use crate::http::Request;
use crate::normalize::NormalizedPath;
use crate::session::Session;
use crate::trace::Observer;
use crate::verify::Verified;

impl Gate {
    pub(super) fn conclude(
        &self,
        request: &Request,
        path: &NormalizedPath,
        index: usize,
        source: Option<TokenSource>,
        verified: Result<(String, Arc<Verified>)>,
        o: &mut Observer,
    ) -> Decision {
        let rule = self.rules.get(index);
        let under = Under::rule(Some((index, rule.kind)), source);
        // A sender-constrained token (`cnf`: RFC 9449 DPoP, RFC 8705 mTLS) is worth nothing
        // without its key, which the gate does not hold; as a bearer it would be a stolen
        // token accepted. Whatever format carried it, it is never forwarded.
        let verified = verified.and_then(|(token, v)| {
            if !v.claims.contains_key("cnf") {
                return Ok((token, v));
            }
            let e = Error::SessionNoToken("a sender-constrained token (cnf) is never a bearer");
            o.fail("bearer", &e, || {
                format!("{}: the token is bound to a key (cnf)", e.code())
            });
            Err(e)
        });
        if let Some(login) = self
            .login
            .as_ref()
            .filter(|_| Some(index) == self.session_rule)
        {
            // `<prefix>/session`: a profile, or `authenticated: false`; never a token.
            return match verified {
                Err(e) if e.is_provider_unavailable() => Decision::refused(
                    e.clone(),
                    self.answers.denial(rule.kind, &e, &[], path),
                    under,
                ),
                Err(e) => Decision::refused(e, login.session_json(request, None), under),
                Ok((_, v)) => Decision::passed(
                    Passed::Authenticated,
                    login.session_json(request, Some(&v)),
                    under,
                    None,
                ),
            };
        }
        let verified = verified.and_then(|(token, v)| {
            if rule.scopes.is_empty() {
                return Ok((token, v));
            }
            let has = v.scopes();
            let missing: Vec<&String> = rule
                .scopes
                .iter()
                .filter(|s| !has.contains(&s.as_str()))
                .collect();
            if missing.is_empty() {
                o.step("scopes", true, || format!("has {:?}", rule.scopes));
                Ok((token, v))
            } else {
                let e = Error::InsufficientScope;
                o.fail("scopes", &e, || format!("{}: lacks {missing:?}", e.code()));
                Err(e)
            }
        });
        match (rule.kind, verified) {
            (RuleKind::Guest, Ok(_)) => Decision::passed(
                Passed::GuestHasSession,
                self.answers.after_login(),
                under,
                None,
            ),
            (RuleKind::Guest, Err(e)) => {
                let action = self.pass(request, path, Some(index), None, o);
                Decision::passed(Passed::Guest, action, under, Some(e))
            }
            (_, Ok((token, v))) => {
                let action = self.pass(request, path, Some(index), Some((&token, &v)), o);
                Decision::passed(Passed::Authenticated, action, under, None)
            }
            (kind, Err(e)) => {
                let action = self.answers.denial(kind, &e, &rule.scopes, path);
                Decision::refused(e, action, under)
            }
        }
    }

    /// Lets a request through as rule `index` (or no rule) judged it.
    pub(super) fn pass(
        &self,
        request: &Request,
        path: &NormalizedPath,
        index: Option<usize>,
        auth: Auth<'_>,
        o: &mut Observer,
    ) -> Action {
        let clock = self.clock.as_ref();
        self.forwarder
            .pass(request, path, &self.rules, index, auth, clock, o)
    }

    /// Adds the session cookies to a decision: the new ones after a successful refresh; the
    /// cleared ones when the refresh (or its new token) was refused for good.
    pub(super) fn with_session(
        &self,
        mut d: Decision,
        refreshed: Option<&(Session, Option<&'static str>)>,
        request: &Request,
    ) -> Decision {
        let refused_for_good = matches!(
            d.error,
            Some(Error::RefreshFailed {
                failure: RefreshFailure::Refused,
                ..
            }) | Some(Error::SessionEnded)
        );
        if refreshed.is_none() && !refused_for_good {
            return d; // nearly every decision: no session cookie to write
        }
        let (url, present) = (&request.url, request.cookies());
        let present = present.as_deref();
        let passed = d.error.is_none();
        match refreshed {
            Some((session, warning)) if passed => match self.session_cookies(url, present, session)
            {
                Ok(cookies) => {
                    d.code = Passed::Refreshed.code();
                    d.set_cookies = cookies;
                    d.error = warning.map(Error::RefreshUncoordinated);
                }
                Err(e) => {
                    // Tokens that cannot be stored cannot be used either.
                    d.action = answer::bad_gateway();
                    d.code = e.code();
                    d.error = Some(e);
                    d.set_cookies = self.session.clear(url, present);
                }
            },
            // Ended at the provider: the whole session goes, its ID-token cookie too.
            _ if matches!(d.error, Some(Error::SessionEnded)) => {
                d.set_cookies = self.clear_session_cookies(url, present)
            }
            // Refreshed, then not checkable (the store failed): the session is kept, so the
            // new tokens are (the old refresh token is spent); the answer stays 503.
            Some((session, _)) if matches!(d.error, Some(Error::SessionUnchecked)) => {
                d.set_cookies = self
                    .session_cookies(url, present, session)
                    .unwrap_or_default()
            }
            // The provider's own new token failed verification, or the refresh was refused
            // for good: the session is unusable.
            _ => d.set_cookies = self.session.clear(url, present),
        }
        d
    }
}
