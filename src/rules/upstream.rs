//! Where a request the gate lets through goes. A rule may name an upstream (the
//! separate backend); the destination URL is built here from the path the gate judged,
//! canonically re-encoded, plus the original query, so the backend never reads a different
//! path than the one that was judged. Hosts only apply the destination; no host code picks
//! one, so an unauthenticated request can only reach an upstream through a rule that lets
//! it through.
//!
//! The judged path is the page a transport spelling stands for, as Next's own middleware is
//! handed it: Next unwraps `/_next/data/<build>/<page>.json` and strips a trailing `.rsc`
//! (which leaves `<page>.segments/<segment>.segment` of a segment prefetch) before any
//! middleware runs, and a rule that protects matches those spellings of its pages
//! ([`super::matcher`]). So on every host the upstream gets `/api/stocks` for
//! `/_next/data/b/api/stocks.json` or `/api/stocks.rsc`, not a path outside the rule's. A
//! spelling is read as its page only when that page is this same rule's to judge (its first
//! match, exceptions included): an earlier rule's page (a stricter scope, another upstream)
//! or an exception's (`/api/login`, which the app serves) is never sent to this rule's
//! upstream, which then gets the spelling as judged.

use std::borrow::Cow;

use super::RuleSet;
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
        if crate::fetch::unset_variable(rest.unwrap_or_default()) {
            return Err(Error::ConfigUrl(format!(
                "{option}: {url:?} has an `undefined` or `null` in it: an unset environment \
                 variable?"
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

impl RuleSet {
    /// The URL rule `index`'s upstream (if it names one) gets a request for `path` at: the
    /// page a transport spelling stands for, while that page is this rule's own to judge
    /// (see the module docs), else `path` itself.
    pub(crate) fn destination(&self, index: usize, path: &NormalizedPath) -> Option<String> {
        let upstream = self.rules.get(index)?.upstream.as_ref()?;
        let mut judged = Cow::Borrowed(path);
        while let Some(page) = page_of(&judged.path, &self.base_path) {
            // In canonical form by construction, so an exception's exact page stops here.
            let page = NormalizedPath {
                path: page,
                query: path.query.clone(),
                canonical: true,
            };
            // A matcher that gives up (the backtracking bound) decides nothing: as judged.
            if !matches!(self.first_match(&page), Ok(Some(i)) if i == index) {
                break;
            }
            judged = Cow::Owned(page);
        }
        Some(upstream.destination(&judged))
    }
}

/// The page Next hands its middleware for a transport spelling of it, one layer unwrapped:
/// `<base>/_next/data/<build>/<page>.json` (any build id, as Next's `NextURL` reads it;
/// `index` is the root) or `<page>.rsc` (Next's `normalizeRscURL`). `None` for any other
/// path.
fn page_of(path: &str, base: &str) -> Option<String> {
    let data = path
        .strip_prefix(base)
        .and_then(|p| p.strip_prefix("/_next/data/"))
        .and_then(|p| p.strip_suffix(".json"))
        .and_then(|p| p.split_once('/'))
        .filter(|(build, page)| !build.is_empty() && !page.is_empty());
    if let Some((_, page)) = data {
        return Some(match (page, base) {
            ("index", "") => "/".to_owned(),
            ("index", base) => base.to_owned(),
            (page, base) => format!("{base}/{page}"),
        });
    }
    path.strip_suffix(".rsc")
        .map(|page| if page.is_empty() { "/" } else { page }.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;
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
            "https://undefined/api",
            "https://api.internal/undefined",
            "https://null.internal/",
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

    /// `target` judged by `json`'s rules (upstreams `a` and `b`): where it goes.
    fn routed(json: &serde_json::Value, target: &str) -> Option<String> {
        let mut options = json.clone();
        options["upstreams"] =
            serde_json::json!({ "a": "http://a.internal", "b": "http://b.internal/v1" });
        let set = RuleSet::new(&Options::from_json(&options.to_string()).unwrap()).unwrap();
        let path = normalize(target).unwrap();
        let index = set
            .find(&path, &mut crate::trace::Observer::quiet())
            .unwrap()?;
        set.destination(index, &path)
    }

    /// The example app's rules (examples/nextjs/gate.ts).
    fn example() -> serde_json::Value {
        serde_json::json!({ "rules": [
            { "match": ["/api/login", "/api/logout"], "kind": "public" },
            { "match": "/dashboard/:path*", "kind": "page" },
            { "match": "/api/:path*", "kind": "api", "upstream": "b" },
            { "match": "/login", "kind": "guest" },
        ] })
    }

    #[test]
    fn a_transport_spelling_goes_upstream_as_its_page() {
        let rules = example();
        for (target, want) in [
            // Next's data route, under any build id, as Next's middleware is handed it.
            ("/_next/data/b/api/stocks.json", "/api/stocks"),
            (
                "/_next/data/b/api/stocks.json?q=a%20b&n=1",
                "/api/stocks?q=a%20b&n=1",
            ),
            ("/_next/data/other-build/api/orders/7.json", "/api/orders/7"),
            ("/_next/data/b/api.json", "/api"),
            ("/_next/data/b/api/index.json", "/api/index"),
            ("/_next/data/b/api/caf%c3%a9.json", "/api/caf%C3%A9"),
            ("/_next/data/b/API/Stocks.json", "/API/Stocks"),
            ("/_next/data/b/api/%73tocks.json", "/api/stocks"),
            ("//_next/data/b/api/./stocks.json", "/api/stocks"),
            // A trailing `.rsc`; Next strips only that off a segment prefetch.
            ("/api/stocks.rsc", "/api/stocks"),
            ("/api/stocks.rsc?x=1", "/api/stocks?x=1"),
            ("/api.rsc", "/api"),
            (
                "/api/stocks.segments/_tree.segment.rsc",
                "/api/stocks.segments/_tree.segment",
            ),
            (
                "/api/stocks.segments/_tree.segment",
                "/api/stocks.segments/_tree.segment",
            ),
            // Layered: as many as the spelling has, one at a time.
            ("/_next/data/b/api/stocks.rsc.json", "/api/stocks"),
            ("/api/x.rsc.rsc", "/api/x"),
            ("/api/stocks.json.rsc", "/api/stocks.json"),
            // Not a transport spelling: a path of its own.
            ("/api/stocks.json", "/api/stocks.json"),
            ("/api/stocks.rsc/", "/api/stocks.rsc/"),
            ("/api/_next/data/b/x.json", "/api/_next/data/b/x.json"),
            ("/api/stocks", "/api/stocks"),
        ] {
            assert_eq!(
                routed(&rules, target).as_deref(),
                Some(&*format!("http://b.internal/v1{want}")),
                "{target}"
            );
        }
        // A page rule without an upstream sends nothing anywhere.
        assert_eq!(routed(&rules, "/_next/data/b/dashboard.json"), None);
    }

    #[test]
    fn a_page_goes_upstream_only_under_its_own_rule() {
        // The exception's page is the app's (its own handler), never the API's: the API
        // rule that protects its spellings sends them as judged, not as `/api/login`.
        let rules = example();
        for target in [
            "/_next/data/b/api/login.json",
            "/_next/data/b/api/l%6fgin.json",
            "/api/login.rsc",
            "/api/logout.rsc?x=1",
        ] {
            let judged = normalize(target).unwrap().target();
            assert_eq!(
                routed(&rules, target),
                Some(format!("http://b.internal/v1{judged}")),
                "{target}"
            );
        }
        // Unwrapped as far as the pages are the API's own.
        assert_eq!(
            routed(&rules, "/_next/data/b/api/login.rsc.json").as_deref(),
            Some("http://b.internal/v1/api/login.rsc")
        );
        // An earlier rule's page (a stricter scope, another upstream) is never read out of a
        // spelling that rule does not match itself.
        let rules = serde_json::json!({ "rules": [
            { "match": "/api/admin/:path*", "kind": "api", "scopes": ["admin"], "upstream": "a" },
            { "match": "/api/stocks", "kind": "api", "scopes": ["read"], "upstream": "a" },
            { "match": "/api/:path*", "kind": "api", "upstream": "b" },
        ] });
        for (target, want) in [
            // Each matched by its page's own rule: unwrapped, to that rule's upstream.
            (
                "/_next/data/b/api/admin/x.json",
                "http://a.internal/api/admin/x",
            ),
            ("/api/stocks.rsc", "http://a.internal/api/stocks"),
            (
                "/_next/data/b/api/other.json",
                "http://b.internal/v1/api/other",
            ),
            // Matched only by the catch-all, whose page is another rule's: as judged.
            (
                "/_next/data/b/api/admin.rsc.json",
                "http://b.internal/v1/_next/data/b/api/admin.rsc.json",
            ),
            (
                "/_next/data/b/api/stocks.rsc.json",
                "http://b.internal/v1/_next/data/b/api/stocks.rsc.json",
            ),
            (
                "/api/stocks.json.rsc",
                "http://b.internal/v1/api/stocks.json.rsc",
            ),
            // One layer is the catch-all's own page, the next is not: it stops there.
            (
                "/api/stocks.json.rsc.rsc",
                "http://b.internal/v1/api/stocks.json.rsc",
            ),
        ] {
            assert_eq!(routed(&rules, target).as_deref(), Some(want), "{target}");
        }
    }

    #[test]
    fn transport_spellings_under_a_base_path_and_at_the_root() {
        let rules = serde_json::json!({ "basePath": "/app", "rules": [
            { "match": "/", "kind": "api", "upstream": "a" },
            { "match": "/api/:path*", "kind": "api", "upstream": "a" },
        ] });
        for (target, want) in [
            ("/app/_next/data/b/api/x.json", "/app/api/x"),
            ("/app/_next/data/b/index.json", "/app"),
            ("/app/api/x.rsc", "/app/api/x"),
            ("/app/index.rsc", "/app/index"),
            ("/app/api/x", "/app/api/x"),
        ] {
            assert_eq!(
                routed(&rules, target).as_deref(),
                Some(&*format!("http://a.internal{want}")),
                "{target}"
            );
        }
        // Outside the base path, Next reads no data route.
        let open = serde_json::json!({ "rules": [{ "match": "/:path*", "kind": "api", "upstream": "a" }] });
        assert_eq!(
            routed(&open, "/_next/data/b/index.json").as_deref(),
            Some("http://a.internal/")
        );
        assert_eq!(
            routed(&open, "/x/_next/data/b/y.json").as_deref(),
            Some("http://a.internal/x/_next/data/b/y.json")
        );
        assert_eq!(page_of("/_next/data/b.json", ""), None);
        assert_eq!(page_of("/_next/data//x.json", ""), None);
        assert_eq!(page_of("/.rsc", "").as_deref(), Some("/"));
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
