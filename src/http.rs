//! The request as every host describes it, and the HTTP syntax the steps share: header
//! lookups, origins, secure contexts, and the names and paths the options may hold.

use std::borrow::Cow;

/// A request as every host can describe it. Borrowed where it can be: the wasm boundary
/// hands over one buffer and the engine reads the request in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// `GET`, `POST`, … as the client sent it.
    pub method: Cow<'a, str>,
    /// Absolute (`https://host/p?q`) or origin-form (`/p?q`).
    pub url: Cow<'a, str>,
    /// In arrival order; names in any case; repeated names allowed.
    pub headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Request<'static> {
    /// A request of the unit tests: `method`, `url` and `headers` as given.
    #[cfg(test)]
    pub(crate) fn of(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<'static> {
        Request {
            method: method.to_owned().into(),
            url: url.to_owned().into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string().into(), v.to_string().into()))
                .collect(),
        }
    }
}

impl Request<'_> {
    /// An owned copy, for a decision that outlives the call (a pending signature check).
    pub fn to_owned_request(&self) -> Request<'static> {
        let own = |s: &Cow<'_, str>| Cow::Owned(s.to_string());
        Request {
            method: own(&self.method),
            url: own(&self.url),
            headers: self.headers.iter().map(|(n, v)| (own(n), own(v))).collect(),
        }
    }

    /// Every value of header `name` (any case), in order.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        values(&self.headers, name)
    }

    /// The one value of header `name`; `None` when it is absent or repeated.
    #[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
    pub(crate) fn single<'s>(&'s self, name: &'s str) -> Option<&'s str> {
        let mut all = self.values(name);
        let first = all.next()?;
        all.next().is_none().then_some(first)
    }

    /// Every `Cookie` header joined with `; `.
    pub(crate) fn cookies(&self) -> Option<Cow<'_, str>> {
        joined(&self.headers, "cookie", "; ")
    }

    /// Did it come over TLS, or at least not from a developer's loopback? See
    /// [`secure_context`].
    pub(crate) fn secure(&self) -> bool {
        secure_context(&self.url)
    }

    /// The origin the client connected to: the URL's scheme with the `Host` header. Behind a
    /// reverse proxy that passes the client's Host, it is the public one, where the URL holds
    /// the host's idea of itself (Next: `localhost:<port>`). A client picks its Host: trust
    /// it only to match an origin the options list, or the request's own.
    pub(crate) fn host_origin(&self) -> Option<String> {
        let (scheme, _) = self.url.split_once("://")?;
        let host = self.single("host")?.trim();
        if host.is_empty() || host.contains(['/', '?', '#', '@', '\\']) {
            return None;
        }
        origin_of(&format!("{scheme}://{host}/"))
    }

    /// The request came over https (auth libraries name their cookies by the scheme).
    pub(crate) fn https(&self) -> bool {
        self.url.get(..8).is_some_and(|s| same_name(s, "https://"))
    }
}

/// A request's header list.
pub(crate) type Headers<'a> = [(Cow<'a, str>, Cow<'a, str>)];

/// Every value of header `name` (any case), in order.
pub(crate) fn values<'a>(headers: &'a Headers<'_>, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        // The length first: most names differ in it, and skip the call.
        .filter(move |(n, _)| n.len() == name.len() && same_name(n, name))
        .map(|(_, v)| v.as_ref())
}

/// `a` and `b` equal in any ASCII case. Out of line: inlined, the unrolled comparison is
/// copied into every caller (`is_navigation` alone grew to 5 KB of wasm).
#[inline(never)]
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Every value of header `name` joined by `sep`; borrowed when there is one (the common
/// case: copying a kilobyte-long cookie header showed in a cache hit).
pub(crate) fn joined<'a>(
    headers: &'a Headers<'_>,
    name: &'a str,
    sep: &str,
) -> Option<Cow<'a, str>> {
    let mut all = values(headers, name);
    let first = all.next()?;
    match all.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut out = [first, second].join(sep);
            for more in all {
                out.push_str(sep);
                out.push_str(more);
            }
            Some(Cow::Owned(out))
        }
    }
}

