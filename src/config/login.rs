//! Hosted login (`login`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::read::{
    any, boolean, choice, duration, one_or_many, string, string_map, strings, Fields,
};
use super::{Duration, OneOrMany};
use crate::error::Result;

/// Hosted login: the gate signs users in at an OpenID Connect provider (authorization code
/// with PKCE) and answers `<prefix>/login`, `/callback`, `/logout` and `/session` itself.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The provider's issuer; its endpoints come from OIDC discovery.
    pub issuer: String,
    /// This app's client id at the provider.
    pub client_id: String,
    /// A confidential client's secret; omit for a public client.
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default with a secret), `client_secret_post`,
    /// `private_key_jwt` (default with a signing key) or `none`.
    pub token_endpoint_auth_method: Option<String>,
    /// `private_key_jwt`: the client's private JWK (or its JSON text), which the host's
    /// crypto signs the client assertions with.
    pub client_assertion_signing_key: Option<Value>,
    /// The assertions' `aud`: 0, the URL of the endpoint each goes to (default); 1, the
    /// issuer (Auth0).
    pub client_assertion_audience: Option<usize>,
    /// OAuth 2.0 Form Post Response Mode: 1, the provider posts the code to the callback
    /// (`form_post`); 0, in the query (the default).
    pub response_mode: Option<usize>,
    /// RFC 9126: push the authorization parameters to the provider over the back channel
    /// and send the browser with only a `request_uri`. Pushed anyway when the provider
    /// advertises `require_pushed_authorization_requests`.
    pub pushed_authorization_requests: bool,
    /// Seals the login transaction and ID-token cookies: at least 32 bytes.
    pub secret: Option<String>,
    /// Several secrets, newest first, while one is rotated out.
    pub secrets: Vec<String>,
    /// Default `openid profile email offline_access`.
    pub scope: Option<String>,
    /// Auth0's `audience` parameter: the API the access token is for.
    pub audience: Option<String>,
    /// RFC 8707 `resource` indicator: the API the access token is for.
    pub resource: Option<String>,
    /// More authorization request parameters (`prompt`, `ui_locales`, `connection`, …).
    pub authorization_params: BTreeMap<String, String>,
    /// The app's public origin, or several (preview deployments): `https://app.example`.
    /// The callback and post-logout URLs are built on the one a request came to; a request
    /// to an unlisted origin cannot log in. Without it, only loopback requests (development)
    /// build them from the request's own origin.
    pub app_base_url: Option<OneOrMany>,
    /// The registered callback URL. Default: the app's origin + `<prefix>/callback`.
    pub redirect_uri: Option<String>,
    /// Where the provider sends the browser after logout. Default: the app's origin + `/`.
    pub post_logout_redirect_uri: Option<String>,
    /// The routes' prefix. Default `/auth`.
    pub prefix: Option<String>,
    /// A page for failed logins (`?error=<code>`); without it, 400 JSON.
    pub error_url: Option<String>,
    /// ID-token claims `<prefix>/session` returns beside `sub` and `exp`.
    pub session_claims: Vec<String>,
    /// Algorithms the provider may sign ID tokens with. Default `["RS256"]`.
    pub id_token_algorithms: Option<Vec<String>>,
    /// Token, revocation and discovery requests give up after this long. Default 5 s.
    pub timeout_duration: Option<Duration>,
    /// OpenID Connect Back-Channel Logout 1.0 at `<prefix>/backchannel-logout`.
    pub backchannel_logout: Option<BackchannelLogoutOptions>,
}

/// Back-channel logout: where ended sessions are recorded, and how often a gate asks.
#[derive(Debug, Clone)]
pub struct BackchannelLogoutOptions {
    /// 0, `shared`: the host's store (`refreshStore`: Redis, a Durable Object), so every
    /// instance learns of a logout; 1, `memory`: this instance alone (one server).
    pub store: usize,
    /// How long an instance trusts the store's "not ended" for a session. Default 10 s.
    pub recheck_duration: Option<Duration>,
    /// Give up on one store operation after this long. Default 1 s, at most 10.
    pub timeout_duration: Option<Duration>,
    /// When the store cannot answer: refuse the session as unavailable (false, `deny`, the
    /// default) or let it through unchecked (true, `allow`).
    pub allow_on_store_error: bool,
}

impl BackchannelLogoutOptions {
    #[inline(never)]
    fn read(path: &str, value: Value) -> Result<BackchannelLogoutOptions> {
        let mut f = Fields::new(path, value, "BackchannelLogoutOptions")?;
        let options = BackchannelLogoutOptions {
            store: f.required("store", |p, v| {
                choice(p, v, "BackchannelLogoutStore", &["shared", "memory"])
            })?,
            recheck_duration: f.opt("recheckDuration", duration)?,
            timeout_duration: f.opt("timeoutDuration", duration)?,
            allow_on_store_error: f.or("onStoreError", 0, |p, v| {
                choice(p, v, "OnStoreError", &["deny", "allow"])
            })? == 1,
        };
        f.finish().map(|()| options)
    }
}

impl LoginOptions {
    #[inline(never)]
    pub(super) fn read(path: &str, value: Value) -> Result<LoginOptions> {
        let mut f = Fields::new(path, value, "LoginOptions")?;
        let options = LoginOptions {
            issuer: f.required("issuer", string)?,
            client_id: f.required("clientId", string)?,
            client_secret: f.opt("clientSecret", string)?,
            token_endpoint_auth_method: f.opt("tokenEndpointAuthMethod", string)?,
            client_assertion_signing_key: f.opt("clientAssertionSigningKey", any)?,
            client_assertion_audience: f.opt("clientAssertionAudience", |p, v| {
                choice(p, v, "ClientAssertionAudience", &["endpoint", "issuer"])
            })?,
            response_mode: f.opt("responseMode", |p, v| {
                choice(p, v, "ResponseMode", &["query", "form_post"])
            })?,
            pushed_authorization_requests: f.or("pushedAuthorizationRequests", false, boolean)?,
            secret: f.opt("secret", string)?,
            secrets: f.or("secrets", Vec::new(), strings)?,
            scope: f.opt("scope", string)?,
            audience: f.opt("audience", string)?,
            resource: f.opt("resource", string)?,
            authorization_params: f.or("authorizationParams", BTreeMap::new(), string_map)?,
            app_base_url: f.opt("appBaseUrl", one_or_many)?,
            redirect_uri: f.opt("redirectUri", string)?,
            post_logout_redirect_uri: f.opt("postLogoutRedirectUri", string)?,
            prefix: f.opt("prefix", string)?,
            error_url: f.opt("errorUrl", string)?,
            session_claims: f.or("sessionClaims", Vec::new(), strings)?,
            id_token_algorithms: f.opt("idTokenAlgorithms", strings)?,
            timeout_duration: f.opt("timeoutDuration", duration)?,
            backchannel_logout: f.opt("backchannelLogout", BackchannelLogoutOptions::read)?,
        };
        f.finish().map(|()| options)
    }
}
