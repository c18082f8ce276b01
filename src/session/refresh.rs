//! Refreshing an expired (or nearly expired) access token with the refresh-token cookie.

use super::coordinate::{Coordinator, StoreOp, Stored};
use crate::config::{durations, Duration, RefreshOptions, RuleKind};
use crate::error::{Error, RefreshFailure, Result};
use crate::extract::{Found, TokenSource};
use crate::fetch::{Fetched, Progress};
use crate::oauth::calls::{self, Calls, Key};
use crate::oauth::client::{endpoint, parse_tokens, Client, Tokens};
use crate::oauth::unreachable_reason;
use crate::verify::jws;

/// Refreshing an expired (or nearly expired) access token with the refresh-token cookie, at
/// the provider's token endpoint (RFC 6749 §6). Sans-IO like the JWKS cache: the engine
/// hands the host a ticket, the host posts it.
///
/// Single-flight per refresh token: concurrent requests carrying the same refresh token
/// share one call (providers that rotate refresh tokens treat a second use as theft and
/// revoke the whole grant — the `invalid_grant` storms Auth0 and next-auth users report).
/// Seconds left below which an access token is refreshed before it is forwarded, as an
/// expired one is: it could expire on its way to the backend, whose check would then
/// answer 401 (seen in the chaos run, with the provider down and early refreshes failing).
pub(crate) const EXPIRING: f64 = 2.0;

/// Seconds a token endpoint that could not be reached is not called again for the same
/// refresh token: the requests that waited on the call share its failure, later ones retry.
pub const RETRY_AFTER_UNREACHABLE: f64 = 2.0;

/// The outcome is remembered for `grace` seconds under the *old* refresh token, so requests
/// already in flight with it get the same new tokens instead of a logout.
pub struct Refresher {
    client: Client,
    /// The token endpoint; `None` when it comes from the login provider's discovery.
    endpoint: Option<String>,
    /// Refresh this long before `exp`.
    pub window: f64,
    calls: Calls<Result<Tokens>>,
    /// Across instances, through the host's store (`refresh.coordination`).
    coordinator: Option<Coordinator>,
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

impl Refresher {
    /// The refresher of the `refresh` options, checked: its own token endpoint and client.
    #[inline(never)]
    pub fn new(options: &RefreshOptions) -> Result<Refresher> {
        let (Some(url), Some(id)) = (&options.token_endpoint, &options.client_id) else {
            return Err(Error::ConfigInvalid(
                "refresh needs tokenEndpoint and clientId (or login, whose client refreshes)"
                    .into(),
            ));
        };
        let timeout = timeout(options)?;
        let client = Client::new(
            "refresh",
            id,
            options.client_secret.as_deref(),
            None,
            None,
            timeout,
        )?;
        let endpoint = endpoint(url, "refresh.tokenEndpoint")?;
        Refresher::with(options, client, Some(endpoint), timeout)
    }

    /// The refresher of hosted login: its client, at the token endpoint its provider's
    /// discovery names; `options` may tune the timing, not name another client.
    #[inline(never)]
    pub(crate) fn for_login(options: Option<&RefreshOptions>, client: Client) -> Result<Refresher> {
        let default = RefreshOptions::default();
        let options = options.unwrap_or(&default);
        if options.token_endpoint.is_some()
            || options.client_id.is_some()
            || options.client_secret.is_some()
        {
            return Err(Error::ConfigInvalid(
                "refresh beside login: the login client refreshes at its provider's token \
                 endpoint; give only window, grace, timeoutDuration or coordination"
                    .into(),
            ));
        }
        let timeout = client.timeout_ms as f64 / 1000.0;
        Refresher::with(options, client, None, timeout)
    }

