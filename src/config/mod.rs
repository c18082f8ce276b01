//! The options object: its shapes and defaults, named after jose's vocabulary, read from
//! JSON by hand (`read`). Unknown fields are errors (a misspelt `audiance` must not
//! silently disable the audience check), and every refusal names the option's path. The values are checked by the parts they build, once, when the gate is built
//! (`RuleSet::new`, `Extractor::new`, `Providers::new`, …): a gate that builds is a gate
//! that works. The options of each part have their file (`verify`, `session`, `refresh`,
//! `login`), and durations theirs, with every default and bound (`duration`).

mod duration;
mod login;
mod read;
mod refresh;
mod session;
mod verify;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
pub(crate) use read::invalid;
pub use read::OneOrMany;
use read::{boolean, choice, list, one_or_many, status, string, string_map, strings, Fields};

pub use duration::{durations, Bound, Duration};
pub use login::{BackchannelLogoutOptions, LoginOptions};
pub use refresh::{CoordinationOptions, RefreshOptions};
pub use session::{PrecedenceOption, SessionFormatOption, SessionOptions, TokenOptions};
pub use verify::{RemoteOptions, VerifyOptions};

/// What the options reader reads, for the contract test (`read::shape`).
#[cfg(feature = "_integration_test")]
pub use read::shape;

/// What a rule protects and how it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    const ALL: [RuleKind; 4] = [
        RuleKind::Page,
        RuleKind::Api,
        RuleKind::Guest,
        RuleKind::Public,
    ];

    fn read(path: &str, value: Value) -> Result<RuleKind> {
        let names = RuleKind::ALL.map(RuleKind::as_str);
        Ok(RuleKind::ALL[choice(path, value, "RuleKind", &names)?])
    }

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

/// One rule: what it matches, what kind it is, and where its requests go.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// Next.js `matcher` sources, one or several.
    pub matcher: OneOrMany,
    /// `page`, `api`, `guest` or `public`.
    pub kind: RuleKind,
    /// Scopes the token must carry (all of them).
    pub scopes: Vec<String>,
    /// Where a request this rule lets through goes: an absolute http(s) URL, or the name
    /// of one of `upstreams`. Without it the request continues into the app.
    pub upstream: Option<String>,
}

impl RuleOptions {
    // Each options struct's reader stays a function of its own (so below): V8 compiles a
    // wasm function whole on its first call, and a reader inlined into `Options::read` would
    // be compiled for every gate, whether its options are given or not.
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<RuleOptions> {
        let mut f = Fields::new(path, value, "RuleOptions")?;
        let options = RuleOptions {
            matcher: f.required("match", one_or_many)?,
            kind: f.required("kind", RuleKind::read)?,
            scopes: f.or("scopes", Vec::new(), strings)?,
            upstream: f.opt("upstream", string)?,
        };
        f.finish().map(|()| options)
    }
}

/// What a request let through carries to the backend.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// Remove the auth cookie (and its chunks) from the forwarded `Cookie` header. The
    /// refresh cookie and hosted login's cookies are removed either way.
    pub strip_auth_cookie: bool,
    /// Claims forwarded as headers: `{ "sub": "x-auth-sub" }`.
    pub claim_headers: BTreeMap<String, String>,
    /// More client headers to drop, beside the built-in identity headers.
    pub strip_headers: Vec<String>,
}

