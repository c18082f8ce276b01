//! Refreshing the session (`refresh`), once across instances (`refresh.coordination`).

use serde::Deserialize;

use super::Duration;

/// Refreshing access tokens with the refresh-token cookie at the provider's token endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshOptions {
    /// The provider's token endpoint (https, or http on loopback); with `login`, its
    /// provider's, from discovery.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// This app's OAuth client id (with `login`, its client).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Confidential clients (client_secret_basic); omit for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Refresh this long before `exp`. Default 60 s.
    #[serde(default)]
    pub window: Option<Duration>,
    /// How long a refresh outcome is reused for requests carrying the old refresh token.
    /// Default 30 s.
    #[serde(default)]
    pub grace: Option<Duration>,
    /// Give up on a token request after this long. Default 5 s, at most 60.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
    /// One token-endpoint call per refresh token across isolates and servers, through a
    /// store the host provides (`refreshStore`).
    #[serde(default)]
    pub coordination: Option<CoordinationOptions>,
}

/// Refresh coordination through a shared store: the store's keys are keyed hashes of refresh
/// tokens, its values sealed with `secret`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoordinationOptions {
    /// At least 32 bytes, the same on every instance: keys the hashes and seals the outcomes.
    #[serde(default)]
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// How long a request waits for a refresh claimed elsewhere. Default 6 s, at most 30.
    #[serde(default)]
    pub wait_duration: Option<Duration>,
    /// How long a claim holds if its owner never settles it. Default 10 s, at most 60;
    /// longer than `refresh.timeoutDuration`.
    #[serde(default)]
    pub claim_ttl: Option<Duration>,
    /// Give up on one store operation after this long. Default 1 s, at most 10.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
}
