//! Step 5: the decision. A [`Gate`] is built once from [`Options`]; [`Gate::decide`] takes a
//! plain request view and answers continue (with the exact headers to forward), redirect,
//! or respond, always with a stable reason code for logs.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::alg::{Hs256, Hs256Key, Hs256Signature};
use jwt_compact::{Algorithm, AlgorithmSignature};
use serde_json::Value;

use crate::config::{
    is_header_name, is_local_path, OneOrMany, Options, PrecedenceOption, RuleKind, VerifyOptions,
};
use crate::error::{Error, Result};
use crate::extract::{Extractor, Found, Precedence, TokenSource};
use crate::matcher::{Matcher, Reading, Site};
use crate::normalize::{normalize, NormalizedPath};
use crate::session::{Refreshed, Refresher, Session};
use crate::upstream::{target, Upstream};
use crate::verify::{
    jws, Alg, Checked, ClaimsPolicy, Clock, Fetch, Fetched, KeyResolver, KeySet, RemoteKeys,
    Source, Unverified, Verified, Verifier,
};

/// Fetch rounds one request may wait through (a token refresh, discovery, the JWKS, a
/// refetch for an unknown `kid`) before it is refused; a bound, so a host can never loop.
pub const MAX_FETCH_ROUNDS: u8 = 4;

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

/// `x-forwarded-host` and `x-forwarded-proto` for an upstream, from the absolute request URL
/// the runtime handed over; none for an origin-form URL.
fn forwarded_for(url: &str, headers: &mut Vec<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return;
    };
    // An origin-form URL may hold `://` in its query: no scheme, no host.
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return;
    }
    let host = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    if !host.is_empty() && !host.contains('@') {
        headers.push(("x-forwarded-host".into(), host.to_ascii_lowercase()));
    }
    headers.push(("x-forwarded-proto".into(), scheme.to_ascii_lowercase()));
}

/// A request as every host can describe it. Borrowed where it can be: the wasm boundary
/// hands over one buffer and the engine reads the request in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Cow<'a, str>,
    /// Absolute (`https://host/p?q`) or origin-form (`/p?q`).
    pub url: Cow<'a, str>,
    /// In arrival order; names in any case; repeated names allowed.
    pub headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
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
}

/// A decision waiting for one signature check; see [`Gate::begin`].
#[derive(Debug)]
pub struct Pending {
    /// The token and the keys to check its signature against.
    pub unverified: Unverified,
    request: Request<'static>,
    path: NormalizedPath,
    rule: usize,
    source: TokenSource,
    token: String,
    now: f64,
    provider: usize,
    web_crypto: bool,
    /// The session a refresh produced for this request, to store on the response.
    refreshed: Option<Session>,
}

impl Pending {
    /// May the host check this signature with its WebCrypto (`verify.webCrypto`)?
    pub fn web_crypto(&self) -> bool {
        self.web_crypto
    }
}

/// The outcome of [`Gate::begin`].
// Moved once per decision; boxing `Pending` would add an allocation to every signature check.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step {
    Decided(Decision),
    NeedsSignature(Pending),
    /// The host must fetch first (the provider's keys, or a token refresh): perform `Fetch`
    /// (or join the host's fetch with the same id), report it with [`Gate::complete`], then
    /// begin again with `round + 1`.
    NeedsFetch(Fetch),
}

/// Where a request that continues goes, when not simply on into the app as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The matched rule's upstream: an absolute URL at the judged path.
    Upstream(String),
    /// This app, rewritten to the judged path (and query): an exception's pass (see
    /// [`Gate::pass`]).
    Rewrite(String),
}

impl Route {
    /// The URL or path, whichever it is.
    pub fn target(&self) -> &str {
        match self {
            Route::Upstream(url) | Route::Rewrite(url) => url,
        }
    }
}

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward the request with exactly these headers (names lowercase), by `route`, or on
    /// into the app as it is.
    Continue {
        headers: Vec<(String, String)>,
        route: Option<Route>,
    },
    /// Answer 307 with this `Location` (always a same-origin relative path).
    Redirect { location: String },
    /// Answer with this status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

/// A decision and why it was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    /// `OK_*` for pass-through outcomes, an [`Error::code`] otherwise.
    pub code: &'static str,
    /// Index of the rule that matched, if any.
    pub rule: Option<usize>,
    pub kind: Option<RuleKind>,
    pub token_source: Option<TokenSource>,
    /// The underlying error, for logs only; never sent to the client.
    pub error: Option<Error>,
    /// `Set-Cookie` values for the response (a refreshed session, or a cleared one).
    pub set_cookies: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) sources: Vec<String>,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) kind: RuleKind,
    pub(crate) scopes: Vec<String>,
    pub(crate) upstream: Option<Upstream>,
}

/// The CSRF guard. A cookie turned into a bearer makes the API forgeable again: a browser
/// attaches the cookie to a cross-site form POST. Unsafe methods carrying the cookie must
/// come from this origin: `Sec-Fetch-Site: same-origin` (or `none`, a user-typed
/// navigation), else an `Origin` equal to the request's own or an allowed one.
pub(crate) struct Csrf {
    enabled: bool,
    allowed_origins: Vec<String>,
}

