//! Runs the engine on a scripted set of requests and prints each decision:
//! `cargo run --example decide`.

use std::sync::Arc;

use edgegate::{Action, FixedClock, Gate, Options, Request};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions};

const SECRET: &str = "demo-secret-for-the-edgegate-example-only";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = 1_700_000_000.0;
    let options = Options::from_json(&format!(
        r#"{{ "verify": {{ "algorithms": ["HS256"], "keys": "{SECRET}" }},
              "rules": [
                {{ "match": "/api/login", "kind": "public" }},
                {{ "match": "/dashboard/:path*", "kind": "page" }},
                {{ "match": "/api/:path*", "kind": "api", "upstream": "http://127.0.0.1:4000" }}
              ],
              "upstream": {{ "claimHeaders": {{ "sub": "x-auth-sub" }} }} }}"#
    ))?;
    let gate = Gate::with_clock(options, Arc::new(FixedClock(now)))?;

    let key = Hs256Key::new(SECRET);
    let time = TimeOptions::new(chrono::Duration::zero(), move || {
        chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default()
    });
    let claims = Claims::new(serde_json::json!({ "sub": "demo-user" }))
        .set_duration_and_issuance(&time, chrono::Duration::minutes(15));
    let token = Hs256.token(&Header::empty(), &claims, &key)?;
    let cookie = format!("theme=dark; token={token}");

    let requests = [
        ("/", vec![]),
        ("/dashboard/settings?tab=2", vec![]),
        ("/dashboard/settings", vec![("cookie", cookie.as_str())]),
        ("/api/stocks", vec![]),
        (
            "/api/stocks",
            vec![
                ("cookie", cookie.as_str()),
                ("x-middleware-subrequest", "middleware"),
            ],
        ),
        ("/api/stocks", vec![("cookie", "token=forged.token.here")]),
        ("/api/login", vec![]),
        ("/api/l%6fgin", vec![]),
        ("/api/l%6fgin?next=%2F", vec![("cookie", cookie.as_str())]),
        ("/%64ashboard", vec![]),
        ("/dashboard%2Fx", vec![]),
    ];
    for (url, headers) in requests {
        let request = Request {
            method: "GET".into(),
            url: url.to_string().into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string().into(), v.to_string().into()))
                .collect(),
        };
        let d = gate.decide(&request);
        let what = match &d.action {
            Action::Continue { headers, route, .. } => format!(
                "continue to {}; headers: {}",
                route.as_ref().map_or("the app", |r| r.target()),
                headers
                    .iter()
                    .map(|(n, v)| format!(
                        "{n}: {}",
                        if v.len() > 24 {
                            format!("{}…", &v[..24])
                        } else {
                            v.clone()
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::Redirect { location } => format!("307 → {location}"),
            Action::Respond { status, body, .. } => format!("{status} {body}"),
        };
        println!("{url:<28} {:<22} {what}", d.code);
    }
    Ok(())
}
