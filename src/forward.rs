//! How a request the gate lets through leaves it: where to ([`Route`]: the rule's upstream,
//! or the app at the judged path) and with exactly which headers (identity headers the
//! client may not set dropped, the verified bearer set, session cookies kept out, claim
//! headers added). The backend receives exactly what the gate judged.

use std::collections::HashSet;
use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::clock::Clock;
use crate::config::UpstreamOptions;
use crate::decision::{Action, HeaderChanges, Route};
use crate::error::{Error, Result};
use crate::extract::Extractor;
use crate::http::{header_key, is_header_name, joined, same_header, same_name, Request};
use crate::normalize::NormalizedPath;
use crate::random::random_bytes;
use crate::rules::RuleSet;
use crate::trace::Observer;
use crate::verify::Verified;

/// Client headers always dropped before forwarding: Next's internal recursion marker
/// (CVE-2025-29927), URL-override headers some backends route by, and the identity headers
/// other auth proxies set. Compared after lowercasing and mapping `_` to `-`.
pub const ALWAYS_STRIPPED: [&str; 12] = [
    "x-middleware-subrequest",
    ROUTE_MARK,
    "x-original-url",
    "x-rewrite-url",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-remote-user",
    "remote-user",
];

/// Marks a request this gate already sent on to an exception's judged path, so that a host
/// passing the rewritten request through the gate again (Next does, as an external proxy,
/// when bound to a loopback address) is not rewritten in a loop. `<unix seconds>.<HMAC>` of
/// the time and the target under a per-gate random key: a client cannot mint one, and one
/// seen leaked is good for [`ROUTE_MARK_SECONDS`] and that one target only.
const ROUTE_MARK: &str = "x-edgegate-route";
const ROUTE_MARK_SECONDS: f64 = 10.0;

/// Client headers never forwarded to an upstream: the forwarding headers are the gate's to
/// set ([`forwarded_for`]), never the client's. (`Host` stays: hosts derive the upstream's
/// own from the destination, and Next's proxy copies it into `x-forwarded-host`.)
const FORWARDING: [&str; 12] = [
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "x-forwarded-server",
    "x-original-host",
    "x-real-ip",
    "front-end-https",
    // Credentials for a proxy on the way, never for the backend.
    "proxy-authorization",
];

/// A verified token, as it is forwarded.
pub(crate) type Auth<'a> = Option<(&'a str, &'a Verified)>;

/// How requests leave the gate, as `upstream` configures it.
pub(crate) struct Forwarder {
    /// The gate's extractor, shared: it names the session cookies, never forwarded bare.
    cookies: Arc<Extractor>,
    strip_auth_cookie: bool,
    /// `(claim, header)`: claims forwarded as headers.
    claim_headers: Vec<(String, String)>,
    /// Lowercase, `-` spelled; compared with [`same_header`].
    /// Ends with [`FORWARDING`]; requests into the app skip those: `stripped[..into_app]`.
    stripped: Vec<String>,
    into_app: usize,
    /// Signs [`ROUTE_MARK`]s: HMAC-SHA-256 keyed at random per gate (the keyed state,
    /// cloned per mark).
    route_key: Hmac<Sha256>,
}

impl Forwarder {
    /// The forwarder of the `upstream` options: claim headers the gate may set, the headers
    /// to strip, and a fresh route-mark key; session cookies named as `cookies` reads them.
    pub(crate) fn new(options: &UpstreamOptions, cookies: Arc<Extractor>) -> Result<Forwarder> {
        let route_key: [u8; 32] = random_bytes()?;
        let mut claim_headers = Vec::new();
        let mut stripped: HashSet<String> = ALWAYS_STRIPPED.iter().map(|h| h.to_string()).collect();
        for (claim, header) in &options.claim_headers {
            let header = header.to_ascii_lowercase();
            if !is_header_name(&header)
                || matches!(header.as_str(), "authorization" | "cookie" | "host")
            {
                return Err(Error::ConfigInvalid(format!(
                    "upstream.claimHeaders: {header:?} is not a header the gate may set"
                )));
            }
            stripped.insert(header_key(&header));
            claim_headers.push((claim.clone(), header));
        }
        for header in &options.strip_headers {
            stripped.insert(header_key(header));
        }
        // The forwarding headers last: requests into the app keep them (Next reads its own).
        let mut stripped: Vec<String> = stripped.into_iter().collect();
        let into_app = stripped.len();
        stripped.extend(FORWARDING.iter().map(|h| h.to_string()));
        Ok(Forwarder {
            cookies,
            strip_auth_cookie: options.strip_auth_cookie,
            claim_headers,
            stripped,
            into_app,
            route_key: <Hmac<Sha256> as Mac>::new_from_slice(&route_key)
                .map_err(|_| Error::ConfigInvalid("route key".into()))?,
        })
    }

