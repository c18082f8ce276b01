//! Refreshing the session (`refresh`), once across instances (`refresh.coordination`).

use serde_json::Value;

use super::read::{duration, string, strings, Fields};
use super::Duration;
use crate::error::Result;

/// Refreshing access tokens with the refresh-token cookie at the provider's token endpoint.
#[derive(Debug, Clone, Default)]
pub struct RefreshOptions {
    /// The provider's token endpoint (https, or http on loopback); with `login`, its
    /// provider's, from discovery.
    pub token_endpoint: Option<String>,
    /// This app's OAuth client id (with `login`, its client).
    pub client_id: Option<String>,
    /// Confidential clients (client_secret_basic); omit for a public client.
    pub client_secret: Option<String>,
    /// Refresh this long before `exp`. Default 60 s.
    pub window: Option<Duration>,
    /// How long a refresh outcome is reused for requests carrying the old refresh token.
    /// Default 30 s.
    pub grace: Option<Duration>,
    /// Give up on a token request after this long. Default 5 s, at most 60.
    pub timeout_duration: Option<Duration>,
    /// One token-endpoint call per refresh token across isolates and servers, through a
    /// store the host provides (`refreshStore`).
    pub coordination: Option<CoordinationOptions>,
}

/// Refresh coordination through a shared store: the store's keys are keyed hashes of refresh
/// tokens, its values sealed with `secret`.
#[derive(Debug, Clone)]
pub struct CoordinationOptions {
    /// At least 32 bytes, the same on every instance: keys the hashes and seals the outcomes.
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    pub secrets: Vec<String>,
    /// How long a request waits for a refresh claimed elsewhere. Default 6 s, at most 30.
    pub wait_duration: Option<Duration>,
    /// How long a claim holds if its owner never settles it. Default 10 s, at most 60;
    /// longer than `refresh.timeoutDuration`.
    pub claim_ttl: Option<Duration>,
    /// Give up on one store operation after this long. Default 1 s, at most 10.
    pub timeout_duration: Option<Duration>,
}

impl RefreshOptions {
    #[inline(never)]
    pub(super) fn read(path: &str, value: Value) -> Result<RefreshOptions> {
        let mut f = Fields::new(path, value, "RefreshOptions")?;
        let options = RefreshOptions {
            token_endpoint: f.opt("tokenEndpoint", string)?,
            client_id: f.opt("clientId", string)?,
            client_secret: f.opt("clientSecret", string)?,
            window: f.opt("window", duration)?,
            grace: f.opt("grace", duration)?,
            timeout_duration: f.opt("timeoutDuration", duration)?,
            coordination: f.opt("coordination", CoordinationOptions::read)?,
        };
        f.finish().map(|()| options)
    }
}

impl CoordinationOptions {
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<CoordinationOptions> {
        let mut f = Fields::new(path, value, "CoordinationOptions")?;
        let options = CoordinationOptions {
            secret: f.opt("secret", string)?,
            secrets: f.or("secrets", Vec::new(), strings)?,
            wait_duration: f.opt("waitDuration", duration)?,
            claim_ttl: f.opt("claimTtl", duration)?,
            timeout_duration: f.opt("timeoutDuration", duration)?,
        };
        f.finish().map(|()| options)
    }
}
