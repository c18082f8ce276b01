//! Session cookies: what `setSession`, `clearSession` and a token refresh write. Secure by
//! default: `HttpOnly` (no script reads the token), `SameSite=Lax` (not sent on cross-site
//! subrequests), `Path=/`, no `Domain` (this host only), `Secure` with the `__Host-` name
//! everywhere except plain http on loopback, and `Max-Age` from the token's lifetime.
//!
//! An access token too long for one cookie (a browser keeps 4,096 bytes of it and its
//! attributes: an Entra token with group claims runs to 5–8 KB) is written in chunks,
//! `token.0`, `token.1`, …, which the extractor joins. What the extractor would refuse
//! (more than `token.maxChunks` chunks, a token over `token.maxTokenBytes`, cookies over
//! `token.maxCookieHeaderBytes`) is refused here too, as `ERR_TOO_LARGE`, rather than
//! written into a session that never reads back.

use std::sync::Arc;

use crate::config::{durations, Duration, TokenOptions};
use crate::cookie::{self, MAX_COOKIE_BYTES};
use crate::error::{Error, Result};
use crate::extract::{in_token_family, Extractor};
use crate::http::secure_context;
use crate::verify::jws;

/// A session as a login route or a refresh obtains it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// The access token, a JWT.
    pub access_token: String,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<String>,
    /// When the access token expires (seconds since the epoch); read from its `exp` if not
    /// given.
    pub expires_at: Option<f64>,
}

/// Browsers cap `Max-Age` at 400 days (RFC 6265bis §5.5).
const MAX_AGE_CAP: f64 = 400.0 * 86_400.0;

/// Writes the session cookies under the names the gate reads them by.
#[derive(Debug, Clone)]
pub(crate) struct SessionCookies {
    /// The gate's extractor, shared: its cookie names and `__Host-` rule.
    names: Arc<Extractor>,
    /// `Max-Age` of the refresh cookie, seconds.
    refresh_max_age: f64,
}

impl SessionCookies {
    /// Cookies named as `names` reads them, the refresh cookie living `token.refreshMaxAge`
    /// (default 30 days).
    pub(crate) fn new(token: &TokenOptions, names: Arc<Extractor>) -> Result<SessionCookies> {
        Ok(SessionCookies {
            names,
            refresh_max_age: Duration::within(
                token.refresh_max_age.as_ref(),
                &durations::REFRESH_MAX_AGE,
            )?,
        })
    }

    /// How long a session of `token`'s cookies lives in the browser, seconds ([`lifetime`]).
    ///
    /// [`lifetime`]: SessionCookies::lifetime
    pub(crate) fn lifetime_of(token: &TokenOptions) -> Result<f64> {
        let max_age =
            Duration::within(token.refresh_max_age.as_ref(), &durations::REFRESH_MAX_AGE)?;
        Ok(max_age.min(MAX_AGE_CAP))
    }

    /// The `Set-Cookie` values that store `session` for a request to `url` whose `Cookie`
    /// header is `present` (`None` when unknown: then every chunk the reader could find is
    /// removed, whatever the browser holds).
    pub(crate) fn set(
        &self,
        url: &str,
        present: Option<&str>,
        session: &Session,
        now: f64,
    ) -> Result<Vec<String>> {
        let secure = secure_context(url);
        let mut out = Vec::new();
        if let Some(name) = self.names.cookie_name(secure) {
            let expires_at = match session.expires_at {
                Some(t) => Some(t),
                // Only the lifetime is read here, unverified: the gate verifies the token on
                // every request it comes back with.
                None => jws::unverified_exp(&session.access_token),
            };
            let max_age = expires_at.map(|t| t - now);
            // What else the browser will send beside the chunks: its other cookies, and the
            // refresh cookie (the new one in place of the old). The reader caps the whole
            // Cookie header.
            let refresh_name = self.names.refresh_cookie_name(secure);
            let replaced = |n: &str| {
                in_token_family(&name, n)
                    || session.refresh_token.is_some() && refresh_name.as_deref() == Some(n)
            };
            let beside: usize = present.map_or(0, |h| {
                crate::extract::cookie_pairs(h)
                    .filter(|(n, _)| !replaced(n))
                    .map(|(n, v)| n.len() + v.len() + 3)
                    .sum()
            }) + session.refresh_token.as_ref().map_or(0, |r| r.len() + 32);
            let token = &session.access_token;
            let written = self.token_cookies(&name, token, secure, max_age, beside)?;
            out = self.removals(&name, present, &written, secure, false);
            out.extend(written);
        }
        if let (Some(name), Some(refresh)) = (
            self.names.refresh_cookie_name(secure),
            &session.refresh_token,
        ) {
            let header = cookie(&name, refresh, secure, Some(self.refresh_max_age))?;
            // Refresh tokens are short (opaque, or a small JWT): one cookie holds them.
            if header.len() > MAX_COOKIE_BYTES {
                return Err(Error::TooLarge("the refresh token's cookie"));
            }
            out.push(header);
        }
        Ok(out)
    }

