//! The decision: the path a request takes through the gate, top to bottom. A [`Gate`] is
//! built once from [`Options`], each part from its own options; [`Gate::decide`] takes a
//! plain request view and answers continue (with the exact headers to forward), redirect,
//! or respond, always with a stable reason code for logs.
//!
//! normalize → rules → extract → csrf → session refresh → verify (provider, JWS, keys,
//! signature, claims) → scopes → answer or forward.
//!
//! [`Gate::explain`] runs these very steps with a tracing [`Observer`] instead of a quiet
//! one, so it cannot say other than the decision would. Explaining changes nothing: it
//! neither reads nor fills the verified-token cache, starts no key fetch and no refresh, and
//! checks signatures with the engine (where the build has no engine path for the algorithm,
//! the signature step is inconclusive). A gate never puts a trace in a response.

use std::sync::Arc;

use crate::answer::{self, Action, Answers, Decision, Under};
use crate::clock::Clock;
use crate::config::{Options, RuleKind, TokenOptions};
use crate::csrf::Csrf;
use crate::error::{Error, Passed, Result};
use crate::extract::{Extractor, Found, TokenSource};
use crate::fetch::{Fetch, Fetched, Progress};
use crate::forward::{Auth, Forwarder};
use crate::http::Request;
use crate::login::{Checker, HostCheck, Login, Route};
use crate::normalize::{normalize, NormalizedPath};
use crate::rules::RuleSet;
use crate::session::{Refresher, Session, SessionCookies, StoreOp, Stored};
use crate::trace::{Observer, Trace};
use crate::unseal::Unsealer;
use crate::verify::{Checked, KeyResolver, Providers, Unverified, Verified, Verifier};