impl Csrf {
    pub(crate) fn check(&self, request: &Request) -> Result<()> {
        if !self.enabled
            || matches!(
                request.method.as_ref(),
                "GET" | "HEAD" | "OPTIONS" | "TRACE"
            )
        {
            return Ok(());
        }
        let site: Vec<&str> = values(&request.headers, "sec-fetch-site").collect();
        if let [site] = site.as_slice() {
            if matches!(site.trim(), "same-origin" | "none") {
                return Ok(());
            }
        }
        let origin: Vec<&str> = values(&request.headers, "origin").collect();
        let [origin] = origin.as_slice() else {
            return Err(Error::Csrf(
                "no same-origin Sec-Fetch-Site and no single Origin",
            ));
        };
        let origin = origin.trim().to_ascii_lowercase();
        // The request's own origin, from its URL or from its Host header (what the browser
        // connected to; Next rewrites 127.0.0.1 to localhost in the URL it hands over).
        let from_host = match (
            request.url.split_once("://"),
            values(&request.headers, "host")
                .collect::<Vec<_>>()
                .as_slice(),
        ) {
            (Some((scheme, _)), [host]) => origin_of(&format!("{scheme}://{}/", host.trim())),
            _ => None,
        };
        if origin_of(&request.url).is_some_and(|own| own == origin)
            || from_host.is_some_and(|own| own == origin)
            || self.allowed_origins.contains(&origin)
        {
            Ok(())
        } else {
            Err(Error::Csrf("Origin is not this site's"))
        }
    }
}

/// Did the request come over TLS, or at least not from a developer's loopback? Only plain
/// `http://` on 127.0.0.1, localhost or [::1] is insecure here; a relative URL (a host
/// adapter without the scheme) counts as insecure too, so cookies keep their plain names.
pub fn secure_context(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return true;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_ascii_lowercase)
    }
    .unwrap_or_default();
    !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

/// `scheme://host[:port]` of an absolute http(s) URL, lowercase, default port dropped (as
/// browsers serialize `Origin`).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
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

/// One identity provider: how its tokens are verified.
pub(crate) struct Provider {
    /// The `iss` that routes a token here (several providers only).
    pub(crate) issuer: Option<String>,
    pub(crate) verifier: Verifier,
    web_crypto: bool,
}

/// The engine. Cheap to share: build once per isolate, decide per request.
pub struct Gate {
    pub(crate) rules: Vec<Rule>,
    pub(crate) extractor: Extractor,
    pub(crate) providers: Vec<Provider>,
    keys_unavailable_status: u16,
    pub(crate) csrf: Csrf,
    refresh_max_age: f64,
    pub(crate) refresher: Option<Refresher>,
    pub(crate) clock: Arc<dyn Clock>,
    login_url: String,
    return_to_param: String,
    after_login_url: String,
    strip_auth_cookie: bool,
    claim_headers: Vec<(String, String)>,
    /// Lowercase, `-` spelled; compared with [`same_header`].
    /// Ends with [`FORWARDING`]; requests into the app skip those: `stripped[..into_app]`.
    stripped: Vec<String>,
    into_app: usize,
    /// Signs [`ROUTE_MARK`]s; random per gate.
    route_key: Hs256Key,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("rules", &self.rules.len())
            .field("providers", &self.providers.len())
            .finish_non_exhaustive()
    }
}

/// `name` is the header `canonical` (lowercase, `-`) in any case, with `_` for `-`.
fn same_header(canonical: &str, name: &str) -> bool {
    canonical.len() == name.len()
        && canonical.bytes().zip(name.bytes()).all(|(c, n)| {
            c == match n {
                b'_' => b'-',
                n => n.to_ascii_lowercase(),
            }
        })
}

