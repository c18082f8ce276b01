//! `cfg(rust_crypto)`: the pure-Rust RSA, ECDSA and Ed25519 path (jwt-compact) is built.
//! Native builds always have it (the reference the host paths are held to); wasm32 only
//! with the `rust-crypto` feature, so the default npm package leaves those signatures to
//! the host's crypto and is smaller.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(rust_crypto)");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    if !wasm || std::env::var_os("CARGO_FEATURE_RUST_CRYPTO").is_some() {
        println!("cargo::rustc-cfg=rust_crypto");
    }
}
