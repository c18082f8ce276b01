//! Refreshing an expired (or nearly expired) access token with the refresh-token cookie.

use std::collections::HashMap;
use std::sync::Mutex;

use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};

use crate::config::{Duration, RefreshOptions, RuleKind};
use crate::error::{Error, Result};
use crate::extract::{Found, TokenSource};
use crate::fetch::{check_url, fresh_fetch_id, Fetch, Fetched, Progress, USER_AGENT};
use crate::verify::jws;

/// Refreshing an expired (or nearly expired) access token with the refresh-token cookie, at
/// the provider's token endpoint (RFC 6749 §6). Sans-IO like the JWKS cache: the engine
/// hands the host a ticket, the host posts it.
///
/// Single-flight per refresh token: concurrent requests carrying the same refresh token
/// share one call (providers that rotate refresh tokens treat a second use as theft and
/// revoke the whole grant — the `invalid_grant` storms Auth0 and next-auth users report).
/// The outcome is remembered for `grace` seconds under the *old* refresh token, so requests
/// already in flight with it get the same new tokens instead of a logout.
pub struct Refresher {
    endpoint: String,
    client_id: String,
    client_secret: Option<String>,
    /// Refresh this long before `exp`.
    pub window: f64,
    grace: f64,
    timeout: f64,
    user_agent: String,
    state: Mutex<RefreshState>,
}

/// Tokens from a successful refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub access_token: String,
    /// The rotated refresh token (`None`: keep the old one).
    pub refresh_token: Option<String>,
    pub expires_in: Option<f64>,
}

/// The refresh of one refresh token: its outcome, or the token-endpoint call first.
pub(crate) type Refreshed = Progress<Result<Tokens>>;

/// A refresh a request needs, with the refresh token to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    pub(crate) refresh_token: &'a str,
    /// The access token is gone or expired: without a refresh there is no session. (Else
    /// it expires within the window: refresh early, and keep it if that fails.)
    pub(crate) mandatory: bool,
}

#[derive(Default)]
struct RefreshState {
    in_flight: HashMap<[u8; 32], (u64, f64)>,
    by_id: HashMap<u64, [u8; 32]>,
    done: HashMap<[u8; 32], (std::result::Result<Tokens, Error>, f64)>,
}

/// Outcomes remembered at most (each for `grace` seconds).
const MAX_REMEMBERED: usize = 10_000;
/// Token-endpoint calls in flight at most. Refresh cookies are attacker-controlled input:
/// without a cap, a flood of made-up refresh tokens would become a flood of calls to the
/// identity provider. Beyond it a refresh fails (not definitively) without a call.
pub const MAX_REFRESHES_IN_FLIGHT: usize = 64;

impl Refresher {
    /// The refresher of the `refresh` options, checked.
    pub fn new(options: &RefreshOptions) -> Result<Refresher> {
        check_url(&options.token_endpoint, "refresh.tokenEndpoint").map_err(Error::ConfigUrl)?;
        if options.client_id.is_empty() {
            return Err(Error::ConfigInvalid("refresh.clientId is required".into()));
        }
        let secs = |d: &Option<Duration>, name: &str, default: f64, max: f64| {
            Duration::bounded(d.as_ref(), &format!("refresh.{name}"), default, max)
        };
        let timeout = secs(&options.timeout_duration, "timeoutDuration", 5.0, 60.0)?;
        if timeout <= 0.0 {
            return Err(Error::ConfigInvalid(
                "refresh.timeoutDuration must be more than 0".into(),
            ));
        }
        Ok(Refresher {
            endpoint: options.token_endpoint.clone(),
            client_id: options.client_id.clone(),
            client_secret: options.client_secret.clone(),
            window: secs(&options.window, "window", 60.0, 3600.0)?,
            grace: secs(&options.grace, "grace", 30.0, 600.0)?,
            timeout,
            user_agent: USER_AGENT.into(),
            state: Mutex::new(RefreshState::default()),
        })
    }

