//! Session cookies: what `setSession`, `clearSession` and a token refresh write. Secure by
//! default: `HttpOnly` (no script reads the token), `SameSite=Lax` (not sent on cross-site
//! subrequests), `Path=/`, no `Domain` (this host only), `Secure` with the `__Host-` name
//! everywhere except plain http on loopback, and `Max-Age` from the token's lifetime.

use std::sync::Arc;

use crate::config::{durations, Duration, TokenOptions};
use crate::cookie::{self, MAX_COOKIE_BYTES};
use crate::error::{Error, Result};
use crate::extract::Extractor;
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

    /// The `Set-Cookie` values that store `session` for a request to `url`.
    pub(crate) fn set(&self, url: &str, session: &Session, now: f64) -> Result<Vec<String>> {
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
            out.push(cookie(&name, &session.access_token, secure, max_age)?);
        }
        if let (Some(name), Some(refresh)) = (
            self.names.refresh_cookie_name(secure),
            &session.refresh_token,
        ) {
            out.push(cookie(&name, refresh, secure, Some(self.refresh_max_age))?);
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

    /// The `Set-Cookie` values that remove the session for a request to `url`.
    pub(crate) fn clear(&self, url: &str) -> Vec<String> {
        let secure = secure_context(url);
        [
            self.names.cookie_name(secure),
            self.names.refresh_cookie_name(secure),
        ]
        .into_iter()
        .flatten()
        .map(|name| cookie::set_cookie(&name, "", secure, Some(0)))
        .collect()
    }
}

fn cookie(name: &str, value: &str, secure: bool, max_age: Option<f64>) -> Result<String> {
    // RFC 6265 cookie-octets: no controls, whitespace, DQUOTE, comma, semicolon, backslash.
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    if value.is_empty() || !value.bytes().all(octet) {
        return Err(Error::SessionInvalid("a token is empty or not cookie-safe"));
    }
    let max_age = max_age.map(|s| s.clamp(0.0, MAX_AGE_CAP).floor() as i64);
    let header = cookie::set_cookie(name, value, secure, max_age);
    if header.len() > MAX_COOKIE_BYTES {
        return Err(Error::SessionInvalid("a token is too large for a cookie"));
    }
    Ok(header)
}
