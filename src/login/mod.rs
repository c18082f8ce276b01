//! Hosted login: the gate signs users in at an OpenID Connect provider itself — the
//! authorization code flow with PKCE (RFC 7636), state and nonce — and answers its routes
//! under `login.prefix` (default `/auth`):
//!
//! - `GET /auth/login?returnTo=/path` → 307 to the provider, with a sealed transaction
//!   cookie named by its state ([`transaction`]); only for a real navigation; the
//!   parameters pushed to the provider first where configured or required ([`push`]);
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
//! refresh token ([`crate::oauth::calls`]).

mod backchannel;
mod callback;
mod discovery;
mod logout;
mod profile;
mod push;
mod start;
pub(crate) mod transaction;

use std::sync::Arc;

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::answer::{private_json as json, private_redirect as redirect};
use crate::config::{durations, Duration, LoginOptions, OneOrMany};
use crate::cookie;
use crate::cookie::MAX_COOKIE_BYTES;
use crate::decision::{Action, Decision, Under};
use crate::error::{Error, LoginError, Passed, Result};
use crate::fetch::{Fetched, Progress, Round};
use crate::http::{encode_uri_component, host, is_local_path, is_loopback, origin_of, Request};
use crate::normalize::{normalize, NormalizedPath};
use crate::oauth::assertion::{AssertionKey, Audience};
use crate::oauth::calls::{self, Calls};
use crate::oauth::client::{parse_tokens, Client, Tokens};
use crate::oauth::{provider_error, unreachable_reason};
use crate::seal::Sealer;
use crate::session::{Session, SessionCookies};
use crate::verify::{Alg, ClaimsPolicy, KeyResolver, Unverified, Verified, Verifier};
pub(crate) use backchannel::{Backchannel, Check, Posted};
use discovery::{Discovery, Metadata};
use push::Pushes;
use transaction::Transaction;

