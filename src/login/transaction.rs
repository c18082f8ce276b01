//! One login in progress: what the callback must find again (state, nonce, PKCE verifier,
//! where to return, the redirect URI, when it began), sealed into a cookie of its own,
//! named by its state, so parallel logins in several tabs never overwrite each other.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::cookie;
use crate::error::{Error, LoginError, Result};
use crate::normalize::normalize;
use crate::random::random_token;
use crate::seal::Sealer;
use crate::verify::jws::parse_object;
use base64ct::{Base64UrlUnpadded, Encoding};

/// A transaction lives this long (seconds): the cookie's `Max-Age`, and checked again inside.
pub(crate) const LIFETIME: f64 = 600.0;
/// Live transactions per browser at most; starting another drops the oldest (each cookie is
/// ~400 bytes: unbounded, abandoned logins grow the Cookie header until requests fail 431).
pub(crate) const MAX_LIVE: usize = 3;
/// The transaction cookies' name, before the state.
pub(crate) const NAME: &str = "edgegate-tx-";

/// A login in progress.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transaction {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) verifier: String,
    pub(crate) return_to: String,
    pub(crate) redirect_uri: String,
    /// Seconds since the epoch.
    pub(crate) created: f64,
}

impl Transaction {
    /// A new transaction: fresh random state, nonce and verifier (256 bits each).
    pub(crate) fn begin(return_to: String, redirect_uri: String, now: f64) -> Result<Transaction> {
        Ok(Transaction {
            state: random_token::<32>()?,
            nonce: random_token::<32>()?,
            verifier: random_token::<32>()?,
            return_to,
            redirect_uri,
            created: now,
        })
    }

    /// RFC 7636 `S256`: base64url(SHA-256(verifier)).
    pub(crate) fn challenge(&self) -> String {
        Base64UrlUnpadded::encode_string(&Sha256::digest(self.verifier.as_bytes()))
    }

    /// The cookie value, sealed for the cookie's own name.
    pub(crate) fn seal(&self, sealer: &Sealer, cookie: &str) -> Result<String> {
        let plain = json!({
            "s": self.state, "n": self.nonce, "v": self.verifier,
            "r": self.return_to, "u": self.redirect_uri, "t": self.created,
        });
        sealer.seal(cookie, &serde_json::to_vec(&plain).unwrap_or_default())
    }

    /// The transaction sealed in cookie `cookie`; `None` if it does not open or parse.
    pub(crate) fn open(sealer: &Sealer, cookie: &str, value: &str) -> Option<Transaction> {
        let plain = sealer.open(cookie, value).ok()?;
        let doc: Map<String, Value> = parse_object(&plain)?;
        let text = |k: &str| doc.get(k)?.as_str().map(str::to_owned);
        Some(Transaction {
            state: text("s")?,
            nonce: text("n")?,
            verifier: text("v")?,
            return_to: text("r")?,
            redirect_uri: text("u")?,
            created: doc.get("t")?.as_f64()?,
        })
    }
}

/// The name of the transaction cookie for `state`: `__Host-` off loopback http.
pub(crate) fn cookie_name(secure: bool, state: &str) -> String {
    cookie::name(&format!("{NAME}{state}"), secure)
}

/// Is `name` a transaction cookie (under either prefix)?
pub(crate) fn is_cookie(name: &str) -> bool {
    cookie::bare(name).starts_with(NAME)
}