    /// Lets a request through as rule `index` of `rules` judged it: to the rule's upstream,
    /// if it names one, at the judged path ([`RuleSet::destination`]); else on into the app,
    /// at the judged path when an exception opened it (see [`Route::Rewrite`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pass(
        &self,
        request: &Request,
        path: &NormalizedPath,
        rules: &RuleSet,
        index: Option<usize>,
        auth: Auth<'_>,
        clock: &dyn Clock,
        o: &mut Observer,
    ) -> Action {
        let destination = index.and_then(|i| rules.destination(i, path));
        let into_app = destination.is_none();
        let (mut headers, mut changes) = self.headers(request, auth, !into_app);
        // Into the app, the host routes the raw URL: rewritten to the judged path unless
        // that is the same route (an exception's raw spelling is the judged one, and no
        // spelling the host strips to it falls under a rule that protects).
        let rewrite = into_app
            && match index.map(|i| rules.get(i).kind) {
                Some(kind) if kind.is_exception() => {
                    !(path.is_target_of(&request.url) && rules.routes_alike(path))
                }
                // Judged protected, and authenticated: every spelling of it is protected.
                Some(_) => false,
                None => !rules.routes_alike(path),
            };
        let mut route = match destination {
            Some(url) => Some(Route::Upstream(url)),
            None if rewrite => Some(Route::Rewrite(path.target())),
            None => None,
        };
        let mut add = |name: &str, value: String| {
            headers.push((name.to_owned(), value.clone()));
            changes.added.push((name.to_owned(), value));
        };
        match &route {
            Some(Route::Upstream(_)) => forwarded_for(&request.url, &mut add),
            Some(Route::Rewrite(target)) => {
                // The clock only here: in wasm it is a call out to the host.
                let now = clock.now();
                if self.routed_here(request, target, now) {
                    route = None;
                } else {
                    add(ROUTE_MARK, self.route_mark(now, target));
                }
            }
            None => {}
        }
        o.step("route", true, || match &route {
            Some(Route::Upstream(url)) => format!("to {url}"),
            Some(Route::Rewrite(path)) => format!("into the app, rewritten to {path}"),
            None if changes.is_empty() => "on into the app as it came".to_owned(),
            None => "on into the app".to_owned(),
        });
        Action::Continue {
            headers,
            changes,
            route,
        }
    }

    /// The [`ROUTE_MARK`] for sending a request on to `target` at `now`.
    fn route_mark(&self, now: f64, target: &str) -> String {
        let seconds = now.max(0.0) as u64;
        let mut mac = self.route_key.clone();
        mac.update(format!("{seconds} {target}").as_bytes());
        format!(
            "{seconds}.{}",
            Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes())
        )
    }

    /// Does the request carry this gate's fresh [`ROUTE_MARK`] for exactly `target`?
    fn routed_here(&self, request: &Request, target: &str, now: f64) -> bool {
        let Some(mark) = request.single(ROUTE_MARK) else {
            return false;
        };
        let Some((seconds, mac)) = mark.trim().split_once('.') else {
            return false;
        };
        let fresh = seconds
            .parse::<u64>()
            .is_ok_and(|s| (now - s as f64).abs() <= ROUTE_MARK_SECONDS);
        let mac = Base64UrlUnpadded::decode_vec(mac).ok();
        fresh
            && mac.is_some_and(|tag| {
                // Constant time, and a tag of another length is refused (`verify_slice`).
                let mut mac = self.route_key.clone();
                mac.update(format!("{seconds} {target}").as_bytes());
                mac.verify_slice(&tag).is_ok()
            })
    }

    /// The headers to forward: client identity headers dropped, and for an authenticated
    /// request the bearer set, the auth cookie removed and the claim headers added. To an
    /// upstream, the client's forwarding headers go too, and so do credentials the gate did
    /// not verify: any `Authorization` an upstream receives is the gate's verified bearer.
    /// With them, how they differ from the request's.
    fn headers(
        &self,
        request: &Request,
        auth: Auth<'_>,
        upstream: bool,
    ) -> (Vec<(String, String)>, HeaderChanges) {
        let stripped = match upstream {
            true => &self.stripped[..],
            false => &self.stripped[..self.into_app],
        };
        let credentials = auth.is_some() || upstream;
        let mut out: Vec<(String, String)> = Vec::with_capacity(request.headers.len() + 2);
        let mut changes = HeaderChanges::default();
        let mut remove = |name: &str| {
            let name = name.to_ascii_lowercase();
            if !changes.removed.contains(&name) {
                changes.removed.push(name);
            }
        };
        for (name, value) in &request.headers {
            // Compared in place (case and `_` folded byte by byte): browsers send 15-20
            // headers, and an allocation per header per request shows in wasm.
            let dropped = stripped.iter().any(|s| same_header(s, name))
                || credentials
                    && (name.eq_ignore_ascii_case("authorization")
                        || name.eq_ignore_ascii_case("cookie"));
            if dropped {
                remove(name);
            } else {
                out.push((name.to_ascii_lowercase(), value.to_string()));
            }
        }
        let mut add = |name: &str, value: String| {
            out.push((name.to_owned(), value.clone()));
            changes.added.push((name.to_owned(), value));
        };
        if !credentials {
            return (out, changes);
        }
        if let Some((token, _)) = auth {
            add("authorization", ["Bearer ", token].concat());
        }
        if let Some(header) = joined(&request.headers, "cookie", "; ") {
            // Kept alongside a verified bearer only, and only when asked for; an auth
            // library's cookies also on their way into the app, whose `auth()` or
            // `getSession()` reads them, never to an upstream.
            let library_session = self.cookies.naming.is_some() && !upstream;
            let kept = if (self.strip_auth_cookie && !library_session) || auth.is_none() {
                self.cookies.strip_auth_cookies(&header)
            } else if library_session {
                Some(header.into_owned())
            } else {
                self.cookies.strip_refresh_cookies(&header)
            };
            if let Some(kept) = kept {
                add("cookie", kept);
            }
        }
        if let Some((_, verified)) = auth {
            for (claim, header) in &self.claim_headers {
                if let Some(value) = verified.claims.get(claim).and_then(header_value) {
                    add(header, value);
                }
            }
        }
        (out, changes)
    }
}

