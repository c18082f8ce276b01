//! What the hosted-login tests share (tests/login.rs, tests/review_login.rs): the scripted
//! provider's names, its token signer, form and query codecs, and readers of decisions.
#![allow(dead_code)]

use std::collections::HashMap;

use edgegate::Decision;
use serde_json::Value;

use super::common::{sign_raw, SignKey};

pub const ISSUER: &str = "https://id.example";
pub const APP: &str = "https://app.example";
pub const CLIENT: &str = "edgegate-app";
pub const API: &str = "https://api.example";
pub const SEAL: &str = "a-login-secret-of-at-least-32-bytes!!!";

/// An RS256 token under the provider's published `kid`.
pub fn kid_token(key: &SignKey, claims: &Value) -> String {
    sign_raw(
        "RS256",
        key,
        r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
        claims.to_string().as_bytes(),
    )
}

/// Merges `extra` into `into`, objects member by member; `null` removes a member.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(o), Value::Object(e)) = (into, extra) {
        for (k, v) in e {
            match (o.get_mut(&k), v) {
                (_, Value::Null) => {
                    o.remove(&k);
                }
                (Some(inner @ Value::Object(_)), v @ Value::Object(_)) => merge(inner, v),
                (_, v) => {
                    o.insert(k, v);
                }
            }
        }
    }
}

pub fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ");
    let mut out = Vec::new();
    let b = bytes.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&bytes[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub fn form(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn response_headers(d: &Decision) -> &[(String, String)] {
    match &d.action {
        edgegate::Action::Respond { headers, .. } => headers,
        other => panic!("not a response: {other:?}"),
    }
}

/// The `name=value` of every cookie a decision sets (not clears).
pub fn set(d: &Decision) -> Vec<String> {
    d.set_cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect()
}
