//! Compact JWS parsing: exactly three strict base64url segments, a JOSE header that is a JSON
//! object without duplicate members, and no feature this verifier does not implement.
//!
//! jwt-compact's own parser tolerates what a gate must not (it reads the payload before the
//! signature and flattens header members), so the gate parses the token here and hands
//! only the signature check to jwt-compact.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::http::same_name;

/// The JOSE header members the gate acts on. `jku`, `x5u`, `x5c` and `jwk` are read by
/// nobody: keys come only from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub header: Header,
    /// `BASE64URL(header) . BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Jws<'_> {
    /// The payload as a JSON object, read without any trust (routing only).
    pub fn claims(&self) -> Option<Map<String, Value>> {
        parse_object(&self.payload)
    }
}

/// The `exp` of `token`, read without any trust: only to time a refresh or a cookie's
/// lifetime, never to decide who gets in.
pub(crate) fn unverified_exp(token: &str) -> Option<f64> {
    parse(token).ok()?.claims()?.get("exp")?.as_f64()
}

/// Parses a compact JWS strictly (see the module comment); nothing is verified yet.
pub fn parse(token: &str) -> Result<Jws<'_>> {
    let mut segments = token.split('.');
    let (Some(h), Some(p), Some(s)) = (segments.next(), segments.next(), segments.next()) else {
        return Err(Error::JwtInvalid("expected three segments"));
    };
    match segments.count() {
        0 => {}
        2 => return Err(Error::JoseNotSupported("JWE")),
        _ => return Err(Error::JwtInvalid("expected three segments")),
    }
    let header_json = b64(h)?;
    let header =
        parse_object(&header_json).ok_or(Error::JwtInvalid("header is not a JSON object"))?;
    let header = read_header(&header)?;
    Ok(Jws {
        header,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload: b64(p)?,
        signature: b64(s)?,
    })
}

fn b64(segment: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(segment).map_err(|_| Error::JwtInvalid("invalid base64url"))
}

fn read_header(h: &Map<String, Value>) -> Result<Header> {
    if h.contains_key("enc") {
        return Err(Error::JoseNotSupported("JWE"));
    }
    // RFC 7515 §4.1.11: extensions we do not understand make the token invalid, and we
    // understand none. `b64: false` (RFC 7797) would change what the signature covers.
    if h.contains_key("crit") {
        return Err(Error::JoseNotSupported("crit"));
    }
    if h.contains_key("b64") {
        return Err(Error::JoseNotSupported("b64"));
    }
    let text = |name: &'static str| -> Result<Option<String>> {
        match h.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::JwtInvalid("header member is not a string")),
        }
    };
    if let Some(cty) = text("cty")? {
        if same_name(&cty, "JWT") || same_name(&cty, "application/jwt") {
            return Err(Error::JoseNotSupported("nested JWT"));
        }
    }
    Ok(Header {
        alg: text("alg")?.ok_or(Error::JwtInvalid("header has no \"alg\""))?,
        kid: text("kid")?,
        typ: text("typ")?,
    })
}

/// Parses JSON that must be an object; `None` on any syntax error, duplicate member (two
/// parsers could keep different ones) or nesting beyond serde_json's recursion limit.
pub fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de.deserialize_any(StrictVisitor).ok()?;
    de.end().ok()?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

struct StrictVisitor;

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct Strict(Value);

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON without duplicate object members")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom("duplicate object member"));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json() {
        assert!(parse_object(br#"{"a":1,"b":[1,{"c":null}]}"#).is_some());
        assert!(parse_object(br#"{"a":1,"a":1}"#).is_none());
        assert!(parse_object(br#"{"x":{"a":1,"a":2}}"#).is_none());
        assert!(parse_object(br#"[1]"#).is_none());
        assert!(parse_object(br#""s""#).is_none());
        assert!(parse_object(br#"{"a":1} x"#).is_none());
        assert!(parse_object(br#"{"a":1e400}"#).is_none());
        assert!(parse_object(br#"{"a":"\ud800"}"#).is_none());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_object(deep.as_bytes()).is_none());
    }

    #[test]
    fn segments() {
        assert_eq!(
            parse("a.b").unwrap_err(),
            Error::JwtInvalid("expected three segments")
        );
        assert_eq!(
            parse("a.b.c.d").unwrap_err(),
            Error::JwtInvalid("expected three segments")
        );
        assert_eq!(
            parse("a.b.c.d.e").unwrap_err(),
            Error::JoseNotSupported("JWE")
        );
        assert_eq!(
            parse("e30=.e30.").unwrap_err(),
            Error::JwtInvalid("invalid base64url")
        );
        // `{}` has no alg
        assert_eq!(
            parse("e30.e30.").unwrap_err(),
            Error::JwtInvalid("header has no \"alg\"")
        );
    }
}
