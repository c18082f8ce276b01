//! One error type for the whole engine. Every variant has a stable string code (named like
//! jose's `ERR_JWT_EXPIRED`) that logs, decisions and the JS `EdgeGateError` carry; the
//! human message may change between versions, the code may not.

use std::fmt;

/// Why a request was let through (or, for a guest page, sent on): the `OK_*` codes of a
/// [`Decision`](crate::Decision), as stable as the `ERR_*` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// No rule, or a `public` rule, matched.
    Public,
    /// A valid token, with the scopes the rule asks for.
    Authenticated,
    /// As `Authenticated`, with a token refreshed for this request.
    Refreshed,
    /// A guest page, visited without a valid session.
    Guest,
    /// A guest page visited with a valid session: on to `afterLoginUrl`.
    GuestHasSession,
    /// Hosted login: on to the provider's authorization endpoint.
    LoginStarted,
    /// Hosted login: back from the provider with a session.
    LoggedIn,
    /// Hosted login: the session is over (and the provider's, when it can end it).
    LoggedOut,
    /// Back-channel logout: the provider's logout token checked, the sessions it ends
    /// recorded.
    LogoutRecorded,
}

impl Passed {
    /// The stable code, `OK_*`.
    pub fn code(self) -> &'static str {
        match self {
            Passed::Public => "OK_PUBLIC",
            Passed::Authenticated => "OK_AUTHENTICATED",
            Passed::Refreshed => "OK_REFRESHED",
            Passed::Guest => "OK_GUEST",
            Passed::GuestHasSession => "OK_GUEST_HAS_SESSION",
            Passed::LoginStarted => "OK_LOGIN_STARTED",
            Passed::LoggedIn => "OK_LOGGED_IN",
            Passed::LoggedOut => "OK_LOGGED_OUT",
            Passed::LogoutRecorded => "OK_LOGOUT_RECORDED",
        }
    }
}

/// The checks of hosted login, each with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// The callback's `state` is missing, or no transaction cookie of this browser matches it.
    State,
    /// The transaction is older than its 10 minutes.
    Expired,
    /// RFC 9207: the callback's `iss` is not the issuer, or missing where it is required.
    Iss,
    /// The provider answered with `error=` (the user declined, ...).
    Provider,
    /// The token endpoint refused the code (replayed, expired, another client's) or
    /// answered something unusable.
    Exchange,
    /// The ID token failed OpenID Connect Core 3.1.3.7: signature, `iss`, `aud`, `azp`,
    /// `exp`, `iat` or `nonce`.
    IdToken,
    /// The provider's discovery document or endpoints could not be had.
    Unavailable,
    /// A login started by a prefetch or script, not a navigation: no transaction for it.
    Navigation,
    /// A method the route does not take.
    Method,
    /// A back-channel logout token that fails OpenID Connect Back-Channel Logout 1.0 §2.6:
    /// signature, `iss`, `aud`, `iat`, `exp`, `typ`, `events`, `sid`/`sub`, `nonce`, `jti`.
    LogoutToken,
    /// A back-channel logout token whose `jti` was seen before.
    LogoutReplayed,
}

