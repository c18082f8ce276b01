//! The pipeline: normalize → rules → extract → csrf → session refresh → verify →
//! scopes → answer or forward, each a step of [`Gate::run`] (up to a signature the host
//! checks) and [`Gate::finish`] (after it).

use std::ops::ControlFlow::{self, Break, Continue};
use std::sync::Arc;

use super::{Gate, Pending, Step, Then, MAX_FETCH_ROUNDS};
use crate::answer;
use crate::config::RuleKind;
use crate::decision::{Decision, Under};
use crate::error::{Error, Passed, RefreshFailure, Result};
use crate::extract::{Found, TokenSource};
use crate::fetch::Progress;
use crate::fetch::Round;
use crate::http::Request;
use crate::login::{Check, Route};
use crate::normalize::{normalize, NormalizedPath};
use crate::session::Session;
use crate::trace::Observer;
use crate::verify::{Checked, Verified};

/// A new session from a refresh, and the warning it came with (an uncoordinated refresh).
type Refreshed = (Session, Option<&'static str>);

/// What step 3 found: the token (or why there is none), whether a refresh cookie came
/// along, and the refresh to make (its token, and whether it is mandatory).
struct Token {
    found: Result<Found>,
    has_refresh_cookie: bool,
    plan: Option<(String, bool)>,
}

impl Gate {
    /// The pipeline up to the signature check, reported to `o`. `verdict`: the host's, on a
    /// hosted-login callback's token it was asked to check. Each step either hands its
    /// result on (`Continue`) or ends the request with its [`Step`] (`Break`).
    pub(crate) fn run(
        &self,
        request: &Request,
        round: Round,
        verdict: Option<(&str, bool)>,
        body: Option<&str>,
        o: &mut Observer,
    ) -> Step {
        let path = match normalize(&request.url) {
            Ok(path) => path,
            Err(e) => {
                o.error("normalize", &e);
                return Step::Decided(Decision::refused(e, answer::bad_request(), Under::NONE));
            }
        };
        o.step("normalize", true, || format!("path {:?}", path.path));
        match self.rule(request, &path, round, verdict, body, o) {
            Continue(index) => self.protected(request, path, index, round, o),
            Break(step) => step,
        }
    }

    /// Steps 3 on, for a rule that protects. Out of line so that a request no rule protects
    /// (a public page, the first decision of many a cold isolate) reaches, and makes V8
    /// compile, none of their code: inlined, `run` was 62 KB of wasm.
    #[inline(never)]
    fn protected(
        &self,
        request: &Request,
        path: NormalizedPath,
        index: usize,
        round: Round,
        o: &mut Observer,
    ) -> Step {
        let now = self.clock.now();
        let token = self.token(request, index, now, o);
        if let Break(d) = self.guard(request, index, &token, o) {
            return Step::Decided(d);
        }
        let (found, refreshed) = match self.refreshing(request, &path, index, token, round, now, o)
        {
            Continue(found) => found,
            Break(step) => return step,
        };
        let source = Some(found.source);
        let decide = |verified, o: &mut Observer| {
            let d = self.conclude(request, &path, index, source, verified, o);
            Step::Decided(self.with_session(d, refreshed.as_ref(), request))
        };
        let Some(providers) = &self.providers else {
            return decide(self.vouched(found, o), o);
        };
        let provider = match providers.route(&found.token, o) {
            Ok(p) => p,
            Err(e) => return decide(Err(e), o),
        };
        let verified = match providers.get(provider).verifier.start(&found.token, now, o) {
            Ok(Progress::Done(Checked::NeedsSignature(unverified))) => {
                return Step::NeedsSignature(Pending {
                    unverified,
                    web_crypto: providers.get(provider).web_crypto,
                    then: Then::Decide {
                        request: request.to_owned_request(),
                        path,
                        rule: index,
                        source: found.source,
                        token: found.token,
                        now,
                        provider,
                        refreshed,
                        round,
                    },
                })
            }
            Ok(Progress::NeedsFetch(fetch)) if round.fetches < MAX_FETCH_ROUNDS => {
                return Step::NeedsFetch(fetch)
            }
            Ok(Progress::NeedsFetch(_)) => Err(Error::JwksUnavailable(
                "keys still missing after fetching".into(),
            )),
            Ok(Progress::Done(Checked::Cached(v))) => Ok((found.token, v)),
            Err(e) => Err(e),
        };
        match self.ended(request, found.source, verified, round, now, o) {
            Continue(verified) => decide(verified, o),
            Break(step) => step,
        }
    }

    /// Step 6b: a verified session the provider ended (back-channel logout) is refused; the
    /// record may have to be read from the shared store first.
    #[inline(never)]
    fn ended(
        &self,
        request: &Request,
        source: TokenSource,
        verified: Result<(String, Arc<Verified>)>,
        round: Round,
        now: f64,
        o: &mut Observer,
    ) -> ControlFlow<Step, Result<(String, Arc<Verified>)>> {
        let (Some(login), Ok((_, v))) = (&self.login, &verified) else {
            return Continue(verified);
        };
        let Some(bc) = login.ended() else {
            return Continue(verified);
        };
        let cookie = source == TokenSource::Cookie;
        let explaining = o.explaining();
        match login.check_session(request, cookie, &v.claims, round, now, explaining) {
            Check::Live => {
                o.step("logout", true, || "not ended at the provider".into());
                Continue(verified)
            }
            Check::Ended => {
                o.error("logout", &Error::SessionEnded);
                Continue(Err(Error::SessionEnded))
            }
            Check::Unknown if explaining => {
                o.step("logout", true, || {
                    "whether the provider ended it is in the shared store (explain reads no \
                     store)"
                        .into()
                });
                o.inconclusive();
                Continue(verified)
            }
            Check::Unknown if bc.allow_on_store_error => {
                o.step("logout", true, || {
                    "the store could not say whether the provider ended it: allowed \
                     (onStoreError allow)"
                        .into()
                });
                Continue(verified)
            }
            Check::Unknown => {
                o.error("logout", &Error::SessionUnchecked);
                Continue(Err(Error::SessionUnchecked))
            }
            Check::Ask(op) => Break(Step::NeedsStore(op)),
        }
    }

    /// Step 2: the rule `path` falls under, when it protects. A hosted-login route is the
    /// login's to answer; a public rule, or none, lets the request through here. (This step,
    /// `guard`, `refreshing` and `vouched` stay out of line: inlined into `run` they cost
    /// 0.5 KB gzipped more, tests/node/size.test.mjs.)
    #[inline(never)]
    fn rule(
        &self,
        request: &Request,
        path: &NormalizedPath,
        round: Round,
        verdict: Option<(&str, bool)>,
        body: Option<&str>,
        o: &mut Observer,
    ) -> ControlFlow<Step, usize> {
        let route = self.login.as_ref().and_then(|l| Some((l, l.route(path)?)));
        let found_rule = match route {
            Some((_, Route::Session)) => Ok(self.session_rule),
            Some((login, route)) => {
                let step = self.login_route(login, route, request, path, round, verdict, body, o);
                return Break(step);
            }
            None => self.rules.find(path, o),
        };
        match found_rule {
            Ok(Some(i)) if self.rules.get(i).kind != RuleKind::Public => Continue(i),
            Ok(open) => {
                let action = self.pass(request, path, open, None, o);
                let under = Under::rule(open.map(|i| (i, self.rules.get(i).kind)), None);
                Break(Step::Decided(Decision::passed(
                    Passed::Public,
                    action,
                    under,
                    None,
                )))
            }
            Err((i, e)) => {
                let under = Under {
                    rule: Some(i),
                    ..Under::NONE
                };
                Break(Step::Decided(Decision::refused(
                    e,
                    answer::bad_request(),
                    under,
                )))
            }
        }
    }

    /// Step 3: the token (from the cookie, opened from a library's session, or the
    /// `Authorization` header), and the refresh the session calls for, if any.
    #[inline(never)]
    fn token(&self, request: &Request, index: usize, now: f64, o: &mut Observer) -> Token {
        let kind = self.rules.get(index).kind;
        // An auth library names its session cookie by the scheme, as it sets it; the gate's
        // own cookies follow the secure-context rule (`__Host-` off loopback).
        let secure = match self.unsealer {
            Some(_) => request.https(),
            None => request.secure(),
        };
        let cookies = request.cookies();
        let authorization: Vec<&str> = request.values("authorization").collect();
        let found = self
            .extractor
            .extract(cookies.as_deref(), &authorization, secure)
            .and_then(|found| self.unseal(found, secure, now, o));
        let refresh_token = self
            .refresher
            .as_ref()
            .and_then(|_| self.extractor.refresh_token(cookies.as_deref(), secure));
        let plan = self.refresher.as_ref().and_then(|r| {
            r.plan(&found, refresh_token.as_deref(), kind, now)
                .map(|p| (p.refresh_token.to_owned(), p.mandatory))
        });
        let cookie_name = || self.extractor.cookie_name(secure).unwrap_or_default();
        match &found {
            Ok(f) => o.step("token", true, || match f.source {
                TokenSource::Cookie => format!("from the cookie {:?}", cookie_name()),
                TokenSource::Header => "from the Authorization header".into(),
            }),
            // Not the verdict: the refresh below may yet bring a token.
            Err(e) if plan.is_some() => o.step("token", false, || {
                format!(
                    "{} (looked for cookie {:?}): a refresh cookie is present, so the gate \
                     refreshes",
                    crate::trace::failed(e),
                    cookie_name()
                )
            }),
            Err(e) => o.fail("token", e, || {
                format!(
                    "{} (looked for cookie {:?})",
                    crate::trace::failed(e),
                    cookie_name()
                )
            }),
        }
        Token {
            found,
            has_refresh_cookie: refresh_token.is_some(),
            plan,
        }
    }

    /// Step 4: the CSRF guard, for a session carried by cookies (the refresh cookie
    /// authenticates too).
    #[inline(never)]
    fn guard(
        &self,
        request: &Request,
        index: usize,
        token: &Token,
        o: &mut Observer,
    ) -> ControlFlow<Decision> {
        let kind = self.rules.get(index).kind;
        let cookie_session = match &token.found {
            Ok(f) => f.source == TokenSource::Cookie,
            Err(Error::NoToken { .. }) => token.has_refresh_cookie,
            Err(_) => false,
        };
        if !cookie_session || kind == RuleKind::Guest {
            return Continue(());
        }
        if let Err(e) = self.csrf.check(request) {
            o.error("csrf", &e);
            let source = token.found.as_ref().ok().map(|f| f.source);
            let under = Under::rule(Some((index, kind)), source);
            return Break(Decision::refused(e, answer::forbidden(kind), under));
        }
        o.step("csrf", true, || {
            format!("{} with a cookie: allowed", request.method)
        });
        Continue(())
    }

    /// Step 5: the session refreshed where it must be (or may be, early), coordinated
    /// across instances where configured; the token to verify, and the new session to set.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn refreshing(
        &self,
        request: &Request,
        path: &NormalizedPath,
        index: usize,
        token: Token,
        round: Round,
        now: f64,
        o: &mut Observer,
    ) -> ControlFlow<Step, (Found, Option<Refreshed>)> {
        let Token { found, plan, .. } = token;
        let conclude = |e, source, o: &mut Observer| {
            let d = self.conclude(request, path, index, source, Err(e), o);
            Step::Decided(self.with_session(d, None, request))
        };
        let (Some(refresher), Some((refresh_token, mandatory))) = (&self.refresher, plan) else {
            return match found {
                Ok(f) => Continue((f, None)),
                Err(e) => Break(conclude(e, None, o)),
            };
        };
        let outcome = if o.explaining() {
            o.step("refresh", !mandatory, || match mandatory {
                true => "the access token is missing or expired: the gate would refresh it \
                         (explain calls no token endpoint)"
                    .into(),
                false => "the access token expires within the refresh window: the gate would \
                          refresh it first (explain calls no token endpoint)"
                    .into(),
            });
            o.inconclusive();
            Err(Error::RefreshFailed {
                reason: "explain does not refresh".into(),
                failure: RefreshFailure::Unreachable,
            })
        } else {
            let op = refresher.coordinate(&refresh_token, now);
            if let Some(op) = op.filter(|_| round.fetches < MAX_FETCH_ROUNDS) {
                return Break(Step::NeedsStore(op));
            }
            match self.refresh(refresher, &refresh_token, now) {
                Progress::NeedsFetch(ticket) if round.fetches < MAX_FETCH_ROUNDS => {
                    return Break(Step::NeedsFetch(ticket))
                }
                Progress::Done(outcome) => outcome,
                Progress::NeedsFetch(_) => Err(Error::RefreshFailed {
                    reason: "no answer within the fetch rounds".into(),
                    failure: RefreshFailure::Unreachable,
                }),
            }
        };
        match outcome {
            Ok(tokens) => {
                let session = Session {
                    access_token: tokens.access_token.clone(),
                    refresh_token: tokens.refresh_token,
                    expires_at: tokens.expires_in.map(|s| now + s),
                };
                let found = Found {
                    token: tokens.access_token,
                    source: TokenSource::Cookie,
                    vouched: None,
                };
                Continue((found, Some((session, tokens.warning))))
            }
            Err(e) if mandatory => Break(conclude(e, Some(TokenSource::Cookie), o)),
            // Refreshing early failed; the current token is still good.
            Err(_) => match found {
                Ok(f) => Continue((f, None)),
                Err(e) => Break(conclude(e, None, o)),
            },
        }
    }

    /// Step 6 without providers (`session.verifyToken: false`): the session's encryption
    /// authenticated the token. Only an opened session fills `vouched`; anything else has
    /// nothing behind it.
    #[inline(never)]
    fn vouched(&self, found: Found, o: &mut Observer) -> Result<(String, Arc<Verified>)> {
        match found.vouched {
            Some(claims) => {
                o.step("verify", true, || {
                    "the sealed session vouches for its token (session.verifyToken false)".into()
                });
                Ok((found.token, Arc::new(Verified::vouched(claims))))
            }
            None => Err(Error::SessionNoToken(
                "no sealed session vouches for the token",
            )),
        }
    }

    /// The pipeline after the signature check, reported to `o`.
    pub(crate) fn finish(&self, pending: Pending, signature_valid: bool, o: &mut Observer) -> Step {
        let Pending {
            unverified,
            web_crypto: _,
            then,
        } = pending;
        let (request, path, rule, source, token, now, provider, refreshed, round) = match then {
            Then::Decide {
                request,
                path,
                rule,
                source,
                token,
                now,
                provider,
                refreshed,
                round,
            } => (
                request, path, rule, source, token, now, provider, refreshed, round,
            ),
            Then::Callback {
                request,
                round,
                body,
            } => {
                let verdict = Some((unverified.token(), signature_valid));
                return self.run(&request, round, verdict, body.as_deref(), o);
            }
        };
        // A pending signature came from a provider: a gate without them has none.
        let verified = match &self.providers {
            Some(providers) => providers
                .get(provider)
                .verifier
                .finish(unverified, signature_valid, now, o)
                .map(|v| (token, v)),
            None => Err(Error::SignatureInvalid),
        };
        let verified = match self.ended(&request, source, verified, round, now, o) {
            Continue(verified) => verified,
            Break(step) => return step,
        };
        let d = self.conclude(&request, &path, rule, Some(source), verified, o);
        Step::Decided(self.with_session(d, refreshed.as_ref(), &request))
    }

    /// The access token inside an auth library's session cookie (`session` options); a
    /// bearer header, or a gate without them, passes through as found.
    fn unseal(&self, found: Found, secure: bool, now: f64, o: &mut Observer) -> Result<Found> {
        let Some(unsealer) = self
            .unsealer
            .as_ref()
            .filter(|_| found.source == TokenSource::Cookie)
        else {
            return Ok(found);
        };
        match unsealer.open(&found.token, secure, now) {
            Ok(opened) => {
                o.step("session", true, || {
                    "opened the library's session: it holds an access token".into()
                });
                let vouched = self.providers.is_none().then_some(opened.claims);
                Ok(Found {
                    token: opened.token,
                    source: found.source,
                    vouched,
                })
            }
            Err(e) => {
                o.error("session", &e);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;

    const SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!!";

    fn gate(extra: &str) -> Gate {
        let json = format!(
            r#"{{ "verify": {{ "algorithms": ["HS256"], "keys": "{SECRET}" }},
                 "rules": [ {{ "match": "/api/:path*", "kind": "api" }},
                            {{ "match": "/login", "kind": "guest" }},
                            {{ "match": "/health", "kind": "public" }} ] {extra} }}"#
        );
        let clock = Arc::new(crate::clock::FixedClock(0.0));
        Gate::with_clock(Options::from_json(&json).unwrap(), clock).unwrap()
    }

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<'static> {
        Request::of(method, url, headers)
    }

    #[test]
    fn the_rule_step_ends_public_and_unmatched_paths_and_hands_on_protected_ones() {
        let g = gate("");
        let rule = |url: &str| {
            let r = request("GET", url, &[]);
            let path = normalize(&r.url).unwrap();
            g.rule(
                &r,
                &path,
                Round::default(),
                None,
                None,
                &mut Observer::quiet(),
            )
        };
        assert!(matches!(rule("https://app.example/api/x"), Continue(0)));
        assert!(matches!(rule("https://app.example/login"), Continue(1)));
        for open in ["https://app.example/health", "https://app.example/about"] {
            let Break(Step::Decided(d)) = rule(open) else {
                panic!("{open}")
            };
            assert_eq!(d.code, "OK_PUBLIC", "{open}");
        }
    }

    #[test]
    fn the_guard_step_holds_a_cookie_session_to_this_origin_even_a_refresh_cookie_alone() {
        let g = gate(
            r#", "refresh": { "tokenEndpoint": "https://id.example/token", "clientId": "c" }"#,
        );
        let guard = |headers: &[(&str, &str)], index: usize| {
            let r = request("POST", "https://app.example/api/x", headers);
            let token = g.token(&r, index, 0.0, &mut Observer::quiet());
            g.guard(&r, index, &token, &mut Observer::quiet())
        };
        let cross = ("origin", "https://evil.example");
        // Only a refresh cookie: still a cookie session, so refused cross-site.
        let Break(d) = guard(&[("cookie", "__Host-refreshToken=r"), cross], 0) else {
            panic!("a cross-site POST with a refresh cookie passed the guard")
        };
        assert_eq!(d.code, "ERR_CSRF");
        assert!(guard(
            &[
                ("cookie", "__Host-refreshToken=r"),
                ("origin", "https://app.example")
            ],
            0
        )
        .is_continue());
        // No cookie at all (a bearer, or nothing): nothing for a forged form to ride on.
        assert!(guard(&[cross], 0).is_continue());
        // Guest pages are not guarded: a cross-site POST there opens nothing.
        assert!(guard(&[("cookie", "__Host-refreshToken=r"), cross], 1).is_continue());
    }
}
