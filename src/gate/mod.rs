//! The decision: the path a request takes through the gate, top to bottom. A [`Gate`] is
//! built once from [`Options`], each part from its own options; [`Gate::decide`] takes a
//! plain request view and answers continue (with the exact headers to forward), redirect,
//! or respond, always with a stable reason code for logs.
//!
//! normalize → rules → extract → csrf → session refresh → verify (provider, JWS, keys,
//! signature, claims) → scopes → answer or forward: `pipeline` runs the steps,
//! `conclude` turns a verdict into the decision, `login` answers hosted login's routes.
//! This file holds the gate itself and the step API hosts drive it by.
//!
//! [`Gate::explain`] runs these very steps with a tracing [`Observer`] instead of a quiet
//! one, so it cannot say other than the decision would. Explaining changes nothing: it
//! neither reads nor fills the verified-token cache, starts no key fetch and no refresh, and
//! checks signatures with the engine (where the build has no engine path for the algorithm,
//! the signature step is inconclusive). A gate never puts a trace in a response.

mod conclude;
mod login;
mod pipeline;

use std::sync::Arc;

use crate::answer::{self, Answers};
use crate::clock::Clock;
use crate::config::{Options, RuleKind, TokenOptions};
use crate::csrf::Csrf;
use crate::decision::{Decision, Under};
use crate::error::{Error, Result};
use crate::extract::{Extractor, TokenSource};
use crate::fetch::{Fetch, Fetched, Round};
use crate::forward::Forwarder;
use crate::http::Request;
use crate::login::Login;
use crate::normalize::NormalizedPath;
use crate::rules::RuleSet;
use crate::session::{Refresher, Session, SessionCookies, StoreOp, Stored};
use crate::trace::{Observer, Trace};
use crate::unseal::Unsealer;
use crate::verify::{KeyResolver, Providers, Unverified, Verifier};

/// Decisions compared with their explanation in this process (`_integration_test`, debug
/// builds).
#[cfg(feature = "_integration_test")]
pub static AGREEMENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub use crate::fetch::MAX_FETCH_ROUNDS;

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
        round: Round,
    },
    /// A token of a hosted-login callback (or back-channel logout) whose signature only the
    /// host can check (the default wasm build): the route runs again, in this round, with
    /// the verdict.
    Callback {
        request: Request<'static>,
        round: Round,
        body: Option<String>,
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
    /// The decision needs the request's body (a back-channel logout's form): read at most
    /// this many bytes of it (one more shows it is longer) and begin again, in the same
    /// round, with [`Gate::begin_body`].
    NeedsBody(usize),
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
        options.check()?;
        let vouching = options.vouching();
        let providers = match vouching {
            false => Some(Providers::new(&options, resolver)?),
            true => None,
        };
        let login = match &options.login {
            Some(l) => {
                let keys = providers.as_ref().and_then(|p| p.keys_of(&l.issuer));
                let lifetime = SessionCookies::lifetime_of(&options.token)?;
                Some(Login::new(l, keys, lifetime)?)
            }
            None => None,
        };
        let answers = Answers::new(&options, login.as_ref().map(Login::login_url))?;
        let csrf = Csrf::new(&options.csrf)?;
        let mut rules = RuleSet::new(&options)?;
        let session_rule = login.as_ref().map(|_| rules.push_internal(RuleKind::Api));
        let unsealer = options.session.as_ref().map(Unsealer::new).transpose()?;
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

    /// `Set-Cookie` values storing `session` for a response to a request at `url` whose
    /// `Cookie` header is `present` (its stale chunks removed; all of them when unknown).
    pub fn session_cookies(
        &self,
        url: &str,
        present: Option<&str>,
        session: &Session,
    ) -> Result<Vec<String>> {
        if self.unsealer.is_some() {
            return Err(Error::SessionInvalid(
                "the session is the auth library's to write",
            ));
        }
        self.session.set(url, present, session, self.clock.now())
    }

    /// `Set-Cookie` values removing the session for a response to a request at `url`
    /// whose `Cookie` header is `present` (with hosted login, its ID-token cookie too).
    pub fn clear_session_cookies(&self, url: &str, present: Option<&str>) -> Vec<String> {
        let mut cookies = self.session.clear(url, present);
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
        let mut round = Round::default();
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
                    round = round.next(ticket.id);
                    self.begin_round(request, round)
                }
                // No store here: the refresh goes uncoordinated, and the decision says so.
                Step::NeedsStore(op) => {
                    self.stored(op.id, Stored::Failed);
                    round = round.next(op.id);
                    self.begin_round(request, round)
                }
                // A request without a body: decided as one with an empty body.
                Step::NeedsBody(_) => self.begin_body(request, round, Some("")),
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
        let decision = match self.run(request, Round::default(), None, None, &mut o) {
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
            Step::NeedsFetch(_) | Step::NeedsStore(_) | Step::NeedsBody(_) => None,
        };
        trace.code = decision.filter(|_| !trace.inconclusive).map(|d| d.code);
        trace
    }

    /// Under `_integration_test` in a debug build (the tests, `scripts/fuzz`), every
    /// decision is explained too, and the two must agree: the same code, and the trace's
    /// first step that failed with a code carries the decision's error. A continuing
    /// decision's header changes must make its forwarded headers. (Not in release
    /// builds: the benches measure decisions, not explanations.)
    #[cfg(all(feature = "_integration_test", debug_assertions))]
    fn check_agreement(&self, request: &Request, decision: &Decision) {
        if let crate::Action::Continue {
            headers, changes, ..
        } = &decision.action
        {
            assert_eq!(
                headers,
                &changes.apply(request),
                "the changes do not make the forwarded headers on {request:?}"
            );
        }
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
        let now = self.clock.now();
        match self.login.as_ref().and_then(Login::ended) {
            Some(ended) if ended.owns(id) => ended.stored(id, stored, now),
            _ => {
                if let Some(r) = &self.refresher {
                    r.stored(id, stored, now);
                }
            }
        }
    }

    /// Everything up to the signature check. A host with faster crypto (WebCrypto) may check
    /// `pending.unverified` itself and hand the verdict to [`Gate::resume`]; every decision
    /// is still made here.
    pub fn begin(&self, request: &Request) -> Step {
        self.begin_round(request, Round::default())
    }

    /// [`Gate::begin`] in `round` of this request: after that many fetches (a count
    /// converts), the last of them ticket `round.after`. From [`MAX_FETCH_ROUNDS`] on, a
    /// request that would need yet another fetch is refused.
    pub fn begin_round(&self, request: &Request, round: impl Into<Round>) -> Step {
        self.begin_body(request, round, None)
    }

    /// [`Gate::begin_round`] for a request whose body the host has read (after
    /// [`Step::NeedsBody`]): `body` is at most the bytes asked for, and one more if there
    /// were more. Only a route that asked for the body reads it.
    pub fn begin_body(
        &self,
        request: &Request,
        round: impl Into<Round>,
        body: Option<&str>,
    ) -> Step {
        self.run(request, round.into(), None, body, &mut Observer::quiet())
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
            Step::NeedsFetch(_) | Step::NeedsStore(_) | Step::NeedsBody(_) => match &self.login {
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
}
