//! The provider's endpoints, from OpenID Connect Discovery 1.0: fetched on the first login
//! route that needs them (sans-IO, single-flight, like the JWKS), fresh for an hour, kept
//! for a day past that while the provider fails, retried at most every 30 s.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::error::{Error, LoginError, Result};
use crate::fetch::{check_url, fresh_fetch_id, Fetch, Fetched, Progress, USER_AGENT};
use crate::verify::jws::parse_object;

const MAX_AGE: f64 = 3600.0;
const STALE_IF_ERROR: f64 = 86_400.0;
const COOLDOWN: f64 = 30.0;
const MAX_BYTES: usize = 256 * 1024;

/// What the gate uses of a discovery document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Metadata {
    pub(crate) authorization_endpoint: String,
    pub(crate) token_endpoint: String,
    pub(crate) revocation_endpoint: Option<String>,
    pub(crate) end_session_endpoint: Option<String>,
    /// RFC 9126 §5: where authorization requests are pushed, and whether they must be.
    pub(crate) pushed_authorization_request_endpoint: Option<String>,
    pub(crate) require_pushed_authorization_requests: bool,
    /// RFC 9207: the provider puts `iss` in its authorization responses, so the callback
    /// requires it.
    pub(crate) iss_parameter_supported: bool,
}

/// The discovery document of one issuer, as the policy above caches it.
pub(crate) struct Discovery {
    issuer: String,
    timeout_ms: u64,
    state: Mutex<State>,
}

struct State {
    metadata: Option<(Arc<Metadata>, f64)>,
    in_flight: Option<(u64, f64)>,
    last_attempt: f64,
    last_error: Option<String>,
}

impl Discovery {
    pub(crate) fn new(issuer: &str, timeout_ms: u64) -> Result<Discovery> {
        check_url(issuer, "login.issuer").map_err(Error::ConfigUrl)?;
        Ok(Discovery {
            issuer: issuer.to_owned(),
            timeout_ms,
            state: Mutex::new(State {
                metadata: None,
                in_flight: None,
                last_attempt: f64::NEG_INFINITY,
                last_error: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The metadata at `now`, the fetch it needs first, or why it cannot be had.
    pub(crate) fn get(&self, now: f64) -> Result<Progress<Arc<Metadata>>> {
        let mut s = self.lock();
        let lost = self.timeout_ms as f64 / 1000.0 + 5.0;
        match s.in_flight {
            Some((id, started)) if now - started <= lost => {
                return Ok(Progress::NeedsFetch(self.ticket(id)))
            }
            Some(_) => s.in_flight = None,
            None => {}
        }
        let age = s
            .metadata
            .as_ref()
            .map_or(f64::INFINITY, |(_, at)| now - at);
        if let Some((m, _)) = s.metadata.as_ref().filter(|_| age < MAX_AGE) {
            return Ok(Progress::Done(m.clone()));
        }
        if now - s.last_attempt >= COOLDOWN {
            let id = fresh_fetch_id();
            s.in_flight = Some((id, now));
            s.last_attempt = now;
            return Ok(Progress::NeedsFetch(self.ticket(id)));
        }
        match &s.metadata {
            Some((m, _)) if age < MAX_AGE + STALE_IF_ERROR => Ok(Progress::Done(m.clone())),
            _ => Err(Error::Login(
                LoginError::Unavailable,
                s.last_error
                    .clone()
                    .unwrap_or_else(|| "discovery failed".into()),
            )),
        }
    }

    pub(crate) fn owns(&self, id: u64) -> bool {
        self.lock().in_flight.is_some_and(|(i, _)| i == id)
    }

    /// Applies the answer to ticket `id`; true when it installed metadata.
    pub(crate) fn complete(&self, id: u64, fetched: Fetched, now: f64) -> bool {
        let mut s = self.lock();
        if s.in_flight.is_none_or(|(i, _)| i != id) {
            return false;
        }
        s.in_flight = None;
        let parsed = match fetched {
            Fetched::Response { status: 200, body } => self.parse(&body),
            other => Err(crate::oauth::unreachable_reason(&other)),
        };
        match parsed {
            Ok(m) => {
                s.metadata = Some((Arc::new(m), now));
                s.last_error = None;
                true
            }
            Err(why) => {
                s.last_error = Some(format!("discovery: {why}"));
                false
            }
        }
    }

    /// Discovery §4.3: the document's `issuer` is exactly ours; every endpoint is https (or
    /// http on loopback). PKCE is S256 only, so a provider that lists its methods must list it.
    fn parse(&self, body: &str) -> std::result::Result<Metadata, String> {
        let doc: Map<String, Value> =
            parse_object(body.as_bytes()).ok_or("the document is not a JSON object")?;
        if doc.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(format!(
                "the document is for another issuer than {:?}",
                self.issuer
            ));
        }
        let url = |name: &str| -> std::result::Result<Option<String>, String> {
            match doc.get(name) {
                None => Ok(None),
                Some(Value::String(u)) => check_url(u, name).map(|()| Some(u.clone())),
                Some(_) => Err(format!("{name} is not a string")),
            }
        };
        if let Some(methods) = doc
            .get("code_challenge_methods_supported")
            .and_then(Value::as_array)
        {
            if !methods.iter().any(|m| m.as_str() == Some("S256")) {
                return Err("the provider does not support PKCE S256".into());
            }
        }
        Ok(Metadata {
            authorization_endpoint: url("authorization_endpoint")?
                .ok_or("no authorization_endpoint")?,
            token_endpoint: url("token_endpoint")?.ok_or("no token_endpoint")?,
            revocation_endpoint: url("revocation_endpoint")?,
            end_session_endpoint: url("end_session_endpoint")?,
            pushed_authorization_request_endpoint: url("pushed_authorization_request_endpoint")?,
            require_pushed_authorization_requests: doc.get("require_pushed_authorization_requests")
                == Some(&Value::Bool(true)),
            iss_parameter_supported: doc.get("authorization_response_iss_parameter_supported")
                == Some(&Value::Bool(true)),
        })
    }

    fn ticket(&self, id: u64) -> Fetch {
        Fetch {
            id,
            method: "GET",
            url: format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            ),
            headers: vec![
                ("user-agent".into(), USER_AGENT.into()),
                ("accept".into(), "application/json".into()),
            ],
            body: None,
            timeout_ms: self.timeout_ms,
            max_bytes: MAX_BYTES,
            may_use_stored: false,
            assertion: None,
        }
    }
}
