//! RFC 9126 pushed authorization requests: the login posts its parameters to the provider,
//! authenticated as the client, and sends the browser with only `client_id` and the
//! `request_uri` it got back. Nothing of the request (state, PKCE challenge, redirect URI)
//! travels through the browser, where it could be read or changed.
//!
//! The push is a fetch, so the login start runs again after it; its transaction is random,
//! so that run finds it by the ticket it waited on ([`Round::after`](crate::Round)), never by
//! anything in the request, which two concurrent logins (or an attacker's) can share.
//!
//! Anyone can start a login, so anyone can start pushes: they are kept in a bounded list
//! that drops the oldest when full, never refusing new logins (a flood of abandoned ones
//! would otherwise lock everyone out until they expired).

use std::sync::Mutex;

use serde_json::Value;

use super::transaction::Transaction;
use crate::error::{Error, LoginError};
use crate::fetch::{fresh_fetch_id, Fetched};
use crate::oauth::{provider_error, unreachable_reason};
use crate::verify::jws::parse_object;

/// A `request_uri` longer than this is no provider's: it goes into the browser's URL.
const MAX_REQUEST_URI: usize = 2048;
/// Pushes kept at most (under 1 KB each). A login's own is taken within its round trip to
/// the provider: to push it out, a flood would need this many logins in that time.
const MAX_KEPT: usize = 1024;

/// Logins waiting on their push, oldest first (a list, not a map's code).
pub(super) struct Pushes {
    /// A push whose outcome nobody took is dropped after this long (seconds).
    lost: f64,
    state: Mutex<Vec<Push>>,
}

struct Push {
    id: u64,
    tx: Transaction,
    /// Where the browser goes with the `request_uri`.
    authorization_endpoint: String,
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

    /// The ticket id for pushing `tx`'s request at `now`, to go on to
    /// `authorization_endpoint`.
    pub(super) fn begin(&self, tx: Transaction, authorization_endpoint: &str, now: f64) -> u64 {
        let mut pushes = self.lock();
        pushes.retain(|p| now - p.started <= self.lost);
        if pushes.len() >= MAX_KEPT {
            pushes.remove(0);
        }
        let id = fresh_fetch_id();
        pushes.push(Push {
            id,
            tx,
            authorization_endpoint: authorization_endpoint.to_owned(),
            started: now,
            outcome: None,
        });
        id
    }

    pub(super) fn owns(&self, id: u64) -> bool {
        self.lock().iter().any(|p| p.id == id)
    }

    /// Records how push `id` ended; false for an unknown or finished id. (Out of line: the
    /// answer's reading stays out of `Gate::complete`, which every fetch's report calls.)
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

    /// Finished push `id`, handed out once: its transaction, and the authorization endpoint
    /// with the `request_uri` to send the browser there with (or why not).
    pub(super) fn take(&self, id: u64) -> Option<Pushed> {
        let mut pushes = self.lock();
        let at = pushes
            .iter()
            .position(|p| p.id == id && p.outcome.is_some())?;
        let push = pushes.remove(at);
        let outcome = push.outcome?.map(|uri| (push.authorization_endpoint, uri));
        Some((push.tx, outcome))
    }
}

/// A finished push: the transaction, and the authorization endpoint with the `request_uri`.
pub(super) type Pushed = (Transaction, Result<(String, String), Error>);

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
    // A URI, so printable ASCII: nothing else is any provider's, though encoding would
    // keep it out of the Location header's syntax anyway.
    let printable = uri.bytes().all(|b| b.is_ascii_graphic());
    if uri.is_empty() || uri.len() > MAX_REQUEST_URI || !printable || expires_in <= 0.0 {
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

    const AUTHORIZE: &str = "https://id.example/authorize";

    #[test]
    fn a_push_is_found_by_its_ticket_once_it_has_ended_and_only_once() {
        let pushes = Pushes::new(5.0);
        let t = tx();
        let id = pushes.begin(t.clone(), AUTHORIZE, 0.0);
        let other = pushes.begin(tx(), AUTHORIZE, 0.0);
        assert!(pushes.take(id).is_none(), "in flight: nothing to take");
        assert!(pushes.owns(id));
        let good = r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#;
        assert!(pushes.complete(id, answer(201, good)));
        assert!(!pushes.complete(id, answer(201, good)), "reported once");
        let (found, outcome) = pushes.take(id).unwrap();
        assert_eq!(found, t);
        assert_eq!(
            outcome.unwrap(),
            (
                AUTHORIZE.to_owned(),
                "urn:ietf:params:oauth:request_uri:abc".to_owned()
            )
        );
        assert!(pushes.take(id).is_none(), "handed out once");
        assert!(pushes.owns(other) && !pushes.owns(id));
    }

    #[test]
    fn a_flood_of_logins_pushes_out_the_oldest_and_refuses_none() {
        let pushes = Pushes::new(5.0);
        let first = pushes.begin(tx(), AUTHORIZE, 0.0);
        let second = pushes.begin(tx(), AUTHORIZE, 0.0);
        for _ in 2..MAX_KEPT {
            pushes.begin(tx(), AUTHORIZE, 0.0);
        }
        let newest = pushes.begin(tx(), AUTHORIZE, 1.0);
        assert!(!pushes.owns(first) && pushes.owns(second) && pushes.owns(newest));
        let later = pushes.begin(tx(), AUTHORIZE, 12.0);
        assert!(!pushes.owns(second) && !pushes.owns(newest), "expired");
        assert!(pushes.owns(later));
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
        for uri in [
            r"urn:x\r\nSet-Cookie: a=b",
            r"urn:x\u0000",
            "urn: x",
            "urn:é",
        ] {
            let body = format!(r#"{{"request_uri":"{uri}","expires_in":9}}"#);
            assert_eq!(code(answer(201, &body)), Err("ERR_LOGIN_PROVIDER"), "{uri}");
        }
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
