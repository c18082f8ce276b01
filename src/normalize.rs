//! Step 1: turn the request target into the one path the matcher sees.
//!
//! Every spelling of a protected path must normalize to the same string, and every spelling
//! that some server on the way could read differently is refused. So: percent-decode once,
//! treat `\` as `/`, collapse `//`, resolve `.`/`..` after decoding (so `%2e%2e` counts), and
//! refuse encoded `/`, `\`, `?` or `#`, double encoding, control characters, `;` path
//! parameters and invalid UTF-8. Case is kept here; the matcher compares case-insensitively, as Next does.
//!
//! The other direction is [`encode`]: the one spelling of a normalized path that goes
//! upstream, and the one a raw target must already have for an exception rule to apply.

use crate::error::{Error, Result};

/// Longest request target accepted; longer ones are refused before any work.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;

/// A request target split into the normalized path and the raw query (without `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedPath {
    /// The decoded, dot-segment-free path every rule is matched against.
    pub path: String,
    /// The raw query, without `?`.
    pub query: Option<String>,
    /// The raw path was already [`encode`]`(path)`: no `%xx` of a character that needs none,
    /// no `\\`, `//` or dot segment. Only such a target may open an exception rule.
    pub canonical: bool,
}

impl NormalizedPath {
    /// The judged path canonically encoded, and the query as it came (bytes a URL cannot
    /// hold percent-encoded): what a request is forwarded as, to an upstream or within the
    /// app.
    pub fn target(&self) -> String {
        let mut out = encode(&self.path);
        if let Some(query) = &self.query {
            out.push('?');
            for &b in query.as_bytes() {
                if b.is_ascii_graphic() {
                    out.push(b as char);
                } else {
                    push_escaped(&mut out, b);
                }
            }
        }
        out
    }

    /// Is `url` (origin- or absolute-form, the target this path was read from) spelled
    /// exactly as [`target`](Self::target)? Then a host that routes the raw URL routes the
    /// judged path, and no rewrite is needed to make it do so.
    pub fn is_target_of(&self, url: &str) -> bool {
        if !self.canonical || url.contains('#') {
            return false;
        }
        let (raw_path, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (url, None),
        };
        // An absolute URL without a path reads as `/` (`strip_origin`), as hosts route it.
        strip_origin(raw_path).is_ok_and(|raw| is_encoding_of(raw, &self.path))
            && query == self.query.as_deref()
            && query.is_none_or(|q| q.bytes().all(|b| b.is_ascii_graphic()))
    }
}

/// Normalize an origin-form (`/a/b?q`) or absolute-form (`https://host/a/b?q`) target.
/// Only the path decides: the query and fragment are split off before anything else.
pub fn normalize(target: &str) -> Result<NormalizedPath> {
    if target.len() > MAX_TARGET_BYTES {
        return Err(Error::PathRejected("request target too long"));
    }
    let without_fragment = target.split('#').next().unwrap_or_default();
    let (raw_path, query) = match without_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (without_fragment, None),
    };
    let raw_path = strip_origin(raw_path)?;
    let decoded = decode(raw_path)?;
    let path = resolve_segments(&decoded);
    Ok(NormalizedPath {
        canonical: is_encoding_of(raw_path, &path),
        path,
        query,
    })
}