/// `x-forwarded-host` and `x-forwarded-proto` for an upstream, from the absolute request URL
/// the runtime handed over; none for an origin-form URL.
fn forwarded_for(url: &str, add: &mut impl FnMut(&str, String)) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return;
    };
    // An origin-form URL may hold `://` in its query: no scheme, no host.
    if !(same_name(scheme, "https") || same_name(scheme, "http")) {
        return;
    }
    let host = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    if !host.is_empty() && !host.contains('@') {
        add("x-forwarded-host", host.to_ascii_lowercase());
    }
    add("x-forwarded-proto", scheme.to_ascii_lowercase());
}

/// A claim as a header value: strings as they are, anything else as JSON; non-ASCII and
/// control characters escaped so the value is always a valid header.
fn header_value(claim: &Value) -> Option<String> {
    let text = match claim {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extractor() -> Arc<Extractor> {
        Arc::new(Extractor::new(&crate::config::TokenOptions::default(), None).unwrap())
    }

    #[test]
    fn claim_headers_are_checked() {
        let forwarder = |claims: &[(&str, &str)]| {
            Forwarder::new(
                &UpstreamOptions {
                    claim_headers: claims
                        .iter()
                        .map(|(c, h)| (c.to_string(), h.to_string()))
                        .collect(),
                    ..UpstreamOptions::default()
                },
                extractor(),
            )
        };
        assert!(forwarder(&[("sub", "X-Auth-Sub")]).is_ok());
        for bad in ["authorization", "Cookie", "host", "x auth", "", "x-ä"] {
            let e = forwarder(&[("sub", bad)]).err().map(|e| e.code());
            assert_eq!(e, Some("ERR_CONFIG_INVALID"), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_for_reads_only_absolute_http_urls() {
        let of = |url: &str| {
            let mut h = Vec::new();
            forwarded_for(url, &mut |name: &str, value| {
                h.push((name.to_owned(), value))
            });
            h
        };
        assert_eq!(
            of("HTTPS://App.Example:8443/x?y"),
            [
                (
                    "x-forwarded-host".to_string(),
                    "app.example:8443".to_string()
                ),
                ("x-forwarded-proto".to_string(), "https".to_string())
            ]
        );
        assert!(of("/x?next=https://evil.example").is_empty());
        assert!(of("ftp://a.example/").is_empty());
    }

    #[test]
    fn claim_values_are_always_header_safe() {
        assert_eq!(
            header_value(&"é\n".into()).as_deref(),
            Some("\\u00e9\\u000a")
        );
        assert_eq!(
            header_value(&serde_json::json!(["a", 1])).as_deref(),
            Some("[\"a\",1]")
        );
        assert_eq!(header_value(&Value::Null), None);
    }

    #[test]
    fn a_route_mark_holds_for_its_target_only_and_briefly() {
        let f = Forwarder::new(&UpstreamOptions::default(), extractor()).unwrap();
        let request = |mark: &str| Request {
            headers: vec![(ROUTE_MARK.into(), mark.to_owned().into())],
            ..Request::default()
        };
        let mark = f.route_mark(1000.0, "/api/login");
        assert!(f.routed_here(&request(&mark), "/api/login", 1005.0));
        assert!(!f.routed_here(&request(&mark), "/api/admin", 1005.0));
        assert!(!f.routed_here(&request(&mark), "/api/login", 1011.0));
        let other = Forwarder::new(&UpstreamOptions::default(), extractor()).unwrap();
        assert!(!other.routed_here(&request(&mark), "/api/login", 1005.0));
    }
}
