//! The session's options: where the token is read from (`token`) and an auth library's
//! sealed session (`session`).

use serde_json::Value;

use super::read::{boolean, choice, count, duration, string, strings, Fields};
use super::{default_cookie, default_refresh_cookie, Duration};
use crate::error::Result;

/// Which token wins when a request carries both a cookie and a bearer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrecedenceOption {
    /// The cookie (default).
    #[default]
    Cookie,
    /// The `Authorization` header.
    Header,
}

/// Where the token is found: cookies, the `Authorization` header, and their limits.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// Name of the auth cookie; `null` turns cookies off.
    pub cookie: Option<String>,
    /// Name of the refresh-token cookie (never forwarded upstream).
    pub refresh_cookie: Option<String>,
    /// On requests that are not plain http on loopback, the cookies are named
    /// `__Host-<name>` (set only by this host, over TLS, Path=/). Default true.
    pub host_prefix: bool,
    /// Lifetime of the refresh cookie. Default 30 days.
    pub refresh_max_age: Option<Duration>,
    /// Accept `Authorization: Bearer`.
    pub header: bool,
    /// Which source wins when both carry a token.
    pub precedence: PrecedenceOption,
    /// Most chunks (`token.0`, `token.1`, …) joined into one token. Default 10.
    pub max_chunks: usize,
    /// Longest `Cookie` header read, in bytes. Default 16 KiB (Node's limit for all of a
    /// request's headers).
    pub max_cookie_header_bytes: usize,
    /// Longest token read (or written), in bytes. Default 12 KiB: an Entra token with group
    /// claims runs to 5–8 KB.
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
            max_chunks: 10,
            max_cookie_header_bytes: 16 * 1024,
            max_token_bytes: 12 * 1024,
        }
    }
}

impl TokenOptions {
    #[inline(never)]
    pub(super) fn read(path: &str, value: Value) -> Result<TokenOptions> {
        let mut f = Fields::new(path, value, "TokenOptions")?;
        let d = TokenOptions::default();
        let options = TokenOptions {
            cookie: f.nullable("cookie", d.cookie, string)?,
            refresh_cookie: f.nullable("refreshCookie", d.refresh_cookie, string)?,
            host_prefix: f.or("hostPrefix", d.host_prefix, boolean)?,
            refresh_max_age: f.opt("refreshMaxAge", duration)?,
            header: f.or("header", d.header, boolean)?,
            precedence: f.or("precedence", d.precedence, PrecedenceOption::read)?,
            max_chunks: f.or("maxChunks", d.max_chunks, count)?,
            max_cookie_header_bytes: f.or(
                "maxCookieHeaderBytes",
                d.max_cookie_header_bytes,
                count,
            )?,
            max_token_bytes: f.or("maxTokenBytes", d.max_token_bytes, count)?,
        };
        f.finish().map(|()| options)
    }
}

impl PrecedenceOption {
    fn read(path: &str, value: Value) -> Result<PrecedenceOption> {
        let all = [PrecedenceOption::Cookie, PrecedenceOption::Header];
        Ok(all[choice(path, value, "PrecedenceOption", &["cookie", "header"])?])
    }
}

