//! The sans-IO fetch protocol. The engine never does I/O: when a step needs the network (a
//! provider's discovery document or JWKS, a token refresh), it hands the host a [`Fetch`]
//! ticket and waits; the host performs it and reports how it ended as [`Fetched`]. Tickets
//! carry process-unique ids, so requests that need the same fetch share one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::error::Result;
use crate::http::{authority, host, is_loopback};
use crate::random::random_u64;

/// Fetch rounds one request may wait through (a token refresh, discovery, the JWKS, a
/// refetch for an unknown `kid`) before it is refused; a bound, so a host can never loop.
/// A hosted-login callback on a cold isolate needs up to six: discovery, the code
/// exchange, the ID token's keys (discovery and JWKS) and the access token's; a
/// coordinated refresh as many: its claim, the call, its publish, discovery, the JWKS and a
/// refetch; and with back-channel logout two more: the session's records in the store.
pub const MAX_FETCH_ROUNDS: u8 = 8;

/// What the host must fetch. Requests that get a ticket with the same `id` share one fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// The ticket: report the outcome under this id.
    pub id: u64,
    /// `GET` (keys) or `POST` (a token request).
    pub method: &'static str,
    /// An `https://` URL, or `http://` on loopback ([`check_url`]).
    pub url: String,
    /// Request headers, names lowercase (`user-agent`, `accept`, ...).
    pub headers: Vec<(String, String)>,
    /// A form-encoded body (token requests).
    pub body: Option<String>,
    /// Give up after this long and report [`Fetched::Timeout`].
    pub timeout_ms: u64,
    /// Stop reading past this many bytes and report [`Fetched::TooLarge`].
    pub max_bytes: usize,
    /// The gate holds no keys yet: a copy the host persisted earlier may answer instead of
    /// the network (see [`Fetched::Stored`]).
    pub may_use_stored: bool,
    /// `private_key_jwt`: the client assertion for the host to sign and append to the
    /// body, which ends with `client_assertion=` (see [`Assertion`]).
    pub assertion: Option<Box<Assertion>>,
}

/// A client assertion (`private_key_jwt`) for the host to sign with its crypto: the JWS
/// signing input, the private key and the algorithm (`hostParams(alg)` says how).
#[derive(Clone, PartialEq)]
pub struct Assertion {
    /// `alg` of the JWS.
    pub alg: &'static str,
    /// The private JWK (JSON) to import.
    pub jwk: String,
    /// `base64url(header).base64url(payload)`: the host appends `.` and the signature.
    pub signing_input: String,
}

// The private key stays out of `{:?}` (a logged ticket, a test's failure message).
impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Assertion({}, {})", self.alg, self.signing_input)
    }
}

/// How a fetch ended, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// An HTTP answer (any status).
    Response {
        /// The HTTP status.
        status: u16,
        /// The body (read only for a 200).
        body: String,
    },
    /// A copy persisted by the host, fetched from the network at `fetched_at`.
    Stored {
        /// The body as it was fetched.
        body: String,
        /// When it was fetched, by the engine's clock.
        fetched_at: f64,
    },
    /// No answer within the timeout.
    Timeout,
    /// The body exceeded `max_bytes` (the host stopped reading).
    TooLarge,
    /// Connection refused, DNS, TLS, an aborted redirect, ...
    Network(String),
}

impl Fetched {
    /// The reasons a host reports a failed fetch with (`fetchFailed(id, reason, message)`,
    /// js/fetch.js): each is read by [`Fetched::failure`]. tests/contract.rs holds the shim
    /// to this list.
    pub const FAILURES: [&'static str; 3] = ["timeout", "too_large", "network"];

    /// A failed fetch as the host reports it: `reason` is one of [`Fetched::FAILURES`];
    /// anything else is a network failure, `message` saying what the host saw.
    pub fn failure(reason: &str, message: String) -> Fetched {
        match reason {
            "timeout" => Fetched::Timeout,
            "too_large" => Fetched::TooLarge,
            _ => Fetched::Network(message),
        }
    }
}

/// A step's outcome that may have to wait for the network: done, or a fetch first (after
/// which the step runs again). The one vocabulary of every step that can wait.
#[derive(Debug)]
pub enum Progress<T> {
    /// The step is done.
    Done(T),
    /// Perform this fetch, report it, then run the step again.
    NeedsFetch(Fetch),
}

/// Where a request stands in its fetch rounds: how many it has waited through, and the
/// ticket it waited on last. A login that pushed its authorization request (RFC 9126) finds
/// its transaction again by that ticket: nothing else in the request tells two concurrent
/// logins apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Fetches and store operations waited through.
    pub fetches: u8,
    /// The ticket of the last one.
    pub after: Option<u64>,
}