/// Characters a path segment carries as they are: RFC 3986 unreserved, and the
/// sub-delimiters, `:` and `@`, less `;` (path parameters to some servers, refused here).
pub(crate) fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@/".contains(&b)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The canonical spelling of a normalized path: every byte outside [`is_plain`] as `%XX`
/// (uppercase), nothing else encoded. Decoding it gives `path` back, so a server behind the
/// gate reads exactly the path the gate judged.
pub fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for &b in path.as_bytes() {
        if is_plain(b) {
            out.push(b as char);
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Appends `%XX` (uppercase hex) for `b`.
pub(crate) fn push_escaped(out: &mut String, b: u8) {
    out.extend([
        '%',
        HEX[usize::from(b >> 4)] as char,
        HEX[usize::from(b & 15)] as char,
    ]);
}

/// `raw == encode(path)`, without building the encoding.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
fn is_encoding_of(raw: &str, path: &str) -> bool {
    let mut raw = raw.as_bytes();
    for &b in path.as_bytes() {
        let rest = if is_plain(b) {
            raw.strip_prefix(&[b])
        } else {
            raw.strip_prefix(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
        };
        match rest {
            Some(rest) => raw = rest,
            None => return false,
        }
    }
    raw.is_empty()
}

/// Drops `scheme://authority` from an absolute-form target, leaving the path.
fn strip_origin(target: &str) -> Result<&str> {
    if target.starts_with('/') || target.starts_with('\\') {
        return Ok(target);
    }
    let Some((scheme, rest)) = target.split_once("://") else {
        return Err(Error::PathRejected("not an absolute path"));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(Error::PathRejected("malformed URL scheme"));
    }
    // The authority ends at the first `/` (or `\`, which WHATWG URLs treat alike).
    Ok(match rest.find(['/', '\\']) {
        Some(i) => &rest[i..],
        None => "/",
    })
}

/// Percent-decodes once, refusing anything that could decode differently downstream.
fn decode(raw: &str) -> Result<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let value = hex_pair(bytes, i + 1)
                    .ok_or(Error::PathRejected("malformed percent-encoding"))?;
                match value {
                    b'/' | b'\\' => return Err(Error::PathRejected("encoded slash")),
                    b';' => return Err(Error::PathRejected("encoded path parameter")),
                    // Decoded, they would end the path for the matcher (`[^/#?]` in every
                    // parameter), so `/api/a%3Fb` would slip past `/api/:path*`.
                    b'?' | b'#' => return Err(Error::PathRejected("encoded ? or #")),
                    v if v < 0x20 || v == 0x7f => {
                        return Err(Error::PathRejected("encoded control character"))
                    }
                    v => out.push(v),
                }
                i += 3;
            }
            b';' => return Err(Error::PathRejected("path parameter")),
            b'\\' => {
                out.push(b'/');
                i += 1;
            }
            b if b < 0x20 || b == 0x7f => return Err(Error::PathRejected("control character")),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    // A `%` and two hex digits left after decoding (`%2565`, or `%25%36%35` spelled out)
    // would decode again in a second decoder, to a path this one never judged.
    if out
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
    {
        return Err(Error::PathRejected("double percent-encoding"));
    }
    String::from_utf8(out).map_err(|_| Error::PathRejected("invalid UTF-8"))
}

fn hex_pair(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = (*bytes.get(at)? as char).to_digit(16)?;
    let lo = (*bytes.get(at + 1)? as char).to_digit(16)?;
    // Two hex digits always fit a byte.
    Some((hi * 16 + lo) as u8)
}

/// Collapses empty segments and resolves `.` and `..` (RFC 3986 §5.2.4; `..` above the
/// root stays at the root). A trailing slash survives, so `/a/` stays distinct from `/a`.
fn resolve_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split('/') {
        trailing_slash = false;
        match segment {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> String {
        normalize(target).expect(target).path
    }

    #[test]
    fn decodes_and_resolves() {
        assert_eq!(path("/%64ashboard"), "/dashboard");
        assert_eq!(path("//dashboard"), "/dashboard");
        assert_eq!(path("/public/../dashboard"), "/dashboard");
        assert_eq!(path("/public/%2e%2e/dashboard"), "/dashboard");
        assert_eq!(path("/public/%2E%2E/dashboard"), "/dashboard");
        assert_eq!(path("/x\\..\\dashboard"), "/dashboard");
        assert_eq!(path("/a/./b/"), "/a/b/");
        assert_eq!(path("/a/b/.."), "/a/");
        assert_eq!(path("/../../etc"), "/etc");
    }

    #[test]
    fn absolute_form_and_query() {
        let n = normalize("https://app.example/dashboard/x?next=/admin#frag").unwrap();
        assert_eq!(n.path, "/dashboard/x");
        assert_eq!(n.query.as_deref(), Some("next=/admin"));
        assert_eq!(path("http://h"), "/");
        assert_eq!(path("http://h\\dashboard"), "/dashboard");
    }

    #[test]
    fn refuses_ambiguous_paths() {
        for bad in [
            "/dashboard%2Fx",
            "/dashboard%2fx",
            "/dashboard%5Cx",
            "/dashboard;x",
            "/dashboard%3Bx",
            "/dashboard%00",
            "/dash\u{0}board",
            "/dashboard%0a",
            "/dashboard%3Fx",
            "/dashboard%3f",
            "/dashboard%23x",
            "/%2564ashboard",
            "/api/x/%25%32%65%25%32%65/admin",
            "/api/%25%32%66admin",
            "/a%25%61%61",
            "/bad%zz",
            "/bad%4",
            "/%ff%fe",
            "dashboard",
            "ht tp://x/",
        ] {
            assert!(
                matches!(normalize(bad), Err(Error::PathRejected(_))),
                "{bad:?} was accepted"
            );
        }
        assert!(normalize(&format!("/{}", "a".repeat(MAX_TARGET_BYTES))).is_err());
    }

    #[test]
    fn canonical_only_when_the_raw_target_is_the_encoding() {
        for (target, canonical) in [
            ("/api/login", true),
            ("/api/login?x=%6f", true),
            ("https://app.example/api/login", true),
            ("/caf%C3%A9", true),
            ("/100%25-cotton", true),
            ("/a%20b", true),
            ("/", true),
            ("/a/", true),
            ("/api/l%6fgin", false),
            ("/api/Login%20", true),
            ("/caf%c3%a9", false),
            ("/café", false),
            ("//api/login", false),
            ("/api//login", false),
            ("/api/./login", false),
            ("/x/../api/login", false),
            ("/api/%2e/login", false),
            ("/api\\login", false),
            ("/a|b", false),
        ] {
            assert_eq!(normalize(target).unwrap().canonical, canonical, "{target}");
        }
    }

    #[test]
    fn encode_round_trips_through_normalize() {
        for path in [
            "/api/login",
            "/café/ü",
            "/100%-cotton",
            "/a b",
            "/a|b{}",
            "/a'(b)*!$&+,=:@",
        ] {
            let encoded = encode(path);
            let back = normalize(&encoded).unwrap();
            assert_eq!(back.path, path, "{encoded}");
            assert!(back.canonical, "{encoded}");
            assert!(!encoded.contains([' ', ';']), "{encoded}");
        }
        // Never in a normalized path, but a `?` or `#` could never end an encoded one.
        assert_eq!(encode("/q?x#y;"), "/q%3Fx%23y%3B");
    }

    #[test]
    fn keeps_legitimate_encodings() {
        assert_eq!(path("/caf%C3%A9"), "/café");
        assert_eq!(path("/100%25-cotton"), "/100%-cotton");
        assert_eq!(path("/a%20b"), "/a b");
    }
}
