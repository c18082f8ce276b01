//! Hosted login (`login`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Duration, OneOrMany};

/// Hosted login: the gate signs users in at an OpenID Connect provider (authorization code
/// with PKCE) and answers `<prefix>/login`, `/callback`, `/logout` and `/session` itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginOptions {
    /// The provider's issuer; its endpoints come from OIDC discovery.
    pub issuer: String,
    /// This app's client id at the provider.
    pub client_id: String,
    /// A confidential client's secret; omit for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default with a secret), `client_secret_post` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Seals the login transaction and ID-token cookies: at least 32 bytes.
    #[serde(default)]
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Default `openid profile email offline_access`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Auth0's `audience` parameter: the API the access token is for.
    #[serde(default)]
    pub audience: Option<String>,
    /// RFC 8707 `resource` indicator: the API the access token is for.
    #[serde(default)]
    pub resource: Option<String>,
    /// More authorization request parameters (`prompt`, `ui_locales`, `connection`, …).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// The app's public origin, or several (preview deployments): `https://app.example`.
    /// The callback and post-logout URLs are built on the one a request came to; a request
    /// to an unlisted origin cannot log in. Without it, only loopback requests (development)
    /// build them from the request's own origin.
    #[serde(default)]
    pub app_base_url: Option<OneOrMany>,
    /// The registered callback URL. Default: the app's origin + `<prefix>/callback`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Where the provider sends the browser after logout. Default: the app's origin + `/`.
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// The routes' prefix. Default `/auth`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A page for failed logins (`?error=<code>`); without it, 400 JSON.
    #[serde(default)]
    pub error_url: Option<String>,
    /// ID-token claims `<prefix>/session` returns beside `sub` and `exp`.
    #[serde(default)]
    pub session_claims: Vec<String>,
    /// Algorithms the provider may sign ID tokens with. Default `["RS256"]`.
    #[serde(default)]
    pub id_token_algorithms: Option<Vec<String>>,
    /// Token, revocation and discovery requests give up after this long. Default 5 s.
    #[serde(default)]
    pub timeout_duration: Option<Duration>,
}
