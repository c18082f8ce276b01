//! Remote keys from arbitrary answers: the bytes become the discovery document, the JWKS
//! body and the token of a request to a gate that finds its keys by OIDC discovery. Every
//! answer must be taken or refused, never panic.
#![no_main]

use std::sync::Arc;

use edgegate::Fetched;
use edgegate::{FixedClock, Gate, Options, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let discovery = parts.next().unwrap_or_default().to_string();
    let jwks = parts.next().unwrap_or_default().to_string();
    let token = parts.next().unwrap_or_default();
    let options = serde_json::json!({
        "verify": { "algorithms": ["RS256", "PS256", "ES256", "EdDSA"], "issuer": "https://id.example" },
        "rules": [{ "match": "/api/:path*", "kind": "api" }],
    });
    let options: Options = serde_json::from_value(options).expect("fuzz options are valid");
    let gate = Gate::with_clock(options, Arc::new(FixedClock(1_700_000_000.0))).expect("builds");
    let request = Request {
        method: "GET".into(),
        url: "/api/x".into(),
        headers: vec![("authorization".into(), format!("Bearer {token}").into())],
    };
    let _ = gate.decide_with(&request, |f| Fetched::Response {
        status: 200,
        body: if f.url.ends_with("openid-configuration") {
            discovery.clone()
        } else {
            jwks.clone()
        },
    });
});
