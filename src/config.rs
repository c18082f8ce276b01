//! The options object: its serde shapes and defaults, named after jose's vocabulary.
//! Unknown fields are errors (a misspelt `audiance` must not silently disable the audience
//! check). The values are checked by the parts they build, once, when the gate is built
//! (`RuleSet::new`, `Extractor::new`, `Providers::new`, …): a gate that builds is a gate
//! that works.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// What a rule protects and how it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// Pages: without a valid token, redirect to the login page.
    Page,
    /// APIs: without a valid token, 401 JSON with `WWW-Authenticate`.
    Api,
    /// Login/register pages: a visitor who already has a session goes to `afterLoginUrl`.
    Guest,
    /// Open to everyone (e.g. `/api/login` before `/api/:path*`); spoofable headers are
    /// still dropped.
    Public,
}

impl RuleKind {
    /// Public and guest rules are exceptions to protection: they are read narrowly.
    pub fn is_exception(self) -> bool {
        matches!(self, RuleKind::Public | RuleKind::Guest)
    }

    /// The kind as written in options and decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Page => "page",
            RuleKind::Api => "api",
            RuleKind::Guest => "guest",
            RuleKind::Public => "public",
        }
    }
}

/// One string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Seconds as a number, or a jose-style string: `"60s"`, `"5 minutes"`, `"2h"`, `"1d"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Duration {
    /// Seconds.
    Seconds(f64),
    /// A string with a unit: `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"1w"`.
    Text(String),
}

/// A duration option: its path, its default and its bound, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The option's path (`refresh.grace`).
    pub option: &'static str,
    /// When it is not given.
    pub default: f64,
    /// Above this it is refused (it also catches jose's milliseconds passed by habit).
    pub max: f64,
}

/// Every duration option, written once: the parts read theirs from here
/// ([`Duration::within`]); `index.d.ts` documents the same defaults and bounds. (Each
/// constant's doc is its `option`.)
#[allow(missing_docs)]
pub mod durations {
    use super::Bound;

    const fn bound(option: &'static str, default: f64, max: f64) -> Bound {
        Bound {
            option,
            default,
            max,
        }
    }
    const DAY: f64 = 86_400.0;

    // (A clock tolerance of hours would be no expiry at all.)

    pub const CLOCK_TOLERANCE: Bound = bound("verify.clockTolerance", 0.0, 3_600.0);
    pub const MAX_TOKEN_AGE: Bound = bound("verify.maxTokenAge", f64::INFINITY, f64::INFINITY);
    pub const CACHE_MAX_AGE: Bound = bound("verify.remote.cacheMaxAge", 600.0, DAY);
    pub const COOLDOWN: Bound = bound("verify.remote.cooldownDuration", 30.0, 3_600.0);
    pub const JWKS_TIMEOUT: Bound = bound("verify.remote.timeoutDuration", 5.0, 60.0);
    pub const STALE_IF_ERROR: Bound = bound("verify.remote.staleIfError", 3_600.0, 7.0 * DAY);
    pub const REFRESH_MAX_AGE: Bound = bound("token.refreshMaxAge", 30.0 * DAY, f64::INFINITY);
    pub const REFRESH_WINDOW: Bound = bound("refresh.window", 60.0, 3_600.0);
    pub const REFRESH_GRACE: Bound = bound("refresh.grace", 30.0, 600.0);
    pub const REFRESH_TIMEOUT: Bound = bound("refresh.timeoutDuration", 5.0, 60.0);
    pub const COORDINATION_WAIT: Bound = bound("refresh.coordination.waitDuration", 6.0, 30.0);
    pub const CLAIM_TTL: Bound = bound("refresh.coordination.claimTtl", 10.0, 60.0);
    pub const STORE_TIMEOUT: Bound = bound("refresh.coordination.timeoutDuration", 1.0, 10.0);
    pub const LOGIN_TIMEOUT: Bound = bound("login.timeoutDuration", 5.0, 60.0);

    /// All of them, for the tests that hold the docs to this table.
    pub const ALL: [Bound; 14] = [
        CLOCK_TOLERANCE,
        MAX_TOKEN_AGE,
        CACHE_MAX_AGE,
        COOLDOWN,
        JWKS_TIMEOUT,
        STALE_IF_ERROR,
        REFRESH_MAX_AGE,
        REFRESH_WINDOW,
        REFRESH_GRACE,
        REFRESH_TIMEOUT,
        COORDINATION_WAIT,
        CLAIM_TTL,
        STORE_TIMEOUT,
        LOGIN_TIMEOUT,
    ];
}

