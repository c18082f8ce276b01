//! This app as an OAuth client ([`client`]: how it authenticates, its requests, the token
//! response; [`assertion`]: its `private_key_jwt` assertions) and its single-flight calls to the provider ([`calls`]): below both the
//! session's refresh and hosted login, which make those calls.

pub(crate) mod assertion;
pub(crate) mod calls;
pub(crate) mod client;

pub(crate) use client::{provider_error, unreachable_reason};