/// A state as the callback may carry it: what [`Transaction::begin`] makes (43 base64url
/// characters), so it can name a cookie and nothing else.
pub(crate) fn valid_state(state: &str) -> bool {
    state.len() == 43
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `returnTo` as the login route received it (still percent-encoded), or `None` unless it
/// is a same-origin path in canonical form: one leading `/`, no `\`, `//`, dot segment,
/// control character or needless escape — so `//evil`, `/\evil`, `/%09/evil`,
/// `/%2F%2Fevil`, `https:evil` and their encoded and mixed-case variants are all refused —
/// and ASCII only: it becomes a `Location`, which a host's `Headers` refuse past U+00FF.
pub(crate) fn return_to(raw: &str) -> Option<String> {
    let decoded = percent_decode(raw)?;
    let bytes = decoded.as_bytes();
    if bytes.first() != Some(&b'/') || matches!(bytes.get(1), Some(b'/' | b'\\')) {
        return None;
    }
    if bytes
        .iter()
        .any(|&b| !(0x21..0x7f).contains(&b) || b == b'\\' || b == b'#')
    {
        return None;
    }
    // The path must be what the gate's normalizer would leave as is (it refuses encoded
    // slashes and NUL, resolves dot segments and `//`): then the browser lands where the
    // gate would judge.
    let path = normalize(&decoded).ok()?;
    path.canonical.then_some(decoded)
}

/// Percent-decoding of a query value (`+` is a space); `None` for a bad escape or UTF-8.
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The callback's query parameters that matter; a repeated one is refused (which copy
/// would the provider have meant?).
pub(crate) fn query_params(query: Option<&str>, names: &[&str]) -> Result<Vec<Option<String>>> {
    let mut found: Vec<Option<String>> = vec![None; names.len()];
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(i) = names.iter().position(|n| *n == name) {
            let value = percent_decode(value).ok_or_else(|| {
                Error::Login(
                    LoginError::State,
                    format!("{name} is not valid percent-encoding"),
                )
            })?;
            if found[i].replace(value).is_some() {
                return Err(Error::Login(
                    LoginError::State,
                    format!("{name} appears twice"),
                ));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_round_trip_sealed_under_their_cookie_name() {
        let sealer = Sealer::new(&["a-secret-of-at-least-thirty-two-bytes!!".into()], "s").unwrap();
        let tx = Transaction::begin(
            "/dashboard?x=1".into(),
            "https://app/auth/callback".into(),
            100.0,
        )
        .unwrap();
        assert!(valid_state(&tx.state));
        let name = cookie_name(true, &tx.state);
        assert!(name.starts_with("__Host-edgegate-tx-") && is_cookie(&name));
        let sealed = tx.seal(&sealer, &name).unwrap();
        assert_eq!(Transaction::open(&sealer, &name, &sealed), Some(tx.clone()));
        // Another tab's cookie name: the value does not open there.
        assert_eq!(
            Transaction::open(&sealer, &cookie_name(true, &"A".repeat(43)), &sealed),
            None
        );
        assert_eq!(tx.challenge().len(), 43);
    }

    #[test]
    fn return_to_keeps_same_origin_paths_only() {
        for ok in [
            "/",
            "/dashboard",
            "/dashboard%3Fa%3D1%26b%3D2",
            "/a/b?c=d",
            "%2Fdashboard",
        ] {
            assert!(return_to(ok).is_some(), "{ok}");
        }
        for bad in [
            "//evil",
            "/\\evil",
            "/%09/evil",
            "https:evil",
            "https://evil",
            "%2F%2Fevil",
            "/%2F%2Fevil",
            "/%2f/evil",
            "%2f%2fevil",
            "/%5Cevil",
            "%5C%5Cevil",
            "\\/evil",
            "/%5c/evil",
            "http:%2F%2Fevil",
            "//%65vil",
            "/./evil/..//x",
            "/a/../b",
            "/%0d%0aSet-Cookie:x",
            "javascript:alert(1)",
            "",
            "evil",
            "/%E0%A4%A",
            "/x#frag",
            "/ evil",
            "%20/evil",
            "/%2e%2e/evil",
            "/.%2e/evil",
            "///evil",
            "/%00",
            "/x?q=%E2%82%AC",
            "/x?%C3%A9",
        ] {
            assert_eq!(return_to(bad), None, "{bad}");
        }
    }

    #[test]
    fn repeated_callback_parameters_are_refused() {
        let got = query_params(Some("code=a&state=b&x=1"), &["state", "code"]).unwrap();
        assert_eq!(got, vec![Some("b".into()), Some("a".into())]);
        assert!(query_params(Some("state=a&state=b"), &["state"]).is_err());
        assert!(query_params(Some("state=%zz"), &["state"]).is_err());
    }
}
