//! Step 3: find the token in the request: the auth cookie (whole or chunked) or the
//! `Authorization: Bearer` header.
//!
//! Cookie parsing follows RFC 6265bis §5.6.3 on the server side: only `;` separates pairs,
//! names are compared byte for byte (no decoding, no Unicode trimming, no case folding), and
//! one pair of DQUOTEs around a value is dropped. Anything that could make two parsers on
//! the way disagree about which cookie is "the" token is refused: duplicates, a whole cookie
//! beside chunks, chunk gaps and junk suffixes.

use crate::config::{PrecedenceOption, TokenOptions};
use crate::cookie;
use crate::error::{Error, Result};
use crate::http::is_cookie_name;
use crate::unseal::Naming;

/// Where the token came from (the CSRF guard and logs care).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The auth cookie (whole or chunked).
    Cookie,
    /// `Authorization: Bearer`.
    Header,
}

impl TokenSource {
    /// `cookie` or `header`, as decisions report it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Cookie => "cookie",
            TokenSource::Header => "header",
        }
    }
}

/// Which source wins when both carry a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    Cookie,
    Header,
}

/// The size caps for an auth library's session cookie (`session` options).
const SESSION_CAP: usize = 16 * 1024;

/// How to find the token; built from `TokenOptions` in the config.
#[derive(Debug, Clone)]
pub struct Extractor {
    /// Cookie name, matched exactly; `None` disables cookies.
    pub cookie: Option<String>,
    /// On secure requests read `__Host-<cookie>` instead: a cookie only this host, over
    /// TLS, with `Path=/` can have set, so a sibling subdomain cannot toss one in.
    pub host_prefix: bool,
    /// The refresh-token cookie: never a token here, but never forwarded either.
    pub refresh_cookie: Option<String>,
    /// Accept `Authorization: Bearer`.
    pub header: bool,
    pub precedence: Precedence,
    /// An auth library's session cookie (`session.format`): its names and chunk style
    /// replace `cookie` and `host_prefix`.
    pub naming: Option<Naming>,
    /// Most chunks (`name.0` … `name.{n-1}`) joined into one token.
    pub max_chunks: usize,
    pub max_cookie_header_bytes: usize,
    pub max_token_bytes: usize,
    /// Name prefixes of other cookies of the gate's own (hosted login's), stripped with
    /// the auth cookies.
    pub also_stripped: Vec<&'static str>,
}

/// A found token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub token: String,
    pub source: TokenSource,
    /// The claims of the sealed session that vouches for `token` (`session.verifyToken:
    /// false`); `None` when the token itself must be verified.
    pub vouched: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One `name=value` pair of a Cookie header, as written (trimmed of SP/HTAB only).
#[derive(Debug, Clone, Copy)]
struct Pair<'a> {
    raw: &'a str,
    name: &'a str,
    value: &'a str,
}

fn pairs(header: &str) -> impl Iterator<Item = Pair<'_>> {
    header.split(';').filter_map(|raw| {
        let raw = raw.trim_matches([' ', '\t']);
        if raw.is_empty() {
            return None;
        }
        // RFC 6265bis: a pair without `=` has an empty name and the whole text as value.
        let (name, value) = raw.split_once('=').unwrap_or(("", raw));
        Some(Pair {
            raw,
            name: name.trim_matches([' ', '\t']),
            value: value.trim_matches([' ', '\t']),
        })
    })
}

/// The `(name, value)` pairs of a Cookie header, values unquoted.
pub(crate) fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    pairs(header).map(|p| (p.name, unquote(p.value)))
}

