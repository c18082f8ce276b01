//! Native benches of the engine's steps: `cargo bench`. They show where a decision's time
//! goes without wasm or a JS host in the way (the side-by-side comparison with jose is
//! `scripts/bench`).

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use edgegate::extract::{Extractor, Precedence};
use edgegate::normalize::normalize;
use edgegate::rules::{Matcher, Reading, Site};
use serde_json::json;
use std::hint::black_box;

fn steps(c: &mut Criterion) {
    let path = "https://app.example/public/%2e%2e/Dashboard/settings/profile?tab=2";
    c.bench_function("normalize", |b| b.iter(|| normalize(black_box(path))));

    let dashboard = Matcher::new("/dashboard/:path*", &Site::default(), Reading::Wide).unwrap();
    let everything = Matcher::new(
        "/((?!api|_next/static|_next/image|favicon.ico).*)",
        &Site::default(),
        Reading::Wide,
    )
    .unwrap();
    c.bench_function("match /dashboard/:path*", |b| {
        b.iter(|| dashboard.is_match(black_box("/Dashboard/settings/profile")))
    });
    c.bench_function("match negative lookahead", |b| {
        b.iter(|| everything.is_match(black_box("/dashboard/settings/profile")))
    });

    let extractor = Extractor {
        naming: None,
        cookie: Some("token".into()),
        host_prefix: true,
        refresh_cookie: Some("refreshToken".into()),
        header: true,
        precedence: Precedence::Cookie,
        max_chunks: 10,
        max_cookie_header_bytes: 8192,
        max_token_bytes: 8192,
        also_stripped: Vec::new(),
    };
    let t = token("HS256", &hmac_key(), &claims(json!({})));
    let jar =
        format!("_ga=GA1.2.3; theme=dark; locale=en; consent=yes; sid=abc123; token={t}; _gid=x");
    c.bench_function("extract cookie from a 7-cookie jar", |b| {
        b.iter(|| extractor.extract(black_box(Some(jar.as_str())), &[], false))
    });
}

fn decisions(c: &mut Criterion) {
    let cases = [
        ("HS256", hmac_key(), json!(SECRET)),
        ("RS256", rsa_key(), json!(RSA_PUB)),
        ("PS256", rsa_key(), json!(RSA_PUB)),
        ("ES256", ec_key(), json!(EC_PUB)),
        ("EdDSA", ed_key(), json!(ED25519_PUB)),
    ];
    for (alg, key, keys) in cases {
        let cached = gate(&options(&[alg], keys.clone(), json!({})));
        let request = with_cookie("/api/stocks", &token(alg, &key, &claims(json!({}))));
        assert_eq!(cached.decide(&request).code, "OK_AUTHENTICATED");
        c.bench_function(&format!("decide {alg}, repeat token (cache hit)"), |b| {
            b.iter(|| cached.decide(black_box(&request)))
        });
        // No cache: every decision checks the signature with jwt-compact, the pure-Rust
        // reference the host-crypto paths are compared against.
        let mut uncached = options(&[alg], keys, json!({}));
        uncached["verify"]["cacheSize"] = json!(0);
        let uncached = gate(&uncached);
        c.bench_function(&format!("decide {alg}, first sight (jwt-compact)"), |b| {
            b.iter(|| uncached.decide(black_box(&request)))
        });
    }
}

criterion_group!(benches, steps, decisions);
criterion_main!(benches);