impl UpstreamOptions {
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<UpstreamOptions> {
        let mut f = Fields::new(path, value, "UpstreamOptions")?;
        let options = UpstreamOptions {
            strip_auth_cookie: f.or("stripAuthCookie", true, boolean)?,
            claim_headers: f.or("claimHeaders", BTreeMap::new(), string_map)?,
            strip_headers: f.or("stripHeaders", Vec::new(), strings)?,
        };
        f.finish().map(|()| options)
    }
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
#[derive(Debug, Clone)]
pub struct CsrfOptions {
    /// On by default.
    pub enabled: bool,
    /// Other origins allowed to send such requests, e.g. `"https://admin.example.com"`.
    pub allowed_origins: Vec<String>,
}

impl CsrfOptions {
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<CsrfOptions> {
        let mut f = Fields::new(path, value, "CsrfOptions")?;
        let options = CsrfOptions {
            enabled: f.or("enabled", true, boolean)?,
            allowed_origins: f.or("allowedOrigins", Vec::new(), strings)?,
        };
        f.finish().map(|()| options)
    }
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
#[derive(Debug, Clone)]
pub struct Options {
    /// First matching rule wins. Default: `/dashboard/:path*` page, `/api/:path*` api.
    pub rules: Option<Vec<RuleOptions>>,
    /// Where the token is found.
    pub token: TokenOptions,
    /// One provider (keys, JWKS URL or discovery) ...
    pub verify: Option<VerifyOptions>,
    /// ... or several, each with its own `issuer`; a token is routed by its `iss`.
    pub providers: Vec<VerifyOptions>,
    /// Status when a provider's keys cannot be obtained: 503 (default: the gate is
    /// unavailable, not the user unauthenticated) or 401 (treated as an invalid token).
    pub keys_unavailable_status: u16,
    /// Where pages send a visitor without a session. Default `/login`, or the sign-in page
    /// of the `session` library ([`SessionFormatOption::sign_in`]).
    pub login_url: String,
    /// The query parameter that carries the page to return to. Default `returnTo`, or the
    /// `session` library's ([`SessionFormatOption::return_to`]).
    pub return_to_param: String,
    /// Where guest pages send a visitor who has a session. Default `/`.
    pub after_login_url: String,
    /// What requests let through carry to the backend.
    pub upstream: UpstreamOptions,
    /// The CSRF guard for cookie sessions.
    pub csrf: CsrfOptions,
    /// Refreshing expired access tokens with the refresh cookie.
    pub refresh: Option<RefreshOptions>,
    /// Hosted login at an OpenID Connect provider.
    pub login: Option<LoginOptions>,
    /// Read the token from an auth library's session cookie (Auth.js, next-auth,
    /// nextjs-auth0, Kinde) instead of `token.cookie`.
    pub session: Option<SessionOptions>,
    /// Next's `basePath`, when the app has one.
    pub base_path: Option<String>,
    /// Next's i18n locales, when the app has them.
    pub locales: Vec<String>,
    /// Named upstreams, for rules to refer to: `{ "backend": "https://api.internal" }`.
    pub upstreams: BTreeMap<String, String>,
}

impl Options {
    /// Options from JSON text; unknown fields are errors.
    pub fn from_json(json: &str) -> Result<Options> {
        let value = serde_json::from_str(json)
            // Where, not serde_json's wording: its messages are 2 KB of wasm for a failure
            // only Rust callers can meet (the shim hands over JSON.stringify's output).
            .map_err(|e| {
                let (line, column) = (e.line(), e.column());
                Error::ConfigInvalid(format!("options: not JSON (line {line}, column {column})"))
            })?;
        Options::read("", value)
    }

    fn read(path: &str, value: Value) -> Result<Options> {
        let mut f = Fields::new(path, value, "Options")?;
        let rules = |path: &str, v| list(path, v, RuleOptions::read);
        let providers = |path: &str, v| list(path, v, VerifyOptions::read);
        // A library's session brings its sign-in page and return parameter as defaults.
        let session = f.opt("session", SessionOptions::read)?;
        let format = session.as_ref().map(|s| s.format);
        let sign_in = format.map_or("/login", SessionFormatOption::sign_in);
        let return_to = format.map_or("returnTo", SessionFormatOption::return_to);
        let options = Options {
            rules: f.opt("rules", rules)?,
            token: f.or("token", TokenOptions::default(), TokenOptions::read)?,
            verify: f.opt("verify", VerifyOptions::read)?,
            providers: f.or("providers", Vec::new(), providers)?,
            keys_unavailable_status: f.or("keysUnavailableStatus", 503, status)?,
            login_url: f.or("loginUrl", sign_in.into(), string)?,
            return_to_param: f.or("returnToParam", return_to.into(), string)?,
            after_login_url: f.or("afterLoginUrl", "/".into(), string)?,
            upstream: f.or(
                "upstream",
                UpstreamOptions::default(),
                UpstreamOptions::read,
            )?,
            csrf: f.or("csrf", CsrfOptions::default(), CsrfOptions::read)?,
            refresh: f.opt("refresh", RefreshOptions::read)?,
            login: f.opt("login", LoginOptions::read)?,
            session,
            base_path: f.opt("basePath", string)?,
            locales: f.or("locales", Vec::new(), strings)?,
            upstreams: f.or("upstreams", BTreeMap::new(), string_map)?,
        };
        f.finish().map(|()| options)
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

fn default_cookie() -> Option<String> {
    Some("token".into())
}
fn default_refresh_cookie() -> Option<String> {
    Some("refreshToken".into())
}