fn unquote(value: &str) -> &str {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

impl Extractor {
    /// The extractor of the `token` options, checked: valid cookie names (the refresh
    /// cookie another than the access cookie), a chunk bound, at least one source.
    pub fn new(token: &TokenOptions, naming: Option<&Naming>) -> Result<Extractor> {
        if token.cookie.as_deref().is_some_and(|c| !is_cookie_name(c)) {
            return Err(Error::ConfigInvalid(format!(
                "token.cookie is not a valid cookie name: {:?}",
                token.cookie
            )));
        }
        if !(1..=100).contains(&token.max_chunks) {
            return Err(Error::ConfigInvalid(format!(
                "token.maxChunks must be between 1 and 100, got {}",
                token.max_chunks
            )));
        }
        if token.cookie.is_none() && !token.header {
            return Err(Error::ConfigInvalid(
                "token: enable the cookie, the header, or both".into(),
            ));
        }
        if token
            .refresh_cookie
            .as_deref()
            .is_some_and(|c| !is_cookie_name(c) || Some(c) == token.cookie.as_deref())
        {
            return Err(Error::ConfigInvalid(format!(
                "token.refreshCookie must be a cookie name other than token.cookie: {:?}",
                token.refresh_cookie
            )));
        }
        Ok(Extractor {
            cookie: token.cookie.clone(),
            host_prefix: token.host_prefix,
            refresh_cookie: token.refresh_cookie.clone(),
            header: token.header,
            precedence: match token.precedence {
                PrecedenceOption::Cookie => Precedence::Cookie,
                PrecedenceOption::Header => Precedence::Header,
            },
            naming: naming.cloned(),
            max_chunks: token.max_chunks,
            // A library's chunked session runs to ~9 KB: its caps are Vercel's 16 KB header.
            max_cookie_header_bytes: token
                .max_cookie_header_bytes
                .max(naming.map_or(0, |_| SESSION_CAP)),
            max_token_bytes: token.max_token_bytes.max(naming.map_or(0, |_| SESSION_CAP)),
            also_stripped: Vec::new(),
        })
    }

    /// What separates a chunk's index from the cookie's name, and the first suffix (1 where
    /// the unsuffixed cookie is chunk 0).
    fn chunk_style(&self) -> (&'static str, usize) {
        self.naming.as_ref().map_or((".", 0), |n| {
            (n.chunk_separator, usize::from(n.base_is_first_chunk))
        })
    }

    /// Finds the token. `cookie_header` is every `Cookie` header joined with `; `;
    /// `authorization` is every `Authorization` header value.
    /// `secure`: the request reached the app over TLS (or not from loopback), so the
    /// `__Host-` name applies.
    pub fn extract(
        &self,
        cookie_header: Option<&str>,
        authorization: &[&str],
        secure: bool,
    ) -> Result<Found> {
        let from_cookie = match (self.cookie_name(secure), cookie_header) {
            (Some(name), Some(header)) => self.cookie_token(&name, header)?,
            _ => None,
        };
        let from_header = if self.header {
            self.bearer_token(authorization)?
        } else {
            None
        };
        let (first, second) = match self.precedence {
            Precedence::Cookie => (from_cookie, from_header),
            Precedence::Header => (from_header, from_cookie),
        };
        first.or(second).ok_or_else(|| Error::NoToken {
            plain_cookie: secure && cookie_header.is_some_and(|h| self.under_plain_name(h)),
        })
    }

    /// Does `header` carry the session cookie under its plain name (whole or chunked),
    /// where this gate reads its `__Host-` name? Only to say why no token was found.
    fn under_plain_name(&self, header: &str) -> bool {
        let Some(plain) = self
            .cookie
            .as_deref()
            .filter(|_| self.host_prefix && self.naming.is_none())
        else {
            return false;
        };
        header.len() <= self.max_cookie_header_bytes
            && pairs(header).any(|p| {
                p.name == plain || chunk_index(plain, p.name, (".", 0)).is_ok_and(|i| i.is_some())
            })
    }

    fn cookie_token(&self, name: &str, header: &str) -> Result<Option<Found>> {
        if header.len() > self.max_cookie_header_bytes {
            return Err(Error::TooLarge("cookie header"));
        }
        let mut whole: Option<&str> = None;
        let mut chunks: Vec<Option<&str>> = Vec::new();
        let mut chunk_count = 0;
        for pair in pairs(header) {
            if pair.name == name {
                if whole.replace(unquote(pair.value)).is_some() {
                    return Err(Error::CookieAmbiguous);
                }
            } else if let Some(index) = chunk_index(name, pair.name, self.chunk_style())? {
                if index >= self.max_chunks {
                    return Err(Error::CookieChunks);
                }
                if chunks.len() <= index {
                    chunks.resize(index + 1, None);
                }
                if chunks[index].replace(unquote(pair.value)).is_some() {
                    return Err(Error::CookieAmbiguous);
                }
                chunk_count += 1;
            }
        }
        let base_first = self.naming.as_ref().is_some_and(|n| n.base_is_first_chunk);
        let token = match (whole, chunk_count) {
            (None, 0) => return Ok(None),
            // Kinde: the unsuffixed cookie starts the token, `name1`… follow, none missing.
            (Some(base), _) if base_first => join(base, &chunks)?,
            (None, _) if base_first => return Err(Error::CookieChunks),
            (Some(_), n) if n > 0 => return Err(Error::CookieAmbiguous),
            (Some(value), _) => value.to_owned(),
            (None, _) => join("", &chunks)?,
        };
        if token.is_empty() {
            return Ok(None);
        }
        if token.len() > self.max_token_bytes {
            return Err(Error::TooLarge("token"));
        }
        Ok(Some(Found {
            token,
            source: TokenSource::Cookie,
            vouched: None,
        }))
    }

    fn bearer_token(&self, values: &[&str]) -> Result<Option<Found>> {
        let value = match values {
            [] => return Ok(None),
            [one] => one.trim_matches([' ', '\t']),
            _ => return Err(Error::AuthorizationInvalid),
        };
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return Ok(None);
        };
        if !crate::http::same_name(scheme, "bearer") {
            return Ok(None); // Basic and others are not ours to judge.
        }
        let token = credentials.trim_start_matches(' ');
        if token.is_empty() || token.contains([' ', '\t', ',']) {
            return Err(Error::AuthorizationInvalid);
        }
        if token.len() > self.max_token_bytes {
            return Err(Error::TooLarge("token"));
        }
        Ok(Some(Found {
            token: token.to_owned(),
            source: TokenSource::Header,
            vouched: None,
        }))
    }

    /// The auth cookie's name for a request: `__Host-<cookie>` when `secure` and
    /// `host_prefix`, else the configured name.
    pub fn cookie_name(&self, secure: bool) -> Option<String> {
        if let Some(naming) = &self.naming {
            return Some(if secure { &naming.https } else { &naming.http }.clone());
        }
        Some(cookie::name(
            self.cookie.as_deref()?,
            self.host_prefix && secure,
        ))
    }

    /// The refresh token from the refresh cookie: present exactly once and not empty.
    pub fn refresh_token(&self, cookie_header: Option<&str>, secure: bool) -> Option<String> {
        let name = self.refresh_cookie_name(secure)?;
        let header = cookie_header?;
        if header.len() > self.max_cookie_header_bytes {
            return None;
        }
        let mut found = pairs(header).filter(|p| p.name == name);
        let value = unquote(found.next()?.value);
        (found.next().is_none() && !value.is_empty()).then(|| value.to_owned())
    }

    /// The refresh cookie's name for a request (same rule as [`Extractor::cookie_name`]).
    pub fn refresh_cookie_name(&self, secure: bool) -> Option<String> {
        Some(cookie::name(
            self.refresh_cookie.as_deref()?,
            self.host_prefix && secure,
        ))
    }

    /// The cookies of `header` the reader takes as the gate's own token cookie `name`: the
    /// whole one, its chunks, and any other `name.…` (refused as junk). A writer replacing
    /// the token removes those it does not set again, since a whole cookie beside chunks, a
    /// gap between chunks or a junk suffix would make the new session unreadable.
    pub(crate) fn token_family<'h>(&self, name: &str, header: &'h str) -> Vec<&'h str> {
        // A header the reader refuses unread is not read here either; and however many junk
        // names it carries, a handful of removals is enough (they only spoil the sender's own
        // session).
        if header.len() > self.max_cookie_header_bytes {
            return Vec::new();
        }
        pairs(header)
            .map(|p| p.name)
            // Echoed into a Set-Cookie: never a name that is not one.
            .filter(|&candidate| {
                in_token_family(name, candidate)
                    && (candidate == name || crate::http::is_cookie_name(candidate))
            })
            .take(2 * self.max_chunks + 1)
            .collect()
    }

    /// True for the auth and refresh cookies under either name, the auth cookie's chunks and
    /// any other `name.…` (which the extractor refuses as junk), and every cookie of an auth
    /// library's (`session`): everything `stripAuthCookie` removes upstream.
    pub fn is_auth_cookie(&self, cookie_name: &str) -> bool {
        let is = |name: &str, candidate: &str| {
            candidate == name
                || matches!(
                    chunk_index(name, candidate, self.chunk_style()),
                    Ok(Some(_)) | Err(_)
                )
        };
        if let Some(naming) = &self.naming {
            let bare = ["__Secure-", "__Host-"]
                .iter()
                .find_map(|p| cookie_name.strip_prefix(p))
                .unwrap_or(cookie_name);
            return is(&naming.http, cookie_name)
                || is(&naming.https, cookie_name)
                || naming.library_prefixes.iter().any(|p| bare.starts_with(p));
        }
        let bare = cookie_name
            .strip_prefix(cookie::HOST_PREFIX)
            .unwrap_or(cookie_name);
        self.refresh_cookie.as_deref() == Some(bare)
            || self.cookie.as_deref().is_some_and(|name| is(name, bare))
    }

    fn is_also_stripped(&self, name: &str) -> bool {
        let bare = cookie::bare(name);
        self.also_stripped.iter().any(|p| bare.starts_with(p))
    }

    /// The cookie header without the auth cookie(s); `None` when nothing is left.
    pub fn strip_auth_cookies(&self, header: &str) -> Option<String> {
        keep(header, |name| {
            !self.is_auth_cookie(name) && !self.is_also_stripped(name)
        })
    }

    /// The cookie header without the refresh cookie and the gate's own other cookies: what
    /// goes on beside a kept auth cookie (`stripAuthCookie: false`), which is no reason to
    /// hand over a refresh token. `None` when nothing is left.
    pub fn strip_refresh_cookies(&self, header: &str) -> Option<String> {
        keep(header, |name| {
            let bare = cookie::bare(name);
            self.refresh_cookie.as_deref() != Some(bare) && !self.is_also_stripped(name)
        })
    }
}

