//! Step 2: Next.js `matcher` patterns, compiled exactly as Next compiles them.
//!
//! Next wraps every matcher source (adding the optional `/_next/data/<build>` prefix, the
//! `.json` / `.rsc` / `.segments/…` transport suffixes, a locale and the basePath) and then
//! compiles it with path-to-regexp 6.3 using its default options: case-insensitive,
//! trailing delimiter allowed, anchored at both ends. [`super::path_to_regexp`] is a
//! line-by-line port of that compiler (checked against the real one by `tests/differential.rs`); the
//! wrapping lives in [`Matcher::new`].
//!
//! That wide reading is right for rules that protect, and wrong for exceptions: an
//! exception (`public`, `guest`) read as widely opens every spelling Next might route
//! *anywhere*, not just to the handler it names. So a matcher has a [`Reading`]: exceptions
//! match the source as written, case-sensitively, under the basePath only: no transport
//! forms, no locale prefix, no trailing delimiter. (An app with i18n writes the locales into
//! an exception's source itself: `/:locale(en|fr)?/login`.)
//!
//! Custom `(regex)` groups are JavaScript regexes that may use lookahead, so they run on
//! [`super::regex`], a small backtracking matcher with a step and depth budget: a pattern or
//! path that exhausts it fails closed.

use super::path_to_regexp::{path_to_regexp, path_to_regexp_with};
use super::regex::Regex;

use crate::error::{Error, Result};

/// Backtracking steps one match may take before the gate gives up and refuses the request.
const BACKTRACK_LIMIT: usize = 100_000;

/// Next's transport forms of a page, from `get-page-static-info.js` (Next 16.4).
const NEXT_DATA_PREFIX: &str = "/:nextData(_next/data/[^/]{1,})?";
const TRANSPORT_SUFFIX: &str = r"\.rsc|\.segments/.+\.segment\.rsc";

/// The characters of path-to-regexp's syntax: a source without them is a plain path.
const SPECIAL: &[u8] = b"*+?\\{}:(";

fn is_plain(s: &str) -> bool {
    s.bytes().all(plain_byte)
}

/// ASCII and no syntax (a byte of a non-ASCII character is never plain).
fn plain_byte(b: u8) -> bool {
    b.is_ascii() && !SPECIAL.contains(&b)
}

/// Where a Next app is mounted: its `basePath` and i18n locales, if any.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Next's `basePath`: a plain path like `/docs`.
    pub base_path: Option<String>,
    /// Next's i18n locales: language tags.
    pub locales: Vec<String>,
}

impl Site {
    /// The site of `basePath` and `locales`, both checked.
    pub fn new(base_path: Option<&str>, locales: &[String]) -> Result<Site> {
        if let Some(base) = base_path {
            let ok = base.len() > 1
                && base.starts_with('/')
                && !base.ends_with('/')
                && base[1..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
            if !ok {
                return Err(Error::ConfigUrl(format!(
                    "basePath {base:?} is not a plain path like \"/docs\""
                )));
            }
        }
        for locale in locales {
            if locale.is_empty()
                || !locale
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(Error::ConfigInvalid(format!(
                    "locale {locale:?} is not a language tag"
                )));
            }
        }
        Ok(Site {
            base_path: base_path.map(str::to_owned),
            locales: locales.to_vec(),
        })
    }
}

/// How widely a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Every spelling Next might route to the source's handler: case-insensitive, with
    /// the `_next/data` and transport forms, a trailing `/`. For rules that protect.
    Wide,
    /// Only the source as written. For exceptions, which must never be wider than the
    /// handler they open.
    Exact,
}

/// One compiled matcher source.
#[derive(Debug, Clone)]
pub struct Matcher {
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    /// An exact reading of a plain path (`/login`), or of a plain path and one `:name`
    /// segment (`/api/auth/signin/:provider`): decided by comparison, with no regex to
    /// compile. Most exceptions, and every session library's routes, are of this form.
    Literal { path: String, segment: bool },
    Pattern {
        regex: Regex,
        shortcut: Option<Shortcut>,
    },
}

