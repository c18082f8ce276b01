//! The session's options: where the token is read from (`token`) and an auth library's
//! sealed session (`session`).

use serde::Deserialize;

use super::{
    default_8k, default_cookie, default_max_chunks, default_refresh_cookie, yes, Duration,
};

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