impl Duration {
    /// The optional duration option `bound` names, in seconds: its default when absent,
    /// refused above its bound.
    pub fn within(d: Option<&Duration>, bound: &Bound) -> Result<f64> {
        Duration::bounded(d, bound.option, bound.default, bound.max)
    }

    /// An optional duration option in seconds: `default` when absent, refused above `max`
    /// (which also catches jose's millisecond values passed by habit).
    fn bounded(d: Option<&Duration>, option: &str, default: f64, max: f64) -> Result<f64> {
        let secs = d.map(|d| d.seconds(option)).transpose()?.unwrap_or(default);
        if secs > max {
            // Whole seconds: printing an f64 would link core's float formatting (~18 KB).
            let (secs, max) = (secs.ceil() as u64, max as u64);
            return Err(Error::ConfigInvalid(format!(
                "{option} is {secs} seconds, more than the {max} allowed \
                 (durations are seconds or strings like \"10m\", not milliseconds)"
            )));
        }
        Ok(secs)
    }

    /// The duration in seconds; `option` names it in errors.
    pub fn seconds(&self, option: &str) -> Result<f64> {
        let bad = || {
            Error::ConfigInvalid(format!(
                "{option}: expected seconds or a duration like \"2h\""
            ))
        };
        let secs = match self {
            Duration::Seconds(s) => *s,
            Duration::Text(t) => {
                let t = t.trim();
                let split = t
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(t.len());
                let value: f64 = t[..split].parse().map_err(|_| bad())?;
                let unit = match t[split..].trim() {
                    "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
                    "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
                    "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
                    "d" | "day" | "days" => 86_400.0,
                    "w" | "week" | "weeks" => 604_800.0,
                    _ => return Err(bad()),
                };
                value * unit
            }
        };
        if secs.is_finite() && secs >= 0.0 {
            Ok(secs)
        } else {
            Err(bad())
        }
    }
}

/// One rule: what it matches, what kind it is, and where its requests go.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleOptions {
    /// Next.js `matcher` sources, one or several.
    #[serde(rename = "match")]
    pub matcher: OneOrMany,
    /// `page`, `api`, `guest` or `public`.
    pub kind: RuleKind,
    /// Scopes the token must carry (all of them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Where a request this rule lets through goes: an absolute http(s) URL, or the name
    /// of one of `upstreams`. Without it the request continues into the app.
    #[serde(default)]
    pub upstream: Option<String>,
}

/// Which token wins when a request carries both a cookie and a bearer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PrecedenceOption {
    /// The cookie (default).
    #[default]
    Cookie,
    /// The `Authorization` header.
    Header,
}

/// Where the token is found: cookies, the `Authorization` header, and their limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenOptions {
    /// Name of the auth cookie; `null` turns cookies off.
    #[serde(default = "default_cookie")]
    pub cookie: Option<String>,
    /// Name of the refresh-token cookie (never forwarded upstream).
    #[serde(default = "default_refresh_cookie")]
    pub refresh_cookie: Option<String>,
    /// On requests that are not plain http on loopback, the cookies are named
    /// `__Host-<name>` (set only by this host, over TLS, Path=/). Default true.
    #[serde(default = "yes")]
    pub host_prefix: bool,
    /// Lifetime of the refresh cookie. Default 30 days.
    #[serde(default)]
    pub refresh_max_age: Option<Duration>,
    /// Accept `Authorization: Bearer`.
    #[serde(default = "yes")]
    pub header: bool,
    /// Which source wins when both carry a token.
    #[serde(default)]
    pub precedence: PrecedenceOption,
    /// Most chunks (`token.0`, `token.1`, …) joined into one token. Default 10.
    #[serde(default = "default_max_chunks")]
    pub max_chunks: usize,
    /// Longest `Cookie` header read, in bytes. Default 8 KiB.
    #[serde(default = "default_8k")]
    pub max_cookie_header_bytes: usize,
    /// Longest token read, in bytes. Default 8 KiB.
    #[serde(default = "default_8k")]
    pub max_token_bytes: usize,
}

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            cookie: default_cookie(),
            refresh_cookie: default_refresh_cookie(),
            host_prefix: true,
            refresh_max_age: None,
            header: true,
            precedence: PrecedenceOption::Cookie,
            max_chunks: default_max_chunks(),
            max_cookie_header_bytes: default_8k(),
            max_token_bytes: default_8k(),
        }
    }
}

