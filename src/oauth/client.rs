//! This app as an OAuth client at its provider's endpoints: how it authenticates (RFC 6749
//! §2.3: `client_secret_basic`, `client_secret_post`, a public client, or RFC 7523's
//! `private_key_jwt`), the form bodies and tickets of its token, refresh and revocation
//! requests, and the token response.

use base64ct::{Base64, Encoding};
use serde_json::{Map, Value};

use super::assertion::AssertionKey;
use crate::error::{Error, Result};
use crate::fetch::{check_url, Fetch, Fetched, USER_AGENT};
use crate::random::random_token;
use crate::verify::jws::parse_object;

/// How the client authenticates at the token and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    /// HTTP Basic with the form-encoded id and secret (the default with a secret).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// A public client: `client_id` in the body, no secret (PKCE protects the code).
    None,
    /// A JWT signed with the client's private key, by the host (RFC 7523 §2.2).
    PrivateKeyJwt,
}

/// The client: its id, its secret, how it sends them, and the request timeout.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) id: String,
    secret: Option<String>,
    method: AuthMethod,
    /// The signing key of `private_key_jwt`.
    key: Option<AssertionKey>,
    /// Milliseconds.
    pub(crate) timeout_ms: u64,
}

impl Client {
    /// A client named `what` in errors (`refresh`, `login`). `method` is the OIDC
    /// registration name (`tokenEndpointAuthMethod`); by default Basic with a secret,
    /// `private_key_jwt` with a signing `key`, none without either.
    pub(crate) fn new(
        what: &str,
        id: &str,
        secret: Option<&str>,
        method: Option<&str>,
        key: Option<AssertionKey>,
        timeout: f64,
    ) -> Result<Client> {
        if id.is_empty() {
            return Err(Error::ConfigInvalid(format!("{what}.clientId is required")));
        }
        // An empty secret is an unset environment variable, not a public client.
        let secret = match secret {
            Some("") if method == Some("none") => None,
            Some("") => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}.clientSecret is empty (an unset environment variable?): give the \
                     secret, or tokenEndpointAuthMethod \"none\" for a public client"
                )))
            }
            secret => secret,
        };
        let method = match (method, secret, &key) {
            (None | Some("private_key_jwt"), None, Some(_)) => AuthMethod::PrivateKeyJwt,
            (_, Some(_), Some(_)) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: give clientSecret or clientAssertionSigningKey, not both"
                )))
            }
            (Some("private_key_jwt"), _, None) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: private_key_jwt needs a clientAssertionSigningKey"
                )))
            }
            (Some(m), None, Some(_)) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: a clientAssertionSigningKey is for private_key_jwt, not {m}"
                )))
            }
            (None | Some("client_secret_basic"), Some(_), None) => AuthMethod::Basic,
            (Some("client_secret_post"), Some(_), None) => AuthMethod::Post,
            (None | Some("none"), None, None) => AuthMethod::None,
            (Some("none"), Some(_), None) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: tokenEndpointAuthMethod \"none\" takes no clientSecret"
                )))
            }
            (Some(m @ ("client_secret_basic" | "client_secret_post")), None, None) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}: {m} needs a clientSecret"
                )))
            }
            (Some(m), _, None) => {
                return Err(Error::ConfigInvalid(format!(
                    "{what}.tokenEndpointAuthMethod {m:?}: use client_secret_basic, \
                     client_secret_post, private_key_jwt or none"
                )))
            }
        };
        if timeout <= 0.0 {
            return Err(Error::ConfigInvalid(format!(
                "{what}.timeoutDuration must be more than 0"
            )));
        }
        Ok(Client {
            id: id.to_owned(),
            secret: secret.map(str::to_owned),
            method,
            key,
            timeout_ms: (timeout * 1000.0) as u64,
        })
    }

    /// A form POST of `params` to `url` (ticket `id`) at `now`, authenticated as this
    /// client.
    pub(crate) fn post(&self, id: u64, url: &str, now: f64, params: &[(&str, &str)]) -> Fetch {
        self.send(id, url, url, now, params)
    }

    /// A pushed authorization request (RFC 9126) of `params` to `url`. Its assertion's
    /// `aud` is `issuer`: RFC 9126 §2 recommends it and FAPI 2.0 requires it.
    pub(crate) fn push(
        &self,
        id: u64,
        url: &str,
        issuer: &str,
        now: f64,
        params: &[(&str, &str)],
    ) -> Fetch {
        self.send(id, url, issuer, now, params)
    }

    /// [`Client::post`], the assertion (if any) for `audience` where it names the endpoint.
    fn send(&self, id: u64, url: &str, audience: &str, now: f64, params: &[(&str, &str)]) -> Fetch {
        let mut body = String::new();
        let mut add = |name: &str, value: &str| {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(name);
            body.push('=');
            body.push_str(&form_encode(value));
        };
        for (name, value) in params {
            add(name, value);
        }
        // Once: a pushed authorization request names this client among its parameters.
        let named = params
            .iter()
            .any(|(name, value)| *name == "client_id" && *value == self.id);
        let mut headers = vec![
            ("user-agent".to_string(), USER_AGENT.to_string()),
            ("accept".to_string(), "application/json".to_string()),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        match (&self.method, &self.secret) {
            // RFC 6749 §2.3.1: both parts form-encoded before Base64.
            (AuthMethod::Basic, Some(secret)) => headers.push((
                "authorization".into(),
                format!(
                    "Basic {}",
                    Base64::encode_string(
                        format!("{}:{}", form_encode(&self.id), form_encode(secret)).as_bytes()
                    )
                ),
            )),
            (AuthMethod::Post, Some(secret)) => {
                if !named {
                    add("client_id", &self.id);
                }
                add("client_secret", secret);
            }
            _ if !named => add("client_id", &self.id),
            _ => {}
        }
        // The host appends the signed assertion to the body: it must end with its name.
        // Without randomness for a unique `jti` there is no assertion, and the provider
        // refuses the unauthenticated request.
        let assertion = self.key.as_ref().and_then(|key| {
            let jti = random_token::<16>().ok()?;
            add("client_assertion_type", JWT_BEARER);
            add("client_assertion", "");
            Some(Box::new(key.assertion(&self.id, audience, now, &jti)))
        });
        Fetch {
            id,
            method: "POST",
            url: url.to_owned(),
            headers,
            body: Some(body),
            timeout_ms: self.timeout_ms,
            max_bytes: 64 * 1024,
            may_use_stored: false,
            assertion,
        }
    }
}