/// The pairs of a cookie header whose name `kept` accepts, as written; `None` when none is.
fn keep(header: &str, kept: impl Fn(&str) -> bool) -> Option<String> {
    let kept: Vec<&str> = pairs(header)
        .filter(|p| kept(p.name))
        .map(|p| p.raw)
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// `first` then every chunk in order; a gap is refused.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
fn join(first: &str, chunks: &[Option<&str>]) -> Result<String> {
    let mut joined = first.to_owned();
    for chunk in chunks {
        joined.push_str(chunk.ok_or(Error::CookieChunks)?);
    }
    Ok(joined)
}

/// Does the reader take `candidate` as part of the gate's own token cookie `name`: the
/// whole one, a chunk `name.n`, or a junk `name.…` it refuses?
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
pub(crate) fn in_token_family(name: &str, candidate: &str) -> bool {
    candidate == name || matches!(chunk_index(name, candidate, (".", 0)), Ok(Some(_)) | Err(_))
}

/// `Some(n)` for `name.n` (the separator and first index of `style`), counted from the first
/// chunk; an error for any other `name.…` (a junk suffix is refused rather than ignored,
/// since some other parser might read it as a chunk). With no separator (Kinde's
/// `access_token1`) only digits are a chunk: `access_token_x` is another cookie.
fn chunk_index(
    name: &str,
    candidate: &str,
    (separator, first): (&str, usize),
) -> Result<Option<usize>> {
    let Some(suffix) = candidate
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(separator))
    else {
        return Ok(None);
    };
    if separator.is_empty() && !suffix.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let canonical = !suffix.is_empty()
        && suffix.len() <= 3
        && suffix.bytes().all(|b| b.is_ascii_digit())
        && (suffix == "0" || !suffix.starts_with('0'));
    if !canonical {
        return Err(Error::CookieChunks);
    }
    let index: usize = suffix.parse().map_err(|_| Error::CookieChunks)?;
    index
        .checked_sub(first)
        .map(Some)
        .ok_or(Error::CookieChunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extractor() -> Extractor {
        Extractor {
            naming: None,
            cookie: Some("token".into()),
            host_prefix: true,
            refresh_cookie: Some("refreshToken".into()),
            header: true,
            precedence: Precedence::Cookie,
            max_chunks: 4,
            max_cookie_header_bytes: 8192,
            max_token_bytes: 8192,
            also_stripped: Vec::new(),
        }
    }

    #[test]
    fn a_plain_name_over_https_is_named_in_the_refusal() {
        let e = extractor();
        let over_https = |header: &str| e.extract(Some(header), &[], true);
        for header in ["token=abc", "a=1; token=abc", "token.0=ab; token.1=c"] {
            assert_eq!(
                over_https(header),
                Err(Error::NoToken { plain_cookie: true }),
                "{header}"
            );
            // On plain http (loopback) the plain name is the one read.
            assert!(e.extract(Some(header), &[], false).is_ok(), "{header}");
        }
        for header in ["tokens=abc", "a=1", "Token=abc", "__Host-refreshToken=r"] {
            assert_eq!(
                over_https(header),
                Err(Error::NoToken {
                    plain_cookie: false
                }),
                "{header}"
            );
        }
        // Without the prefix rule the plain name is read everywhere: nothing to say.
        let plain = Extractor {
            host_prefix: false,
            ..extractor()
        };
        assert!(plain.extract(Some("token=abc"), &[], true).is_ok());
        assert_eq!(
            plain.extract(Some("a=1"), &[], true),
            Err(Error::NoToken {
                plain_cookie: false
            })
        );
    }

    fn cookie(header: &str) -> Result<Found> {
        extractor().extract(Some(header), &[], false)
    }

    #[test]
    fn options_are_checked() {
        let code = |json: &str| {
            let options = format!(r#"{{"token":{json}}}"#);
            let token = crate::config::Options::from_json(&options).unwrap().token;
            Extractor::new(&token, None)
                .map(|_| "OK")
                .unwrap_or_else(|e| e.code())
        };
        assert_eq!(code("{}"), "OK");
        for bad in [
            r#"{"cookie":"to ken"}"#,
            r#"{"cookie":""}"#,
            r#"{"maxChunks":0}"#,
            r#"{"maxChunks":101}"#,
            r#"{"cookie":null,"header":false}"#,
            r#"{"refreshCookie":"token"}"#,
            r#"{"refreshCookie":"a;b"}"#,
        ] {
            assert_eq!(code(bad), "ERR_CONFIG_INVALID", "{bad}");
        }
    }

    #[test]
    fn finds_the_cookie() {
        assert_eq!(cookie("a=1; token=abc; b=2").unwrap().token, "abc");
        assert_eq!(cookie("token=\"abc\"").unwrap().token, "abc");
        assert_eq!(cookie("token=\"\"abc\"\"").unwrap().token, "\"abc\"");
        assert_eq!(cookie("  token = abc ;").unwrap().token, "abc");
        assert_eq!(cookie("token.0=ab; x=1; token.1=cd").unwrap().token, "abcd");
        assert_eq!(cookie("token.1=cd; token.0=ab").unwrap().token, "abcd");
    }

    #[test]
    fn look_alikes_are_not_the_cookie() {
        for header in [
            "Token=abc",
            "__Host-token=abc",
            "__host-token=abc",
            "\u{2000}token=abc",
            "tok%65n=abc",
            "token\u{a0}=abc",
            "xtoken=abc",
            "abc",
            "token",
            "a=token=abc",
        ] {
            assert_eq!(
                cookie(header),
                Err(Error::NoToken {
                    plain_cookie: false
                }),
                "{header:?}"
            );
        }
        // `,` does not separate pairs: this is one cookie named `a`.
        assert_eq!(
            cookie("a=1, token=abc"),
            Err(Error::NoToken {
                plain_cookie: false
            })
        );
    }

    #[test]
    fn ambiguity_is_refused() {
        assert_eq!(cookie("token=a; token=b"), Err(Error::CookieAmbiguous));
        assert_eq!(cookie("token=a; token=a"), Err(Error::CookieAmbiguous));
        assert_eq!(cookie("token=a; token.0=b"), Err(Error::CookieAmbiguous));
        assert_eq!(cookie("token.0=a; token.0=b"), Err(Error::CookieAmbiguous));
    }

    #[test]
    fn bad_chunks_are_refused() {
        for header in [
            "token.0=a; token.2=c",
            "token.1=b",
            "token.01=a",
            "token.x=a",
            "token.0=a; token.=b",
            "token.0=a; token.1a=b",
            "token.0=a; token.1=b; token.2=c; token.3=d; token.4=e",
            "token.99999999999999999999=a",
        ] {
            assert_eq!(cookie(header), Err(Error::CookieChunks), "{header:?}");
        }
    }

    #[test]
    fn size_caps_apply_first() {
        let big = format!("token=a; pad={}", "x".repeat(9000));
        assert_eq!(cookie(&big), Err(Error::TooLarge("cookie header")));
        let mut e = extractor();
        e.max_token_bytes = 10;
        assert_eq!(
            e.extract(Some("token=12345678901"), &[], false),
            Err(Error::TooLarge("token"))
        );
    }

    #[test]
    fn bearer_header_and_precedence() {
        let e = extractor();
        let f = e.extract(None, &["Bearer abc.def.ghi"], false).unwrap();
        assert_eq!(
            (f.token.as_str(), f.source),
            ("abc.def.ghi", TokenSource::Header)
        );
        assert_eq!(
            e.extract(None, &["bearer  abc"], false).unwrap().token,
            "abc"
        );
        assert_eq!(
            e.extract(None, &["Basic dXNlcjpwYXNz"], false),
            Err(Error::NoToken {
                plain_cookie: false
            })
        );
        assert_eq!(
            e.extract(None, &["Bearer"], false),
            Err(Error::NoToken {
                plain_cookie: false
            })
        );
        assert_eq!(
            e.extract(None, &["Bearer a b"], false),
            Err(Error::AuthorizationInvalid)
        );
        assert_eq!(
            e.extract(None, &["Bearer a", "Bearer b"], false),
            Err(Error::AuthorizationInvalid)
        );
        let both = e.extract(Some("token=c"), &["Bearer h"], false).unwrap();
        assert_eq!(both.source, TokenSource::Cookie);
        let e = Extractor {
            precedence: Precedence::Header,
            ..extractor()
        };
        assert_eq!(
            e.extract(Some("token=c"), &["Bearer h"], false)
                .unwrap()
                .token,
            "h"
        );
        let e = Extractor {
            header: false,
            ..extractor()
        };
        assert_eq!(
            e.extract(None, &["Bearer h"], false),
            Err(Error::NoToken {
                plain_cookie: false
            })
        );
    }

    #[test]
    fn strips_auth_cookies_for_upstream() {
        let e = extractor();
        assert_eq!(
            e.strip_auth_cookies("a=1; token=x; token.0=y; token.junk=z; b=2")
                .as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(e.strip_auth_cookies("token=x"), None);
    }
}
