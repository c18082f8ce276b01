//! The gate's sealed values across hosts: tests/data/sealed.json holds values sealed by the
//! native build; this test opens them here, tests/web.rs opens the same file in headless
//! Chromium and Firefox (wasm, `crypto.getRandomValues`), and every mutation of them fails in
//! both. `EDGEGATE_WRITE_SEALED=1 cargo test --test seal` writes the file afresh.
#[path = "common/sealed.rs"]
mod sealed;

use edgegate::seal::Sealer;
use sealed::check;
use serde_json::{json, Value};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sealed.json");

fn sealer(secrets: &Value) -> Sealer {
    sealed::sealer(secrets)
}

#[test]
fn values_sealed_natively_open_and_their_mutations_never_do() {
    if std::env::var_os("EDGEGATE_WRITE_SEALED").is_some() {
        let secrets = json!([
            "sealed-fixture-secret-newest-0123456789",
            "sealed-fixture-secret-older-0123456789"
        ]);
        let older = sealer(&json!([secrets[1]]));
        let values: Vec<Value> = [("edgegate-tx-abc", "{\"s\":\"abc\"}", false), ("__Host-idToken", "eyJhbGciOi.x.y", false), ("edgegate-tx-old", "sealed by the older secret", true)]
            .iter()
            .map(|(purpose, plain, old)| {
                let s = if *old { &older } else { &sealer(&secrets) };
                json!({ "purpose": purpose, "plaintext": plain, "sealed": s.seal(purpose, plain.as_bytes()).unwrap() })
            })
            .collect();
        let doc = json!({ "secrets": secrets, "values": values });
        std::fs::write(FILE, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap();
    check(&doc);
}