/// RFC 7523 §2.2's `client_assertion_type`.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An endpoint URL from options or discovery: https, or http on loopback.
pub(crate) fn endpoint(url: &str, what: &str) -> Result<String> {
    check_url(url, what).map_err(Error::ConfigUrl)?;
    Ok(url.to_owned())
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// The (rotated) refresh token (`None`: keep the old one).
    pub refresh_token: Option<String>,
    /// `expires_in`, seconds.
    pub expires_in: Option<f64>,
    /// `id_token` (OpenID Connect), when the provider sent one.
    pub id_token: Option<String>,
    /// Why a refresh meant to be coordinated across instances went uncoordinated, for logs.
    pub warning: Option<&'static str>,
}

/// RFC 6749 §5.1: `access_token` and `token_type`, which must be Bearer here (a DPoP-bound
/// token cannot be forwarded as a bearer); optional `refresh_token`, `expires_in`,
/// `id_token`. Read by the duplicate-refusing JSON parser of tokens. `Err` says why.
pub(crate) fn parse_tokens(body: &str) -> std::result::Result<Tokens, &'static str> {
    let doc: Map<String, Value> = parse_object(body.as_bytes()).ok_or("is not a JSON object")?;
    let text = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let access_token = text("access_token").ok_or("lacks access_token")?.to_owned();
    if !text("token_type").is_some_and(|t| crate::http::same_name(t, "bearer")) {
        return Err("is not a Bearer token");
    }
    Ok(Tokens {
        access_token,
        refresh_token: text("refresh_token").map(str::to_owned),
        expires_in: doc.get("expires_in").and_then(Value::as_f64),
        id_token: text("id_token").map(str::to_owned),
        warning: None,
    })
}