impl Test {
    /// The [`Test::Literal`] of `source` read exactly under `site`, if it has that form.
    fn literal(source: &str, site: &Site) -> Option<Test> {
        let base = site.base_path.as_deref().unwrap_or_default();
        if source == "/" || !is_plain(base) {
            return None;
        }
        let (lead, segment) = match source.split_once("/:") {
            // path-to-regexp's parameter names are `[0-9A-Za-z_]+`; anything after the
            // name (a modifier, a pattern, more path) is not this form.
            Some((lead, name))
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                (lead, true)
            }
            Some(_) => return None,
            None => (source, false),
        };
        is_plain(lead).then(|| Test::Literal {
            path: format!("{base}{lead}"),
            segment,
        })
    }
}

/// What the literal start of a source proves without running the regex, which takes ~0.8 µs
/// natively per rule and path. Every path the regex matches starts with `lead` or with the
/// `/_next/data/` prefix Next adds; for a catch-all source (`/dashboard/:path*`), a path that
/// is `lead` followed by non-empty segments matches. Anything else goes to the regex.
#[derive(Debug, Clone)]
struct Shortcut {
    /// ASCII; compared case-insensitively, which under JavaScript's `i` flag (without `u`)
    /// no non-ASCII character can equal.
    lead: String,
    /// `None` for an exact reading, which adds no `_next/data` form.
    next_data: Option<String>,
    catch_all: bool,
    exact: bool,
}

impl Shortcut {
    /// `None` where the wrapping is not a plain literal start (locales, a base path with
    /// pattern syntax, a source that starts with a parameter).
    fn new(source: &str, site: &Site, reading: Reading) -> Option<Shortcut> {
        let base = site.base_path.as_deref().unwrap_or_default();
        // The root's wrapping makes its `/` the prefix of an optional group.
        if source == "/" || !site.locales.is_empty() || !is_plain(base) {
            return None;
        }
        let end = source.bytes().position(|b| !plain_byte(b));
        let mut lead = &source[..end.unwrap_or(source.len())];
        if end.is_some() {
            // The `/` or `.` before a parameter is the parameter's optional prefix; dropping
            // one character keeps `lead` a prefix of what every match must contain.
            lead = &lead[..lead.len().saturating_sub(1)];
        }
        if lead.is_empty() {
            return None;
        }
        let catch_all = end.is_some_and(|i| {
            let rest = &source[i - 1..];
            rest.len() > 3
                && rest.starts_with("/:")
                && rest.ends_with('*')
                && rest[2..rest.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }) && !lead.contains(['?', '#']);
        let exact = reading == Reading::Exact;
        Some(Shortcut {
            lead: format!("{base}{lead}"),
            next_data: (!exact).then(|| format!("{base}/_next/data/")),
            catch_all,
            exact,
        })
    }

    /// `Some(answer)` when the literal start decides it, `None` to ask the regex.
    fn decide(&self, path: &str) -> Option<bool> {
        let starts = |prefix: &str| {
            let head = path.as_bytes().get(..prefix.len());
            head.is_some_and(|head| {
                if self.exact {
                    head == prefix.as_bytes()
                } else {
                    head.eq_ignore_ascii_case(prefix.as_bytes())
                }
            })
        };
        if !starts(&self.lead) {
            return match &self.next_data {
                Some(next_data) if starts(next_data) => None,
                _ => Some(false),
            };
        }
        let rest = &path[self.lead.len()..];
        let segments = |r: &str| {
            // Non-empty segments and, read widely, one optional trailing `/`: what
            // `(?:\/([^\/#\?]+?))*` followed by the optional trailing delimiter accepts.
            let r = match self.exact {
                true => r,
                false => r.strip_suffix('/').unwrap_or(r),
            };
            !r.contains(['#', '?']) && r.split('/').all(|s| !s.is_empty())
        };
        let hit = self.catch_all
            && (rest.is_empty()
                || (rest == "/" && !self.exact)
                || rest.strip_prefix('/').is_some_and(segments));
        hit.then_some(true)
    }
}

impl Matcher {
    /// Compiles a user's matcher source the way Next's `getMiddlewareMatchers` does (read
    /// [`Reading::Wide`]), or only as written ([`Reading::Exact`]).
    pub fn new(source: &str, site: &Site, reading: Reading) -> Result<Self> {
        if !source.starts_with('/') {
            return Err(pattern_error(
                source,
                "a matcher must start with \"/\"".into(),
            ));
        }
        if reading == Reading::Exact {
            if let Some(test) = Test::literal(source, site) {
                return Ok(Matcher { test });
            }
        }
        // Validate the source alone first so errors point into what the user wrote.
        path_to_regexp(source).map_err(|reason| pattern_error(source, reason))?;
        let regex_source = match reading {
            Reading::Wide => wide(source, site),
            Reading::Exact => exact(source, site),
        }
        .map_err(|reason| pattern_error(source, reason))?;
        Ok(Matcher {
            test: Test::Pattern {
                regex: compile_regex(&regex_source, reading == Reading::Wide)
                    .map_err(|reason| pattern_error(source, reason))?,
                shortcut: Shortcut::new(source, site, reading),
            },
        })
    }