/// The routes the gate answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Login,
    Callback,
    Logout,
    /// Answered through the gate's pipeline, as an API.
    Session,
    /// The provider's back-channel logout (`login.backchannelLogout`).
    BackchannelLogout,
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
    /// `appBaseUrl`'s origins, serialized as browsers send them.
    app_origins: Vec<String>,
    redirect_uri: Option<String>,
    post_logout_redirect_uri: Option<String>,
    error_url: Option<String>,
    session_claims: Vec<String>,
    sealer: Sealer,
    discovery: Discovery,
    id_tokens: Verifier,
    exchanges: Calls<Exchanged>,
    revocations: Calls<()>,
    /// RFC 9126: push every authorization request (else only where the provider requires).
    push: bool,
    pushes: Pushes,
    backchannel: Option<Backchannel>,
    /// `responseMode: "form_post"`: the callback is a cross-site POST.
    pub(crate) form_post: bool,
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
    // Out of line, as the other optional parts' constructors: inlined into `Gate::build`,
    // every gate's construction would compile it (bench/cold-functions.mjs).
    #[inline(never)]
    pub(crate) fn new(
        options: &LoginOptions,
        keys: Option<Arc<dyn KeyResolver>>,
        session_lifetime: f64,
    ) -> Result<Login> {
        let timeout =
            Duration::within(options.timeout_duration.as_ref(), &durations::LOGIN_TIMEOUT)?;
        let key = match &options.client_assertion_signing_key {
            Some(jwk) => Some(AssertionKey::new(
                "login.clientAssertionSigningKey",
                jwk,
                match options.client_assertion_audience {
                    Some(1) => Audience::Issuer(options.issuer.clone()),
                    _ => Audience::Endpoint,
                },
            )?),
            None => None,
        };
        let client = Client::new(
            "login",
            &options.client_id,
            options.client_secret.as_deref(),
            options.token_endpoint_auth_method.as_deref(),
            key,
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
        let mut app_origins = Vec::new();
        for url in options
            .app_base_url
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
        {
            crate::fetch::check_url(&url, "login.appBaseUrl").map_err(Error::ConfigUrl)?;
            match origin_of(&url) {
                Some(origin) if url.trim_end_matches('/').eq_ignore_ascii_case(&origin) => {
                    app_origins.push(origin)
                }
                _ => {
                    return Err(Error::ConfigUrl(format!(
                        "login.appBaseUrl: {url:?} is not an origin like \"https://app.example\""
                    )))
                }
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
        let id_tokens = Verifier::new(algorithms, keys, policy).with_cache(ID_TOKEN_CACHE);
        let backchannel = match &options.backchannel_logout {
            Some(b) => Some(Backchannel::new(b, &id_tokens, session_lifetime)?),
            None => None,
        };
        Ok(Login {
            prefix,
            issuer: options.issuer.clone(),
            discovery: Discovery::new(&options.issuer, client.timeout_ms)?,
            client,
            scope,
            extra,
            app_origins,
            redirect_uri: options.redirect_uri.clone(),
            post_logout_redirect_uri: options.post_logout_redirect_uri.clone(),
            error_url: options.error_url.clone(),
            session_claims: options.session_claims.clone(),
            sealer,
            id_tokens,
            exchanges: Calls::new(timeout, 60.0),
            revocations: Calls::new(timeout, 60.0),
            push: options.pushed_authorization_requests,
            pushes: Pushes::new(timeout),
            backchannel,
            form_post: options.response_mode == Some(1),
        })
    }

    /// Where pages send a visitor without a session.
    pub(crate) fn login_url(&self) -> String {
        format!("{}/login", self.prefix)
    }

    /// The app's public origin for a request: the listed one it came to (`appBaseUrl`), by
    /// its URL or, behind a reverse proxy that passes the client's `Host`, by that; or on
    /// loopback its own URL's (development). Never an unlisted one a client's `Host` or
    /// `X-Forwarded-Host` chose: the provider would send the code there.
    pub(crate) fn app_origin(&self, request: &Request) -> Result<String> {
        let origin = origin_of(&request.url);
        if let Some(listed) = [origin.clone(), request.host_origin()]
            .into_iter()
            .flatten()
            .find(|o| self.app_origins.contains(o))
        {
            return Ok(listed);
        }
        let loopback = |o: &str| {
            o.split_once("://")
                .is_some_and(|(_, a)| is_loopback(&host(a)))
        };
        match origin {
            Some(o) if self.app_origins.is_empty() && loopback(&o) => Ok(o),
            _ => Err(Error::Login(
                LoginError::Unavailable,
                "the request's origin is not the app's: set login.appBaseUrl (or redirectUri \
                 and postLogoutRedirectUri)"
                    .into(),
            )),
        }
    }

    /// The login route `path` names, if any: exactly as written, canonical spellings only.
    pub(crate) fn route(&self, path: &NormalizedPath) -> Option<Route> {
        let rest = path.path.strip_prefix(&self.prefix)?;
        match rest {
            "/login" => Some(Route::Login),
            "/callback" => Some(Route::Callback),
            "/logout" => Some(Route::Logout),
            "/session" => Some(Route::Session),
            "/backchannel-logout" if self.backchannel.is_some() => Some(Route::BackchannelLogout),
            _ => None,
        }
        .filter(|_| path.canonical)
    }

    /// The provider's endpoints, or the fetch they need first.
    pub(crate) fn metadata(&self, now: f64) -> Result<Progress<Arc<Metadata>>> {
        self.discovery.get(now)
    }

    /// The back-channel logout's records, when configured.
    pub(crate) fn ended(&self) -> Option<&Backchannel> {
        self.backchannel.as_ref()
    }

    /// Is fetch `id` one of the login's?
    pub(crate) fn owns(&self, id: u64) -> bool {
        self.discovery.owns(id)
            || self.exchanges.owns(id)
            || self.revocations.owns(id)
            || self.pushes.owns(id)
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
        if self.pushes.owns(id) {
            return self.pushes.complete(id, fetched);
        }
        self.id_tokens.complete(id, fetched, now).unwrap_or(false)
    }

    /// A transaction cookie (or its removal, `max_age` 0): sent on the provider's redirect
    /// back (`SameSite=Lax`), or with `form_post` on its cross-site POST (`SameSite=None`).
    fn tx_cookie(&self, name: &str, value: &str, secure: bool, max_age: i64) -> String {
        match self.form_post {
            true => cookie::set_cross_site_cookie(name, value, max_age),
            false => cookie(name, value, secure, max_age),
        }
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
    cookie::name(ID_COOKIE, secure)
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

/// A form post: `Content-Type: application/x-www-form-urlencoded` (a charset may follow).
fn is_form(request: &Request) -> bool {
    const FORM: &str = "application/x-www-form-urlencoded";
    request.single("content-type").is_some_and(|t| {
        let (media, rest) = t
            .trim_start()
            .split_at_checked(FORM.len())
            .unwrap_or_default();
        crate::http::same_name(media, FORM)
            && matches!(rest.trim_start().bytes().next(), None | Some(b';'))
    })
}

/// The largest form body a login route reads: a logout token, or a callback's code, state
/// and `iss`, are a few hundred bytes.
pub(crate) const MAX_FORM: usize = 16 * 1024;

fn method_not_allowed() -> Action {
    json(405, r#"{"error":"method_not_allowed"}"#)
}

/// A login cookie, as the gate writes all of its own ([`cookie::set_cookie`]).
fn cookie(name: &str, value: &str, secure: bool, max_age: i64) -> String {
    cookie::set_cookie(name, value, secure, Some(max_age))
}