/// Decisions compared with their explanation in this process (`_integration_test`, debug
/// builds).
#[cfg(feature = "_integration_test")]
pub static AGREEMENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Fetch rounds one request may wait through (a token refresh, discovery, the JWKS, a
/// refetch for an unknown `kid`) before it is refused; a bound, so a host can never loop.
/// A hosted-login callback on a cold isolate needs up to six: discovery, the code
/// exchange, the ID token's keys (discovery and JWKS) and the access token's; a
/// coordinated refresh as many: its claim, the call, its publish, discovery, the JWKS and a
/// refetch.
pub const MAX_FETCH_ROUNDS: u8 = 6;

/// The engine. Cheap to share: build once per isolate, decide per request.
pub struct Gate {
    rules: RuleSet,
    /// Shared with the forwarder and the session cookies: one reading of the cookie names.
    extractor: Arc<Extractor>,
    /// Opens an auth library's session cookie (`session` options).
    unsealer: Option<Unsealer>,
    csrf: Csrf,
    /// Who verifies tokens; `None` when a sealed session vouches for its token
    /// (`session.verifyToken: false`).
    providers: Option<Providers>,
    refresher: Option<Refresher>,
    /// Hosted login's routes (`login` options).
    login: Option<Login>,
    /// The rule `<prefix>/session` is judged under: an API rule of the gate's own.
    session_rule: Option<usize>,
    session: SessionCookies,
    answers: Answers,
    forwarder: Forwarder,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

/// A decision waiting for one signature check; see [`Gate::begin`].
#[derive(Debug)]
pub struct Pending {
    /// The token and the keys to check its signature against.
    pub unverified: Unverified,
    web_crypto: bool,
    then: Then,
}

/// What a signature check's verdict goes on to.
#[derive(Debug)]
enum Then {
    /// The request's token: claims, scopes and the answer.
    Decide {
        request: Request<'static>,
        path: NormalizedPath,
        rule: usize,
        source: TokenSource,
        token: String,
        now: f64,
        provider: usize,
        /// The session a refresh produced for this request, to store on the response, and
        /// why the refresh went uncoordinated if it did.
        refreshed: Option<(Session, Option<&'static str>)>,
    },
    /// A token of a hosted-login callback whose signature only the host can check (the
    /// default wasm build): the callback runs again, in this round, with the verdict.
    Callback {
        request: Request<'static>,
        round: u8,
    },
}

impl Pending {
    /// May the host check this signature with its own crypto (`verify.webCrypto`)?
    pub fn web_crypto(&self) -> bool {
        self.web_crypto
    }
}

/// The outcome of [`Gate::begin`].
// Moved once per decision; boxing `Pending` would add an allocation to every signature check.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step {
    /// The decision.
    Decided(Decision),
    /// Check `Pending::unverified`'s signature, then [`Gate::resume_step`] (or
    /// [`Gate::resume`]).
    NeedsSignature(Pending),
    /// The host must fetch first (the provider's keys, or a token refresh): perform `Fetch`
    /// (or join the host's fetch with the same id), report it with [`Gate::complete`], then
    /// begin again with `round + 1`.
    NeedsFetch(Fetch),
    /// The host must perform a store operation first (refresh coordination across
    /// instances, `refresh.coordination`): perform `StoreOp` (or join the host's operation
    /// with the same id), report it with [`Gate::stored`], then begin again with `round + 1`.
    NeedsStore(StoreOp),
}

impl Step {
    /// Every decision leaves the engine through here: one carrying cookies is private.
    fn private_if_cookies(self) -> Step {
        match self {
            Step::Decided(d) => Step::Decided(d.private_if_cookies()),
            step => step,
        }
    }
}

impl Gate {
    /// Builds a gate from its options, using the system clock where there is one.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(options: Options) -> Result<Gate> {
        Gate::with_clock(options, Arc::new(crate::clock::SystemClock))
    }

    /// Builds a gate from JSON options.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_json(json: &str) -> Result<Gate> {
        Gate::new(Options::from_json(json)?)
    }

    /// Builds a gate with an injected clock (hosts without a system clock, and tests).
    pub fn with_clock(options: Options, clock: Arc<dyn Clock>) -> Result<Gate> {
        Gate::build(options, clock, None)
    }

    /// Builds a gate whose keys come from another resolver (tests, or a host with its own
    /// key source); `verify.keys` and `verify.jwksUri` are then ignored.
    pub fn with_key_resolver(
        options: Options,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn KeyResolver>,
    ) -> Result<Gate> {
        Gate::build(options, clock, Some(keys))
    }

    /// Each part builds and checks itself from its options.
    fn build(
        options: Options,
        clock: Arc<dyn Clock>,
        resolver: Option<Arc<dyn KeyResolver>>,
    ) -> Result<Gate> {
        crate::fetch::seed_fetch_ids()?;
        let vouching = options.session.as_ref().is_some_and(|s| !s.verify_token);
        let providers = match vouching {
            false => Some(Providers::new(&options, resolver)?),
            true if options.verify.is_some() || !options.providers.is_empty() => {
                return Err(Error::ConfigInvalid(
                    "session.verifyToken false: the session vouches for its token; give no \
                     verify or providers"
                        .into(),
                ))
            }
            true => None,
        };
        let login = match &options.login {
            Some(l) => {
                let keys = providers.as_ref().and_then(|p| p.keys_of(&l.issuer));
                Some(Login::new(l, keys)?)
            }
            None => None,
        };
        let answers = Answers::new(&options, login.as_ref().map(Login::login_url))?;
        let csrf = Csrf::new(&options.csrf)?;
        let mut rules = RuleSet::new(&options)?;
        let session_rule = login.as_ref().map(|_| rules.push_internal(RuleKind::Api));
        let unsealer = options.session.as_ref().map(Unsealer::new).transpose()?;
        if unsealer.is_some() && login.is_some() {
            return Err(Error::ConfigInvalid(
                "session and login: the gate's hosted login writes its own session".into(),
            ));
        }
        if unsealer.is_some() && options.refresh.is_some() {
            return Err(Error::ConfigInvalid(
                "session and refresh: the library that wrote the session refreshes it".into(),
            ));
        }
        if vouching && !unsealer.as_ref().is_some_and(Unsealer::sealed) {
            return Err(Error::ConfigInvalid(
                "session.verifyToken false needs a sealed session (not Kinde's raw token)".into(),
            ));
        }
        // A bearer header has no session to vouch for it: only the session counts then.
        let token = TokenOptions {
            header: options.token.header && !vouching,
            ..options.token.clone()
        };
        let mut extractor = Extractor::new(&token, unsealer.as_ref().map(Unsealer::naming))?;
        if login.is_some() {
            // The login's transaction and ID-token cookies never go upstream either.
            extractor.also_stripped = crate::login::COOKIE_PREFIXES.to_vec();
        }
        let extractor = Arc::new(extractor);
        let forwarder = Forwarder::new(&options.upstream, extractor.clone())?;
        let refresher = match &login {
            Some(l) => Some(Refresher::for_login(
                options.refresh.as_ref(),
                l.client.clone(),
            )?),
            None => options.refresh.as_ref().map(Refresher::new).transpose()?,
        };
        let session = SessionCookies::new(&options.token, extractor.clone())?;
        Ok(Gate {
            rules,
            extractor,
            unsealer,
            csrf,
            providers,
            refresher,
            login,
            session_rule,
            session,
            answers,
            forwarder,
            clock,
        })
    }

    /// `Set-Cookie` values storing `session` for a response to a request at `url`.
    pub fn session_cookies(&self, url: &str, session: &Session) -> Result<Vec<String>> {
        if self.unsealer.is_some() {
            return Err(Error::SessionInvalid(
                "the session is the auth library's to write",
            ));
        }
        self.session.set(url, session, self.clock.now())
    }

    /// `Set-Cookie` values removing the session for a response to a request at `url`
    /// (with hosted login, its ID-token cookie too).
    pub fn clear_session_cookies(&self, url: &str) -> Vec<String> {
        let mut cookies = self.session.clear(url);
        if self.login.is_some() {
            cookies.push(crate::login::clear_id_cookie(crate::http::secure_context(
                url,
            )));
        }
        cookies
    }

    /// The gate's clock, in seconds since the epoch.
    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// The first provider's verifier (the only one unless `providers` is configured);
    /// `None` when the session vouches for its token.
    pub fn verifier(&self) -> Option<&Verifier> {
        Some(&self.providers.as_ref()?.first().verifier)
    }

    /// Decides one request, checking the signature (if any) with jwt-compact. Remote keys
    /// cannot be fetched here; use [`Gate::decide_with`] for a gate that has them.
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_with(request, |_| {
            Fetched::Network("no fetcher: use Gate::decide_with".into())
        })
    }

    /// Decides one request, calling `fetch` for any provider keys or token refresh that
    /// must be fetched (a blocking HTTP client natively; tests pass a closure).
    pub fn decide_with(
        &self,
        request: &Request,
        mut fetch: impl FnMut(&Fetch) -> Fetched,
    ) -> Decision {
        let mut round = 0;
        let mut step = self.begin_round(request, round);
        let decision = loop {
            step = match step {
                Step::Decided(decision) => break decision,
                Step::NeedsSignature(pending) => {
                    let valid = pending.unverified.check_here();
                    self.resume_step(pending, valid)
                }
                Step::NeedsFetch(ticket) => {
                    let outcome = fetch(&ticket);
                    self.complete(ticket.id, outcome);
                    round += 1;
                    self.begin_round(request, round)
                }
                // No store here: the refresh goes uncoordinated, and the decision says so.
                Step::NeedsStore(op) => {
                    self.stored(op.id, Stored::Failed);
                    round += 1;
                    self.begin_round(request, round)
                }
            }
        };
        #[cfg(all(feature = "_integration_test", debug_assertions))]
        self.check_agreement(request, &decision);
        decision
    }

    /// The trace of how `request` would be decided: normalized path, rule, token source,
    /// CSRF, refresh, each JWS and claim check, scopes, route (see the module comment).
    pub fn explain(&self, request: &Request) -> Trace {
        let mut trace = Trace::default();
        let mut o = Observer::tracing(&mut trace);
        let decision = match self.run(request, 0, None, &mut o) {
            Step::Decided(d) => Some(d),
            Step::NeedsSignature(pending) if !pending.unverified.engine_checks() => {
                // The default wasm build leaves RSA, ECDSA and Ed25519 to the host, and
                // explaining calls no host: the signature's verdict stays open.
                o.step("signature", true, || {
                    format!(
                        "{}: checked by the host's crypto (explain checks no signature in this build)",
                        pending.unverified.alg.name()
                    )
                });
                o.inconclusive();
                None
            }
            Step::NeedsSignature(pending) => {
                let valid = pending.unverified.check_here();
                match self.finish(pending, valid, &mut o) {
                    Step::Decided(d) => Some(d),
                    _ => None,
                }
            }
            Step::NeedsFetch(_) | Step::NeedsStore(_) => None,
        };
        trace.code = decision.filter(|_| !trace.inconclusive).map(|d| d.code);
        trace
    }

    /// Under `_integration_test` in a debug build (the tests, `scripts/fuzz`), every
    /// decision is explained too, and the two must agree: the same code, and the trace's
    /// first step that failed with a code carries the decision's error. (Not in release
    /// builds: the benches measure decisions, not explanations.)
    #[cfg(all(feature = "_integration_test", debug_assertions))]
    fn check_agreement(&self, request: &Request, decision: &Decision) {
        let trace = self.explain(request);
        let Some(code) = trace.code else {
            return;
        };
        assert_eq!(
            (code, trace.first_error()),
            (decision.code, decision.error.as_ref().map(Error::code)),
            "explain disagrees with decide on {request:?}\n{trace:#?}\n{decision:#?}"
        );
        AGREEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reports how fetch `id` ended. Returns true when new keys were installed (a host with
    /// a persistence hook may then store the body). Unknown or finished ids are ignored.
    pub fn complete(&self, id: u64, fetched: Fetched) -> bool {
        let now = self.clock.now();
        if let Some(r) = self.refresher.as_ref().filter(|r| r.owns(id)) {
            return r.complete(id, fetched, now);
        }
        if let Some(l) = self.login.as_ref().filter(|l| l.owns(id)) {
            return l.complete(id, fetched, now);
        }
        self.providers
            .iter()
            .flat_map(Providers::iter)
            .find(|p| p.verifier.owns(id))
            .and_then(|p| p.verifier.complete(id, fetched, now))
            .unwrap_or(false)
    }

    /// Reports how store operation `id` ended ([`Step::NeedsStore`]). Unknown or finished
    /// ids are ignored.
    pub fn stored(&self, id: u64, stored: Stored) {
        if let Some(r) = &self.refresher {
            r.stored(id, stored, self.clock.now());
        }
    }

    /// Everything up to the signature check. A host with faster crypto (WebCrypto) may check
    /// `pending.unverified` itself and hand the verdict to [`Gate::resume`]; every decision
    /// is still made here.
    pub fn begin(&self, request: &Request) -> Step {
        self.begin_round(request, 0)
    }

    /// [`Gate::begin`] after `round` fetches for this request. From [`MAX_FETCH_ROUNDS`]
    /// on, a request that would need yet another fetch is refused.
    pub fn begin_round(&self, request: &Request, round: u8) -> Step {
        self.run(request, round, None, &mut Observer::quiet())
            .private_if_cookies()
    }

    /// Everything after the signature check: claims, scopes and the answer. A hosted-login
    /// callback's check may lead to another check or a fetch ([`Gate::resume_step`]); here
    /// a further check is made in the engine (invalid where only the host could make it)
    /// and a fetch is not made (the login is unavailable).
    pub fn resume(&self, pending: Pending, signature_valid: bool) -> Decision {
        match self.resume_step(pending, signature_valid) {
            Step::Decided(d) => d,
            Step::NeedsSignature(pending) => {
                let valid = pending.unverified.check_here();
                self.resume(pending, valid)
            }
            Step::NeedsFetch(_) | Step::NeedsStore(_) => match &self.login {
                Some(login) => {
                    login.unavailable("a fetch after a signature check: use resume_step")
                }
                None => {
                    Decision::refused(Error::SignatureInvalid, answer::bad_request(), Under::NONE)
                }
            },
        }
    }

    /// Everything after the signature check: the decision, or for a hosted-login callback
    /// the callback again with the verdict, which may need another check or a fetch (as
    /// [`Gate::begin_round`] in the round it was begun in).
    pub fn resume_step(&self, pending: Pending, signature_valid: bool) -> Step {
        self.finish(pending, signature_valid, &mut Observer::quiet())
            .private_if_cookies()
    }

    /// The pipeline up to the signature check, reported to `o`. `verdict`: the host's, on a
    /// hosted-login callback's token it was asked to check.
    pub(crate) fn run(
        &self,
        request: &Request,
        round: u8,
        verdict: Option<(&str, bool)>,
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
        let route = self.login.as_ref().and_then(|l| Some((l, l.route(&path)?)));
        let found_rule = match route {
            Some((_, Route::Session)) => Ok(self.session_rule),
            Some((login, route)) => {
                return self.login_route(login, route, request, &path, round, verdict, o)
            }
            None => self.rules.find(&path, o),
        };
        let index = match found_rule {
            Ok(Some(i)) if self.rules.get(i).kind != RuleKind::Public => i,
            Ok(open) => {
                let action = self.pass(request, &path, open, None, o);
                let under = Under::rule(open.map(|i| (i, self.rules.get(i).kind)), None);
                return Step::Decided(Decision::passed(Passed::Public, action, under, None));
            }
            Err((i, e)) => {
                let under = Under {
                    rule: Some(i),
                    ..Under::NONE
                };
                return Step::Decided(Decision::refused(e, answer::bad_request(), under));
            }
        };
        let kind = self.rules.get(index).kind;

        // An auth library names its session cookie by the scheme, as it sets it; the gate's
        // own cookies follow the secure-context rule (`__Host-` off loopback).
        let secure = match self.unsealer {
            Some(_) => request.https(),
            None => request.secure(),
        };
        let cookies = request.cookies();
        let authorization: Vec<&str> = request.values("authorization").collect();
        let now = self.clock.now();
        let found = self
            .extractor
            .extract(cookies.as_deref(), &authorization, secure)
            .and_then(|found| self.unseal(found, secure, now, o));
        let refresher = self.refresher.as_ref();
        let refresh_token =
            refresher.and_then(|_| self.extractor.refresh_token(cookies.as_deref(), secure));
        let plan = refresher.and_then(|r| r.plan(&found, refresh_token.as_deref(), kind, now));
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

        // The refresh cookie authenticates too: it is a cookie session for the CSRF guard.
        let cookie_session = match &found {
            Ok(f) => f.source == TokenSource::Cookie,
            Err(Error::NoToken { .. }) => refresh_token.is_some(),
            Err(_) => false,
        };
        if cookie_session && kind != RuleKind::Guest {
            if let Err(e) = self.csrf.check(request) {
                o.error("csrf", &e);
                let under = Under::rule(Some((index, kind)), found.as_ref().ok().map(|f| f.source));
                return Step::Decided(Decision::refused(e, answer::forbidden(kind), under));
            }
            o.step("csrf", true, || {
                format!("{} with a cookie: allowed", request.method)
            });
        }

        let mut refreshed = None;
        let found = match refresher.zip(plan) {
            None => found,
            Some((refresher, plan)) => {
                let outcome = if o.explaining() {
                    o.step("refresh", !plan.mandatory, || match plan.mandatory {
                        true => "the access token is missing or expired: the gate would refresh \
                                 it (explain calls no token endpoint)"
                            .into(),
                        false => "the access token expires within the refresh window: the gate \
                                  would refresh it first (explain calls no token endpoint)"
                            .into(),
                    });
                    o.inconclusive();
                    Err(Error::RefreshFailed {
                        reason: "explain does not refresh".into(),
                        definitive: false,
                    })
                } else {
                    let op = refresher.coordinate(plan.refresh_token, now);
                    if let Some(op) = op.filter(|_| round < MAX_FETCH_ROUNDS) {
                        return Step::NeedsStore(op);
                    }
                    match self.refresh(refresher, plan.refresh_token, now) {
                        Progress::NeedsFetch(ticket) if round < MAX_FETCH_ROUNDS => {
                            return Step::NeedsFetch(ticket)
                        }
                        Progress::Done(outcome) => outcome,
                        Progress::NeedsFetch(_) => Err(Error::RefreshFailed {
                            reason: "no answer within the fetch rounds".into(),
                            definitive: false,
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
                        refreshed = Some((session, tokens.warning));
                        Ok(Found {
                            token: tokens.access_token,
                            source: TokenSource::Cookie,
                            vouched: None,
                        })
                    }
                    Err(e) if plan.mandatory => {
                        let source = Some(TokenSource::Cookie);
                        let d = self.conclude(request, &path, index, source, Err(e), o);
                        return Step::Decided(self.with_session(d, None, &request.url));
                    }
                    // Refreshing early failed; the current token is still good.
                    Err(_) => found,
                }
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => return Step::Decided(self.conclude(request, &path, index, None, Err(e), o)),
        };

        let source = Some(found.source);
        let Some(providers) = &self.providers else {
            // session.verifyToken false: the session's encryption authenticated the token.
            // Only an opened session fills `vouched`; anything else has nothing behind it.
            let vouched = match found.vouched {
                Some(claims) => {
                    o.step("verify", true, || {
                        "the sealed session vouches for its token (session.verifyToken false)"
                            .into()
                    });
                    Ok((found.token, Arc::new(Verified::vouched(claims))))
                }
                None => Err(Error::SessionNoToken(
                    "no sealed session vouches for the token",
                )),
            };
            let d = self.conclude(request, &path, index, source, vouched, o);
            return Step::Decided(self.with_session(d, refreshed.as_ref(), &request.url));
        };
        let provider = match providers.route(&found.token, o) {
            Ok(p) => p,
            Err(e) => {
                let d = self.conclude(request, &path, index, source, Err(e), o);
                return Step::Decided(self.with_session(d, refreshed.as_ref(), &request.url));
            }
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
                    },
                })
            }
            Ok(Progress::NeedsFetch(fetch)) if round < MAX_FETCH_ROUNDS => {
                return Step::NeedsFetch(fetch)
            }
            Ok(Progress::NeedsFetch(_)) => Err(Error::JwksUnavailable(
                "keys still missing after fetching".into(),
            )),
            Ok(Progress::Done(Checked::Cached(v))) => Ok((found.token, v)),
            Err(e) => Err(e),
        };
        let d = self.conclude(request, &path, index, source, verified, o);
        Step::Decided(self.with_session(d, refreshed.as_ref(), &request.url))
    }

    /// The pipeline after the signature check, reported to `o`.
    pub(crate) fn finish(&self, pending: Pending, signature_valid: bool, o: &mut Observer) -> Step {
        let Pending {
            unverified,
            web_crypto: _,
            then,
        } = pending;
        let (request, path, rule, source, token, now, provider, refreshed) = match then {
            Then::Decide {
                request,
                path,
                rule,
                source,
                token,
                now,
                provider,
                refreshed,
            } => (request, path, rule, source, token, now, provider, refreshed),
            Then::Callback { request, round } => {
                let verdict = Some((unverified.token(), signature_valid));
                return self.run(&request, round, verdict, o);
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
        let d = self.conclude(&request, &path, rule, Some(source), verified, o);
        Step::Decided(self.with_session(d, refreshed.as_ref(), &request.url))
    }

    /// Refreshes at the configured token endpoint, or at the one the login's discovery names.
    fn refresh(
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
                definitive: false,
            })),
            None => Progress::Done(Err(Error::RefreshFailed {
                reason: "no token endpoint".into(),
                definitive: false,
            })),
        }
    }

    /// A hosted-login route, answered by the login (`explain` only names it: it starts no
    /// login, exchanges no code and ends no session).
    #[allow(clippy::too_many_arguments)]
    fn login_route(
        &self,
        login: &Login,
        route: Route,
        request: &Request,
        path: &NormalizedPath,
        round: u8,
        verdict: Option<(&str, bool)>,
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
            Route::Login => login.start(request, path, &self.answers.return_to_param, now),
            Route::Callback => {
                let verify = |token: &str| self.verify_access(token, verdict, now);
                match login.callback(request, path, &self.session, &verify, verdict, now) {
                    Ok(progress) => progress,
                    Err(HostCheck {
                        unverified,
                        checker,
                    }) => {
                        let web_crypto = match checker {
                            Checker::IdToken => true,
                            Checker::Access(i) => {
                                self.providers.as_ref().is_some_and(|p| p.get(i).web_crypto)
                            }
                        };
                        return Step::NeedsSignature(Pending {
                            unverified: *unverified,
                            web_crypto,
                            then: Then::Callback {
                                request: request.to_owned_request(),
                                round,
                            },
                        });
                    }
                }
            }
            // (`Session` never comes here: `run` judges it as an API.)
            Route::Logout | Route::Session => {
                let cookies = request.cookies();
                let refresh_token = self
                    .extractor
                    .refresh_token(cookies.as_deref(), request.secure());
                login.logout(request, &self.session, refresh_token.as_deref(), now)
            }
        };
        match progress {
            Progress::Done(d) => Step::Decided(d),
            Progress::NeedsFetch(f) if round < MAX_FETCH_ROUNDS => Step::NeedsFetch(f),
            Progress::NeedsFetch(_) => {
                Step::Decided(login.unavailable("no answer within the fetch rounds"))
            }
        }
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

    fn conclude(
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
                Err(e) if e.is_keys_unavailable() => Decision::refused(
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
    fn pass(
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
    fn with_session(
        &self,
        mut d: Decision,
        refreshed: Option<&(Session, Option<&'static str>)>,
        url: &str,
    ) -> Decision {
        let passed = d.error.is_none();
        match refreshed {
            Some((session, warning)) if passed => match self.session_cookies(url, session) {
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
                    d.set_cookies = self.session.clear(url);
                }
            },
            // The provider's own new token failed verification: the session is unusable.
            Some(_) => d.set_cookies = self.session.clear(url),
            None if matches!(
                d.error,
                Some(Error::RefreshFailed {
                    definitive: true,
                    ..
                })
            ) =>
            {
                d.set_cookies = self.session.clear(url)
            }
            None => {}
        }
        d
    }
}