/// `application/x-www-form-urlencoded` for one value.
pub(crate) fn form_encode(s: &str) -> String {
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

/// A provider's OAuth `error` as logs may show it: its code's characters, 64 at most.
pub(crate) fn provider_error(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// Why a call to a provider's endpoint got no usable answer, for logs.
pub(crate) fn unreachable_reason(fetched: &Fetched) -> String {
    match fetched {
        Fetched::Response { status, .. } => format!("the endpoint answered HTTP {status}"),
        Fetched::Timeout => "the endpoint timed out".into(),
        // Named, not `{:?}`: the Debug of `Stored`'s f64 would link float formatting.
        Fetched::TooLarge => "the endpoint's answer was too large".into(),
        Fetched::Network(why) => format!("the endpoint could not be reached: {why}"),
        Fetched::Stored { .. } => "a stored copy is no token response".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(secret: Option<&str>, method: Option<&str>) -> Result<Client> {
        Client::new("login", "app", secret, method, None, 5.0)
    }

    #[test]
    fn authentication_methods() {
        let basic =
            client(Some("s:é"), None)
                .unwrap()
                .post(1, "https://id/t", 0.0, &[("a", "b c")]);
        assert_eq!(basic.body.as_deref(), Some("a=b+c"));
        let auth = basic
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap();
        assert_eq!(
            auth.1,
            format!("Basic {}", Base64::encode_string(b"app:s%3A%C3%A9"))
        );
        let post = client(Some("s"), Some("client_secret_post")).unwrap().post(
            1,
            "https://id/t",
            0.0,
            &[],
        );
        assert_eq!(post.body.as_deref(), Some("client_id=app&client_secret=s"));
        let public = client(None, None)
            .unwrap()
            .post(1, "https://id/t", 0.0, &[("x", "1")]);
        assert_eq!(public.body.as_deref(), Some("x=1&client_id=app"));
        assert!(public.headers.iter().all(|(n, _)| n != "authorization"));
        // private_key_jwt: no secret; the body ends where the host appends the assertion,
        // whose aud is the URL the request goes to.
        let jwk = serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg", "d": "UFJJVkFURVBSSVZBVEVQUklWQVRFUFJJVkFURTEyMzQ" });
        let key = AssertionKey::new("login.k", &jwk, super::super::assertion::Audience::Endpoint)
            .unwrap();
        let signed = Client::new("login", "app", None, None, Some(key), 5.0)
            .unwrap()
            .post(1, "https://id/revoke", 100.0, &[("token", "t")]);
        assert_eq!(
            signed.body.as_deref(),
            Some("token=t&client_id=app&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=")
        );
        let assertion = signed.assertion.expect("an assertion to sign");
        let claims = assertion.signing_input.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&base64ct::Base64UrlUnpadded::decode_vec(claims).unwrap())
                .unwrap();
        assert_eq!(claims["aud"], "https://id/revoke");
        assert!(signed.headers.iter().all(|(n, _)| n != "authorization"));
        assert!(
            !format!("{assertion:?}").contains("UFJJVkFURVBSSVZBVEVQUklWQVRFUFJJVkFURTEyMzQ"),
            "Debug shows no key"
        );
        // An empty secret is an unset variable, unless the client is declared public.
        let public_empty = client(Some(""), Some("none")).unwrap();
        assert!(public_empty.secret.is_none());
        for bad in [
            client(Some(""), None),
            client(Some(""), Some("client_secret_post")),
            client(Some("s"), Some("none")),
            client(None, Some("client_secret_post")),
            client(Some("s"), Some("private_key_jwt")),
            Client::new("login", "", None, None, None, 5.0),
        ] {
            assert_eq!(bad.unwrap_err().code(), "ERR_CONFIG_INVALID");
        }
    }

    #[test]
    fn token_responses() {
        let t = parse_tokens(
            r#"{"access_token":"a","token_type":"bearer","expires_in":60,"id_token":"i"}"#,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.expires_in, t.id_token.as_deref()),
            ("a", Some(60.0), Some("i"))
        );
        for bad in [
            "",
            "[]",
            r#"{"access_token":"a"}"#,
            r#"{"access_token":"a","token_type":"DPoP"}"#,
            r#"{"access_token":"","token_type":"Bearer"}"#,
            r#"{"access_token":"a","access_token":"b","token_type":"Bearer"}"#,
        ] {
            assert!(parse_tokens(bad).is_err(), "{bad}");
        }
    }
}