impl SessionFormatOption {
    /// The library's own routes (its sign-in, callback and sign-out handlers), which a
    /// gate reading its session leaves open, read exactly as any public rule. Named one by
    /// one, not as `/api/auth/:path*`: an app's own route beside them (`/api/auth/me`, which
    /// Next routes before the library's catch-all) stays under the app's rules.
    pub fn routes(self) -> &'static [&'static str] {
        match self {
            SessionFormatOption::Authjs | SessionFormatOption::NextAuth => &[
                "/api/auth/session",
                "/api/auth/csrf",
                "/api/auth/providers",
                "/api/auth/signin",
                "/api/auth/signin/:provider",
                "/api/auth/callback/:provider",
                "/api/auth/signout",
                "/api/auth/error",
                "/api/auth/verify-request",
                "/api/auth/webauthn-options/:provider",
                "/api/auth/_log",
            ],
            SessionFormatOption::Auth0 => &[
                "/auth/login",
                "/auth/logout",
                "/auth/callback",
                "/auth/profile",
                "/auth/access-token",
                "/auth/backchannel-logout",
            ],
            SessionFormatOption::Auth0V3 => &[
                "/api/auth/login",
                "/api/auth/logout",
                "/api/auth/callback",
                "/api/auth/me",
            ],
            SessionFormatOption::Kinde => &[
                "/api/auth/login",
                "/api/auth/logout",
                "/api/auth/register",
                "/api/auth/kinde_callback",
                "/api/auth/create_org",
                "/api/auth/setup",
                "/api/auth/health",
                "/api/auth/portal",
            ],
        }
    }

    /// Where the library signs a visitor in: the default `loginUrl`.
    pub fn sign_in(self) -> &'static str {
        match self {
            SessionFormatOption::Authjs | SessionFormatOption::NextAuth => "/api/auth/signin",
            SessionFormatOption::Auth0 => "/auth/login",
            SessionFormatOption::Auth0V3 | SessionFormatOption::Kinde => "/api/auth/login",
        }
    }

    /// The query parameter its sign-in returns to: the default `returnToParam`.
    pub fn return_to(self) -> &'static str {
        match self {
            SessionFormatOption::Authjs | SessionFormatOption::NextAuth => "callbackUrl",
            SessionFormatOption::Auth0 | SessionFormatOption::Auth0V3 => "returnTo",
            SessionFormatOption::Kinde => "post_login_redirect_url",
        }
    }

    fn read(path: &str, value: Value) -> Result<SessionFormatOption> {
        use SessionFormatOption::*;
        let all = [Authjs, NextAuth, Auth0, Auth0V3, Kinde];
        let names = ["authjs", "next-auth", "auth0", "auth0-v3", "kinde"];
        Ok(all[choice(path, value, "SessionFormatOption", &names)?])
    }
}

impl SessionOptions {
    #[inline(never)]
    pub(super) fn read(path: &str, value: Value) -> Result<SessionOptions> {
        let mut f = Fields::new(path, value, "SessionOptions")?;
        let options = SessionOptions {
            format: f.required("format", SessionFormatOption::read)?,
            secret: f.opt("secret", string)?,
            secrets: f.or("secrets", Vec::new(), strings)?,
            token_path: f.opt("tokenPath", string)?,
            cookie: f.opt("cookie", string)?,
            verify_token: f.or("verifyToken", true, boolean)?,
        };
        f.finish().map(|()| options)
    }
}

/// The auth library whose session cookie holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFormatOption {
    /// Auth.js (`@auth/core`, next-auth 5): `authjs.session-token`.
    Authjs,
    /// next-auth 4: `next-auth.session-token`.
    NextAuth,
    /// `@auth0/nextjs-auth0` 4: `__session`.
    Auth0,
    /// `@auth0/nextjs-auth0` 3: `appSession`.
    Auth0V3,
    /// Kinde's Next.js SDK: `access_token`, a raw JWT.
    Kinde,
}

/// An auth library's session cookie as the source of the token, instead of a raw JWT
/// cookie (the `Authorization` header still counts, by `token.precedence`).
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Which library wrote it.
    pub format: SessionFormatOption,
    /// The library's secret (`AUTH_SECRET`, `NEXTAUTH_SECRET`, `AUTH0_SECRET`).
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    pub secrets: Vec<String>,
    /// Where the session keeps the token, dot-separated. Default `accessToken`
    /// (`tokenSet.accessToken` for nextjs-auth0 4).
    pub token_path: Option<String>,
    /// The session cookie's name when the app renamed it (the same on http and https).
    pub cookie: Option<String>,
    /// `false` forwards the token as the session holds it, authenticated by the session's
    /// encryption alone (for opaque tokens); no `verify` then. Default true.
    pub verify_token: bool,
}
