//! RFC 9126 pushed authorization requests: the login posts its parameters to the provider,
//! authenticated as the client, and sends the browser with only `client_id` and the
//! `request_uri` it got back. Nothing of the request (state, PKCE challenge, redirect URI)
//! travels through the browser, where it could be read or changed.
//!
//! The push is a fetch, so the login start runs again after it; its transaction is random,
//! so that run finds it by the ticket it waited on ([`crate::Round::after`]), never by
//! anything in the request, which two concurrent logins (or an attacker's) can share.

use std::sync::Mutex;

use serde_json::Value;

use super::transaction::Transaction;
use crate::error::{Error, LoginError};
use crate::fetch::{fresh_fetch_id, Fetched};
use crate::oauth::calls::MAX_IN_FLIGHT;
use crate::oauth::{provider_error, unreachable_reason};
use crate::verify::jws::parse_object;

/// A `request_uri` longer than this is no provider's: it goes into the browser's URL.
const MAX_REQUEST_URI: usize = 2048;

/// Logins waiting on their push (a few at most: a list, not a map's code).
pub(super) struct Pushes {
    /// A push whose outcome nobody took is dropped after this long (seconds).
    lost: f64,
    state: Mutex<Vec<Push>>,
}

struct Push {
    id: u64,
    tx: Transaction,
    started: f64,
    /// The `request_uri`, or why not; `None` while in flight.
    outcome: Option<Result<String, Error>>,
}

impl Pushes {
    pub(super) fn new(timeout: f64) -> Pushes {
        Pushes {
            lost: timeout + 5.0,
            state: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Push>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A ticket id for pushing `tx`'s request at `now`; `None` when too many are in flight
    /// (each is a call to the provider that anyone can start).
    pub(super) fn begin(&self, tx: Transaction, now: f64) -> Option<u64> {
        let mut pushes = self.lock();
        pushes.retain(|p| now - p.started <= self.lost);
        if pushes.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let id = fresh_fetch_id();
        pushes.push(Push {
            id,
            tx,
            started: now,
            outcome: None,
        });
        Some(id)
    }

    pub(super) fn owns(&self, id: u64) -> bool {
        self.lock().iter().any(|p| p.id == id)
    }

    /// Records how push `id` ended; false for an unknown or finished id.
    #[inline(never)]
    pub(super) fn complete(&self, id: u64, fetched: Fetched) -> bool {
        match self.lock().iter_mut().find(|p| p.id == id) {
            Some(push) if push.outcome.is_none() => {
                push.outcome = Some(request_uri(fetched));
                true
            }
            _ => false,
        }
    }

    /// The transaction of finished push `id` and its outcome, handed out once.
    pub(super) fn take(&self, id: u64) -> Option<(Transaction, Result<String, Error>)> {
        let mut pushes = self.lock();
        let at = pushes
            .iter()
            .position(|p| p.id == id && p.outcome.is_some())?;
        let push = pushes.swap_remove(at);
        Some((push.tx, push.outcome?))
    }
}

/// RFC 9126 §2.2–2.3: `201` with `request_uri` and `expires_in`; a 4xx is the provider's
/// refusal, named by its `error`.
fn request_uri(fetched: Fetched) -> Result<String, Error> {
    let refused = |why: String| Error::Login(LoginError::Provider, why);
    let (status, body) = match fetched {
        Fetched::Response { status, body } if matches!(status, 200 | 201 | 400..=499) => {
            (status, body)
        }
        other => {
            return Err(Error::Login(
                LoginError::Unavailable,
                format!("push: {}", unreachable_reason(&other)),
            ))
        }
    };
    let doc = parse_object(body.as_bytes()).unwrap_or_default();
    let text = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default();
    if status >= 400 {
        let error = provider_error(text("error"));
        return Err(refused(format!("the push was refused: {error}")));
    }
    let uri = text("request_uri");
    let expires_in = doc.get("expires_in").and_then(Value::as_f64).unwrap_or(0.0);
    if uri.is_empty() || uri.len() > MAX_REQUEST_URI || expires_in <= 0.0 {
        return Err(refused(
            "the push answer has no usable request_uri and expires_in".into(),
        ));
    }
    Ok(uri.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> Transaction {
        Transaction::begin("/".into(), "https://app.example/auth/callback".into(), 0.0).unwrap()
    }

    fn answer(status: u16, body: &str) -> Fetched {
        Fetched::Response {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn a_push_is_found_by_its_ticket_once_it_has_ended_and_only_once() {
        let pushes = Pushes::new(5.0);
        let t = tx();
        let id = pushes.begin(t.clone(), 0.0).unwrap();
        let other = pushes.begin(tx(), 0.0).unwrap();
        assert!(pushes.take(id).is_none(), "in flight: nothing to take");
        assert!(pushes.owns(id));
        let good = r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#;
        assert!(pushes.complete(id, answer(201, good)));
        assert!(!pushes.complete(id, answer(201, good)), "reported once");
        let (found, uri) = pushes.take(id).unwrap();
        assert_eq!(found, t);
        assert_eq!(uri.unwrap(), "urn:ietf:params:oauth:request_uri:abc");
        assert!(pushes.take(id).is_none(), "handed out once");
        assert!(pushes.owns(other) && !pushes.owns(id));
    }

    #[test]
    fn pushes_in_flight_are_capped_and_lost_ones_dropped() {
        let pushes = Pushes::new(5.0);
        for _ in 0..MAX_IN_FLIGHT {
            assert!(pushes.begin(tx(), 0.0).is_some());
        }
        assert!(pushes.begin(tx(), 1.0).is_none());
        assert!(pushes.begin(tx(), 11.0).is_some(), "the lost ones are gone");
    }

    #[test]
    fn only_a_well_formed_answer_gives_a_request_uri() {
        let code = |f: Fetched| request_uri(f).map_err(|e| e.code());
        assert!(code(answer(201, r#"{"request_uri":"urn:x","expires_in":90}"#)).is_ok());
        assert!(code(answer(200, r#"{"request_uri":"urn:x","expires_in":90}"#)).is_ok());
        for body in [
            r#"{"request_uri":"","expires_in":90}"#,
            r#"{"request_uri":7,"expires_in":90}"#,
            r#"{"request_uri":"urn:x"}"#,
            r#"{"request_uri":"urn:x","expires_in":0}"#,
            r#"{"request_uri":"urn:x","request_uri":"urn:y","expires_in":9}"#,
            "[]",
        ] {
            assert_eq!(code(answer(201, body)), Err("ERR_LOGIN_PROVIDER"), "{body}");
        }
        let long = format!(r#"{{"request_uri":"{}","expires_in":9}}"#, "u".repeat(3000));
        assert_eq!(code(answer(201, &long)), Err("ERR_LOGIN_PROVIDER"));
        let refused = request_uri(answer(400, r#"{"error":"invalid_client<script>"}"#));
        assert_eq!(
            refused.unwrap_err(),
            Error::Login(
                LoginError::Provider,
                "the push was refused: invalid_clientscript".into()
            )
        );
        assert_eq!(code(answer(500, "")), Err("ERR_LOGIN_UNAVAILABLE"));
        assert_eq!(code(answer(302, "")), Err("ERR_LOGIN_UNAVAILABLE"));
        assert_eq!(code(Fetched::Timeout), Err("ERR_LOGIN_UNAVAILABLE"));
    }
}
