//! Hosted login: the gate signs users in at an OpenID Connect provider itself — the
//! authorization code flow with PKCE (RFC 7636), state and nonce — and answers its routes
//! under `login.prefix` (default `/auth`):
//!
//! - `GET /auth/login?returnTo=/path` → 307 to the provider, with a sealed transaction
//!   cookie named by its state ([`transaction`]); only for a real navigation;
//! - `GET /auth/callback` → state, RFC 9207 `iss`, the provider's `error`, the code
//!   exchange, the ID token (OIDC Core 3.1.3.7, signature included) and the access token
//!   (the gate's `verify`), each refused with its own code; then the session, 303 back;
//! - `POST /auth/logout` (or a same-origin `GET` navigation) → the session cleared, the
//!   refresh token revoked (RFC 7009), then RP-initiated logout at the provider;
//! - `GET /auth/session` → `{ authenticated, sub, exp, … }` for client components; it runs
//!   the gate's own pipeline (see `decide`), so it refreshes and verifies like any API.
//!
//! Sans-IO like everything else: discovery, the token exchange and revocation are fetch
//! tickets the host performs; the exchange and revocation are single-flight per code and
//! refresh token ([`crate::session::calls`]).

mod discovery;
pub(crate) mod transaction;

use std::sync::Arc;

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::config::LoginOptions;
use crate::decision::{Action, Decision, Under};
use crate::error::{Error, LoginError, Passed, Result};
use crate::fetch::{Fetched, Progress};
use crate::http::{encode_uri_component, is_local_path, origin_of, Request};
use crate::normalize::{normalize, NormalizedPath};
use crate::seal::Sealer;
use crate::session::calls::{self, Calls};
use crate::session::client::{parse_tokens, Client, Tokens};
use crate::session::cookies::MAX_COOKIE_BYTES;
use crate::session::refresh::unreachable_reason;
use crate::session::{Session, SessionCookies};
use crate::verify::{Alg, ClaimsPolicy, KeyResolver, Unverified, Verified, Verifier};
use discovery::{Discovery, Metadata};
use transaction::Transaction;

/// The routes the gate answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Login,
    Callback,
    Logout,
    /// Answered through the gate's pipeline, as an API.
    Session,
}

/// The name of the ID-token cookie (`__Host-` off loopback http): kept for RP-initiated
/// logout's `id_token_hint` and the profile `/auth/session` returns; sealed, so its claims
/// are the gate's own reading of a verified ID token.
pub(crate) const ID_COOKIE: &str = "idToken";

/// Name prefixes of the login's cookies (transactions, the ID token): never sent upstream.
pub(crate) const COOKIE_PREFIXES: [&str; 2] = [transaction::NAME, ID_COOKIE];

/// The `Set-Cookie` that removes the ID-token cookie.
pub(crate) fn clear_id_cookie(secure: bool) -> String {
    cookie(&id_cookie_name(secure), "", secure, 0)
}

/// What a code exchange ends with: the tokens, or why not.
type Exchanged = std::result::Result<Tokens, String>;

/// A verification the login cannot finish without the network, or (`Err`) without the
/// host's crypto.
pub(crate) type Verify<'a> =
    &'a dyn Fn(&str) -> std::result::Result<Progress<Result<Arc<Verified>>>, HostCheck>;

/// Whose verifier a callback's token belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Checker {
    /// The login's own ID-token verifier.
    IdToken,
    /// The access token's provider (by index).
    Access(usize),
}

/// A signature of a callback's token that only the host's crypto can check (the default
/// wasm build: RSA, ECDSA and Ed25519 are the host's). The host checks it, and the callback
/// runs again with the verdict; a valid token is then in its verifier's cache.
#[derive(Debug)]
pub(crate) struct HostCheck {
    pub(crate) unverified: Box<Unverified>,
    pub(crate) checker: Checker,
}

/// ID tokens the login remembers as verified, so a callback that asked the host for its
/// access token's signature finds its ID token checked already when it runs again.
const ID_TOKEN_CACHE: usize = 16;