fn header_key(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

impl Gate {
    /// Builds a gate from its options, using the system clock where there is one.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(options: Options) -> Result<Gate> {
        Gate::with_clock(options, Arc::new(crate::verify::SystemClock))
    }

    /// Builds a gate from JSON options.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_json(json: &str) -> Result<Gate> {
        Gate::new(Options::from_json(json)?)
    }

    /// Builds a gate with an injected clock (hosts without a system clock, and tests).
    pub fn with_clock(options: Options, clock: Arc<dyn Clock>) -> Result<Gate> {
        Gate::build(options, clock, None)
    }

    /// Builds a gate whose keys come from another resolver (tests, or a host with its own
    /// key source); `verify.keys` and `verify.jwksUri` are then ignored.
    pub fn with_key_resolver(
        options: Options,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn KeyResolver>,
    ) -> Result<Gate> {
        Gate::build(options, clock, Some(keys))
    }

    fn build(
        options: Options,
        clock: Arc<dyn Clock>,
        resolver: Option<Arc<dyn KeyResolver>>,
    ) -> Result<Gate> {
        let providers = providers(&options, resolver)?;
        if !matches!(options.keys_unavailable_status, 401 | 503) {
            return Err(Error::ConfigInvalid(format!(
                "keysUnavailableStatus must be 401 or 503, got {}",
                options.keys_unavailable_status
            )));
        }
        for (name, url) in [
            ("loginUrl", &options.login_url),
            ("afterLoginUrl", &options.after_login_url),
        ] {
            if !is_local_path(url) {
                return Err(Error::ConfigUrl(format!(
                    "{name} must be a same-origin path starting with a single \"/\", got {url:?}"
                )));
            }
        }
        let param = &options.return_to_param;
        if param.is_empty()
            || !param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(Error::ConfigInvalid(format!(
                "returnToParam must be letters, digits, '_', '-' or '.', got {param:?}"
            )));
        }
        let mut allowed_origins = Vec::new();
        for origin in &options.csrf.allowed_origins {
            match origin_of(origin) {
                Some(o) if o == origin.to_ascii_lowercase() => allowed_origins.push(o),
                _ => {
                    return Err(Error::ConfigUrl(format!(
                    "csrf.allowedOrigins: {origin:?} is not an origin like \"https://app.example\""
                )))
                }
            }
        }
        let csrf = Csrf {
            enabled: options.csrf.enabled,
            allowed_origins,
        };
        let site = site(&options)?;
        for (name, url) in &options.upstreams {
            // A rule's `upstream` with a `:` is a URL, so such a name could never be used.
            Upstream::new(url, &format!("upstreams.{name}")).and_then(|_| {
                match name.contains(':') {
                    true => Err(Error::ConfigUrl(format!("upstreams: {name:?} has a \":\""))),
                    false => Ok(()),
                }
            })?;
        }
        let mut rules = Vec::new();
        for (i, rule) in options.rules_or_default().into_iter().enumerate() {
            let sources = rule.matcher.into_vec();
            let reading = if rule.kind.is_exception() {
                Reading::Exact
            } else {
                Reading::Wide
            };
            let matchers = sources
                .iter()
                .map(|source| Matcher::new(source, &site, reading))
                .collect::<Result<Vec<_>>>()?;
            if matchers.is_empty() {
                return Err(Error::ConfigInvalid(
                    "a rule has an empty \"match\" list".into(),
                ));
            }
            // An absolute URL, or the name of one in `upstreams` (names have no `:`).
            let upstream = match &rule.upstream {
                None => None,
                Some(url) if url.contains(':') => Some(url),
                Some(name) => Some(options.upstreams.get(name).ok_or_else(|| {
                    Error::ConfigUrl(format!(
                        "rules[{i}].upstream: {name:?} is neither an absolute URL nor a name in upstreams"
                    ))
                })?),
            }
            .map(|url| Upstream::new(url, &format!("rules[{i}].upstream")))
            .transpose()?;
            if !rule.scopes.iter().all(|s| is_scope_token(s)) {
                return Err(Error::ConfigInvalid(format!(
                    "scopes must be RFC 6749 scope tokens, got {:?}",
                    rule.scopes
                )));
            }
            rules.push(Rule {
                sources,
                matchers,
                kind: rule.kind,
                scopes: rule.scopes,
                upstream,
            });
        }

        let token = &options.token;
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
        let extractor = Extractor {
            cookie: token.cookie.clone(),
            host_prefix: token.host_prefix,
            refresh_cookie: token.refresh_cookie.clone(),
            header: token.header,
            precedence: match token.precedence {
                PrecedenceOption::Cookie => Precedence::Cookie,
                PrecedenceOption::Header => Precedence::Header,
            },
            max_chunks: token.max_chunks,
            max_cookie_header_bytes: token.max_cookie_header_bytes,
            max_token_bytes: token.max_token_bytes,
        };

        let mut route_key = [0u8; 32];
        getrandom::getrandom(&mut route_key)
            .map_err(|_| Error::ConfigInvalid("the host has no source of randomness".into()))?;

        let up = &options.upstream;
        let mut claim_headers = Vec::new();
        let mut stripped: HashSet<String> = ALWAYS_STRIPPED.iter().map(|h| h.to_string()).collect();
        for (claim, header) in &up.claim_headers {
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
        for header in &up.strip_headers {
            stripped.insert(header_key(header));
        }
        // The forwarding headers last: requests into the app keep them (Next reads its own).
        let mut stripped: Vec<String> = stripped.into_iter().collect();
        let into_app = stripped.len();
        stripped.extend(FORWARDING.iter().map(|h| h.to_string()));

        Ok(Gate {
            rules,
            extractor,
            providers,
            keys_unavailable_status: options.keys_unavailable_status,
            csrf,
            refresher: options
                .refresh
                .as_ref()
                .map(|r| Refresher::new(r, crate::verify::RemotePolicy::default().user_agent))
                .transpose()?,
            refresh_max_age: match &options.token.refresh_max_age {
                Some(d) => d.seconds("token.refreshMaxAge")?,
                None => 30.0 * 86_400.0,
            },
            clock,
            login_url: options.login_url.clone(),
            return_to_param: options.return_to_param.clone(),
            after_login_url: options.after_login_url.clone(),
            strip_auth_cookie: up.strip_auth_cookie,
            claim_headers,
            stripped,
            into_app,
            route_key: Hs256Key::new(route_key),
        })
    }

    /// `Set-Cookie` values storing `session` for a response to a request at `url`.
    pub fn session_cookies(
        &self,
        url: &str,
        session: &crate::session::Session,
    ) -> Result<Vec<String>> {
        crate::session::set(
            &self.extractor,
            self.refresh_max_age,
            url,
            session,
            self.clock.now(),
        )
    }

    /// `Set-Cookie` values removing the session for a response to a request at `url`.
    pub fn clear_session_cookies(&self, url: &str) -> Vec<String> {
        crate::session::clear(&self.extractor, url)
    }

    /// The gate's clock, in seconds since the epoch.
    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// The first provider's verifier (the only one unless `providers` is configured).
    pub fn verifier(&self) -> &Verifier {
        &self.providers[0].verifier
    }

    /// Decides one request, checking the signature (if any) with jwt-compact. Remote keys
    /// cannot be fetched here; use [`Gate::decide_with`] for a gate that has them.
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_with(request, |_| {
            Fetched::Network("no fetcher: use Gate::decide_with".into())
        })
    }

    /// Decides one request, calling `fetch` for any provider keys that must be fetched
    /// (a blocking HTTP client natively; tests pass a closure).
    pub fn decide_with(
        &self,
        request: &Request,
        mut fetch: impl FnMut(&Fetch) -> Fetched,
    ) -> Decision {
        let mut round = 0;
        loop {
            match self.begin_round(request, round) {
                Step::Decided(decision) => return decision,
                Step::NeedsSignature(pending) => {
                    let valid = pending.unverified.check_here();
                    return self.resume(pending, valid);
                }
                Step::NeedsFetch(ticket) => {
                    let outcome = fetch(&ticket);
                    self.complete(ticket.id, outcome);
                    round += 1;
                }
            }
        }
    }

    /// Reports how fetch `id` ended. Returns true when new keys were installed (a host with
    /// a persistence hook may then store the body). Unknown or finished ids are ignored.
    pub fn complete(&self, id: u64, fetched: Fetched) -> bool {
        let now = self.clock.now();
        if let Some(r) = self.refresher.as_ref().filter(|r| r.owns(id)) {
            return r.complete(id, fetched, now);
        }
        self.providers
            .iter()
            .find(|p| p.verifier.owns(id))
            .and_then(|p| p.verifier.complete(id, fetched, now))
            .unwrap_or(false)
    }

    /// The provider that verifies `token`: the only one, or the one named by its `iss`
    /// (read before verification only to route; the provider then checks it again).
    pub(crate) fn provider(&self, token: &str) -> Result<usize> {
        if self.providers.len() == 1 && self.providers[0].issuer.is_none() {
            return Ok(0);
        }
        let iss = jws::parse(token)?
            .claims()
            .and_then(|c| c.get("iss")?.as_str().map(str::to_owned))
            .ok_or(Error::IssuerUnknown)?;
        self.providers
            .iter()
            .position(|p| p.issuer.as_deref() == Some(iss.as_str()))
            .ok_or(Error::IssuerUnknown)
    }

    /// Everything up to the signature check. A host with faster crypto (WebCrypto) may check
    /// `pending.unverified` itself and hand the verdict to [`Gate::resume`]; every decision
    /// is still made here.
    pub fn begin(&self, request: &Request) -> Step {
        self.begin_round(request, 0)
    }

    /// [`Gate::begin`] after `round` key fetches for this request. From
    /// [`MAX_FETCH_ROUNDS`] on, a request that would need yet another fetch is refused.
    pub fn begin_round(&self, request: &Request, round: u8) -> Step {
        let path = match normalize(&request.url) {
            Ok(p) => p,
            Err(e) => return Step::Decided(bad_request(e, None)),
        };
        let matched = match self.rule_for(&path) {
            Ok(matched) => matched,
            Err((index, e)) => return Step::Decided(bad_request(e, Some(index))),
        };
        let Some(index) = matched.filter(|&i| self.rules[i].kind != RuleKind::Public) else {
            return Step::Decided(Decision {
                action: self.pass(request, &path, matched, None),
                code: "OK_PUBLIC",
                rule: matched,
                kind: matched.map(|i| self.rules[i].kind),
                token_source: None,
                error: None,
                set_cookies: Vec::new(),
            });
        };

        let cookies = joined(&request.headers, "cookie", "; ");
        let authorization: Vec<&str> = values(&request.headers, "authorization").collect();
        let secure = secure_context(&request.url);
        let kind = self.rules[index].kind;
        let found = self
            .extractor
            .extract(cookies.as_deref(), &authorization, secure);
        let refresh_token = self
            .refresher
            .as_ref()
            .and_then(|_| self.extractor.refresh_token(cookies.as_deref(), secure));
        // The refresh cookie authenticates too: it is a cookie session for the CSRF guard.
        let cookie_session = match &found {
            Ok(f) => f.source == TokenSource::Cookie,
            Err(Error::NoToken) => refresh_token.is_some(),
            Err(_) => false,
        };
        if cookie_session && kind != RuleKind::Guest {
            if let Err(e) = self.csrf.check(request) {
                let source = found.as_ref().ok().map(|f| f.source);
                return Step::Decided(self.forbidden(index, source, e));
            }
        }
        let now = self.clock.now();

        let mut refreshed = None;
        let found = match self.refresh_plan(&found, refresh_token, kind, now) {
            None => found,
            Some((mandatory, old)) => {
                let outcome = match self.refresher.as_ref().map(|r| r.refresh(&old, now)) {
                    Some(Refreshed::Fetch(ticket)) if round < MAX_FETCH_ROUNDS => {
                        return Step::NeedsFetch(ticket)
                    }
                    Some(Refreshed::Done(outcome)) => outcome,
                    _ => Err(Error::RefreshFailed {
                        reason: "no answer within the fetch rounds".into(),
                        definitive: false,
                    }),
                };
                match outcome {
                    Ok(tokens) => {
                        refreshed = Some(Session {
                            access_token: tokens.access_token.clone(),
                            refresh_token: tokens.refresh_token,
                            expires_at: tokens.expires_in.map(|s| now + s),
                        });
                        Ok(Found {
                            token: tokens.access_token,
                            source: TokenSource::Cookie,
                        })
                    }
                    Err(e) if mandatory => {
                        let d =
                            self.conclude(request, &path, index, Some(TokenSource::Cookie), Err(e));
                        return Step::Decided(self.with_session(d, None, &request.url));
                    }
                    // Refreshing early failed; the current token is still good.
                    Err(_) => found,
                }
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => return Step::Decided(self.conclude(request, &path, index, None, Err(e))),
        };
        let source = Some(found.source);
        let decided =
            |d: Decision| Step::Decided(self.with_session(d, refreshed.as_ref(), &request.url));
        let provider = match self.provider(&found.token) {
            Ok(p) => p,
            Err(e) => return decided(self.conclude(request, &path, index, source, Err(e))),
        };
        match self.providers[provider].verifier.start(&found.token, now) {
            Err(e) => decided(self.conclude(request, &path, index, source, Err(e))),
            Ok(Checked::Cached(v)) => {
                decided(self.conclude(request, &path, index, source, Ok((found.token, v))))
            }
            Ok(Checked::NeedsKeys(fetch)) if round < MAX_FETCH_ROUNDS => Step::NeedsFetch(fetch),
            Ok(Checked::NeedsKeys(_)) => {
                let e = Error::JwksUnavailable("keys still missing after fetching".into());
                decided(self.conclude(request, &path, index, source, Err(e)))
            }
            Ok(Checked::NeedsSignature(unverified)) => Step::NeedsSignature(Pending {
                unverified,
                request: request.to_owned_request(),
                path,
                rule: index,
                source: found.source,
                token: found.token,
                now,
                provider,
                web_crypto: self.providers[provider].web_crypto,
                refreshed,
            }),
        }
    }

    /// The first rule whose sources match `path`. An exception (public, guest) is read
    /// exactly and only from a target already in canonical form: any other spelling falls
    /// through to the rules after it, which protect if they match.
    pub(crate) fn rule_for(
        &self,
        path: &NormalizedPath,
    ) -> std::result::Result<Option<usize>, (usize, Error)> {
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.kind.is_exception() && !path.canonical {
                continue;
            }
            for m in &rule.matchers {
                if m.is_match(&path.path).map_err(|e| (index, e))? {
                    return Ok(Some(index));
                }
            }
        }
        Ok(None)
    }

    /// Whether this request should refresh, and with which refresh token: `(true, _)` when
    /// the access cookie is gone or expired (no refresh, no access), `(false, _)` when it
    /// expires within the refresh window (refresh early; keep it if that fails).
    fn refresh_plan(
        &self,
        found: &Result<Found>,
        refresh_token: Option<String>,
        kind: RuleKind,
        now: f64,
    ) -> Option<(bool, String)> {
        let refresh_token = refresh_token?;
        let window = self.refresher.as_ref()?.window;
        if !matches!(kind, RuleKind::Page | RuleKind::Api) {
            return None;
        }
        match found {
            Err(Error::NoToken) => Some((true, refresh_token)),
            Ok(f) if f.source == TokenSource::Cookie => {
                // Read unverified, only to time the refresh; verification follows either way.
                let exp = jws::parse(&f.token).ok()?.claims()?.get("exp")?.as_f64()?;
                if now >= exp {
                    Some((true, refresh_token))
                } else if exp - now < window {
                    Some((false, refresh_token))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Adds the session cookies to a decision: the new ones after a successful refresh; the
    /// cleared ones when the refresh (or its new token) was refused for good.
    fn with_session(&self, mut d: Decision, refreshed: Option<&Session>, url: &str) -> Decision {
        let passed = matches!(d.action, Action::Continue { .. });
        match refreshed {
            Some(session) if passed => match self.session_cookies(url, session) {
                Ok(cookies) => {
                    d.code = "OK_REFRESHED";
                    d.set_cookies = cookies;
                }
                Err(e) => {
                    // Tokens that cannot be stored cannot be used either.
                    d.action = Action::Respond {
                        status: 502,
                        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                        body: "Bad Gateway".into(),
                    };
                    d.code = e.code();
                    d.error = Some(e);
                    d.set_cookies = self.clear_session_cookies(url);
                }
            },
            // The provider's own new token failed verification: the session is unusable.
            Some(_) => d.set_cookies = self.clear_session_cookies(url),
            None if matches!(
                d.error,
                Some(Error::RefreshFailed {
                    definitive: true,
                    ..
                })
            ) =>
            {
                d.set_cookies = self.clear_session_cookies(url)
            }
            None => {}
        }
        d
    }

    /// Everything after the signature check: claims, scopes and the answer.
    pub fn resume(&self, pending: Pending, signature_valid: bool) -> Decision {
        let Pending {
            unverified,
            request,
            path,
            rule,
            source,
            token,
            now,
            provider,
            web_crypto: _,
            refreshed,
        } = pending;
        let verified = self.providers[provider]
            .verifier
            .finish(unverified, signature_valid, now)
            .map(|v| (token, v));
        let d = self.conclude(&request, &path, rule, Some(source), verified);
        self.with_session(d, refreshed.as_ref(), &request.url)
    }

    /// 403 for a refused cross-site request: JSON for APIs, text for pages.
    fn forbidden(&self, index: usize, source: Option<TokenSource>, e: Error) -> Decision {
        let kind = self.rules[index].kind;
        Decision {
            action: if kind == RuleKind::Api {
                json_response(403, None, r#"{"error":"forbidden"}"#.into())
            } else {
                Action::Respond {
                    status: 403,
                    headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                    body: "Forbidden".into(),
                }
            },
            code: e.code(),
            rule: Some(index),
            kind: Some(kind),
            token_source: source,
            error: Some(e),
            set_cookies: Vec::new(),
        }
    }

    /// The answer for a matched rule, given how verification went.
    fn conclude(
        &self,
        request: &Request,
        path: &NormalizedPath,
        index: usize,
        source: Option<TokenSource>,
        verified: Result<(String, Arc<Verified>)>,
    ) -> Decision {
        let rule = &self.rules[index];
        let verified = verified.and_then(|(token, v)| {
            if rule.scopes.is_empty() {
                return Ok((token, v));
            }
            let scopes = v.scopes();
            if rule.scopes.iter().all(|s| scopes.contains(&s.as_str())) {
                Ok((token, v))
            } else {
                Err(Error::InsufficientScope)
            }
        });

        let mut decision = Decision {
            action: Action::Continue {
                headers: vec![],
                route: None,
            },
            code: "OK_AUTHENTICATED",
            rule: Some(index),
            kind: Some(rule.kind),
            token_source: source,
            error: None,
            set_cookies: Vec::new(),
        };
        match (rule.kind, verified) {
            (RuleKind::Guest, Ok(_)) => {
                decision.code = "OK_GUEST_HAS_SESSION";
                decision.action = Action::Redirect {
                    location: self.after_login_url.clone(),
                };
            }
            (RuleKind::Guest, Err(e)) => {
                decision.code = "OK_GUEST";
                decision.error = Some(e);
                decision.action = self.pass(request, path, Some(index), None);
            }
            (_, Ok((token, verified))) => {
                decision.action = self.pass(request, path, Some(index), Some((&token, &verified)));
            }
            (RuleKind::Page | RuleKind::Api, Err(e))
                if e.is_keys_unavailable() && self.keys_unavailable_status == 503 =>
            {
                decision.code = e.code();
                decision.error = Some(e);
                decision.action = if rule.kind == RuleKind::Api {
                    json_response(503, None, r#"{"error":"temporarily_unavailable"}"#.into())
                } else {
                    Action::Respond {
                        status: 503,
                        headers: vec![
                            ("content-type".into(), "text/plain; charset=utf-8".into()),
                            ("cache-control".into(), "no-store".into()),
                        ],
                        body: "Service Unavailable".into(),
                    }
                };
            }
            (RuleKind::Page, Err(Error::InsufficientScope)) => {
                decision.code = Error::InsufficientScope.code();
                decision.error = Some(Error::InsufficientScope);
                decision.action = Action::Respond {
                    status: 403,
                    headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                    body: "Forbidden".into(),
                };
            }
            (RuleKind::Page, Err(e)) => {
                decision.code = e.code();
                decision.error = Some(e);
                let mut target = path.path.clone();
                if let Some(q) = &path.query {
                    target.push('?');
                    target.push_str(q);
                }
                let sep = if self.login_url.contains('?') {
                    '&'
                } else {
                    '?'
                };
                decision.action = Action::Redirect {
                    location: format!(
                        "{}{sep}{}={}",
                        self.login_url,
                        self.return_to_param,
                        encode_uri_component(&target)
                    ),
                };
            }
            // Public rules never reach here; were one to, it would fail closed like an API.
            (RuleKind::Api | RuleKind::Public, Err(e)) => {
                decision.code = e.code();
                decision.action = api_denial(&e, &rule.scopes);
                decision.error = Some(e);
            }
        }
        decision
    }

    /// Lets a request through as rule `index` judged it: to the rule's upstream, if it
    /// names one, at the judged path; else on into the app, at the judged path when an
    /// exception opened it. (Next strips a trailing `.rsc` from the URL a middleware sees
    /// but routes the raw one: `/api/login.rsc` looks like a public `/api/login` to the
    /// gate and reaches a dynamic `/api/[name]` handler unless it is rewritten.)
    fn pass(
        &self,
        request: &Request,
        path: &NormalizedPath,
        index: Option<usize>,
        auth: Option<(&str, &Verified)>,
    ) -> Action {
        let upstream = index.and_then(|i| self.rules[i].upstream.as_ref());
        let mut headers = self.forward(&request.headers, auth, upstream.is_some());
        let mut route = self.route(path, index);
        match &route {
            Some(Route::Upstream(_)) => forwarded_for(&request.url, &mut headers),
            Some(Route::Rewrite(target)) => {
                let now = self.clock.now();
                if self.routed_here(request, target, now) {
                    route = None;
                } else {
                    headers.push((ROUTE_MARK.to_owned(), self.route_mark(now, target)));
                }
            }
            None => {}
        }
        Action::Continue { headers, route }
    }

    /// The [`ROUTE_MARK`] for sending a request on to `target` at `now`.
    fn route_mark(&self, now: f64, target: &str) -> String {
        let seconds = now.max(0.0) as u64;
        let mac = Hs256.sign(&self.route_key, format!("{seconds} {target}").as_bytes());
        format!(
            "{seconds}.{}",
            Base64UrlUnpadded::encode_string(&mac.as_bytes())
        )
    }

    /// Does the request carry this gate's fresh [`ROUTE_MARK`] for exactly `target`?
    fn routed_here(&self, request: &Request, target: &str, now: f64) -> bool {
        let marks: Vec<&str> = values(&request.headers, ROUTE_MARK).collect();
        let [mark] = marks.as_slice() else {
            return false;
        };
        let Some((seconds, mac)) = mark.trim().split_once('.') else {
            return false;
        };
        let fresh = seconds
            .parse::<u64>()
            .is_ok_and(|s| (now - s as f64).abs() <= ROUTE_MARK_SECONDS);
        let mac = Base64UrlUnpadded::decode_vec(mac)
            .ok()
            .and_then(|m| Hs256Signature::try_from_slice(&m).ok());
        fresh
            && mac.is_some_and(|mac| {
                // Constant time: jwt-compact compares HMACs with `subtle`.
                let message = format!("{seconds} {target}");
                Hs256.verify_signature(&mac, &self.route_key, message.as_bytes())
            })
    }

    /// Where rule `index` sends a request it lets through (see [`Gate::pass`]).
    pub(crate) fn route(&self, path: &NormalizedPath, index: Option<usize>) -> Option<Route> {
        let rule = &self.rules[index?];
        match &rule.upstream {
            Some(upstream) => Some(Route::Upstream(upstream.destination(path))),
            None => rule
                .kind
                .is_exception()
                .then(|| Route::Rewrite(target(path))),
        }
    }

    /// The headers to forward: client identity headers dropped, and for an authenticated
    /// request the bearer set, the auth cookie removed and the claim headers added. To an
    /// upstream, the client's forwarding headers go too, and so do credentials the gate did
    /// not verify: any `Authorization` an upstream receives is the gate's verified bearer.
    fn forward(
        &self,
        headers: &Headers<'_>,
        auth: Option<(&str, &Verified)>,
        upstream: bool,
    ) -> Vec<(String, String)> {
        let stripped = match upstream {
            true => &self.stripped[..],
            false => &self.stripped[..self.into_app],
        };
        let credentials = auth.is_some() || upstream;
        let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len() + 2);
        for (name, value) in headers {
            // Compared in place (case and `_` folded byte by byte): browsers send 15-20
            // headers, and an allocation per header per request shows in wasm.
            if stripped.iter().any(|s| same_header(s, name)) {
                continue;
            }
            if credentials
                && (name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("cookie"))
            {
                continue;
            }
            out.push((name.to_ascii_lowercase(), value.to_string()));
        }
        if !credentials {
            return out;
        }
        if let Some((token, _)) = auth {
            out.push(("authorization".into(), ["Bearer ", token].concat()));
        }
        if let Some(cookies) = joined(headers, "cookie", "; ") {
            // Kept alongside a verified bearer only, and only when asked for.
            let kept = if self.strip_auth_cookie || auth.is_none() {
                self.extractor.strip_auth_cookies(&cookies)
            } else {
                Some(cookies.into_owned())
            };
            if let Some(kept) = kept {
                out.push(("cookie".into(), kept));
            }
        }
        if let Some((_, verified)) = auth {
            for (claim, header) in &self.claim_headers {
                if let Some(value) = verified.claims.get(claim).and_then(header_value) {
                    out.push((header.clone(), value));
                }
            }
        }
        out
    }
}

/// The providers: `verify` alone, or `providers` (each with its own issuer).
fn providers(options: &Options, resolver: Option<Arc<dyn KeyResolver>>) -> Result<Vec<Provider>> {
    let routed = match (&options.verify, options.providers.is_empty()) {
        (Some(v), true) => return Ok(vec![provider(v, None, resolver)?]),
        (None, false) => &options.providers,
        (Some(_), false) => {
            return Err(Error::ConfigInvalid(
                "give either verify or providers, not both".into(),
            ))
        }
        (None, true) => {
            return Err(Error::ConfigInvalid(
                "verify (or providers) is required".into(),
            ))
        }
    };
    if resolver.is_some() {
        return Err(Error::ConfigInvalid(
            "a custom key resolver serves one provider, not providers".into(),
        ));
    }
    let mut out: Vec<Provider> = Vec::new();
    for (i, v) in routed.iter().enumerate() {
        let Some(OneOrMany::One(issuer)) = &v.issuer else {
            return Err(Error::ConfigInvalid(format!(
                "providers[{i}].issuer must be one string: tokens are routed by it"
            )));
        };
        if out.iter().any(|p| p.issuer.as_deref() == Some(issuer)) {
            return Err(Error::ConfigInvalid(format!(
                "providers: issuer {issuer:?} appears twice"
            )));
        }
        out.push(provider(v, Some(issuer.clone()), None)?);
    }
    Ok(out)
}

fn provider(
    v: &VerifyOptions,
    route: Option<String>,
    resolver: Option<Arc<dyn KeyResolver>>,
) -> Result<Provider> {
    let algorithms = algorithms(&v.algorithms)?;
    if v.cache_size > 100_000 {
        return Err(Error::ConfigInvalid(format!(
            "verify.cacheSize must be at most 100000, got {}",
            v.cache_size
        )));
    }
    let issuers = v.issuer.clone().map(|i| i.into_vec()).unwrap_or_default();
    let keys: Arc<dyn KeyResolver> = match (resolver, &v.keys, &v.jwks_uri) {
        (Some(r), _, _) => r,
        (None, Some(_), Some(_)) => {
            return Err(Error::ConfigInvalid(
                "verify: give keys or jwksUri, not both".into(),
            ))
        }
        (None, Some(keys), None) => Arc::new(KeySet::from_config(keys, &algorithms)?),
        (None, None, remote) => {
            let source = match (remote, issuers.as_slice()) {
                (Some(uri), _) => Source::Jwks(uri.clone()),
                (None, [issuer]) => Source::Discovery {
                    issuer: issuer.clone(),
                },
                (None, _) => {
                    return Err(Error::ConfigKey(
                        "verify needs keys, a jwksUri, or one issuer to discover keys from".into(),
                    ))
                }
            };
            if algorithms
                .iter()
                .any(|a| matches!(a, Alg::Hs256 | Alg::Hs384 | Alg::Hs512))
            {
                return Err(Error::ConfigAlgorithms(
                    "HMAC algorithms cannot use remote keys: a published secret is no secret"
                        .into(),
                ));
            }
            Arc::new(RemoteKeys::new(
                source,
                v.remote.policy()?,
                algorithms.clone(),
            )?)
        }
    };
    let policy = ClaimsPolicy {
        issuer: issuers,
        audience: v.audience.clone().map(|a| a.into_vec()).unwrap_or_default(),
        clock_tolerance: match &v.clock_tolerance {
            Some(d) => d.seconds("clockTolerance")?,
            None => 0.0,
        },
        max_token_age: v
            .max_token_age
            .as_ref()
            .map(|d| d.seconds("maxTokenAge"))
            .transpose()?,
        required_claims: v.required_claims.clone(),
        typ: v.typ.clone(),
        require_exp: v.require_exp,
    };
    Ok(Provider {
        issuer: route,
        verifier: Verifier::new(algorithms, keys, policy).with_cache(v.cache_size),
        web_crypto: v.web_crypto,
    })
}

fn algorithms(names: &[String]) -> Result<Vec<Alg>> {
    if names.is_empty() {
        return Err(Error::ConfigAlgorithms("verify.algorithms is empty".into()));
    }
    let mut out = Vec::new();
    for name in names {
        if name.eq_ignore_ascii_case("none") {
            return Err(Error::ConfigAlgorithms("\"none\" is never allowed".into()));
        }
        let alg = Alg::from_name(name).ok_or_else(|| {
            Error::ConfigAlgorithms(format!(
                "unknown algorithm {name:?}; supported: {}",
                Alg::ALL.map(Alg::name).join(", ")
            ))
        })?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    Ok(out)
}

fn site(options: &Options) -> Result<Site> {
    if let Some(base) = &options.base_path {
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
    for locale in &options.locales {
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
        base_path: options.base_path.clone(),
        locales: options.locales.clone(),
    })
}

/// RFC 6749 §3.3 scope-token (no space, quote or backslash: it is echoed in a header).
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// RFC 6265 cookie-name: an HTTP token.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// A request's header list.
pub(crate) type Headers<'a> = [(Cow<'a, str>, Cow<'a, str>)];

pub(crate) fn values<'a>(headers: &'a Headers<'_>, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
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

/// A claim as a header value: strings as they are, anything else as JSON; non-ASCII and
/// control characters escaped so the value is always a valid header.
fn header_value(claim: &Value) -> Option<String> {
    let text = match claim {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
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

fn json_response(status: u16, www_authenticate: Option<String>, body: String) -> Action {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    if let Some(w) = www_authenticate {
        headers.push(("www-authenticate".into(), w));
    }
    Action::Respond {
        status,
        headers,
        body,
    }
}

fn bad_request(e: Error, rule: Option<usize>) -> Decision {
    Decision {
        action: json_response(400, None, r#"{"error":"invalid_request"}"#.into()),
        code: e.code(),
        rule,
        kind: None,
        token_source: None,
        error: Some(e),
        set_cookies: Vec::new(),
    }
}

/// RFC 6750 §3: no error attribute when no token was sent; `invalid_token` when one failed;
/// `insufficient_scope` (403) when it lacks scopes. Bodies repeat only those fields.
fn api_denial(e: &Error, scopes: &[String]) -> Action {
    match e {
        Error::NoToken => json_response(401, Some("Bearer".into()), "{}".into()),
        Error::InsufficientScope => {
            let scope = scopes.join(" ");
            json_response(
                403,
                Some(format!(
                    r#"Bearer error="insufficient_scope", scope="{scope}""#
                )),
                serde_json::json!({ "error": "insufficient_scope", "scope": scope }).to_string(),
            )
        }
        Error::Expired => json_response(
            401,
            Some(
                r#"Bearer error="invalid_token", error_description="The access token expired""#
                    .into(),
            ),
            r#"{"error":"invalid_token","error_description":"The access token expired"}"#.into(),
        ),
        _ => json_response(
            401,
            Some(r#"Bearer error="invalid_token""#.into()),
            r#"{"error":"invalid_token"}"#.into(),
        ),
    }
}