impl Round {
    /// The round after ticket `id`.
    pub fn next(self, id: u64) -> Round {
        Round {
            fetches: self.fetches.saturating_add(1),
            after: Some(id),
        }
    }
}

impl From<u8> for Round {
    fn from(fetches: u8) -> Round {
        Round {
            fetches,
            after: None,
        }
    }
}

/// The `User-Agent` of the engine's fetches, unless `verify.remote.userAgent` says otherwise.
pub(crate) const USER_AGENT: &str = concat!("edgegate/", env!("CARGO_PKG_VERSION"));

static FIRST_FETCH_ID: OnceLock<u64> = OnceLock::new();

/// Draws where this instance's ticket ids start; every gate's construction calls it, so a
/// host without randomness fails there (`ERR_RANDOM_UNAVAILABLE`), before any ticket.
pub(crate) fn seed_fetch_ids() -> Result<()> {
    if FIRST_FETCH_ID.get().is_none() {
        let _ = FIRST_FETCH_ID.set(random_u64()? >> 12);
    }
    Ok(())
}

/// Ticket ids are unique per process, so a gate can route a completion to its owner, and
/// start at random ([`seed_fetch_ids`]): after a trap the shim runs a fresh instance, and its
/// tickets must not reuse the ids of the old one's still in flight (the shim also drops
/// those reports). Below 2^53, so a JavaScript number holds every id exactly.
pub(crate) fn fresh_fetch_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Seeded: no gate (and so no ticket) exists before its construction drew the start.
    let start = FIRST_FETCH_ID.get().copied().unwrap_or_default();
    start + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `https://host[:port]/...`, or `http://` on loopback (127.0.0.1, localhost, [::1]) for
/// development. No credentials in the URL, no whitespace or control characters.
pub(crate) fn check_url(url: &str, what: &str) -> std::result::Result<(), String> {
    let bad = |why: &str| Err(format!("{what} {url:?} {why}"));
    if url.bytes().any(|b| b <= 0x20 || b == 0x7f || b == b'\\') {
        return bad("contains whitespace, control characters or a backslash");
    }
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return bad("must be an https:// URL");
    };
    let authority = authority(rest);
    if authority.is_empty() || authority.contains('@') {
        return bad("must name a host, without credentials");
    }
    let host = host(authority);
    if host.is_empty() {
        return bad("must name a host");
    }
    if !https && !is_loopback(&host) {
        return bad("must use https (plain http is allowed on loopback only)");
    }
    if unset_variable(rest) {
        return bad("has an `undefined` or `null` in it: an unset environment variable?");
    }
    Ok(())
}

/// Whether a URL's host labels or path segments (`rest`: after the scheme) include a
/// JavaScript `undefined` or `null` that a template string made of an unset variable:
/// `https://${TENANT}.auth0.com`, `.../${TENANT_ID}/v2.0`.
pub(crate) fn unset_variable(rest: &str) -> bool {
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end]
        .split(['/', '.', ':'])
        .any(|part| part == "undefined" || part == "null")
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_must_be_https_or_loopback() {
        for ok in [
            "https://example.com/.well-known/jwks.json",
            "https://example.com:8443/keys",
            "https://tenant.auth0.com/",
            "http://127.0.0.1:4444/jwks",
            "http://localhost/jwks",
            "http://[::1]:80/jwks",
            "https://id.example/tenants/undefined-ish/?q=undefined#null",
        ] {
            assert!(check_url(ok, "u").is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/jwks",
            "http://127.0.0.1.evil.com/jwks",
            "http://localhost.evil.com/jwks",
            "http://[::2]/jwks",
            "ftp://example.com/jwks",
            "https://user:pw@example.com/jwks",
            "https:///jwks",
            "https://exa mple.com/",
            "https://example.com/\n",
            "file:///etc/passwd",
            "//example.com/jwks",
            "",
            // Template strings of unset variables.
            "https://login.microsoftonline.com/undefined/v2.0",
            "https://undefined.auth0.com/",
            "https://id.example/null",
            "https://id.example:undefined/",
        ] {
            assert!(check_url(bad, "u").is_err(), "{bad}");
        }
    }
}