/// Hosted login, built and checked from `login`.
pub(crate) struct Login {
    prefix: String,
    issuer: String,
    pub(crate) client: Client,
    scope: String,
    /// `audience`, `resource` and `authorizationParams`, in order.
    extra: Vec<(String, String)>,
    redirect_uri: Option<String>,
    post_logout_redirect_uri: Option<String>,
    error_url: Option<String>,
    session_claims: Vec<String>,
    sealer: Sealer,
    discovery: Discovery,
    id_tokens: Verifier,
    exchanges: Calls<Exchanged>,
    revocations: Calls<()>,
}

/// Authorization parameters the gate sets itself.
const RESERVED: [&str; 9] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
];

impl Login {
    /// The login of `options`. ID tokens are verified with `keys` when a provider of the
    /// gate already holds this issuer's keys, else with keys discovered from the issuer.
    pub(crate) fn new(options: &LoginOptions, keys: Option<Arc<dyn KeyResolver>>) -> Result<Login> {
        let timeout = crate::config::Duration::bounded(
            options.timeout_duration.as_ref(),
            "login.timeoutDuration",
            5.0,
            60.0,
        )?;
        let client = Client::new(
            "login",
            &options.client_id,
            options.client_secret.as_deref(),
            options.token_endpoint_auth_method.as_deref(),
            timeout,
        )?;
        let mut secrets = options.secrets.clone();
        if let Some(s) = &options.secret {
            secrets.insert(0, s.clone());
        }
        let sealer = Sealer::new(&secrets, "login.secret")?;
        let prefix = options.prefix.clone().unwrap_or_else(|| "/auth".into());
        if !is_local_path(&prefix) || prefix.ends_with('/') || prefix.contains(['?', '#', '%']) {
            return Err(Error::ConfigUrl(format!(
                "login.prefix must be a path like \"/auth\", got {prefix:?}"
            )));
        }
        if let Some(url) = &options.error_url {
            if !is_local_path(url) {
                return Err(Error::ConfigUrl(format!(
                    "login.errorUrl must be a same-origin path, got {url:?}"
                )));
            }
        }
        for (name, url) in [
            ("login.redirectUri", &options.redirect_uri),
            (
                "login.postLogoutRedirectUri",
                &options.post_logout_redirect_uri,
            ),
        ] {
            if let Some(url) = url {
                crate::fetch::check_url(url, name).map_err(Error::ConfigUrl)?;
            }
        }
        let scope = options
            .scope
            .clone()
            .unwrap_or_else(|| "openid profile email offline_access".into());
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(Error::ConfigInvalid(
                "login.scope must include openid".into(),
            ));
        }
        let mut extra = Vec::new();
        for (name, value) in [
            ("audience", &options.audience),
            ("resource", &options.resource),
        ] {
            if let Some(v) = value {
                extra.push((name.to_owned(), v.clone()));
            }
        }
        for (name, value) in &options.authorization_params {
            if RESERVED.contains(&name.as_str()) || extra.iter().any(|(n, _)| n == name) {
                return Err(Error::ConfigInvalid(format!(
                    "login.authorizationParams: the gate sets {name:?} itself"
                )));
            }
            extra.push((name.clone(), value.clone()));
        }
        let algorithms = options
            .id_token_algorithms
            .clone()
            .unwrap_or_else(|| vec!["RS256".into()]);
        let algorithms = algorithms
            .iter()
            .map(|name| {
                Alg::from_name(name)
                    .filter(|a| !a.is_hmac())
                    .ok_or_else(|| {
                        Error::ConfigAlgorithms(format!(
                            "login.idTokenAlgorithms: {name:?} is not an asymmetric JWS algorithm"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let keys = match keys {
            Some(keys) => keys,
            None => crate::verify::discovered_keys(&options.issuer, algorithms.clone())?,
        };
        // OIDC Core 3.1.3.7: iss exactly, aud containing the client, exp; iat required.
        let policy = ClaimsPolicy {
            issuer: vec![options.issuer.clone()],
            audience: vec![options.client_id.clone()],
            clock_tolerance: 60.0,
            max_token_age: None,
            required_claims: vec!["iat".into(), "sub".into()],
            typ: None,
            require_exp: true,
        };
        Ok(Login {
            prefix,
            issuer: options.issuer.clone(),
            discovery: Discovery::new(&options.issuer, client.timeout_ms)?,
            client,
            scope,
            extra,
            redirect_uri: options.redirect_uri.clone(),
            post_logout_redirect_uri: options.post_logout_redirect_uri.clone(),
            error_url: options.error_url.clone(),
            session_claims: options.session_claims.clone(),
            sealer,
            id_tokens: Verifier::new(algorithms, keys, policy).with_cache(ID_TOKEN_CACHE),
            exchanges: Calls::new(timeout, 60.0),
            revocations: Calls::new(timeout, 60.0),
        })
    }

    /// Where pages send a visitor without a session.
    pub(crate) fn login_url(&self) -> String {
        format!("{}/login", self.prefix)
    }

    /// The login route `path` names, if any: exactly as written, canonical spellings only.
    pub(crate) fn route(&self, path: &NormalizedPath) -> Option<Route> {
        let rest = path.path.strip_prefix(&self.prefix)?;
        match rest {
            "/login" => Some(Route::Login),
            "/callback" => Some(Route::Callback),
            "/logout" => Some(Route::Logout),
            "/session" => Some(Route::Session),
            _ => None,
        }
        .filter(|_| path.canonical)
    }

    /// The provider's endpoints, or the fetch they need first.
    pub(crate) fn metadata(&self, now: f64) -> Result<Progress<Arc<Metadata>>> {
        self.discovery.get(now)
    }

    /// Is fetch `id` one of the login's?
    pub(crate) fn owns(&self, id: u64) -> bool {
        self.discovery.owns(id)
            || self.exchanges.owns(id)
            || self.revocations.owns(id)
            || self.id_tokens.owns(id)
    }

    /// Applies the outcome of one of the login's fetches.
    pub(crate) fn complete(&self, id: u64, fetched: Fetched, now: f64) -> bool {
        if self.discovery.owns(id) {
            return self.discovery.complete(id, fetched, now);
        }
        if self.exchanges.owns(id) {
            let outcome = match fetched {
                Fetched::Response { status: 200, body } => {
                    parse_tokens(&body).map_err(|why| format!("token response {why}"))
                }
                Fetched::Response {
                    status: status @ (400 | 401),
                    ..
                } => Err(format!(
                    "the token endpoint refused the code (HTTP {status})"
                )),
                other => Err(unreachable_reason(&other)),
            };
            return self.exchanges.complete(id, outcome, now);
        }
        if self.revocations.owns(id) {
            return self.revocations.complete(id, (), now);
        }
        self.id_tokens.complete(id, fetched, now).unwrap_or(false)
    }

    /// `GET <prefix>/login`: a new transaction and the redirect to the provider.
    pub(crate) fn start(
        &self,
        request: &Request,
        path: &NormalizedPath,
        return_param: &str,
        now: f64,
    ) -> Progress<Decision> {
        if !matches!(request.method.as_ref(), "GET" | "HEAD") {
            return done(refused(
                LoginError::Method,
                "login takes GET",
                method_not_allowed(),
            ));
        }
        if !is_navigation(request) {
            // A prefetch, an RSC fetch or a script: no transaction, so no cookie pile-up.
            return done(refused(
                LoginError::Navigation,
                "only a navigation starts a login",
                json(401, r#"{"error":"login_required"}"#),
            ));
        }
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => m,
            Ok(Progress::NeedsFetch(f)) => return Progress::NeedsFetch(f),
            Err(e) => return done(self.failure(e, None)),
        };
        let return_to = transaction::query_params(path.query.as_deref(), &[return_param])
            .ok()
            .and_then(|mut v| v.pop().flatten())
            .and_then(|raw| transaction::return_to(&encode_uri_component(&raw)))
            // Never one of these routes: `/auth/login` would loop through the provider.
            .filter(|to| normalize(to).ok().and_then(|p| self.route(&p)).is_none())
            .unwrap_or_else(|| "/".into());
        let Some(redirect_uri) = self.redirect_uri.clone().or_else(|| {
            Some(format!(
                "{}{}/callback",
                origin_of(&request.url)?,
                self.prefix
            ))
        }) else {
            return done(self.failure(
                Error::Login(
                    LoginError::Unavailable,
                    "no origin: set login.redirectUri".into(),
                ),
                None,
            ));
        };
        let mut tx = match Transaction::begin(return_to, redirect_uri, now) {
            Ok(tx) => tx,
            Err(e) => return done(self.failure(e, None)),
        };
        let secure = request.secure();
        let name = transaction::cookie_name(secure, &tx.state);
        let mut value = tx.seal(&self.sealer, &name);
        // A browser drops a cookie past 4096 bytes without a word, and the login with it: a
        // returnTo that long lands on `/` instead.
        if value
            .as_ref()
            .is_ok_and(|v| name.len() + 1 + v.len() > MAX_COOKIE_BYTES)
        {
            tx.return_to = "/".into();
            value = tx.seal(&self.sealer, &name);
        }
        let value = match value {
            Ok(v) => v,
            Err(e) => return done(self.failure(e, None)),
        };
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client.id),
            ("redirect_uri", &tx.redirect_uri),
            ("scope", &self.scope),
            ("state", &tx.state),
            ("nonce", &tx.nonce),
        ];
        let challenge = tx.challenge();
        params.push(("code_challenge", &challenge));
        params.push(("code_challenge_method", "S256"));
        params.extend(self.extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let location = with_query(&metadata.authorization_endpoint, &params);
        let mut d = Decision::passed(
            Passed::LoginStarted,
            redirect(307, location),
            Under::NONE,
            None,
        );
        d.set_cookies = self.drop_oldest(request, secure);
        d.set_cookies
            .push(cookie(&name, &value, secure, transaction::LIFETIME as i64));
        Progress::Done(d)
    }

    /// Clears transactions beyond the newest `MAX_LIVE - 1`, and any that do not open, so
    /// the new one makes at most `MAX_LIVE`.
    fn drop_oldest(&self, request: &Request, secure: bool) -> Vec<String> {
        let cookies = request.cookies().unwrap_or_default();
        let live: Vec<(f64, &str)> = crate::extract::cookie_pairs(&cookies)
            .filter(|(name, _)| transaction::is_cookie(name))
            .map(|(name, value)| {
                let created = Transaction::open(&self.sealer, name, value)
                    .map_or(f64::NEG_INFINITY, |t| t.created);
                (created, name)
            })
            .collect();
        // Kept: the newest MAX_LIVE - 1 that open (a handful at most: no sort needed).
        live.iter()
            .filter(|(created, _)| {
                let newer = live.iter().filter(|(other, _)| other > created).count();
                created.is_infinite() || newer + 1 >= transaction::MAX_LIVE
            })
            .map(|(_, name)| cookie(name, "", secure, 0))
            .collect()
    }

    /// `GET <prefix>/callback`: every check of the provider's answer, then the session.
    pub(crate) fn callback(
        &self,
        request: &Request,
        path: &NormalizedPath,
        session: &SessionCookies,
        verify_access: Verify<'_>,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> std::result::Result<Progress<Decision>, HostCheck> {
        if !matches!(request.method.as_ref(), "GET") {
            return Ok(done(refused(
                LoginError::Method,
                "the callback takes GET",
                method_not_allowed(),
            )));
        }
        let secure = request.secure();
        let params = match transaction::query_params(
            path.query.as_deref(),
            &["state", "code", "iss", "error"],
        ) {
            Ok(p) => p,
            Err(e) => return Ok(done(self.failure(e, None))),
        };
        let [state, code, iss, error] = [0, 1, 2, 3].map(|i| params[i].as_deref());
        // The state names the transaction cookie; only that cookie can answer for it.
        let Some(state) = state.filter(|s| transaction::valid_state(s)) else {
            return Ok(done(self.failure(
                Error::Login(LoginError::State, "no valid state".into()),
                None,
            )));
        };
        let name = transaction::cookie_name(secure, state);
        let clear = cookie(&name, "", secure, 0);
        let cookies = request.cookies().unwrap_or_default();
        let mut values = crate::extract::cookie_pairs(&cookies)
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v);
        let tx = match (values.next(), values.next()) {
            (Some(v), None) => Transaction::open(&self.sealer, &name, v),
            _ => None,
        };
        let Some(tx) = tx.filter(|tx| bool::from(tx.state.as_bytes().ct_eq(state.as_bytes())))
        else {
            return Ok(done(self.failure(
                Error::Login(
                    LoginError::State,
                    "no transaction of this browser has this state".into(),
                ),
                Some(clear),
            )));
        };
        if !(0.0..=transaction::LIFETIME).contains(&(now - tx.created)) {
            return Ok(done(self.failure(
                Error::Login(
                    LoginError::Expired,
                    "the login took more than 10 minutes".into(),
                ),
                Some(clear),
            )));
        }
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => m,
            Ok(Progress::NeedsFetch(f)) => return Ok(Progress::NeedsFetch(f)),
            Err(e) => return Ok(done(self.failure(e, Some(clear)))),
        };
        // RFC 9207: a mix-up attack answers with another issuer's `iss`, or none.
        match iss {
            Some(iss) if iss != self.issuer => {
                return Ok(done(self.failure(
                    Error::Login(LoginError::Iss, "iss is another issuer".into()),
                    Some(clear),
                )))
            }
            None if metadata.iss_parameter_supported => {
                return Ok(done(self.failure(
                    Error::Login(
                        LoginError::Iss,
                        "the provider sends iss, and it is missing".into(),
                    ),
                    Some(clear),
                )))
            }
            _ => {}
        }
        if let Some(error) = error {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Ok(done(
                self.failure(Error::Login(LoginError::Provider, error), Some(clear)),
            ));
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Ok(done(self.failure(
                Error::Login(LoginError::Exchange, "no code".into()),
                Some(clear),
            )));
        };
        // Single-flight per code and verifier: the request's later rounds (key fetches) find
        // the outcome again instead of spending the code twice.
        let exchange = calls::key(&["code", code, &tx.verifier]);
        let call = self.exchanges.call(exchange, now);
        let exchanged = calls::progress(
            call,
            || Err("too many logins in flight".into()),
            |id| {
                self.client.post(
                    id,
                    &metadata.token_endpoint,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", &tx.redirect_uri),
                        ("code_verifier", &tx.verifier),
                    ],
                )
            },
        );
        let tokens = match exchanged {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(tokens)) => tokens,
            Progress::Done(Err(why)) => {
                return Ok(done(
                    self.failure(Error::Login(LoginError::Exchange, why), Some(clear)),
                ))
            }
        };
        match self.check_id_token(tokens.id_token.as_deref(), &tx, verdict, now)? {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(())) => {}
            Progress::Done(Err(e)) => return Ok(done(self.failure(e, Some(clear)))),
        }
        match verify_access(&tokens.access_token)? {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(_)) => {}
            Progress::Done(Err(e)) => return Ok(done(self.failure(e, Some(clear)))),
        }
        let stored = Session {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_in.map(|s| now + s),
        };
        // The ID token is kept for logout's hint and the profile; one a browser would drop
        // (over 4 KB: Entra with many groups) is not kept, and logout sends client_id alone.
        let id_cookie = tokens
            .id_token
            .as_deref()
            .map(|t| self.seal_id_token(t, secure))
            .transpose()
            .map(|sealed| {
                sealed
                    .map(|v| cookie(&id_cookie_name(secure), &v, secure, session.lifetime()))
                    .filter(|c| c.len() <= 4096)
            });
        let cookies = session.set(&request.url, &stored, now).and_then(|mut c| {
            // Without a new one, an older session's ID token (another account's) goes too.
            c.push(id_cookie?.unwrap_or_else(|| clear_id_cookie(secure)));
            // A login replaces the whole session: without a refresh token of its own, the
            // one before it (another login's, perhaps another account's) must not stay and
            // later refresh this browser into that session.
            if stored.refresh_token.is_none() {
                c.extend(session.clear_refresh(&request.url));
            }
            Ok(c)
        });
        match cookies {
            Ok(mut set) => {
                // The code's tokens went to one session: a replay of this callback gets none.
                self.exchanges
                    .spend(exchange, Err("the code was already used".into()));
                set.push(clear);
                let mut d = Decision::passed(
                    Passed::LoggedIn,
                    redirect(303, tx.return_to.clone()),
                    Under::NONE,
                    None,
                );
                d.set_cookies = set;
                Ok(Progress::Done(d))
            }
            Err(e) => Ok(done(self.failure(e, Some(clear)))),
        }
    }

    /// OIDC Core 3.1.3.7 for the ID token of a code exchange: its signature against the
    /// provider's keys, `iss`, `aud` containing the client, `azp` when there are several
    /// audiences (or at all), `exp`, `iat`, and the transaction's `nonce`.
    /// `verdict`: the host's on a signature it was asked to check (see [`HostCheck`]).
    fn check_id_token(
        &self,
        token: Option<&str>,
        tx: &Transaction,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> std::result::Result<Progress<Result<()>>, HostCheck> {
        let fail = |why: String| Ok(Progress::Done(Err(Error::Login(LoginError::IdToken, why))));
        let Some(token) = token else {
            return fail("the token response has no id_token".into());
        };
        let progress = self.id_tokens.verify_progress(token, now, verdict);
        let progress = progress.map_err(|unverified| HostCheck {
            unverified,
            checker: Checker::IdToken,
        })?;
        let verified = match progress {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(v)) => v,
            // The provider's keys, not the token, failed: 503, as for any token.
            Progress::Done(Err(e)) if e.is_keys_unavailable() => {
                return Ok(Progress::Done(Err(Error::Login(
                    LoginError::Unavailable,
                    e.to_string(),
                ))))
            }
            Progress::Done(Err(e)) => return fail(format!("{} ({})", e, e.code())),
        };
        let claims = &verified.claims;
        let audiences = match claims.get("aud") {
            Some(Value::Array(a)) => a.len(),
            _ => 1,
        };
        match claims.get("azp") {
            Some(Value::String(azp)) if *azp != self.client.id => {
                return fail("azp is another client".into())
            }
            Some(Value::String(_)) => {}
            None if audiences > 1 => return fail("several audiences and no azp".into()),
            None => {}
            Some(_) => return fail("azp is not a string".into()),
        }
        let nonce = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !bool::from(nonce.as_bytes().ct_eq(tx.nonce.as_bytes())) {
            return fail("nonce does not match the transaction".into());
        }
        Ok(Progress::Done(Ok(())))
    }

    /// `POST <prefix>/logout` (or a same-origin `GET` navigation): revoke, clear, end the
    /// provider's session. A cross-site attempt changes nothing, nor does a same-origin
    /// image, fetch or prefetch.
    pub(crate) fn logout(
        &self,
        request: &Request,
        session: &SessionCookies,
        refresh_token: Option<&str>,
        now: f64,
    ) -> Progress<Decision> {
        if let Err(e) = same_origin(request) {
            return done(Decision::refused(
                e,
                json(403, r#"{"error":"forbidden"}"#),
                Under::NONE,
            ));
        }
        let secure = request.secure();
        // The provider's part is best effort: the local session ends whatever happens.
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => Some(m),
            Ok(Progress::NeedsFetch(f)) => return Progress::NeedsFetch(f),
            Err(_) => None,
        };
        let revocation = metadata
            .as_ref()
            .and_then(|m| m.revocation_endpoint.as_deref());
        if let (Some(url), Some(token)) = (revocation, refresh_token) {
            let call = self.revocations.call(calls::key(&["revoke", token]), now);
            let revoked = calls::progress(
                call,
                || (),
                |id| {
                    self.client.post(
                        id,
                        url,
                        &[("token", token), ("token_type_hint", "refresh_token")],
                    )
                },
            );
            if let Progress::NeedsFetch(f) = revoked {
                return Progress::NeedsFetch(f);
            }
        }
        let id_token = self.id_token(request, secure);
        let origin = origin_of(&request.url);
        let after = self
            .post_logout_redirect_uri
            .clone()
            .or_else(|| origin.map(|o| format!("{o}/")));
        let location = match (
            metadata
                .as_ref()
                .and_then(|m| m.end_session_endpoint.as_deref()),
            &after,
        ) {
            (Some(end), after) => {
                let mut params = vec![("client_id", self.client.id.as_str())];
                if let Some(hint) = &id_token {
                    params.push(("id_token_hint", hint));
                }
                if let Some(after) = after {
                    params.push(("post_logout_redirect_uri", after));
                }
                with_query(end, &params)
            }
            (None, _) => "/".into(),
        };
        let mut d = Decision::passed(
            Passed::LoggedOut,
            redirect(303, location),
            Under::NONE,
            None,
        );
        d.set_cookies = session.clear(&request.url);
        d.set_cookies.push(clear_id_cookie(secure));
        Progress::Done(d)
    }

    /// The ID token of this browser's session, from its sealed cookie.
    fn id_token(&self, request: &Request, secure: bool) -> Option<String> {
        let name = id_cookie_name(secure);
        let cookies = request.cookies()?;
        let value = crate::extract::cookie_pairs(&cookies)
            .find(|(n, _)| *n == name)?
            .1;
        String::from_utf8(self.sealer.open(&name, value).ok()?).ok()
    }

    fn seal_id_token(&self, token: &str, secure: bool) -> Result<String> {
        self.sealer.seal(&id_cookie_name(secure), token.as_bytes())
    }

    /// `<prefix>/session`'s answer for a verified session: `sub`, `exp`, and the configured
    /// claims from the ID token of the same subject (else from the access token).
    pub(crate) fn session_json(&self, request: &Request, verified: Option<&Verified>) -> Action {
        let Some(v) = verified else {
            return json(200, r#"{"authenticated":false}"#);
        };
        let mut out = Map::new();
        out.insert("authenticated".into(), Value::Bool(true));
        let sub = v.claims.get("sub");
        for name in ["sub", "exp"] {
            if let Some(value) = v.claims.get(name) {
                out.insert(name.into(), value.clone());
            }
        }
        let id_claims = self
            .id_token(request, request.secure())
            .and_then(|t| crate::verify::jws::parse(&t).ok()?.claims())
            .filter(|c| c.get("sub") == sub);
        for name in &self.session_claims {
            let value = id_claims
                .as_ref()
                .and_then(|c| c.get(name))
                .or_else(|| v.claims.get(name));
            if let Some(value) = value {
                out.insert(name.clone(), value.clone());
            }
        }
        json(200, &Value::Object(out).to_string())
    }

    /// The answer when the provider could not be reached in time.
    pub(crate) fn unavailable(&self, why: &str) -> Decision {
        self.failure(Error::Login(LoginError::Unavailable, why.into()), None)
    }

    /// A refused callback (or login): to `errorUrl?error=<code>`, else 400 JSON; the
    /// transaction cookie cleared, nothing else set.
    fn failure(&self, e: Error, clear: Option<String>) -> Decision {
        let code = e.code();
        let action = match &self.error_url {
            Some(url) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                redirect(303, format!("{url}{sep}error={code}"))
            }
            None if matches!(e, Error::Login(LoginError::Unavailable, _)) => {
                json(503, r#"{"error":"temporarily_unavailable"}"#)
            }
            None => json(
                400,
                &format!(r#"{{"error":"login_failed","code":"{code}"}}"#),
            ),
        };
        let mut d = Decision::refused(e, action, Under::NONE);
        d.set_cookies.extend(clear);
        d
    }
}

/// The ID-token cookie's name for a request.
pub(crate) fn id_cookie_name(secure: bool) -> String {
    format!("{}{ID_COOKIE}", if secure { "__Host-" } else { "" })
}

/// A top-level navigation, not a prefetch: `Sec-Fetch-Mode: navigate` (every current
/// browser sends it; without it nothing proves a navigation), and no prefetch purpose
/// (speculation rules and `<link rel=prefetch>` navigate too, with `Sec-Purpose: prefetch`;
/// Next's router prefetches with its own headers).
fn is_navigation(request: &Request) -> bool {
    let navigate = request
        .single("sec-fetch-mode")
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("navigate"));
    let prefetch = ["sec-purpose", "purpose", "next-router-prefetch", "rsc"]
        .iter()
        .any(|h| request.values(h).next().is_some());
    navigate && !prefetch
}