/// Everything that can refuse a configuration or a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // --- configuration (raised when the gate is built) ---
    /// The options object does not have the documented shape.
    ConfigInvalid(String),
    /// A `match` pattern is not valid Next.js matcher syntax.
    ConfigPattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The algorithm list is empty, unknown, or names `none`.
    ConfigAlgorithms(String),
    /// A key could not be parsed, or is unfit for every allowed algorithm.
    ConfigKey(String),
    /// A key is cryptographically too weak (short HMAC secret, small or ROCA RSA modulus).
    ConfigWeakKey(String),
    /// `loginUrl`, `afterLoginUrl` or `basePath` is not a local path.
    ConfigUrl(String),

    // --- path ---
    /// The request path is ambiguous or hostile (encoded slash, NUL, `;`, bad UTF-8, ...).
    PathRejected(&'static str),
    /// A matcher hit the backtracking bound; the gate fails closed.
    MatcherLimit,

    // --- token extraction ---
    /// No token in the request.
    NoToken {
        /// The session cookie came under its plain name over https, where the gate reads
        /// only its `__Host-` name (`token.hostPrefix`): a setup that worked on plain http
        /// on loopback, deployed with a login route that writes the cookie itself.
        plain_cookie: bool,
    },
    /// The auth cookie appears more than once, or both whole and chunked.
    CookieAmbiguous,
    /// Chunked cookies have a gap, a junk suffix or too many parts.
    CookieChunks,
    /// The cookie header or the token exceeds its size cap.
    TooLarge(&'static str),
    /// More than one `Authorization` header, or a malformed bearer credential.
    AuthorizationInvalid,

    // --- token verification ---
    /// Not a compact JWS: segment count, base64url, JSON or shape.
    JwtInvalid(&'static str),
    /// A JWE, `crit`, `b64` or nested JWT: features this verifier refuses.
    JoseNotSupported(&'static str),
    /// The token's `alg` is not in the allow-list (this is where `none` ends up).
    AlgNotAllowed,
    /// No configured key fits the token's `kid` and `alg`.
    NoMatchingKey,
    /// No candidate key verifies the signature.
    SignatureInvalid,
    /// The token is past its `exp`.
    Expired,
    /// A claim (or the `typ` header) failed validation; mirrors jose's `claim`/`reason`.
    ClaimInvalid {
        /// The claim (or `typ`).
        claim: &'static str,
        /// jose's reason: `missing`, `invalid` or `check_failed`.
        reason: &'static str,
    },
    /// The token is valid but lacks a scope the rule requires.
    InsufficientScope,

    // --- remote keys ---
    /// The JWKS (or discovery) endpoint did not answer within the timeout.
    JwksTimeout,
    /// The endpoint answered something unusable: not JSON, too large, no usable key,
    /// a discovery document for another issuer.
    JwksInvalid(String),
    /// The endpoint could not be reached or answered an HTTP error.
    JwksUnavailable(String),
    /// A token's `iss` names none of the configured providers.
    IssuerUnknown,

    // --- request forgery ---
    /// A cookie-authenticated unsafe request from another origin.
    Csrf(&'static str),

    // --- sessions ---
    /// A session given to `setSession` (or returned by a refresh) cannot be stored.
    SessionInvalid(&'static str),
    /// A sealed session cookie (JWE) that does not parse.
    JweInvalid(&'static str),
    /// A sealed session cookie whose tag no configured secret matches.
    DecryptionFailed,
    /// A sealed session past the expiry its library gave it.
    SessionExpired,
    /// A valid session whose access token has expired (its library refreshes it).
    SessionTokenExpired,
    /// A valid session without a usable access token where the format keeps it.
    SessionNoToken(&'static str),
    /// The session was ended at the provider (back-channel logout): its `sid`, or its `sub`
    /// before it logged in again.
    SessionEnded,
    /// Whether the session was ended at the provider could not be learned (the shared store
    /// failed or was slow) and `login.backchannelLogout.onStoreError` is `deny`: answered as
    /// unavailable, the session kept.
    SessionUnchecked,
    /// The access token could not be refreshed; `failure` says what that means for the
    /// session and the answer.
    RefreshFailed {
        /// Why, for logs.
        reason: String,
        /// Refused for good, unreachable for now, or answered with nothing usable.
        failure: RefreshFailure,
    },
    /// Not a refusal: a refresh meant to be coordinated across instances ran in this one
    /// alone (the store failed, was slow, answered garbage or nothing in time). Carried by
    /// the decision that used its outcome, for logs.
    RefreshUncoordinated(&'static str),

    // --- hosted login ---
    /// A login route refused the request; the [`LoginError`] names the check.
    Login(LoginError, String),

    // --- the gate's own sealed values and randomness ---
    /// A value the gate sealed (a login transaction, the ID-token cookie, a stored refresh
    /// outcome) that does not open: tampered, truncated, another purpose or secret.
    SealInvalid,
    /// The host has no source of randomness (the gate never falls back to a weak one).
    RandomUnavailable,
}

/// Why a refresh failed, which decides what becomes of the session and the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshFailure {
    /// The provider refused the refresh token (HTTP 400 or 401): the session is over, its
    /// cookies cleared.
    Refused,
    /// The provider could not be reached or did not answer in time (a network error, a
    /// 5xx, too many refreshes in flight): the session is kept, the request answered as
    /// unavailable, and the refresh tried again seconds later.
    Unreachable,
    /// The provider answered, with nothing usable as a bearer (no access token, a DPoP
    /// one): the session is kept, the request refused.
    Unusable,
}

impl Error {
    /// The stable code, e.g. `ERR_JWT_EXPIRED`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ConfigInvalid(_) => "ERR_CONFIG_INVALID",
            Error::ConfigPattern { .. } => "ERR_CONFIG_PATTERN",
            Error::ConfigAlgorithms(_) => "ERR_CONFIG_ALGORITHMS",
            Error::ConfigKey(_) => "ERR_CONFIG_KEY",
            Error::ConfigWeakKey(_) => "ERR_CONFIG_WEAK_KEY",
            Error::ConfigUrl(_) => "ERR_CONFIG_URL",
            Error::PathRejected(_) => "ERR_PATH_REJECTED",
            Error::MatcherLimit => "ERR_MATCHER_LIMIT",
            Error::NoToken { .. } => "ERR_NO_TOKEN",
            Error::CookieAmbiguous => "ERR_COOKIE_AMBIGUOUS",
            Error::CookieChunks => "ERR_COOKIE_CHUNKS",
            Error::TooLarge(_) => "ERR_TOO_LARGE",
            Error::AuthorizationInvalid => "ERR_AUTHORIZATION_INVALID",
            Error::JwtInvalid(_) => "ERR_JWT_INVALID",
            Error::JoseNotSupported(_) => "ERR_JOSE_NOT_SUPPORTED",
            Error::AlgNotAllowed => "ERR_JOSE_ALG_NOT_ALLOWED",
            Error::NoMatchingKey => "ERR_JWKS_NO_MATCHING_KEY",
            Error::SignatureInvalid => "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            Error::Expired => "ERR_JWT_EXPIRED",
            Error::ClaimInvalid { .. } => "ERR_JWT_CLAIM_VALIDATION_FAILED",
            Error::InsufficientScope => "ERR_INSUFFICIENT_SCOPE",
            Error::JwksTimeout => "ERR_JWKS_TIMEOUT",
            Error::JwksInvalid(_) => "ERR_JWKS_INVALID",
            Error::JwksUnavailable(_) => "ERR_JWKS_UNAVAILABLE",
            Error::IssuerUnknown => "ERR_JWT_ISSUER_UNKNOWN",
            Error::Csrf(_) => "ERR_CSRF",
            Error::SessionInvalid(_) => "ERR_SESSION_INVALID",
            Error::JweInvalid(_) => "ERR_JWE_INVALID",
            Error::DecryptionFailed => "ERR_JWE_DECRYPTION_FAILED",
            Error::SessionExpired => "ERR_SESSION_EXPIRED",
            Error::SessionTokenExpired => "ERR_SESSION_TOKEN_EXPIRED",
            Error::SessionNoToken(_) => "ERR_SESSION_NO_TOKEN",
            Error::SessionEnded => "ERR_SESSION_ENDED",
            Error::SessionUnchecked => "ERR_SESSION_UNCHECKED",
            Error::RefreshFailed { .. } => "ERR_REFRESH_FAILED",
            Error::Login(e, _) => match e {
                LoginError::State => "ERR_LOGIN_STATE",
                LoginError::Expired => "ERR_LOGIN_EXPIRED",
                LoginError::Iss => "ERR_LOGIN_ISS",
                LoginError::Provider => "ERR_LOGIN_PROVIDER",
                LoginError::Exchange => "ERR_LOGIN_EXCHANGE",
                LoginError::IdToken => "ERR_LOGIN_ID_TOKEN",
                LoginError::Unavailable => "ERR_LOGIN_UNAVAILABLE",
                LoginError::Navigation => "ERR_LOGIN_NAVIGATION",
                LoginError::Method => "ERR_LOGIN_METHOD",
                LoginError::LogoutToken => "ERR_LOGOUT_TOKEN",
                LoginError::LogoutReplayed => "ERR_LOGOUT_REPLAYED",
            },
            Error::RefreshUncoordinated(_) => "ERR_REFRESH_UNCOORDINATED",
            Error::SealInvalid => "ERR_SEALED_INVALID",
            Error::RandomUnavailable => "ERR_RANDOM_UNAVAILABLE",
        }
    }

    /// True when the keys could not be obtained: the provider, not the token, is at fault.
    pub fn is_keys_unavailable(&self) -> bool {
        matches!(
            self,
            Error::JwksTimeout | Error::JwksInvalid(_) | Error::JwksUnavailable(_)
        )
    }

    /// True when the provider, not the request, is at fault: its keys cannot be had, or its
    /// token endpoint could not be reached to refresh an expired token. Such a request is
    /// answered as unavailable (`keysUnavailableStatus`), its session kept: a 401 or a
    /// login redirect would tell a signed-in user they are not.
    pub fn is_provider_unavailable(&self) -> bool {
        self.is_keys_unavailable()
            || matches!(
                self,
                Error::RefreshFailed {
                    failure: RefreshFailure::Unreachable,
                    ..
                } | Error::SessionUnchecked
            )
    }

    /// True for errors raised while building the gate.
    pub fn is_config(&self) -> bool {
        self.code().starts_with("ERR_CONFIG_")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigInvalid(m)
            | Error::ConfigAlgorithms(m)
            | Error::ConfigKey(m)
            | Error::ConfigWeakKey(m)
            | Error::ConfigUrl(m) => f.write_str(m),
            Error::ConfigPattern { pattern, reason } => {
                write!(f, "invalid matcher pattern {pattern:?}: {reason}")
            }
            Error::PathRejected(why) => write!(f, "request path rejected: {why}"),
            Error::MatcherLimit => f.write_str("matcher exceeded its backtracking bound"),
            Error::NoToken {
                plain_cookie: false,
            } => f.write_str("no token in the request"),
            Error::NoToken { plain_cookie: true } => f.write_str(
                "no token in the request: the session cookie came under its plain name over \
                 https, where the gate reads only its __Host- name (token.hostPrefix); store \
                 the session with setSession, which names it so",
            ),
            Error::CookieAmbiguous => f.write_str("the auth cookie is present more than once"),
            Error::CookieChunks => f.write_str("the chunked auth cookie is malformed"),
            Error::TooLarge(what) => write!(f, "{what} exceeds its size limit"),
            Error::AuthorizationInvalid => f.write_str("the Authorization header is malformed"),
            Error::JwtInvalid(why) => write!(f, "invalid JWT: {why}"),
            Error::JoseNotSupported(what) => write!(f, "unsupported JOSE feature: {what}"),
            Error::AlgNotAllowed => f.write_str("\"alg\" is not allowed"),
            Error::NoMatchingKey => f.write_str("no key matches the token's kid and alg"),
            Error::SignatureInvalid => f.write_str("signature verification failed"),
            Error::Expired => f.write_str("\"exp\" claim timestamp check failed"),
            Error::ClaimInvalid { claim, reason } => write!(f, "\"{claim}\" claim {reason}"),
            Error::InsufficientScope => f.write_str("the token lacks a required scope"),
            Error::JwksTimeout => f.write_str("the key endpoint timed out"),
            Error::JwksInvalid(why) => write!(f, "unusable key endpoint answer: {why}"),
            Error::JwksUnavailable(why) => write!(f, "keys unavailable: {why}"),
            Error::IssuerUnknown => f.write_str("the token's issuer is not a configured provider"),
            Error::Csrf(why) => write!(f, "cross-site request refused: {why}"),
            Error::SessionInvalid(why) => write!(f, "session cannot be stored: {why}"),
            Error::JweInvalid(why) => write!(f, "invalid sealed session: {why}"),
            Error::DecryptionFailed => {
                f.write_str("the sealed session opens with no configured secret")
            }
            Error::SessionExpired => f.write_str("the session has expired"),
            Error::SessionTokenExpired => {
                f.write_str("the session's access token has expired (its library refreshes it)")
            }
            Error::SessionNoToken(why) => write!(f, "the session holds no usable token: {why}"),
            Error::SessionEnded => f.write_str("the session was ended at the provider"),
            Error::SessionUnchecked => f.write_str(
                "whether the session was ended at the provider is unknown: the store failed",
            ),
            Error::RefreshFailed { reason, .. } => write!(f, "refresh failed: {reason}"),
            Error::Login(_, why) => write!(f, "login refused: {why}"),
            Error::RefreshUncoordinated(why) => {
                write!(f, "refreshed without coordination across instances: {why}")
            }
            Error::SealInvalid => f.write_str("a sealed value does not open"),
            Error::RandomUnavailable => f.write_str("the host has no source of randomness"),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