/// The auth library whose session cookie holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionFormatOption {
    /// Auth.js (`@auth/core`, next-auth 5): `authjs.session-token`.
    Authjs,
    /// next-auth 4: `next-auth.session-token`.
    NextAuth,
    /// `@auth0/nextjs-auth0` 4: `__session`.
    Auth0,
    /// `@auth0/nextjs-auth0` 3: `appSession`.
    #[serde(rename = "auth0-v3")]
    Auth0V3,
    /// Kinde's Next.js SDK: `access_token`, a raw JWT.
    Kinde,
}

/// An auth library's session cookie as the source of the token, instead of a raw JWT
/// cookie (the `Authorization` header still counts, by `token.precedence`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// Which library wrote it.
    pub format: SessionFormatOption,
    /// The library's secret (`AUTH_SECRET`, `NEXTAUTH_SECRET`, `AUTH0_SECRET`).
    #[serde(default)]
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Where the session keeps the token, dot-separated. Default `accessToken`
    /// (`tokenSet.accessToken` for nextjs-auth0 4).
    #[serde(default)]
    pub token_path: Option<String>,
    /// The session cookie's name when the app renamed it (the same on http and https).
    #[serde(default)]
    pub cookie: Option<String>,
    /// `false` forwards the token as the session holds it, authenticated by the session's
    /// encryption alone (for opaque tokens); no `verify` then. Default true.
    #[serde(default = "yes")]
    pub verify_token: bool,
}

/// One identity provider: how its tokens are verified (jose's `jwtVerify` options).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOptions {
    /// The allowed `alg` values; `none` never is.
    pub algorithms: Vec<String>,
    /// A secret, PEM public key, JWK, JWKS, or an array of them.
    #[serde(default)]
    pub keys: Option<Value>,
    /// A JWKS URL, fetched by the host and cached (see `remote`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// With neither `keys` nor `jwksUri`, the keys are found by OIDC discovery from here.
    #[serde(default)]
    pub issuer: Option<OneOrMany>,
    /// Accepted `aud` values: the token's must contain one.
    #[serde(default)]
    pub audience: Option<OneOrMany>,
    /// Leeway for `exp`, `nbf` and `iat`.
    #[serde(default)]
    pub clock_tolerance: Option<Duration>,
    /// Greatest token age, from `iat`.
    #[serde(default)]
    pub max_token_age: Option<Duration>,
    /// Claims that must be present.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// The expected `typ` header (`at+jwt` also accepts `application/at+jwt`).
    #[serde(default)]
    pub typ: Option<String>,
    /// Refuse tokens without `exp`. Default true.
    #[serde(default = "yes")]
    pub require_exp: bool,
    /// Verified tokens remembered so repeat requests skip the signature check (0: off).
    /// Default 1000, at most 100000.
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
    /// On JS hosts, check RSA and ECDSA signatures with the host's native crypto (node:crypto
    /// on Node, else WebCrypto) instead of jwt-compact in wasm. HMAC stays in the engine, and
    /// Ed25519 too except on node:crypto: wherever that is faster (bench/README.md).
    #[serde(default = "yes")]
    pub web_crypto: bool,
    /// How remote keys (`jwksUri` or discovery) are fetched and cached.
    #[serde(default)]
    pub remote: RemoteOptions,
}

/// Remote key cache tuning. Durations are seconds or strings like `"10m"`; each has an
/// upper bound, which also catches jose's millisecond values passed by habit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteOptions {
    /// How long fetched keys are fresh. Default 10 minutes, at most a day.
    #[serde(default)]
    pub cache_max_age: Option<Duration>,
    /// Least time between two fetches (an unknown `kid`, a failure). Default 30 s.
    #[serde(default)]
    pub cooldown_duration: Option<Duration>,
    /// Give up on a fetch after this long. Default 5 s, at most 60.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
    /// How long stale keys still serve while the provider fails. Default 1 hour.
    #[serde(default)]
    pub stale_if_error: Option<Duration>,
    /// Largest answer read, in bytes. Default 256 KiB.
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// The `User-Agent` of key fetches. Default `edgegate/<version>`.
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// What a request let through carries to the backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamOptions {
    /// Remove the auth cookie (and its chunks) from the forwarded `Cookie` header. The
    /// refresh cookie and hosted login's cookies are removed either way.
    #[serde(default = "yes")]
    pub strip_auth_cookie: bool,
    /// Claims forwarded as headers: `{ "sub": "x-auth-sub" }`.
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    /// More client headers to drop, beside the built-in identity headers.
    #[serde(default)]
    pub strip_headers: Vec<String>,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions {
            strip_auth_cookie: true,
            claim_headers: BTreeMap::new(),
            strip_headers: Vec::new(),
        }
    }
}

