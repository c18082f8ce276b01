//! edgegate: the auth gate of a Next.js app, decided in Rust.
//!
//! A [`Gate`] is built once from [`Options`] and decides each [`Request`]: continue (with
//! exactly the headers the backend gets, to the rule's upstream or on into the app),
//! redirect to login, or respond 401/403 — with a stable code for logs. A request goes
//! through one module per step, top to bottom:
//!
//! `normalize` the path → `rules` (Next.js `matcher` syntax) → `extract` the token →
//! `csrf` → `session` refresh → `verify` (providers, JWS, keys, claims) → `answer` or
//! `forward` → all driven by `decide`, whose `explain` traces the same steps (`trace`). Below them sit
//! `http` (the request view), `fetch` (the sans-IO fetch protocol), `config`, `error` and
//! `clock`. Nothing here knows about wasm: the `wasm` boundary adapts this engine to JS.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Internal modules: private, or public under the `_integration_test` feature so the
/// integration tests and fuzz targets can reach their parts (lol-html's pattern).
macro_rules! internal {
    ($($(#[$attr:meta])* mod $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "_integration_test")]
        #[allow(missing_docs)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "_integration_test"))]
        mod $name;
    )*};
}

internal! {
    mod answer;
    mod clock;
    mod csrf;
    mod decide;
    mod error;
    mod extract;
    mod fetch;
    mod forward;
    mod http;
    mod login;
    mod normalize;
    mod trace;
    mod unseal;
    mod rules;
    mod seal;
    mod session;
    mod verify;
    #[cfg(target_arch = "wasm32")]
    mod wasm;
}

/// The options a gate is built from: serde shapes, named after jose's options.
pub mod config;

pub use answer::{Action, Decision};
#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
pub use config::{Options, RuleKind};
pub use decide::{Gate, Pending, Step, MAX_FETCH_ROUNDS};
pub use error::{Error, LoginError, Passed, Result};
pub use extract::TokenSource;
pub use fetch::{Fetch, Fetched, Progress};
pub use forward::{Route, ALWAYS_STRIPPED};
pub use http::Request;
pub use session::{Session, StoreAction, StoreOp, Stored};
pub use trace::{Trace, TraceStep};
pub use verify::{
    Alg, Candidates, ClaimsPolicy, Key, KeyResolver, KeySet, Material, Unverified, Verified,
    Verifier,
};
