//! The options object: its serde shapes and defaults, named after jose's vocabulary.
//! Unknown fields are errors (a misspelt `audiance` must not silently disable the audience
//! check). The values are checked by the parts they build, once, when the gate is built
//! (`RuleSet::new`, `Extractor::new`, `Providers::new`, …): a gate that builds is a gate
//! that works. The options of each part have their file (`verify`, `session`, `refresh`,
//! `login`), and durations theirs, with every default and bound (`duration`).

mod duration;
mod login;
mod refresh;
mod session;
mod verify;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

pub use duration::{durations, Bound, Duration};
pub use login::LoginOptions;
pub use refresh::{CoordinationOptions, RefreshOptions};
pub use session::{PrecedenceOption, SessionFormatOption, SessionOptions, TokenOptions};
pub use verify::{RemoteOptions, VerifyOptions};

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
