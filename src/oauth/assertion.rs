//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): the client proves itself to
//! the token and revocation endpoints with a JWT signed by its private key, not a shared
//! secret. The engine writes the assertion (`iss` = `sub` = the client id, `aud`, a random
//! `jti`, `iat`, `exp` a minute later); the host's crypto signs it, as it checks the
//! provider's signatures, so the private key is used by WebCrypto and never by this code.
//! Its JWK is checked here at construction, and appears in no error or log.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

use crate::config::invalid;
use crate::error::Result;
use crate::fetch::Assertion;
use crate::verify::jws::parse_object;
use crate::verify::MIN_RSA_KEY_BITS as MIN_RSA_BITS;
use crate::Alg;

/// How long an assertion is good for: one token request, with clock skew to spare.
const LIFETIME: u64 = 60;

/// The members of each key type that go to the host's `importKey`: the private key and
/// nothing that could contradict the algorithm chosen here (`alg`, `use`, `key_ops`).
const RSA: [&str; 8] = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
const EC: [&str; 3] = ["x", "y", "d"];
const OKP: [&str; 2] = ["x", "d"];

/// Which `aud` the provider expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Audience {
    /// The URL the assertion is sent to: the token endpoint for the exchange and refresh
    /// (OpenID Connect Core §9; Okta, Entra ID, Keycloak, oidc-provider), the revocation
    /// endpoint for revocation. An assertion then authenticates nowhere but where it went:
    /// one collected by another endpoint (a rogue provider naming a victim's token
    /// endpoint in its discovery) cannot be replayed at the victim's.
    Endpoint,
    /// The issuer identifier (Auth0; RFC 7523bis).
    Issuer(String),
}

/// The client's signing key, checked.
#[derive(Clone)]
pub(crate) struct AssertionKey {
    alg: Alg,
    kid: Option<String>,
    /// The private JWK for the host, as JSON: only the members above and `kty`/`crv`.
    jwk: String,
    audience: Audience,
}

// The key stays out of `{:?}` (errors and panics print Debug).
impl std::fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssertionKey({}, {:?})", self.alg.name(), self.kid)
    }
}

