//! Hosted login's part of the pipeline: its routes, the access token its callback verifies
//! as every token is verified, and the token endpoint a refresh takes from its discovery.

use std::sync::Arc;

use super::{Gate, Pending, Step, Then, MAX_FETCH_ROUNDS};
use crate::answer;
use crate::decision::{Decision, Under};
use crate::error::{Error, Passed, RefreshFailure, Result};
use crate::fetch::Progress;
use crate::fetch::Round;
use crate::http::Request;
use crate::login::{Checker, HostCheck, Login, Posted, Route, MAX_FORM};
use crate::normalize::NormalizedPath;
use crate::session::Refresher;
use crate::trace::Observer;
use crate::verify::Verified;

impl Gate {
    /// Refreshes at the configured token endpoint, or at the one the login's discovery names.
    pub(super) fn refresh(
        &self,
        refresher: &Refresher,
        refresh_token: &str,
        now: f64,
    ) -> crate::session::refresh::Refreshed {
        if let Some(endpoint) = refresher.endpoint() {
            return refresher.refresh(refresh_token, endpoint, now);
        }
        let metadata = self.login.as_ref().map(|l| l.metadata(now));
        match metadata {
            Some(Ok(Progress::Done(m))) => refresher.refresh(refresh_token, &m.token_endpoint, now),
            Some(Ok(Progress::NeedsFetch(f))) => Progress::NeedsFetch(f),
            Some(Err(e)) => Progress::Done(Err(Error::RefreshFailed {
                reason: e.to_string(),
                failure: RefreshFailure::Unreachable,
            })),
            None => Progress::Done(Err(Error::RefreshFailed {
                reason: "no token endpoint".into(),
                failure: RefreshFailure::Unreachable,
            })),
        }
    }

    /// A hosted-login route, answered by the login (`explain` only names it: it starts no
    /// login, exchanges no code and ends no session).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn login_route(
        &self,
        login: &Login,
        route: Route,
        request: &Request,
        path: &NormalizedPath,
        round: Round,
        verdict: Option<(&str, bool)>,
        body: Option<&str>,
        o: &mut Observer,
    ) -> Step {
        if o.explaining() {
            o.step("login", true, || format!("{route:?}: answered by the gate's hosted login (explain starts, finishes and ends no login)"));
            o.inconclusive();
            return Step::Decided(Decision::passed(
                Passed::Public,
                answer::bad_request(),
                Under::NONE,
                None,
            ));
        }
        let now = self.clock.now();
        let progress = match route {
            Route::Login => login.start(request, path, &self.answers.return_to_param, round, now),
            // form_post: the provider's answer is the body the browser posts.
            Route::Callback if login.form_post && request.method == "POST" && body.is_none() => {
                return Step::NeedsBody(MAX_FORM)
            }
            Route::Callback => {
                let verify = |token: &str| self.verify_access(token, verdict, now);
                let answer = match login.form_post {
                    true => body,
                    false => path.query.as_deref(),
                };
                match login.callback(request, answer, &self.session, &verify, verdict, now) {
                    Ok(progress) => progress,
                    Err(check) => return self.host_check(check, request, round, body),
                }
            }
            Route::BackchannelLogout => {
                return match login.backchannel_logout(request, body, round, verdict, now) {
                    Posted::Done(d) => Step::Decided(d),
                    Posted::Fetch(f) => Step::NeedsFetch(f),
                    Posted::Store(op) => Step::NeedsStore(op),
                    Posted::Body(max) => Step::NeedsBody(max),
                    Posted::Signature(check) => self.host_check(check, request, round, body),
                }
            }
            // (`Session` never comes here: `run` judges it as an API.)
            Route::Logout | Route::Session => {
                let cookies = request.cookies();
                let refresh_token = self
                    .extractor
                    .refresh_token(cookies.as_deref(), request.secure());
                let refresh_token = refresh_token.as_deref();
                login.logout(request, &self.session, &self.csrf, refresh_token, now)
            }
        };
        match progress {
            Progress::Done(d) => Step::Decided(d),
            Progress::NeedsFetch(f) if round.fetches < MAX_FETCH_ROUNDS => Step::NeedsFetch(f),
            Progress::NeedsFetch(_) => {
                Step::Decided(login.unavailable("no answer within the fetch rounds"))
            }
        }
    }

    /// A login route's signature that only the host can check: the route runs again, in
    /// this `round` and with this `body`, with the host's verdict.
    fn host_check(
        &self,
        HostCheck {
            unverified,
            checker,
        }: HostCheck,
        request: &Request,
        round: Round,
        body: Option<&str>,
    ) -> Step {
        let web_crypto = match checker {
            Checker::IdToken => true,
            Checker::Access(i) => self.providers.as_ref().is_some_and(|p| p.get(i).web_crypto),
        };
        Step::NeedsSignature(Pending {
            unverified: *unverified,
            web_crypto,
            then: Then::Callback {
                request: request.to_owned_request(),
                round,
                body: body.map(str::to_owned),
            },
        })
    }

    /// An access token from the provider, verified as the gate verifies every token (the
    /// signature with jwt-compact, or where this build leaves it to the host, by the host:
    /// `Err`, and then `verdict`).
    fn verify_access(
        &self,
        token: &str,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> std::result::Result<Progress<Result<Arc<Verified>>>, HostCheck> {
        let Some(providers) = &self.providers else {
            return Ok(Progress::Done(Err(Error::SessionNoToken(
                "no verify options",
            ))));
        };
        match providers.route(token, &mut Observer::quiet()) {
            Ok(i) => providers
                .get(i)
                .verifier
                .verify_progress(token, now, verdict)
                .map_err(|unverified| HostCheck {
                    unverified,
                    checker: Checker::Access(i),
                }),
            Err(e) => Ok(Progress::Done(Err(e))),
        }
    }
}
