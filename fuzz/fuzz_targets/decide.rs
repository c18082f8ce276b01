//! The whole decision from arbitrary input: the bytes become the URL, Cookie and
//! Authorization headers (and extra headers) of a request to a gate with every rule kind,
//! every algorithm family and a custom-regex rule. The gate must answer, never panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use edgegate::{FixedClock, Gate, Options, Request};
use libfuzzer_sys::fuzz_target;

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        let options = serde_json::json!({
            "verify": {
                "algorithms": ["HS256", "HS384", "HS512"],
                "keys": "an-hmac-secret-of-at-least-32-bytes!!",
                "issuer": ["https://issuer.example"],
                "audience": "api://edgegate",
                "clockTolerance": 30,
                "maxTokenAge": "1h",
                "typ": "at+jwt"
            },
            "rules": [
                { "match": ["/dashboard/:path*"], "kind": "page" },
                { "match": ["/api/admin/:path*"], "kind": "api", "scopes": ["admin"] },
                { "match": ["/api/:path*"], "kind": "api" },
                { "match": ["/((?!_next/static|favicon.ico).*)\\.(jpg|png)"], "kind": "page" },
                { "match": ["/login", "/register"], "kind": "guest" }
            ],
            "token": { "maxChunks": 4 },
            "upstream": { "claimHeaders": { "sub": "x-auth-sub", "scope": "x-auth-scope" } },
            "locales": ["en", "fr"]
        });
        let options: Options = serde_json::from_value(options).expect("fuzz options are valid");
        Gate::with_clock(options, Arc::new(FixedClock(1_700_000_000.0))).expect("fuzz gate builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Fields separated by 0xFF-turned-U+FFFD would be rare; use a printable separator.
    let mut parts = text.splitn(5, '\u{1}');
    let url = parts.next().unwrap_or_default();
    let mut headers = Vec::new();
    if let Some(cookie) = parts.next() {
        headers.push(("cookie".into(), cookie.into()));
    }
    if let Some(auth) = parts.next() {
        headers.push(("authorization".into(), auth.into()));
    }
    if let Some(name) = parts.next() {
        headers.push((name.into(), parts.next().unwrap_or_default().into()));
    }
    let request = Request {
        method: "GET".into(),
        url: url.into(),
        headers,
    };
    let decision = gate().decide(&request);
    // Whatever happens, a redirect stays on this origin.
    if let edgegate::Action::Redirect { location } = &decision.action {
        assert!(location.starts_with('/') && !location.starts_with("//"));
    }
});
