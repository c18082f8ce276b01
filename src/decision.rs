//! What the host does with a request: the [`Decision`], its [`Action`] and, for a request
//! that continues, its [`Route`]. Below both the answers the gate gives itself (`answer`)
//! and the passes it lets through (`forward`), so neither needs the other.

use crate::config::RuleKind;
use crate::error::{Error, Passed};
use crate::extract::TokenSource;
use crate::http::Request;

/// Where a request that continues goes, when not simply on into the app as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The matched rule's upstream: an absolute URL at the judged path.
    Upstream(String),
    /// This app, rewritten to the judged path (and query): an exception's pass. (Next
    /// strips a trailing `.rsc` from the URL a middleware sees but routes the raw one:
    /// `/api/login.rsc` looks like a public `/api/login` to the gate and reaches a dynamic
    /// `/api/[name]` handler unless it is rewritten.)
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

/// What forwarding changes in a request's headers: every value of each `removed` name
/// dropped, then each of `added` appended (names lowercase). A host may apply these to its
/// own copy of the request's headers instead of taking the whole forwarded list, which is
/// always the request's headers with these applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderChanges {
    /// Names whose every value goes.
    pub removed: Vec<String>,
    /// Headers appended after the removals.
    pub added: Vec<(String, String)>,
}

impl HeaderChanges {
    /// The headers go on as they came.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// `request`'s headers with these changes applied, names lowercase: the forwarded list.
    pub fn apply(&self, request: &Request) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
            .filter(|(name, _)| !self.removed.contains(name))
            .collect();
        out.extend(self.added.iter().cloned());
        out
    }
}

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward the request with exactly these headers (names lowercase), by `route`, or on
    /// into the app as it is.
    Continue {
        /// The request headers to forward, exactly.
        headers: Vec<(String, String)>,
        /// How `headers` differ from the request's.
        changes: HeaderChanges,
        /// Where to, when not on into the app as it is.
        route: Option<Route>,
    },
    /// Answer 307 with this `Location` (always a same-origin relative path).
    Redirect {
        /// The same-origin path to redirect to.
        location: String,
    },
    /// Answer with this status, headers and body.
    Respond {
        /// The HTTP status.
        status: u16,
        /// Response headers, names lowercase.
        headers: Vec<(String, String)>,
        /// The response body.
        body: String,
    },
}

/// A decision and why it was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What the host does.
    pub action: Action,
    /// `OK_*` ([`Passed`]) for pass-through outcomes, an [`Error::code`] otherwise.
    pub code: &'static str,
    /// Index of the rule that matched, if any.
    pub rule: Option<usize>,
    /// The kind of that rule.
    pub kind: Option<RuleKind>,
    /// Where the token came from, if one was found.
    pub token_source: Option<TokenSource>,
    /// The underlying error, for logs only; never sent to the client.
    pub error: Option<Error>,
    /// `Set-Cookie` values for the response (a refreshed session, or a cleared one).
    pub set_cookies: Vec<String>,
}

/// The rule a decision was taken under, and the token's source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Under {
    pub(crate) rule: Option<usize>,
    pub(crate) kind: Option<RuleKind>,
    pub(crate) source: Option<TokenSource>,
}

impl Under {
    /// Before any rule.
    pub(crate) const NONE: Under = Under {
        rule: None,
        kind: None,
        source: None,
    };

    /// Under `rule` (index and kind), with the token from `source`.
    pub(crate) fn rule(rule: Option<(usize, RuleKind)>, source: Option<TokenSource>) -> Under {
        Under {
            rule: rule.map(|(i, _)| i),
            kind: rule.map(|(_, kind)| kind),
            source,
        }
    }
}

impl Decision {
    /// A request let through.
    pub(crate) fn passed(why: Passed, action: Action, under: Under, error: Option<Error>) -> Self {
        Decision::new(why.code(), action, under, error)
    }

    /// A request refused (or answered by the gate) because of `error`.
    pub(crate) fn refused(error: Error, action: Action, under: Under) -> Self {
        Decision::new(error.code(), action, under, Some(error))
    }

    fn new(code: &'static str, action: Action, under: Under, error: Option<Error>) -> Self {
        Decision {
            action,
            code,
            rule: under.rule,
            kind: under.kind,
            token_source: under.source,
            error,
            set_cookies: Vec::new(),
        }
    }
}

impl Decision {
    /// The request goes on into the app exactly as it came: no header changed, no route,
    /// no cookie to set. A host answers it with its bare pass-through (`NextResponse.next()`,
    /// `next()`, `fetch(request)`), which costs it nothing.
    pub fn passes_through(&self) -> bool {
        matches!(&self.action, Action::Continue { changes, route: None, .. } if changes.is_empty())
            && self.set_cookies.is_empty()
    }
}

/// The `Cache-Control` of every response that carries session cookies, whoever builds it:
/// no shared cache may hand one user's session to another (CVE-2025-48947).
pub const PRIVATE: &str = "private, no-store";

impl Decision {
    /// Marks an answer of the gate's own that carries cookies [`PRIVATE`], whatever step
    /// set them; the host marks the redirect or the pass it builds from a decision with
    /// cookies alike (`applyCookies` in the shim).
    pub(crate) fn private_if_cookies(mut self) -> Self {
        if let (false, Action::Respond { headers, .. }) =
            (self.set_cookies.is_empty(), &mut self.action)
        {
            headers.retain(|(name, _)| name != "cache-control");
            headers.push(("cache-control".into(), PRIVATE.into()));
        }
        self
    }
}