/// Logout's CSRF rule: a POST from this origin (`Sec-Fetch-Site` same-origin/none, else an
/// `Origin` equal to the request's), or a GET a user made here (`Sec-Fetch-Site`
/// same-origin or none, and a navigation: a same-origin link, or typed). Never a
/// cross-site link or form, nor a same-origin `<img>`, script fetch or router prefetch.
fn same_origin(request: &Request) -> Result<()> {
    let site = request.single("sec-fetch-site").map(str::trim);
    if matches!(site, Some("same-origin" | "none")) {
        return match request.method.as_ref() {
            "POST" => Ok(()),
            "GET" if is_navigation(request) => Ok(()),
            "GET" => Err(Error::Csrf("a logout by GET must be a navigation")),
            _ => Err(Error::Login(LoginError::Method, "logout takes POST".into())),
        };
    }
    let origin_matches = request.method == "POST"
        && site.is_none()
        && request
            .single("origin")
            .map(|o| o.trim().to_ascii_lowercase())
            == origin_of(&request.url);
    if origin_matches {
        Ok(())
    } else {
        Err(Error::Csrf("logout must come from this origin"))
    }
}

fn done(d: Decision) -> Progress<Decision> {
    Progress::Done(d)
}

fn refused(e: LoginError, why: &str, action: Action) -> Decision {
    Decision::refused(Error::Login(e, why.into()), action, Under::NONE)
}

/// `url` with `params` form-encoded into its query.
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.push_str(&encode_uri_component(value));
        sep = '&';
    }
    out
}

/// Every response that sets or clears a cookie is private: a shared cache must never hand
/// one user's session to another (CVE-2025-48947).
fn private_headers() -> Vec<(String, String)> {
    vec![("cache-control".into(), "private, no-store".into())]
}

fn redirect(status: u16, location: String) -> Action {
    let mut headers = private_headers();
    headers.push(("location".into(), location));
    Action::Respond {
        status,
        headers,
        body: String::new(),
    }
}

fn json(status: u16, body: &str) -> Action {
    let mut headers = private_headers();
    headers.push(("content-type".into(), "application/json".into()));
    Action::Respond {
        status,
        headers,
        body: body.into(),
    }
}

fn method_not_allowed() -> Action {
    json(405, r#"{"error":"method_not_allowed"}"#)
}

/// A login cookie: `HttpOnly; SameSite=Lax` (sent on the provider's top-level redirect
/// back), `Path=/`, `Secure` with the `__Host-` name off loopback http.
fn cookie(name: &str, value: &str, secure: bool, max_age: i64) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    c.push_str(&format!("; Max-Age={max_age}"));
    c
}