/// `name` is the header `canonical` (lowercase, `-`) in any case, with `_` for `-`.
pub(crate) fn same_header(canonical: &str, name: &str) -> bool {
    canonical.len() == name.len()
        && canonical.bytes().zip(name.bytes()).all(|(c, n)| {
            c == match n {
                b'_' => b'-',
                n => n.to_ascii_lowercase(),
            }
        })
}

/// A header name as [`same_header`] compares it: lowercase, `_` read as `-`.
pub(crate) fn header_key(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Did the request come over TLS, or at least not from a developer's loopback? Only plain
/// `http://` on 127.0.0.1, localhost or [::1] is insecure here; a relative URL (a host
/// adapter without the scheme) counts as insecure too, so cookies keep their plain names.
pub fn secure_context(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !same_name(scheme, "http") {
        return true;
    }
    !is_loopback(&host(authority(rest)).to_ascii_lowercase())
}

/// The authority of what follows `scheme://`: up to the path, query or fragment.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
pub(crate) fn authority(rest: &str) -> &str {
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

/// The host of an authority as written: `[v6]` bracketed, else what precedes a `:port`.
pub(crate) fn host(authority: &str) -> String {
    if authority.starts_with('[') {
        let v6 = authority.split(']').next().unwrap_or_default();
        format!("{v6}]")
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    }
}

/// 127.0.0.1, localhost or [::1], exactly as written: where plain http is a developer's.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
pub(crate) fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// `scheme://host[:port]` of an absolute http(s) URL, lowercase, default port dropped (as
/// browsers serialize `Origin`).
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority(rest).to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match scheme.as_str() {
        "https" => authority
            .strip_suffix(":443")
            .unwrap_or(&authority)
            .to_owned(),
        "http" => authority
            .strip_suffix(":80")
            .unwrap_or(&authority)
            .to_owned(),
        _ => return None,
    };
    Some(format!("{scheme}://{authority}"))
}

/// A same-origin path: `/` then anything but a second `/` or `\` (which browsers read as
/// a protocol-relative URL), with no control characters or backslashes anywhere.
pub(crate) fn is_local_path(url: &str) -> bool {
    let b = url.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && !b.iter().any(|&c| c < 0x20 || c == 0x7f || c == b'\\')
}

/// An HTTP header name we are willing to write: lowercase token characters.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// RFC 6265 cookie-name: an HTTP token.
pub(crate) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// JavaScript's `encodeURIComponent`.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_contexts() {
        for secure in [
            "https://a.example/",
            "http://a.example/x",
            "HTTPS://127.0.0.1/",
        ] {
            assert!(secure_context(secure), "{secure}");
        }
        for plain in [
            "http://localhost:3000/",
            "http://127.0.0.1/",
            "http://[::1]:80/",
            "/x",
        ] {
            assert!(!secure_context(plain), "{plain}");
        }
    }

    #[test]
    fn origins_are_serialized_as_browsers_do() {
        assert_eq!(
            origin_of("HTTPS://App.Example:443/x?y").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
        for none in [
            "/x",
            "ftp://a.example",
            "https://u@a.example/",
            "https:///x",
        ] {
            assert_eq!(origin_of(none), None, "{none}");
        }
    }

    #[test]
    fn local_paths_only() {
        assert!(is_local_path("/login?x=1"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "/a\\b",
            "/a\nb",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn single_refuses_repeats() {
        let r = Request {
            headers: vec![
                ("Origin".into(), "a".into()),
                ("origin".into(), "b".into()),
                ("Host".into(), "h".into()),
            ],
            ..Request::default()
        };
        assert_eq!(r.single("origin"), None);
        assert_eq!(r.single("host"), Some("h"));
    }
}