impl AssertionKey {
    /// The key of option `path`: a private JWK as an object, or its JSON text (an
    /// environment variable). RSA (2048 bits or more; RS256, or `alg` RS/PS 256–512),
    /// P-256/384/521 (ES256/384/512) or Ed25519 (EdDSA). `audience` is what `aud` names.
    // Out of line, as the other optional parts: only a gate that names the key compiles it.
    #[inline(never)]
    pub(crate) fn new(path: &str, value: &Value, audience: Audience) -> Result<AssertionKey> {
        let parsed;
        let jwk = match value {
            Value::Object(map) => map,
            Value::String(text) => {
                parsed = parse_object(text.as_bytes());
                parsed.as_ref().ok_or_else(|| {
                    invalid(path, "must be a private JWK (an object, or its JSON)")
                })?
            }
            _ => {
                return Err(invalid(
                    path,
                    "must be a private JWK (an object, or its JSON)",
                ))
            }
        };
        let text = |name: &str| member(jwk, name);
        let named = text("alg").map(|a| Alg::from_name(a).ok_or(a));
        let (alg, members, crv) = match (text("kty"), text("crv")) {
            (Some("RSA"), _) => {
                let alg = match named {
                    None => Alg::Rs256,
                    Some(Ok(
                        a @ (Alg::Rs256
                        | Alg::Rs384
                        | Alg::Rs512
                        | Alg::Ps256
                        | Alg::Ps384
                        | Alg::Ps512),
                    )) => a,
                    Some(_) => {
                        return Err(invalid(
                            path,
                            "alg must be RS256–512 or PS256–512 for an RSA key",
                        ))
                    }
                };
                (alg, &RSA[..], None)
            }
            (Some("EC"), Some(crv)) => {
                let (alg, crv) = match crv {
                    "P-256" => (Alg::Es256, "P-256"),
                    "P-384" => (Alg::Es384, "P-384"),
                    "P-521" => (Alg::Es512, "P-521"),
                    _ => return Err(invalid(path, "crv must be P-256, P-384 or P-521")),
                };
                if named.is_some_and(|n| n != Ok(alg)) {
                    return Err(invalid(
                        path,
                        "alg must be the curve's: ES256 (P-256), ES384 (P-384), ES512 (P-521)",
                    ));
                }
                (alg, &EC[..], Some(crv))
            }
            (Some("OKP"), Some("Ed25519")) => {
                if named.is_some_and(|n| n != Ok(Alg::EdDsa)) {
                    return Err(invalid(path, "alg must be EdDSA for Ed25519"));
                }
                (Alg::EdDsa, &OKP[..], Some("Ed25519"))
            }
            _ => {
                return Err(invalid(
                    path,
                    "must be an RSA, EC (P-256, P-384, P-521) or OKP (Ed25519) private JWK",
                ))
            }
        };
        // By hand, not through `Value`'s serializer (which links float formatting): `kty` and
        // `crv` are the constants matched above (an RSA key's stray `crv` is dropped), every
        // other member base64url, checked here.
        let kty = ["RSA", "EC", "OKP"][usize::from(crv.is_some()) + usize::from(alg == Alg::EdDsa)];
        let mut out = format!(r#"{{"kty":"{kty}""#);
        if let Some(crv) = crv {
            out.push_str(&format!(r#","crv":"{crv}""#));
        }
        // EC and Ed25519 members are exactly the curve's size (RFC 7518 §6.2.1, RFC 8037 §2).
        let size = match crv {
            Some("P-384") => 48,
            Some("P-521") => 66,
            Some(_) => 32,
            None => 0,
        };
        for &name in members {
            let value = text(name)
                .filter(|v| {
                    Base64UrlUnpadded::decode_vec(v)
                        .is_ok_and(|bytes| !bytes.is_empty() && (size == 0 || bytes.len() == size))
                })
                .ok_or_else(|| {
                    let why = if name == "d" && text("d").is_none() {
                        "is a public key: private_key_jwt signs with the private one (d)".into()
                    } else {
                        format!("lacks {name}, or it is not base64url of the key's size")
                    };
                    invalid(path, &why)
                })?;
            out.push_str(&format!(r#","{name}":"{value}""#));
        }
        out.push('}');
        if alg.curve().is_none() && alg != Alg::EdDsa {
            let n =
                Base64UrlUnpadded::decode_vec(text("n").unwrap_or_default()).unwrap_or_default();
            let bits = n
                .iter()
                .position(|&b| b != 0)
                .map_or(0, |i| (n.len() - i) * 8);
            if bits < MIN_RSA_BITS {
                return Err(invalid(
                    path,
                    &format!("is an RSA key under {MIN_RSA_BITS} bits"),
                ));
            }
        }
        Ok(AssertionKey {
            alg,
            kid: text("kid").map(str::to_owned),
            jwk: out,
            audience,
        })
    }

    /// The assertion of client `client_id` for a request to `endpoint`, at `now`, with the
    /// unique `jti`.
    #[inline(never)]
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        endpoint: &str,
        now: f64,
        jti: &str,
    ) -> Assertion {
        let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
        let kid = self
            .kid
            .as_deref()
            .map_or(String::new(), |k| format!(r#","kid":{}"#, quoted(k)));
        let header = format!(r#"{{"alg":"{}"{kid}}}"#, self.alg.name());
        let aud = match &self.audience {
            Audience::Endpoint => endpoint,
            Audience::Issuer(issuer) => issuer,
        };
        let iat = now.floor() as u64;
        let claims = format!(
            r#"{{"iss":{id},"sub":{id},"aud":{},"jti":{},"iat":{iat},"exp":{}}}"#,
            quoted(aud),
            quoted(jti),
            iat + LIFETIME,
            id = quoted(client_id),
        );
        let part = |json: String| Base64UrlUnpadded::encode_string(json.as_bytes());
        Assertion {
            alg: self.alg.name(),
            jwk: self.jwk.clone(),
            signing_input: format!("{}.{}", part(header), part(claims)),
        }
    }
}

/// A string member of the JWK (one copy of the lookup, not one per member read).
#[inline(never)]
fn member<'a>(jwk: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(bytes)
    }

    fn rsa(bits: usize) -> Value {
        let n = b64(&vec![0xc5; bits / 8]);
        json!({ "kty": "RSA", "n": n, "e": "AQAB", "d": "ZA", "p": "cA", "q": "cQ", "dp": "ZHA", "dq": "ZHE", "qi": "cWk", "use": "sig", "key_ops": ["sign"], "kid": "k1" })
    }

    #[test]
    fn keys_are_checked_and_trimmed_for_the_host() {
        let key = AssertionKey::new("login.k", &rsa(2048), Audience::Endpoint).unwrap();
        assert_eq!(key.alg, Alg::Rs256);
        let jwk: Value = serde_json::from_str(&key.jwk).unwrap();
        assert!(
            jwk.get("use").is_none() && jwk.get("key_ops").is_none() && jwk.get("kid").is_none()
        );
        assert_eq!(jwk["d"], "ZA");
        let mut stray = rsa(2048);
        stray["crv"] = "\",\"d\":\"injected".into();
        let trimmed = AssertionKey::new("k", &stray, Audience::Endpoint).unwrap();
        assert_eq!(trimmed.jwk, key.jwk, "an RSA key's crv is not copied");
        let as_text = AssertionKey::new(
            "login.k",
            &Value::String(rsa(2048).to_string()),
            Audience::Endpoint,
        )
        .unwrap();
        assert_eq!(as_text.jwk, key.jwk, "its JSON text reads the same");
        let mut ps = rsa(2048);
        ps["alg"] = "PS384".into();
        for (jwk, alg) in [
            (ps, Alg::Ps384),
            (
                json!({ "kty": "EC", "crv": "P-384", "x": b64(&[1; 48]), "y": b64(&[2; 48]), "d": b64(&[3; 48]) }),
                Alg::Es384,
            ),
            (
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&[1; 32]), "d": b64(&[3; 32]), "alg": "EdDSA" }),
                Alg::EdDsa,
            ),
        ] {
            let key = AssertionKey::new("k", &jwk, Audience::Endpoint).unwrap();
            assert_eq!(key.alg, alg, "{jwk}");
        }
    }

    #[test]
    fn bad_keys_fail_at_construction_without_showing_the_key() {
        let mut public = rsa(2048);
        public.as_object_mut().unwrap().remove("d");
        let mut wrong_alg = rsa(2048);
        wrong_alg["alg"] = "ES256".into();
        let mut hs = rsa(2048);
        hs["alg"] = "HS256".into();
        let mut not_b64 = rsa(2048);
        not_b64["q"] = "a+b/".into();
        for (bad, says) in [
            (public, "is a public key"),
            (rsa(1024), "under 2048 bits"),
            (wrong_alg, "alg must be RS256"),
            (hs, "alg must be RS256"),
            (not_b64, "lacks q"),
            (
                json!({ "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "ZA", "alg": "ES384" }),
                "alg must be the curve's",
            ),
            (
                json!({ "kty": "EC", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[2; 32]), "d": b64(&[3; 32]) }),
                "lacks x",
            ),
            (
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&[1; 32]), "d": b64(&[3; 33]) }),
                "lacks d",
            ),
            (
                json!({ "kty": "EC", "crv": "secp256k1", "x": "eA", "y": "eQ", "d": "ZA" }),
                "crv must be",
            ),
            (
                json!({ "kty": "OKP", "crv": "X25519", "x": "eA", "d": "ZA" }),
                "must be an RSA",
            ),
            (json!({ "kty": "oct", "k": "c2VjcmV0" }), "must be an RSA"),
            (
                json!("-----BEGIN PRIVATE KEY-----"),
                "must be a private JWK",
            ),
            (json!(42), "must be a private JWK"),
        ] {
            let e = AssertionKey::new("login.clientAssertionSigningKey", &bad, Audience::Endpoint)
                .unwrap_err();
            assert_eq!(e.code(), "ERR_CONFIG_INVALID");
            let message = e.to_string();
            assert!(
                message.starts_with("login.clientAssertionSigningKey ") && message.contains(says),
                "{message}"
            );
            assert!(
                !message.contains("ZA") && !message.contains("xcXF"),
                "no key material: {message}"
            );
        }
    }

    #[test]
    fn assertions_name_the_client_the_audience_and_a_short_life() {
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
        };
        let key = AssertionKey::new("k", &rsa(2048), Audience::Endpoint).unwrap();
        let a = key.assertion("app", "https://id.example/token", 1000.7, "j1");
        let (header, claims) = a.signing_input.split_once('.').unwrap();
        assert_eq!(decode(header), json!({ "alg": "RS256", "kid": "k1" }));
        assert_eq!(
            decode(claims),
            json!({ "iss": "app", "sub": "app", "aud": "https://id.example/token", "jti": "j1", "iat": 1000, "exp": 1060 })
        );
        assert_eq!(a.jwk, key.jwk);
        let issuer = AssertionKey::new(
            "k",
            &rsa(2048),
            Audience::Issuer("https://id.example/".into()),
        )
        .unwrap();
        let a = issuer.assertion("app", "https://id.example/token", 0.0, "j2");
        assert_eq!(
            decode(a.signing_input.split('.').nth(1).unwrap())["aud"],
            "https://id.example/"
        );
        assert!(!format!("{issuer:?}").contains("ZA"), "Debug shows no key");
    }
}