    /// Whether a request under a rule of `kind` should refresh, given the access token it
    /// carries (`found`) and its refresh cookie: when the access cookie is gone or expired,
    /// or expires within the window. Bearer headers are never refreshed here.
    pub(crate) fn plan<'a>(
        &self,
        found: &Result<Found>,
        refresh_token: Option<&'a str>,
        kind: RuleKind,
        now: f64,
    ) -> Option<Plan<'a>> {
        let refresh_token = refresh_token?;
        if !matches!(kind, RuleKind::Page | RuleKind::Api) {
            return None;
        }
        let mandatory = match found {
            Err(Error::NoToken { .. }) => true,
            Ok(f) if f.source == TokenSource::Cookie => {
                // Read unverified, only to time the refresh; verification follows either way.
                let exp = jws::unverified_exp(&f.token)?;
                if now >= exp {
                    true
                } else if exp - now < self.window {
                    false
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        Some(Plan {
            refresh_token,
            mandatory,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RefreshState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The refresh of `refresh_token` at `now`: a remembered outcome, the ticket of the call
    /// in flight, or a new ticket.
    pub fn refresh(&self, refresh_token: &str, now: f64) -> Refreshed {
        let key: [u8; 32] = Sha256::digest(refresh_token.as_bytes()).into();
        let mut s = self.lock();
        match s.done.get(&key) {
            Some((outcome, at)) if now - at <= self.grace => {
                return Progress::Done(outcome.clone())
            }
            Some(_) => {
                s.done.remove(&key);
            }
            None => {}
        }
        if let Some(&(id, started)) = s.in_flight.get(&key) {
            if now - started <= self.timeout + 5.0 {
                return Progress::NeedsFetch(self.ticket(id, refresh_token));
            }
            // The host never reported it; start over.
            s.by_id.remove(&id);
        }
        let timeout = self.timeout;
        s.in_flight
            .retain(|_, (_, started)| now - *started <= timeout + 5.0);
        if s.in_flight.len() >= MAX_REFRESHES_IN_FLIGHT {
            return Progress::Done(Err(Error::RefreshFailed {
                reason: "too many refreshes in flight".into(),
                definitive: false,
            }));
        }
        let id = fresh_fetch_id();
        s.in_flight.insert(key, (id, now));
        s.by_id.insert(id, key);
        Progress::NeedsFetch(self.ticket(id, refresh_token))
    }

    pub fn owns(&self, id: u64) -> bool {
        self.lock().by_id.contains_key(&id)
    }

    /// Applies the token endpoint's answer to ticket `id`. Returns true on new tokens.
    pub fn complete(&self, id: u64, fetched: Fetched, now: f64) -> bool {
        let mut s = self.lock();
        let Some(key) = s.by_id.remove(&id) else {
            return false;
        };
        s.in_flight.remove(&key);
        let outcome = match fetched {
            Fetched::Response { status: 200, body } => parse_tokens(&body),
            // RFC 6749 §5.2: 400 (invalid_grant, ...) and 401 (invalid_client) are final.
            Fetched::Response {
                status: status @ (400 | 401),
                ..
            } => Err(Error::RefreshFailed {
                reason: format!("the token endpoint refused the refresh token (HTTP {status})"),
                definitive: true,
            }),
            Fetched::Response { status, .. } => Err(Error::RefreshFailed {
                reason: format!("the token endpoint answered HTTP {status}"),
                definitive: false,
            }),
            Fetched::Timeout => Err(Error::RefreshFailed {
                reason: "the token endpoint timed out".into(),
                definitive: false,
            }),
            // Named, not `{:?}`: the Debug of `Stored`'s f64 would link float formatting.
            Fetched::TooLarge => Err(Error::RefreshFailed {
                reason: "the token endpoint's answer was too large".into(),
                definitive: false,
            }),
            Fetched::Network(why) => Err(Error::RefreshFailed {
                reason: format!("the token endpoint could not be reached: {why}"),
                definitive: false,
            }),
            Fetched::Stored { .. } => Err(Error::RefreshFailed {
                reason: "a stored copy is no token response".into(),
                definitive: false,
            }),
        };
        let ok = outcome.is_ok();
        if s.done.len() >= MAX_REMEMBERED {
            let grace = self.grace;
            s.done.retain(|_, (_, at)| now - *at <= grace);
            if s.done.len() >= MAX_REMEMBERED {
                s.done.clear();
            }
        }
        s.done.insert(key, (outcome, now));
        ok
    }

    fn ticket(&self, id: u64, refresh_token: &str) -> Fetch {
        let mut body = format!(
            "grant_type=refresh_token&refresh_token={}",
            form_encode(refresh_token)
        );
        let mut headers = vec![
            ("user-agent".to_string(), self.user_agent.clone()),
            ("accept".to_string(), "application/json".to_string()),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        match &self.client_secret {
            // RFC 6749 §2.3.1: client_secret_basic, both parts form-encoded first.
            Some(secret) => headers.push((
                "authorization".into(),
                format!(
                    "Basic {}",
                    Base64::encode_string(
                        format!("{}:{}", form_encode(&self.client_id), form_encode(secret))
                            .as_bytes()
                    )
                ),
            )),
            // A public client identifies itself in the body.
            None => body.push_str(&format!("&client_id={}", form_encode(&self.client_id))),
        }
        Fetch {
            id,
            method: "POST",
            url: self.endpoint.clone(),
            headers,
            body: Some(body),
            timeout_ms: (self.timeout * 1000.0) as u64,
            max_bytes: 64 * 1024,
            may_use_stored: false,
        }
    }
}

/// RFC 6749 §5.1: `access_token` and `token_type` (which must be Bearer here: a DPoP-bound
/// token cannot be forwarded as a bearer), optional `refresh_token` and `expires_in`.
fn parse_tokens(body: &str) -> std::result::Result<Tokens, Error> {
    let bad = |why: &str| Error::RefreshFailed {
        reason: format!("token response {why}"),
        definitive: false,
    };
    let doc: serde_json::Value = serde_json::from_str(body).map_err(|_| bad("is not JSON"))?;
    let access_token = doc
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("lacks access_token"))?
        .to_owned();
    if !doc
        .get("token_type")
        .and_then(|v| v.as_str())
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    {
        return Err(bad("is not a Bearer token"));
    }
    Ok(Tokens {
        access_token,
        refresh_token: doc
            .get("refresh_token")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        expires_in: doc.get("expires_in").and_then(|v| v.as_f64()),
    })
}

/// `application/x-www-form-urlencoded` for one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