    /// Tests a normalized path. Hitting the backtracking bound is an error, never a miss.
    pub fn is_match(&self, path: &str) -> Result<bool> {
        match &self.test {
            // What `^lead(?:\/([^\/#\?]+?))$` (or `^lead$`), case-sensitive, accepts.
            Test::Literal {
                path: lead,
                segment,
            } => Ok(match path.strip_prefix(lead.as_str()) {
                Some(rest) if *segment => rest
                    .strip_prefix('/')
                    .is_some_and(|name| !name.is_empty() && !name.contains(['/', '#', '?'])),
                Some(rest) => rest.is_empty(),
                None => false,
            }),
            Test::Pattern { regex, shortcut } => {
                if let Some(answer) = shortcut.as_ref().and_then(|s| s.decide(path)) {
                    return Ok(answer);
                }
                regex.is_match(path).map_err(|_| Error::MatcherLimit)
            }
        }
    }
}

/// The locale prefix Next requires in a matcher when the app has i18n: it adds the default
/// locale to bare paths before matching, so a gate that sees the raw path accepts both.
fn locale_prefix(site: &Site) -> String {
    format!("/:nextInternalLocale({})?", site.locales.join("|"))
}

/// Next's wrapping of a matcher source (`getMiddlewareMatchers`), compiled.
fn wide(source: &str, site: &Site) -> std::result::Result<String, String> {
    let is_root = source == "/";
    let mut body = String::new();
    if !site.locales.is_empty() {
        body.push_str(&locale_prefix(site));
    }
    if !is_root || site.locales.is_empty() {
        body.push_str(source);
    }
    let suffix = if is_root {
        let json = if site.locales.is_empty() {
            ""
        } else {
            r"|\.json|"
        };
        format!(r"({json}/?index|/?index\.json|/?index(?:{TRANSPORT_SUFFIX}))?")
    } else {
        format!(r"{{(\.json|{TRANSPORT_SUFFIX})}}?")
    };
    let base = site.base_path.as_deref().unwrap_or_default();
    let wrapped = format!("{base}{NEXT_DATA_PREFIX}{body}{suffix}");
    path_to_regexp(&wrapped)
}

/// The source as written under the basePath, with no trailing delimiter (path-to-regexp's
/// `strict`); under a basePath, the root is the basePath itself.
fn exact(source: &str, site: &Site) -> std::result::Result<String, String> {
    let wrapped = match (site.base_path.as_deref(), source) {
        (Some(base), "/") => base.to_owned(),
        (base, _) => format!("{}{source}", base.unwrap_or_default()),
    };
    path_to_regexp_with(&wrapped, true)
}

fn pattern_error(pattern: &str, reason: String) -> Error {
    Error::ConfigPattern {
        pattern: pattern.to_owned(),
        reason,
    }
}

/// Compiles a path-to-regexp output (JavaScript syntax; the `i` flag when `ignore_case`).
pub fn compile_regex(js_source: &str, ignore_case: bool) -> std::result::Result<Regex, String> {
    Regex::new(js_source, ignore_case, BACKTRACK_LIMIT)
        .map_err(|e| format!("regex does not compile: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(source: &str) -> Matcher {
        Matcher::new(source, &Site::default(), Reading::Wide).unwrap()
    }

    fn exact(source: &str) -> Matcher {
        Matcher::new(source, &Site::default(), Reading::Exact).unwrap()
    }

    #[test]
    fn next_wrapping() {
        let dash = m("/dashboard/:path*");
        for hit in [
            "/dashboard",
            "/dashboard/",
            "/Dashboard/x/y",
            "/DASHBOARD",
            "/dashboard.json",
            "/dashboard.rsc",
            "/dashboard.segments/_tree.segment.rsc",
            "/_next/data/abc/dashboard.json",
            "/_next/data/abc/dashboard/x.json",
        ] {
            assert!(dash.is_match(hit).unwrap(), "{hit}");
        }
        for miss in ["/", "/dashboards", "/public/dashboard", "/api/dashboard"] {
            assert!(!dash.is_match(miss).unwrap(), "{miss}");
        }
        let root = m("/");
        for hit in [
            "/",
            "/index",
            "/index.json",
            "/_next/data/b/index.json",
            "/index.rsc",
        ] {
            assert!(root.is_match(hit).unwrap(), "{hit}");
        }
        assert!(!root.is_match("/x").unwrap());
    }

    #[test]
    fn negative_lookahead_from_the_next_docs() {
        let all = m("/((?!api|_next/static|_next/image|favicon.ico).*)");
        assert!(all.is_match("/dashboard").unwrap());
        assert!(all.is_match("/_next/data/abc/dashboard.json").unwrap());
        assert!(!all.is_match("/_next/static/chunk.js").unwrap());
        assert!(!all.is_match("/api/x").unwrap());
    }

    #[test]
    fn locales_and_base_path() {
        let site = Site {
            base_path: Some("/app".into()),
            locales: vec!["en".into(), "fr".into()],
        };
        let dash = Matcher::new("/dashboard/:path*", &site, Reading::Wide).unwrap();
        for hit in [
            "/app/dashboard",
            "/app/fr/dashboard/x",
            "/app/_next/data/b/en/dashboard.json",
        ] {
            assert!(dash.is_match(hit).unwrap(), "{hit}");
        }
        assert!(!dash.is_match("/dashboard").unwrap());
        assert!(!dash.is_match("/app/de/dashboard").unwrap());
    }

    #[test]
    fn the_shortcut_agrees_with_the_regex() {
        let sources = [
            "/dashboard/:path*",
            "/api/:path*",
            "/api/v1/:rest*",
            "/dashboard",
            "/dashboard/",
            "/a.b/:p*",
            "/files/:name.json",
            "/user/:id(\\d+)",
            "/docs{/:section}?",
            "/blog/:slug+",
            "/",
            "/:locale/settings",
            "/((?!api|_next/static).*)",
            "/api/auth/signin/:provider",
            "/api/auth/session",
            "/api/:id/x",
            "/api/:id?",
            "/api/:id_2",
            "/:name",
        ];
        let paths = [
            "/",
            "/dashboard",
            "/dashboard/",
            "/DASHBOARD/X",
            "/dashboard//",
            "/dashboard/a//b",
            "/dashboard/a/b/",
            "/dashboards",
            "/dashboard.json",
            "/dashboard.rsc",
            "/dashboard.segments/_tree.segment.rsc",
            "/dashboard/x.json",
            "/_next/data/b/dashboard.json",
            "/_next/data/b/api/x.json",
            "/_next/data//api",
            "/api",
            "/api/",
            "/api/stocks",
            "/Api/Stocks/1",
            "/apix",
            "/api/v1",
            "/api/v1/x",
            "/api/v1x/y",
            "/a.b",
            "/a.b/c",
            "/aXb/c",
            "/files/x.json",
            "/user/12",
            "/user/x",
            "/docs",
            "/docs/intro",
            "/blog/a/b",
            "/blog",
            "/en/settings",
            "/api/\u{17f}",
            "/\u{17f}tocks",
            "/dashboard/\u{212a}",
            "/d\u{e4}shboard",
            "/api/a?b",
            "/api/a#b",
            "/api/%2F",
            "/api/auth/signin/google",
            "/api/auth/signin/",
            "/api/auth/signin",
            "/api/auth/signin/a/b",
            "/api/auth/signin/a#",
            "/api/auth/signin/a?b",
            "/api/auth/signin/A",
            "/api/auth/Signin/a",
            "/api/auth/session",
            "/api/auth/session/",
            "/api/auth/sessions",
            "/api/7/x",
            "/api/7",
            "/api/a\nb",
            "/api//",
            "",
        ];
        let sites = [
            Site::default(),
            Site {
                base_path: Some("/app".into()),
                locales: vec![],
            },
        ];
        for site in &sites {
            for source in sources {
                for reading in [Reading::Wide, Reading::Exact] {
                    let matcher = Matcher::new(source, site, reading).unwrap();
                    let regex = match reading {
                        Reading::Wide => wide(source, site),
                        Reading::Exact => super::exact(source, site),
                    }
                    .and_then(|js| compile_regex(&js, reading == Reading::Wide))
                    .unwrap();
                    for path in paths {
                        let base = site.base_path.as_deref().unwrap_or_default();
                        for path in [path.to_string(), format!("{base}{path}")] {
                            assert_eq!(
                                matcher.is_match(&path).ok(),
                                regex.is_match(&path).ok(),
                                "{source} {reading:?} on {path:?} (base {base:?})"
                            );
                        }
                    }
                }
            }
        }
        // The shortcut is taken where it should be: these never reach the regex.
        let Test::Pattern {
            shortcut: Some(shortcut),
            ..
        } = m("/api/:path*").test
        else {
            panic!("a shortcut for /api/:path*")
        };
        assert_eq!(shortcut.decide("/api/stocks"), Some(true));
        assert_eq!(shortcut.decide("/dashboard"), Some(false));
        assert_eq!(shortcut.decide("/_next/data/b/api.json"), None);
        // And exact plain paths compile no regex at all.
        for source in ["/login", "/api/auth/signin/:provider", "/dashboard/"] {
            assert!(
                matches!(exact(source).test, Test::Literal { .. }),
                "{source}"
            );
        }
        for source in ["/", "/api/:id/x", "/api/:id?", "/x/:p*", "/a(b)"] {
            assert!(
                matches!(exact(source).test, Test::Pattern { .. }),
                "{source}"
            );
        }
    }

    #[test]
    fn an_exact_reading_matches_only_the_source_as_written() {
        let login = exact("/api/login");
        assert!(login.is_match("/api/login").unwrap());
        for miss in [
            "/api/Login",
            "/API/login",
            "/api/login/",
            "/api/login.json",
            "/api/login.rsc",
            "/api/login.segments/_tree.segment.rsc",
            "/_next/data/b/api/login.json",
            "/api/login?",
            "/api/login#",
            "/api/logins",
        ] {
            assert!(!login.is_match(miss).unwrap(), "{miss}");
            assert!(
                m("/api/login").is_match(miss).unwrap() || miss.ends_with('s'),
                "{miss}"
            );
        }
        let open = exact("/public/:path*");
        for hit in ["/public", "/public/a", "/public/a/b"] {
            assert!(open.is_match(hit).unwrap(), "{hit}");
        }
        for miss in [
            "/public/",
            "/Public/a",
            "/public/a/",
            "/public.json",
            "/public//a",
        ] {
            assert!(!open.is_match(miss).unwrap(), "{miss}");
        }
        let root = exact("/");
        assert!(root.is_match("/").unwrap());
        for miss in ["/index", "/index.json", "/index.rsc", "/x"] {
            assert!(!root.is_match(miss).unwrap(), "{miss}");
        }
        let site = Site {
            base_path: Some("/app".into()),
            locales: vec!["en".into(), "fr".into()],
        };
        let guest = Matcher::new("/login", &site, Reading::Exact).unwrap();
        assert!(guest.is_match("/app/login").unwrap());
        for miss in [
            "/login",
            "/app/fr/login",
            "/app/Login",
            "/app/_next/data/b/fr/login.json",
        ] {
            assert!(!guest.is_match(miss).unwrap(), "{miss}");
        }
        let localized = Matcher::new("/:locale(en|fr)?/login", &site, Reading::Exact).unwrap();
        for hit in ["/app/login", "/app/fr/login"] {
            assert!(localized.is_match(hit).unwrap(), "{hit}");
        }
        assert!(!localized.is_match("/app/FR/login").unwrap());
        let home = Matcher::new("/", &site, Reading::Exact).unwrap();
        assert!(home.is_match("/app").unwrap());
        for miss in ["/", "/app/", "/app/en", "/app/index"] {
            assert!(!home.is_match(miss).unwrap(), "{miss}");
        }
    }

    #[test]
    fn catastrophic_pattern_fails_closed() {
        let evil = m("/((?:a|a)+(?!b)c)");
        let path = format!("/{}", "a".repeat(40));
        assert_eq!(evil.is_match(&path), Err(Error::MatcherLimit));
    }

    #[test]
    fn bad_patterns_are_config_errors() {
        for bad in ["dashboard", "/:", "/(", "/([)", "/x/(a(b))"] {
            let e = Matcher::new(bad, &Site::default(), Reading::Exact).unwrap_err();
            assert_eq!(e.code(), "ERR_CONFIG_PATTERN", "{bad}");
        }
    }
}