    /// How long the session lives in the browser (the refresh cookie's `Max-Age`), seconds.
    pub(crate) fn lifetime(&self) -> i64 {
        self.refresh_max_age.min(MAX_AGE_CAP) as i64
    }

    /// The `Set-Cookie` value that removes the refresh cookie for a request to `url`.
    pub(crate) fn clear_refresh(&self, url: &str) -> Option<String> {
        let secure = secure_context(url);
        let name = self.names.refresh_cookie_name(secure)?;
        Some(cookie::set_cookie(&name, "", secure, Some(0)))
    }

    /// The `Set-Cookie` values that remove the session for a request to `url` whose
    /// `Cookie` header is `present`: every chunk name the reader could join, whatever the
    /// request shows (a logout that missed one would leave the session readable), and the
    /// junk names `present` carries.
    pub(crate) fn clear(&self, url: &str, present: Option<&str>) -> Vec<String> {
        let secure = secure_context(url);
        let mut out = match self.names.cookie_name(secure) {
            Some(name) => self.removals(&name, present, &[], secure, true),
            None => Vec::new(),
        };
        let refresh = self.names.refresh_cookie_name(secure);
        out.extend(refresh.map(|name| cookie::set_cookie(&name, "", secure, Some(0))));
        out
    }

    /// `token` under `name` whole, or in chunks `name.0`, `name.1`, … where one cookie
    /// would pass [`MAX_COOKIE_BYTES`].
    /// `beside`: bytes of the other cookies the browser sends with them.
    fn token_cookies(
        &self,
        name: &str,
        token: &str,
        secure: bool,
        max_age: Option<f64>,
        beside: usize,
    ) -> Result<Vec<String>> {
        let limits = &*self.names;
        if token.len() > limits.max_token_bytes {
            return Err(Error::TooLarge(
                "the session's access token (token.maxTokenBytes)",
            ));
        }
        let whole = cookie(name, token, secure, max_age)?;
        let mut written = Vec::new();
        if whole.len() <= MAX_COOKIE_BYTES {
            written.push(whole);
        } else {
            // Pieces sized for the longest chunk name this gate may write; `cookie` admits
            // only ASCII, so every byte offset is a character boundary.
            let longest = format!("{name}.{}", limits.max_chunks - 1);
            let probe = cookie(&longest, "x", secure, max_age)?.len() - 1;
            // A cookie name so long that a chunk would hold little is refused, not sliced
            // into thousands of pieces (or none).
            let room = MAX_COOKIE_BYTES.saturating_sub(probe).max(1);
            let count = token.len().div_ceil(room);
            // Each `name.i=piece; ` in the Cookie header: at most 3 digits of index.
            if room < 1024
                || count > limits.max_chunks
                || token.len() + count * (name.len() + 7) + beside > limits.max_cookie_header_bytes
            {
                return Err(Error::TooLarge(
                    "the session's cookies (token.maxChunks, token.maxCookieHeaderBytes)",
                ));
            }
            for i in 0..count {
                let piece = &token[i * room..token.len().min((i + 1) * room)];
                written.push(cookie(&format!("{name}.{i}"), piece, secure, max_age)?);
            }
        }
        Ok(written)
    }

    /// Removals for the cookies under `name` the reader would find beside `written` (a
    /// whole cookie beside chunks, a gap, a junk suffix: a session it refuses): the whole
    /// one and those of `present`, and every possible chunk with `every_chunk` or when
    /// `present` is unknown.
    fn removals(
        &self,
        name: &str,
        present: Option<&str>,
        written: &[String],
        secure: bool,
        every_chunk: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut remove = |stale: &str| {
            let kept = written
                .iter()
                .any(|w| w.split_once('=').is_some_and(|(n, _)| n == stale));
            let header = cookie::set_cookie(stale, "", secure, Some(0));
            if !kept && !out.contains(&header) {
                out.push(header);
            }
        };
        remove(name);
        if every_chunk || present.is_none() {
            (0..self.names.max_chunks).for_each(|i| remove(&format!("{name}.{i}")));
        }
        if let Some(header) = present {
            (self.names.token_family(name, header).into_iter()).for_each(remove);
        }
        out
    }
}

fn cookie(name: &str, value: &str, secure: bool, max_age: Option<f64>) -> Result<String> {
    // RFC 6265 cookie-octets: no controls, whitespace, DQUOTE, comma, semicolon, backslash.
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    if value.is_empty() || !value.bytes().all(octet) {
        return Err(Error::SessionInvalid("a token is empty or not cookie-safe"));
    }
    let max_age = max_age.map(|s| s.clamp(0.0, MAX_AGE_CAP).floor() as i64);
    Ok(cookie::set_cookie(name, value, secure, max_age))
}
