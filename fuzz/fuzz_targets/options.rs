//! Arbitrary options JSON: building a gate must return a coded error or a gate, never panic;
//! a gate that builds must decide a request.
#![no_main]

use std::sync::Arc;

use edgegate::{FixedClock, Gate, Options, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(options) = Options::from_json(text) else {
        return;
    };
    if let Ok(gate) = Gate::with_clock(options, Arc::new(FixedClock(1_700_000_000.0))) {
        let _ = gate.decide(&Request {
            method: "GET".into(),
            url: "/dashboard/x?y=1".into(),
            headers: vec![("cookie".into(), "token=a.b.c".into())],
        });
    }
});