/// Refreshing access tokens with the refresh-token cookie at the provider's token endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshOptions {
    /// The provider's token endpoint (https, or http on loopback); with `login`, its
    /// provider's, from discovery.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// This app's OAuth client id (with `login`, its client).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Confidential clients (client_secret_basic); omit for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Refresh this long before `exp`. Default 60 s.
    #[serde(default)]
    pub window: Option<Duration>,
    /// How long a refresh outcome is reused for requests carrying the old refresh token.
    /// Default 30 s.
    #[serde(default)]
    pub grace: Option<Duration>,
    /// Give up on a token request after this long. Default 5 s, at most 60.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
    /// One token-endpoint call per refresh token across isolates and servers, through a
    /// store the host provides (`refreshStore`).
    #[serde(default)]
    pub coordination: Option<CoordinationOptions>,
}

/// Refresh coordination through a shared store: the store's keys are keyed hashes of refresh
/// tokens, its values sealed with `secret`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoordinationOptions {
    /// At least 32 bytes, the same on every instance: keys the hashes and seals the outcomes.
    #[serde(default)]
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// How long a request waits for a refresh claimed elsewhere. Default 6 s, at most 30.
    #[serde(default)]
    pub wait_duration: Option<Duration>,
    /// How long a claim holds if its owner never settles it. Default 10 s, at most 60;
    /// longer than `refresh.timeoutDuration`.
    #[serde(default)]
    pub claim_ttl: Option<Duration>,
    /// Give up on one store operation after this long. Default 1 s, at most 10.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
}

/// Hosted login: the gate signs users in at an OpenID Connect provider (authorization code
/// with PKCE) and answers `<prefix>/login`, `/callback`, `/logout` and `/session` itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginOptions {
    /// The provider's issuer; its endpoints come from OIDC discovery.
    pub issuer: String,
    /// This app's client id at the provider.
    pub client_id: String,
    /// A confidential client's secret; omit for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default with a secret), `client_secret_post` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Seals the login transaction and ID-token cookies: at least 32 bytes.
    #[serde(default)]
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Default `openid profile email offline_access`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Auth0's `audience` parameter: the API the access token is for.
    #[serde(default)]
    pub audience: Option<String>,
    /// RFC 8707 `resource` indicator: the API the access token is for.
    #[serde(default)]
    pub resource: Option<String>,
    /// More authorization request parameters (`prompt`, `ui_locales`, `connection`, …).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// The app's public origin, or several (preview deployments): `https://app.example`.
    /// The callback and post-logout URLs are built on the one a request came to; a request
    /// to an unlisted origin cannot log in. Without it, only loopback requests (development)
    /// build them from the request's own origin.
    #[serde(default)]
    pub app_base_url: Option<OneOrMany>,
    /// The registered callback URL. Default: the app's origin + `<prefix>/callback`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Where the provider sends the browser after logout. Default: the app's origin + `/`.
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// The routes' prefix. Default `/auth`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A page for failed logins (`?error=<code>`); without it, 400 JSON.
    #[serde(default)]
    pub error_url: Option<String>,
    /// ID-token claims `<prefix>/session` returns beside `sub` and `exp`.
    #[serde(default)]
    pub session_claims: Vec<String>,
    /// Algorithms the provider may sign ID tokens with. Default `["RS256"]`.
    #[serde(default)]
    pub id_token_algorithms: Option<Vec<String>>,
    /// Token, revocation and discovery requests give up after this long. Default 5 s.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
}

/// Cross-site request forgery guard for cookie-authenticated requests with unsafe methods.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsrfOptions {
    /// On by default.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Other origins allowed to send such requests, e.g. `"https://admin.example.com"`.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl Default for CsrfOptions {
    fn default() -> Self {
        CsrfOptions {
            enabled: true,
            allowed_origins: Vec::new(),
        }
    }
}

