//! Where a request the gate lets through goes. A rule may name an upstream (the
//! separate backend); the destination URL is built here from the path the gate judged,
//! canonically re-encoded, plus the original query, so the backend never reads a different
//! path than the one that was judged. Hosts only apply the destination; no host code picks
//! one, so an unauthenticated request can only reach an upstream through a rule that lets
//! it through.

use crate::error::{Error, Result};
use crate::normalize::{is_plain, NormalizedPath};

/// A validated upstream base: `scheme://host[:port][/path]`, lowercase scheme and host, no
/// userinfo, query, fragment or trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    base: String,
}

impl Upstream {
    /// Validates `url` (named `option` in errors) as an upstream base.
    pub fn new(url: &str, option: &str) -> Result<Upstream> {
        let base = url.strip_suffix('/').unwrap_or(url);
        let rest = ["https://", "http://"].iter().find_map(|scheme| {
            let head = base.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme)
                .then(|| &base[scheme.len()..])
        });
        let (authority, path) = match rest {
            Some(rest) => rest.split_at(rest.find('/').unwrap_or(rest.len())),
            None => ("", ""),
        };
        // host[:port]: a DNS name, IPv4 or [IPv6], so no userinfo, `%`, `\\`, `?` or `#`.
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                (&authority[..i], Some(&authority[i + 1..]))
            }
            _ => (authority, None),
        };
        let last_label = host.rsplit('.').next().unwrap_or_default();
        let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            // A URL parser reads a host whose last label starts with a digit as an IPv4
            // address (`99999`, `0x1`, `1.2.3.4.5`): only a plain dotted quad is one here.
            None if last_label.starts_with(|c: char| c.is_ascii_digit()) => {
                host.parse::<std::net::Ipv4Addr>().is_ok()
            }
            None => host.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }),
        };
        let port_ok = port.is_none_or(|p| {
            (1..=5).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && (1..=65_535).contains(&p.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')))
        });
        // A path prefix is sent as written: plain segments only (no `%`, `//` or dot segment).
        let path_ok = path
            .split('/')
            .skip(1)
            .all(|segment| !matches!(segment, "" | "." | "..") && segment.bytes().all(is_plain));
        if !(host_ok && port_ok && path_ok) {
            return Err(Error::ConfigUrl(format!(
                "{option}: {url:?} is not an upstream: an absolute http(s) URL like \
                 \"https://api.internal\" (a plain path prefix allowed; no userinfo, query or fragment)"
            )));
        }
        Ok(Upstream {
            base: base.to_owned(),
        })
    }

    /// The URL a request for the judged `path` goes to: the base and [`target`].
    pub fn destination(&self, path: &NormalizedPath) -> String {
        [self.base.as_str(), &path.target()].concat()
    }

    /// The base, as validated.
    #[cfg(test)]
    pub fn base(&self) -> &str {
        &self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn up(url: &str) -> Result<Upstream> {
        Upstream::new(url, "upstream")
    }

    #[test]
    fn accepts_absolute_http_urls() {
        for (url, base) in [
            ("https://api.internal", "https://api.internal"),
            ("http://127.0.0.1:4000/", "http://127.0.0.1:4000"),
            ("HTTPS://API.Internal/v1/", "HTTPS://API.Internal/v1"),
            (
                "https://api.internal/A-b_c/~d",
                "https://api.internal/A-b_c/~d",
            ),
            ("http://[::1]:8080/base", "http://[::1]:8080/base"),
            ("http://10.0.0.7", "http://10.0.0.7"),
            (
                "http://backend-1.svc.cluster.local:8080",
                "http://backend-1.svc.cluster.local:8080",
            ),
        ] {
            assert_eq!(up(url).unwrap().base(), base, "{url}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_upstream() {
        for bad in [
            "",
            "/api",
            "api.internal",
            "//api.internal",
            "ftp://api.internal",
            "javascript://x",
            "https://",
            "https://user:pass@api.internal",
            "https://@api.internal",
            "https://api.internal?x=1",
            "https://api.internal/#frag",
            "https://api.internal:0",
            "https://api.internal:65536",
            "https://api.internal:",
            "https://api.internal//",
            "https://[::1]x:80",
            "https://api.internal//",
            "https://[::1]x:80",
            "https://api.internal:80x",
            "https://api internal",
            "https://api.internal\\x",
            "https://api.internal/a/../b",
            "https://api.internal//b",
            "https://api.internal/%61",
            "https://api.internal/a%2Fb",
            "https://api.internal/a;b",
            "https://api.internal/./b",
            "https://[::1",
            "http://[:]",
            "http://99999",
            "http://0x",
            "http://0x7f.1",
            "http://1.2.3.4.5",
            "http://010.0.0.1",
            "http://api..internal",
            "http://-api.internal",
            "http://api.internal.",
            "https://exa_mple.com",
            "https://api.internal/\u{e9}",
        ] {
            let e = up(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_CONFIG_URL", "{bad:?}");
        }
    }

    #[test]
    fn the_destination_is_the_judged_path() {
        let api = up("https://api.internal/v1").unwrap();
        for (target, want) in [
            ("/api/x", "https://api.internal/v1/api/x"),
            (
                "/api/x?a=1&b=%2F",
                "https://api.internal/v1/api/x?a=1&b=%2F",
            ),
            ("/api/%78", "https://api.internal/v1/api/x"),
            ("/api/./y/../x", "https://api.internal/v1/api/x"),
            ("//api/x", "https://api.internal/v1/api/x"),
            ("/api/caf%c3%a9", "https://api.internal/v1/api/caf%C3%A9"),
            ("/api/x?", "https://api.internal/v1/api/x?"),
            (
                "https://app.example/api/x?q=\u{e9} z",
                "https://api.internal/v1/api/x?q=%C3%A9%20z",
            ),
        ] {
            assert_eq!(
                api.destination(&normalize(target).unwrap()),
                want,
                "{target}"
            );
        }
    }
}
