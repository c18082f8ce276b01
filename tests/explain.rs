//! `explain`: the trace of a decision, step by step, without side effects.
mod common;

use common::*;
use edgegate::Trace;
use serde_json::json;

fn steps(t: &Trace) -> Vec<(&str, bool)> {
    t.steps.iter().map(|s| (s.step, s.ok)).collect()
}

fn detail<'a>(t: &'a Trace, step: &str) -> &'a str {
    &t.steps.iter().find(|s| s.step == step).unwrap().detail
}

#[test]
fn a_valid_request_shows_every_check_passing() {
    let gate = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let trace = gate.explain(&get(
        "/api/stocks/../stocks",
        &[("cookie", &format!("token={t}"))],
    ));
    assert_eq!(
        steps(&trace),
        [
            ("normalize", true),
            ("match", true),
            ("token", true),
            ("csrf", true),
            ("parse", true),
            ("algorithm", true),
            ("keys", true),
            ("signature", true),
            ("claim", true),
            ("claim", true),
            ("claim", true),
            ("claim", true),
            ("claim", true),
            ("claim", true),
            ("scopes", true),
            ("route", true),
        ]
    );
    assert_eq!(detail(&trace, "normalize"), "path \"/api/stocks\"");
    assert_eq!(detail(&trace, "route"), "on into the app");
    assert!(detail(&trace, "match").starts_with("rule 2 (api)"));
    assert_eq!(detail(&trace, "token"), "from the cookie \"token\"");
    // The same request decides as the trace says.
    assert_eq!(
        gate.decide(&get("/api/stocks", &[("cookie", &format!("token={t}"))]))
            .code,
        "OK_AUTHENTICATED"
    );
}

#[test]
fn the_failing_step_says_why() {
    let gate = hs_gate();
    let expired = token(
        "HS256",
        &hmac_key(),
        &claims(json!({ "exp": NOW - 5.0, "aud": "other" })),
    );
    let trace = gate.explain(&get(
        "/api/stocks",
        &[("authorization", &format!("Bearer {expired}"))],
    ));
    let failing: Vec<&str> = trace
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.detail.as_str())
        .collect();
    // Every claim is reported, not just the first failure.
    assert_eq!(failing.len(), 2, "{trace:?}");
    assert!(failing[0].starts_with("exp: ERR_JWT_EXPIRED"));
    assert!(failing[1].starts_with("aud: ERR_JWT_CLAIM_VALIDATION_FAILED"));

    // Another signature of the right length: the MAC of different bytes.
    let (input, _) = expired.rsplit_once('.').unwrap();
    let forged = format!(
        "{input}.{}",
        b64(signature("HS256", &hmac_key(), b"other bytes"))
    );
    let trace = gate.explain(&get(
        "/api/stocks",
        &[("authorization", &format!("Bearer {forged}"))],
    ));
    assert_eq!(
        trace.steps.last().map(|s| (s.step, s.ok)),
        Some(("signature", false))
    );

    let trace = gate.explain(&get("/dashboard%2Fx", &[]));
    assert_eq!(steps(&trace), [("normalize", false)]);
    let trace = gate.explain(&get("/about", &[]));
    assert_eq!(detail(&trace, "match"), "no rule matches: public");
    let trace = gate.explain(&get("/api/stocks", &[]));
    assert!(detail(&trace, "token").starts_with("ERR_NO_TOKEN"));
    let mut post = get(
        "https://app.example/api/x",
        &[
            ("cookie", &format!("__Host-token={expired}")),
            ("sec-fetch-site", "cross-site"),
        ],
    );
    post.method = "POST".into();
    assert_eq!(
        gate.explain(&post).steps.last().map(|s| (s.step, s.ok)),
        Some(("csrf", false))
    );
    let weak = token("HS256", &hmac_key(), &claims(json!({ "scope": "profile" })));
    let trace = gate.explain(&get("/api/stocks", &[("cookie", &format!("token={weak}"))]));
    assert!(detail(&trace, "scopes").contains("lacks [\"read:stocks\"]"));
}

#[test]
fn explaining_has_no_side_effects() {
    let gate = hs_gate();
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let before = gate.verifier().unwrap().cache_stats();
    for _ in 0..3 {
        gate.explain(&get("/api/stocks", &[("cookie", &format!("token={t}"))]));
    }
    assert_eq!(gate.verifier().unwrap().cache_stats(), before);
    // A remote gate is not made to fetch.
    let remote = gate_json(
        json!({ "verify": { "algorithms": ["RS256"], "jwksUri": "https://id.example/jwks" } }),
    );
    let rs = token("RS256", &rsa_key(), &claims(json!({})));
    let trace = remote.explain(&get(
        "/api/x",
        &[("authorization", &format!("Bearer {rs}"))],
    ));
    assert_eq!(
        trace.steps.last().map(|s| (s.step, s.ok)),
        Some(("keys", false))
    );
    assert!(matches!(
        remote.begin(&get(
            "/api/x",
            &[("authorization", &format!("Bearer {rs}"))]
        )),
        edgegate::Step::NeedsFetch(_)
    ));
}

fn gate_json(o: serde_json::Value) -> edgegate::Gate {
    common::gate(&o)
}