    fn with(
        options: &RefreshOptions,
        client: Client,
        endpoint: Option<String>,
        timeout: f64,
    ) -> Result<Refresher> {
        let grace = Duration::within(options.grace.as_ref(), &durations::REFRESH_GRACE)?;
        let coordination = options.coordination.as_ref();
        Ok(Refresher {
            client,
            endpoint,
            window: Duration::within(options.window.as_ref(), &durations::REFRESH_WINDOW)?,
            calls: Calls::new(timeout, grace),
            coordinator: coordination
                .map(|c| Coordinator::new(c, grace, timeout))
                .transpose()?,
        })
    }

    /// The configured token endpoint; `None` when discovery names it.
    pub(crate) fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
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
                if now >= exp - EXPIRING {
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

    /// The refresh of `refresh_token` at `endpoint` at `now`: a remembered outcome, the
    /// ticket of the call in flight, or a new ticket.
    pub fn refresh(&self, refresh_token: &str, endpoint: &str, now: f64) -> Refreshed {
        calls::progress(
            self.calls.call(key(refresh_token), now),
            || {
                Err(Error::RefreshFailed {
                    reason: "too many refreshes in flight".into(),
                    failure: RefreshFailure::Unreachable,
                })
            },
            |id| {
                self.client.post(
                    id,
                    endpoint,
                    now,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh_token),
                    ],
                )
            },
        )
    }

    pub fn owns(&self, id: u64) -> bool {
        self.calls.owns(id)
    }

    /// Applies the token endpoint's answer to ticket `id`. Returns true on new tokens.
    pub fn complete(&self, id: u64, fetched: Fetched, now: f64) -> bool {
        let failed = |reason: String, failure| Error::RefreshFailed { reason, failure };
        let mut outcome = match fetched {
            Fetched::Response { status: 200, body } => parse_tokens(&body)
                .map_err(|why| failed(format!("token response {why}"), RefreshFailure::Unusable)),
            // RFC 6749 §5.2: 400 (invalid_grant, ...) and 401 (invalid_client) are final.
            Fetched::Response {
                status: status @ (400 | 401),
                ..
            } => Err(failed(
                format!("the token endpoint refused the refresh token (HTTP {status})"),
                RefreshFailure::Refused,
            )),
            other => Err(failed(
                unreachable_reason(&other),
                RefreshFailure::Unreachable,
            )),
        };
        if let (Some(c), Some(key)) = (&self.coordinator, self.calls.key_of(id)) {
            c.completed(key, &mut outcome, now);
        }
        let ok = outcome.is_ok();
        // A refusal or new tokens hold for the grace period: requests still carrying the old
        // refresh token get them without spending it again. A provider that could not be
        // reached is tried again soon after, or its session would fail for the whole grace
        // period after the provider is back.
        let keep = match &outcome {
            Err(Error::RefreshFailed {
                failure: RefreshFailure::Unreachable,
                ..
            }) => RETRY_AFTER_UNREACHABLE,
            _ => f64::INFINITY,
        };
        self.calls.complete_for(id, outcome, now, keep) && ok
    }

    /// With `refresh.coordination`: the store operation a request refreshing with
    /// `refresh_token` needs before [`Refresher::refresh`], if any (`coordinate.rs`).
    pub(crate) fn coordinate(&self, refresh_token: &str, now: f64) -> Option<StoreOp> {
        let coordinator = self.coordinator.as_ref()?;
        coordinator.ask(&self.calls, key(refresh_token), refresh_token, now)
    }

    /// Applies the host's report on store operation `id`. Unknown ids are ignored.
    pub fn stored(&self, id: u64, stored: Stored, now: f64) {
        if let Some(c) = &self.coordinator {
            c.stored(&self.calls, id, stored, now);
        }
    }
}

/// The single-flight key of a refresh token.
fn key(refresh_token: &str) -> Key {
    calls::key(&["refresh", refresh_token])
}

/// `refresh.timeoutDuration`.
fn timeout(options: &RefreshOptions) -> Result<f64> {
    Duration::within(
        options.timeout_duration.as_ref(),
        &durations::REFRESH_TIMEOUT,
    )
}
