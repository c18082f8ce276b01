//! edgegate: the auth gate of a Next.js app, decided in Rust.
//!
//! A request goes through one module per step: [`normalize`] the path, [`matcher`] it
//! against the rules, [`extract`] the token, [`verify`] it, [`decide`] what the host
//! does, and send it to its [`upstream`]. [`config`] builds all of it from one options object; [`error`] holds every code.
//! Nothing here knows about wasm: the boundary module adapts this engine to JS hosts.

#![forbid(unsafe_code)]

pub mod config;
pub mod decide;
pub mod error;
pub mod explain;
pub mod extract;
pub mod matcher;
pub mod normalize;
pub mod regex;
pub mod session;
pub mod upstream;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use config::{Options, RuleKind};
pub use decide::{Action, Decision, Gate, Request, Route, Step};
pub use error::{Error, Result};
pub use verify::{Clock, FixedClock};