/// Everything a gate is built from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Options {
    /// First matching rule wins. Default: `/dashboard/:path*` page, `/api/:path*` api.
    #[serde(default)]
    pub rules: Option<Vec<RuleOptions>>,
    /// Where the token is found.
    #[serde(default)]
    pub token: TokenOptions,
    /// One provider (keys, JWKS URL or discovery) ...
    #[serde(default)]
    pub verify: Option<VerifyOptions>,
    /// ... or several, each with its own `issuer`; a token is routed by its `iss`.
    #[serde(default)]
    pub providers: Vec<VerifyOptions>,
    /// Status when a provider's keys cannot be obtained: 503 (default: the gate is
    /// unavailable, not the user unauthenticated) or 401 (treated as an invalid token).
    #[serde(default = "default_unavailable_status")]
    pub keys_unavailable_status: u16,
    /// Where pages send a visitor without a session. Default `/login`.
    #[serde(default = "default_login")]
    pub login_url: String,
    /// The query parameter that carries the page to return to. Default `returnTo`.
    #[serde(default = "default_return_to")]
    pub return_to_param: String,
    /// Where guest pages send a visitor who has a session. Default `/`.
    #[serde(default = "default_after_login")]
    pub after_login_url: String,
    /// What requests let through carry to the backend.
    #[serde(default)]
    pub upstream: UpstreamOptions,
    /// The CSRF guard for cookie sessions.
    #[serde(default)]
    pub csrf: CsrfOptions,
    /// Refreshing expired access tokens with the refresh cookie.
    #[serde(default)]
    pub refresh: Option<RefreshOptions>,
    /// Hosted login at an OpenID Connect provider.
    #[serde(default)]
    pub login: Option<LoginOptions>,
    /// Read the token from an auth library's session cookie (Auth.js, next-auth,
    /// nextjs-auth0, Kinde) instead of `token.cookie`.
    #[serde(default)]
    pub session: Option<SessionOptions>,
    /// Next's `basePath`, when the app has one.
    #[serde(default)]
    pub base_path: Option<String>,
    /// Next's i18n locales, when the app has them.
    #[serde(default)]
    pub locales: Vec<String>,
    /// Named upstreams, for rules to refer to: `{ "backend": "https://api.internal" }`.
    #[serde(default)]
    pub upstreams: BTreeMap<String, String>,
}

impl Options {
    /// Options from JSON text; unknown fields are errors.
    pub fn from_json(json: &str) -> Result<Options> {
        serde_json::from_str(json).map_err(|e| Error::ConfigInvalid(format!("options: {e}")))
    }

    /// The options' combinations: each part checks its own options when it is built; these
    /// are the rules between parts, checked before any is built.
    pub fn check(&self) -> Result<()> {
        let invalid = |why: &str| Err(Error::ConfigInvalid(why.into()));
        let vouching = self.vouching();
        if vouching && (self.verify.is_some() || !self.providers.is_empty()) {
            return invalid(
                "session.verifyToken false: the session vouches for its token; give no verify \
                 or providers",
            );
        }
        if self.session.is_some() && self.login.is_some() {
            return invalid("session and login: the gate's hosted login writes its own session");
        }
        if self.session.is_some() && self.refresh.is_some() {
            return invalid("session and refresh: the library that wrote the session refreshes it");
        }
        Ok(())
    }

    /// `session.verifyToken: false`: the sealed session vouches for its token.
    pub fn vouching(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.verify_token)
    }

    /// The rules, or the defaults when none are given.
    pub fn rules_or_default(&self) -> Vec<RuleOptions> {
        self.rules.clone().unwrap_or_else(|| {
            vec![
                RuleOptions {
                    matcher: OneOrMany::One("/dashboard/:path*".into()),
                    kind: RuleKind::Page,
                    scopes: vec![],
                    upstream: None,
                },
                RuleOptions {
                    matcher: OneOrMany::One("/api/:path*".into()),
                    kind: RuleKind::Api,
                    scopes: vec![],
                    upstream: None,
                },
            ]
        })
    }
}

fn default_unavailable_status() -> u16 {
    503
}
fn default_cookie() -> Option<String> {
    Some("token".into())
}
fn default_refresh_cookie() -> Option<String> {
    Some("refreshToken".into())
}
fn yes() -> bool {
    true
}
fn default_cache_size() -> usize {
    1000
}
fn default_max_chunks() -> usize {
    10
}
fn default_8k() -> usize {
    8 * 1024
}
fn default_login() -> String {
    "/login".into()
}
fn default_return_to() -> String {
    "returnTo".into()
}
fn default_after_login() -> String {
    "/".into()
}
