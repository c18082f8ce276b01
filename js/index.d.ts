/** Stable error codes, as on `EdgeGateError.code` and `Decision.code`. */
export type ErrorCode =
  | "ERR_CONFIG_INVALID" | "ERR_CONFIG_PATTERN" | "ERR_CONFIG_ALGORITHMS" | "ERR_CONFIG_KEY"
  | "ERR_CONFIG_WEAK_KEY" | "ERR_CONFIG_URL" | "ERR_PATH_REJECTED" | "ERR_MATCHER_LIMIT"
  | "ERR_NO_TOKEN" | "ERR_COOKIE_AMBIGUOUS" | "ERR_COOKIE_CHUNKS" | "ERR_TOO_LARGE"
  | "ERR_AUTHORIZATION_INVALID" | "ERR_JWT_INVALID" | "ERR_JOSE_NOT_SUPPORTED"
  | "ERR_JOSE_ALG_NOT_ALLOWED" | "ERR_JWKS_NO_MATCHING_KEY"
  | "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" | "ERR_JWT_EXPIRED"
  | "ERR_JWT_CLAIM_VALIDATION_FAILED" | "ERR_INSUFFICIENT_SCOPE"
  | "ERR_JWKS_TIMEOUT" | "ERR_JWKS_INVALID" | "ERR_JWKS_UNAVAILABLE" | "ERR_JWT_ISSUER_UNKNOWN"
  | "ERR_CSRF" | "ERR_SESSION_INVALID" | "ERR_REFRESH_FAILED"
  | "ERR_JWE_INVALID" | "ERR_JWE_DECRYPTION_FAILED" | "ERR_SESSION_EXPIRED"
  | "ERR_SESSION_TOKEN_EXPIRED" | "ERR_SESSION_NO_TOKEN"
  | "ERR_LOGIN_STATE" | "ERR_LOGIN_EXPIRED" | "ERR_LOGIN_ISS" | "ERR_LOGIN_PROVIDER"
  | "ERR_LOGIN_EXCHANGE" | "ERR_LOGIN_ID_TOKEN" | "ERR_LOGIN_UNAVAILABLE"
  | "ERR_LOGIN_NAVIGATION" | "ERR_LOGIN_METHOD" | "ERR_SEALED_INVALID" | "ERR_RANDOM_UNAVAILABLE"
  | "ERR_REFRESH_UNCOORDINATED" | "ERR_LOGOUT_TOKEN" | "ERR_LOGOUT_REPLAYED" | "ERR_SESSION_ENDED"
  | "ERR_SESSION_UNCHECKED";

/** Codes of decisions that let the request through. */
export type OkCode =
  | "OK_PUBLIC" | "OK_AUTHENTICATED" | "OK_REFRESHED" | "OK_GUEST" | "OK_GUEST_HAS_SESSION"
  | "OK_LOGIN_STARTED" | "OK_LOGGED_IN" | "OK_LOGGED_OUT" | "OK_LOGOUT_RECORDED";

/** Back-channel logout (`login.backchannelLogout`). */
export interface BackchannelLogoutOptions {
  /**
   * Where the ended sessions are recorded: `"shared"`, the host's store (the `refreshStore`
   * host option: `redisRefreshStore(client)`, `durableRefreshStore(env.NS)`), so that every
   * instance learns of a logout; or `"memory"`, this instance alone (one server).
   */
  store: "shared" | "memory";
  // How long an instance trusts the store's "not ended" for a session before it reads again
  // (two reads per session and interval; the instance the logout reached knows at once).
  /** Trust a "not ended" this long. Default `"10s"`, at most `"1h"`. */
  recheckDuration?: Duration;
  /** Give up on one store operation after this long. Default `"1s"`, at most `"10s"`. */
  timeoutDuration?: Duration;
  /**
   * When the store cannot answer whether a session was ended: `"deny"` (default) answers it
   * as unavailable (503 `ERR_SESSION_UNCHECKED`, the session kept for later); `"allow"` lets
   * it through unchecked.
   */
  onStoreError?: "deny" | "allow";
}

/** Thrown for bad options (`ERR_CONFIG_*`). */
export declare class EdgeGateError extends Error {
  readonly name: "EdgeGateError";
  readonly code: ErrorCode;
}

export type Algorithm =
  | "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512"
  | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA";

/** Seconds, or a duration such as `"60s"`, `"5 minutes"`, `"2h"`, `"1d"`. */
export type Duration = number | string;

export interface JWK { kty: string; kid?: string; alg?: string; use?: string; key_ops?: string[]; [member: string]: unknown }

/**
 * A verification key: a PEM public key (SPKI RSA / P-256 / Ed25519, or PKCS#1 RSA); any other
 * string is an HMAC secret (UTF-8, at least 32 bytes); `{ secret, encoding }` for binary
 * secrets; a JWK; a JWKS; or an array of these.
 */
export type Keys =
  | string
  | { secret: string; encoding?: "utf8" | "base64url" | "base64" }
  | JWK
  | { keys: JWK[] }
  | Array<string | { secret: string; encoding?: "utf8" | "base64url" | "base64" } | JWK | { keys: JWK[] }>;

export type RuleKind = "page" | "api" | "guest" | "public";

export interface Rule {
  /** Next.js `matcher` syntax, e.g. `"/dashboard/:path*"`. */
  match: string | string[];
  /**
   * `page`: redirect to login; `api`: 401/403 JSON; `guest`: bounce signed-in visitors;
   * `public`: open to all (an exception before a wider rule, e.g. `/api/login`).
   * `page` and `api` match every spelling Next might route to the source (any case,
   * `%xx`, `.json`, `.rsc`, `/_next/data/…`, trailing `/`); `guest` and `public` match only
   * the source as written, from a canonical target, else the next rule decides.
   */
  kind: RuleKind;
  /** Scopes the token must all carry (from `scope`, `scp` or `permissions`). */
  scopes?: string[];
  /**
   * Where requests this rule lets through go: an absolute http(s) URL (no userinfo, query
   * or fragment; a path prefix is kept) or a name in `upstreams`. The decision's
   * `destination` is it plus the judged path, canonically encoded, and the query.
   */
  upstream?: string;
}

/**
 * How remote keys are fetched and cached. Durations are seconds or strings like `"10m"`
 * (not jose's milliseconds: values above each bound are refused, which catches them).
 */
export interface RemoteOptions {
  /** Keys are fresh this long; the next request after it refetches. Default `"10m"`, at most `"1d"`. */
  cacheMaxAge?: Duration;
  /** Least time between fetches: retries after failures, refetches for unknown `kid`s. Default `"30s"`, at most `"1h"`. */
  cooldownDuration?: Duration;
  /** Fetch timeout. Default `"5s"`, at most `"1m"`. */
  timeoutDuration?: Duration;
  /** While the provider fails, the last good keys keep working this long past `cacheMaxAge`. Default `"1h"`, at most `"7d"`. */
  staleIfError?: Duration;
  /** Largest accepted response body. Default 262144 (256 KiB). */
  maxResponseBytes?: number;
  /** Sent as `User-Agent` (WAFs block header-less fetches). Default `"edgegate/<version>"`. */
  userAgent?: string;
}

export interface VerifyOptions {
  /** Allowed algorithms; required. `none` is always refused. */
  algorithms: Algorithm[];
  /** Static keys. Give `keys`, or `jwksUri`, or neither (OIDC discovery from `issuer`). */
  keys?: Keys;
  /** The provider's JWKS URL (`https`, or `http` on loopback), fetched and cached. */
  jwksUri?: string;
  /**
   * Accepted `iss` values, compared exactly. With neither `keys` nor `jwksUri`, the keys
   * are found by OIDC discovery (`<issuer>/.well-known/openid-configuration`).
   */
  issuer?: string | string[];
  /** The token's `aud` must contain one of these. */
  audience?: string | string[];
  /** Leeway for `exp`, `nbf` and `iat`. Default `0`, at most `"1h"`. */
  clockTolerance?: Duration;
  /** Largest age, measured from `iat` (which then becomes required). */
  maxTokenAge?: Duration;
  /** Claims that must be present. */
  requiredClaims?: string[];
  /** Expected `typ` header, e.g. `"at+jwt"` (RFC 9068). */
  typ?: string;
  /** Refuse tokens without `exp`. Default true. */
  requireExp?: boolean;
  /**
   * Verified tokens remembered per gate so repeat requests skip the signature check (never
   * the claim checks). A hit needs the whole token equal; least recently used evicted.
   * Default 1000; 0 turns the cache off.
   */
  cacheSize?: number;
  /**
   * On JS hosts, check RSA, ECDSA and Ed25519 signatures with the host's native crypto
   * (node:crypto on Node, else WebCrypto; see the host option `crypto`) rather than in wasm;
   * the engine still chooses the algorithm parameters and keys and makes the decision. HMAC
   * stays in the engine, where it is faster. Default true. The npm package's engine has no
   * RSA, ECDSA or Ed25519 of its own (only a build with the `rust-crypto` feature has), so
   * there `false` is a configuration error.
   */
  webCrypto?: boolean;
  /** Remote key cache tuning (`jwksUri` or discovery). */
  remote?: RemoteOptions;
}

export interface TokenOptions {
  /** Auth cookie name (chunks `name.0`… are joined). Default `"token"`; `null` disables. */
  cookie?: string | null;
  /** Refresh-token cookie name, never forwarded upstream. Default `"refreshToken"`. */
  refreshCookie?: string | null;
  /**
   * Name the cookies `__Host-<name>` on every request except plain http on loopback: only
   * this host, over TLS, can set such a cookie, so a sibling subdomain cannot plant one.
   * Default true.
   */
  hostPrefix?: boolean;
  /** Lifetime of the refresh cookie. Default `"30d"`. */
  refreshMaxAge?: Duration;
  /** Accept `Authorization: Bearer`. Default true. */
  header?: boolean;
  /** Which source wins when both carry a token. Default `"cookie"`. */
  precedence?: "cookie" | "header";
  /** Most cookie chunks (`token.0`, `token.1`, …) read or written. Default 10. */
  maxChunks?: number;
  /** Longest `Cookie` header read; no session is written past it. Default 16384. */
  maxCookieHeaderBytes?: number;
  /** Longest token read or written. Default 12288. */
  maxTokenBytes?: number;
}

export interface UpstreamOptions {
  /** Remove the auth cookie from the forwarded `Cookie` header. Default true. */
  stripAuthCookie?: boolean;
  /** Claims forwarded as headers, e.g. `{ sub: "x-auth-sub" }`; client copies are dropped. */
  claimHeaders?: Record<string, string>;
  /** More client headers to drop before forwarding. */
  stripHeaders?: string[];
}

/**
 * A browser attaches the auth cookie to cross-site form posts, so cookie-authenticated
 * requests with unsafe methods (anything but GET, HEAD, OPTIONS, TRACE) must carry
 * `Sec-Fetch-Site: same-origin` (or `none`), or an `Origin` equal to the request's own or
 * allowed here; otherwise 403 `ERR_CSRF`. Bearer-header requests are not affected.
 */
export interface CsrfOptions {
  /** Default true. */
  enabled?: boolean;
  /** Other origins allowed, exactly as browsers send them: `"https://admin.example"`. */
  allowedOrigins?: string[];
}

/**
 * Refreshing access tokens with the refresh-token cookie (RFC 6749 §6) when the access
 * token is gone, expired, or expires within `window`. Concurrent requests with the same
 * refresh token share one call; its outcome is reused for `grace` by requests still holding
 * the old refresh token. A refused refresh (HTTP 400/401) clears both cookies.
 */
export interface RefreshOptions {
  /** Required without `login` (whose provider's discovery names it); refused beside it. */
  tokenEndpoint?: string;
  /** Required without `login` (whose client refreshes); refused beside it. */
  clientId?: string;
  /** Confidential client (client_secret_basic); omit for a public client. */
  clientSecret?: string;
  /** Default `"1m"`, at most `"1h"`. */
  window?: Duration;
  /** Default `"30s"`, at most `"10m"`. */
  grace?: Duration;
  /** Default `"5s"`, at most `"1m"`. */
  timeoutDuration?: Duration;
  /**
   * One token-endpoint call per refresh token across isolates and servers, through the
   * host's `refreshStore` (Redis, a Durable Object, an HTTP KV). Without it, one per
   * isolate: a provider with rotation and reuse detection revokes the grant when two
   * instances spend the same refresh token.
   */
  coordination?: CoordinationOptions;
}

/**
 * Refresh coordination: a request claims the refresh of its refresh token in the store;
 * the owner calls the token endpoint and publishes the outcome, sealed; the others wait
 * for it. The store's keys are keyed hashes of refresh tokens and its values are sealed
 * with `secret`: nothing in it is a usable token. A store that fails, is slow or answers
 * garbage never denies a request: the refresh runs in the isolate alone, and the decision's
 * `message` says why (`ERR_REFRESH_UNCOORDINATED`, the code unchanged).
 */
export interface CoordinationOptions {
  /** At least 32 bytes, the same on every instance (`openssl rand -base64 32`). */
  secret?: string;
  /** Several secrets, newest first, while one is rotated out. */
  secrets?: string[];
  /** How long a request waits for a refresh claimed elsewhere. Default `"6s"`, at most `"30s"`. */
  waitDuration?: Duration;
  /** How long a claim holds if its owner dies, longer than `refresh.timeoutDuration`. Default `"10s"`, at most `"1m"`. */
  claimTtl?: Duration;
  /** One store operation's timeout. Default `"1s"`, at most `"10s"`. */
  timeoutDuration?: Duration;
}

/**
 * An auth library's session cookie as the token's source, instead of a raw JWT cookie. The
 * gate opens it as the library does and verifies the access token inside with `verify`.
 * The library refreshes its own sessions: `refresh` is refused beside it, and an expired
 * access token in a valid session answers as no session (`ERR_SESSION_TOKEN_EXPIRED`).
 */
export interface SessionOptions {
  /**
   * - `"authjs"`: Auth.js / next-auth 5 (`authjs.session-token`, `__Secure-` on https;
   *   A256CBC-HS512 or A256GCM; several secrets told apart by `kid`).
   * - `"next-auth"`: next-auth 4 (`next-auth.session-token`; A256GCM).
   * - `"auth0"`: `@auth0/nextjs-auth0` 4 (`__session`, chunks `__session__0`…;
   *   `tokenSet.accessToken`, refused when `tokenSet.expiresAt` passed or DPoP-bound).
   * - `"auth0-v3"`: `@auth0/nextjs-auth0` 3 (`appSession`; expiry in the JWE header).
   * - `"kinde"`: Kinde's SDK (`access_token`, chunks `access_token1`…; a raw JWT: no secret).
   */
  format: "authjs" | "next-auth" | "auth0" | "auth0-v3" | "kinde";
  /** The library's secret (`AUTH_SECRET`, `NEXTAUTH_SECRET`, `AUTH0_SECRET`), ≥ 32 bytes. */
  secret?: string;
  /** Several secrets, newest first, while one is rotated out. */
  secrets?: string[];
  /** Where the session keeps the token, dot-separated. Default `"accessToken"` (`"tokenSet.accessToken"` for `auth0`). */
  tokenPath?: string;
  /** The cookie's name when the app renamed it (the same on http and https). */
  cookie?: string;
  /**
   * `false`: forward the token as the session holds it, authenticated by the session's
   * encryption alone, for opaque tokens (give no `verify` then; claim headers and scopes
   * come from the session's own claims). Default `true`: `verify` checks the token.
   */
  verifyToken?: boolean;
}

/**
 * Hosted login: the gate signs visitors in at an OpenID Connect provider (authorization
 * code + PKCE) and answers `<prefix>/login?returnTo=…`, `/callback`, `/logout` (POST, or a
 * same-origin GET) and `/session` itself. Page rules without a session redirect to its
 * login route. The session is the gate's usual cookies plus a sealed ID-token cookie.
 */
/** A private JSON Web Key (RFC 7517): `kty`, its public members and `d`. */
export type PrivateJwk = { kty: string; [member: string]: unknown };

export interface LoginOptions {
  /** The provider's issuer; its endpoints come from OIDC discovery. */
  issuer: string;
  clientId: string;
  /** A confidential client's secret; omit for a public client. */
  clientSecret?: string;
  /**
   * Default `"client_secret_basic"` with a secret, `"private_key_jwt"` with a
   * `clientAssertionSigningKey`, `"none"` without either.
   */
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none";
  /**
   * `private_key_jwt` (RFC 7523): the client's private JWK, or its JSON text (an environment
   * variable). RSA ≥ 2048 bits (RS256, or its `alg`: RS/PS 256–512), EC P-256/384/521
   * (ES256/384/512) or Ed25519 (EdDSA). The host's WebCrypto signs a fresh assertion for
   * each token, refresh and revocation request; the key is never logged or shown in errors.
   */
  clientAssertionSigningKey?: PrivateJwk | string;
  /**
   * The assertions' `aud`: the URL of the endpoint each is sent to (default: the token
   * endpoint, the revocation endpoint for revocation), or the issuer (Auth0).
   */
  clientAssertionAudience?: "endpoint" | "issuer";
  /**
   * Pushed authorization requests (RFC 9126, FAPI 2.0): the login posts its parameters to the
   * provider's `pushed_authorization_request_endpoint`, authenticated as the client, and
   * sends the browser with only `client_id` and the `request_uri` it got back. A provider
   * without that endpoint fails the login (never a silent fallback). Pushed anyway when the
   * provider advertises `require_pushed_authorization_requests`. Default `false`.
   */
  pushedAuthorizationRequests?: boolean;
  /**
   * `"form_post"` (OAuth 2.0 Form Post Response Mode, which some tenants mandate): the
   * provider has the browser post the code to the callback instead of putting it in the URL,
   * and the callback takes only that POST. The transaction cookie is then `SameSite=None;
   * Secure`, so that the cross-site POST carries it. Default `"query"`.
   */
  responseMode?: "query" | "form_post";
  /**
   * OpenID Connect Back-Channel Logout 1.0: the gate answers `POST <prefix>/backchannel-logout`
   * (register `<origin><prefix>/backchannel-logout` as the client's `backchannel_logout_uri`),
   * checks the provider's logout token, and refuses every session it ends
   * (`ERR_SESSION_ENDED`: a page goes to the login, an API answers 401, the cookies go).
   * With it, a cookie session must carry the ID-token cookie the gate's login sealed (who
   * logged in): token cookies without it are refused as ended.
   */
  backchannelLogout?: BackchannelLogoutOptions;
  /** Seals the transaction and ID-token cookies: ≥ 32 bytes (`openssl rand -base64 32`). */
  secret?: string;
  /** Several secrets, newest first, while one is rotated out. */
  secrets?: string[];
  /** Default `"openid profile email offline_access"`; must include `openid`. */
  scope?: string;
  /** Auth0's (and Kinde's) `audience`: the API the access token is for. */
  audience?: string;
  /** RFC 8707 `resource`: the API the access token is for. */
  resource?: string;
  /** More authorization parameters (`prompt`, `ui_locales`, `connection`, `organization`, …). */
  authorizationParams?: Record<string, string>;
  /**
   * The app's public origin, or several (preview deployments), e.g. `"https://app.example"`.
   * The callback and post-logout URLs are built on the one a request came to; a request to
   * an unlisted origin cannot log in (`ERR_LOGIN_UNAVAILABLE`). Without it (and without
   * `redirectUri`), only loopback requests (development) may log in: the URLs are never
   * built from a `Host` or `X-Forwarded-Host` a client chose.
   */
  appBaseUrl?: string | string[];
  /** The registered callback URL. Default: the app's origin (`appBaseUrl`) + `<prefix>/callback`. */
  redirectUri?: string;
  /** Where the provider sends the browser after logout. Default: the app's origin + `/`. */
  postLogoutRedirectUri?: string;
  /** The routes' prefix. Default `"/auth"`. */
  prefix?: string;
  /** A page for failed logins (`?error=<code>`); without it, 400 JSON `{ error, code }`. */
  errorUrl?: string;
  /** ID-token claims `<prefix>/session` returns beside `sub` and `exp`. */
  sessionClaims?: string[];
  /** Algorithms ID tokens may be signed with. Default `["RS256"]`. */
  idTokenAlgorithms?: Algorithm[];
  /** Discovery, token and revocation requests give up after this long. Default `"5s"`, at most `"1m"`. */
  timeoutDuration?: Duration;
}

export interface Options {
  /** First match wins. Default: `/dashboard/:path*` page, `/api/:path*` api. */
  rules?: Rule[];
  token?: TokenOptions;
  /** One provider. Give `verify` or `providers`. */
  verify?: VerifyOptions;
  /**
   * Several providers, each with one `issuer`: a token goes to the provider its `iss`
   * names and is fully verified there; other issuers are refused (`ERR_JWT_ISSUER_UNKNOWN`).
   */
  providers?: Array<VerifyOptions & { issuer: string }>;
  /**
   * Status when the provider is unavailable (its keys cannot be fetched, or its token
   * endpoint cannot be reached to refresh an expired token): 503 (default) or 401 (pages:
   * login redirect).
   */
  keysUnavailableStatus?: 503 | 401;
  /**
   * Where pages send visitors without a valid token. Default `"/login"`, or the sign-in
   * page of the `session` library (`"/api/auth/signin"` for Auth.js and next-auth,
   * `"/auth/login"` for nextjs-auth0 4, `"/api/auth/login"` for nextjs-auth0 3 and Kinde).
   */
  loginUrl?: string;
  /**
   * Query parameter carrying the original path. Default `"returnTo"`, or the `session`
   * library's (`"callbackUrl"` for Auth.js and next-auth, `"post_login_redirect_url"` for
   * Kinde).
   */
  returnToParam?: string;
  /** Where guest pages send signed-in visitors. Default `"/"`. */
  afterLoginUrl?: string;
  upstream?: UpstreamOptions;
  csrf?: CsrfOptions;
  refresh?: RefreshOptions;
  /** Hosted login at an OpenID Connect provider. */
  login?: LoginOptions;
  /**
   * Read the token from Auth.js, next-auth, nextjs-auth0 or Kinde's session cookie. The
   * library's own routes (`/api/auth/signin`, `/api/auth/callback/:provider`, …; `/auth/login`,
   * … for nextjs-auth0 4; the README lists them) are then left open, before the rules, and its
   * sign-in page and return parameter are the defaults of `loginUrl` and `returnToParam`.
   */
  session?: SessionOptions;
  /** Next's `basePath`. */
  basePath?: string;
  /** Next's i18n locales. */
  locales?: string[];
  /** Named upstreams for rules' `upstream`: `{ backend: "https://api.internal" }`. */
  upstreams?: Record<string, string>;
}

export type HeaderList = Array<[string, string]>;

interface DecisionBase {
  code: OkCode | ErrorCode;
  /** Index of the matched rule. */
  rule?: number;
  kind?: RuleKind;
  tokenSource?: "cookie" | "header";
  /** Why, for logs only. */
  message?: string;
  /** `Set-Cookie` values to add to the response (a refreshed or cleared session). */
  setCookies?: string[];
  /**
   * The claims of the token the gate verified (its JWT payload), decoded on first read
   * (nothing is decoded for a decision whose claims nobody reads). Only on a decision that
   * authenticated the request (`OK_AUTHENTICATED`, `OK_REFRESHED`); undefined elsewhere,
   * and for a token that is not a JWT.
   */
  readonly claims?: Claims;
}

/** A verified token's claims, as jose's `JWTPayload` types them. */
export interface Claims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  scope?: string;
  [claim: string]: unknown;
}

export type Decision =
  | (DecisionBase & {
      action: "continue";
      /** The request headers to forward, exactly (computed from the request on first read). */
      requestHeaders: HeaderList;
      /**
       * How `requestHeaders` differ from the request's: every value of each `removed` name
       * dropped (names lowercase), then each of `added` appended.
       */
      headerChanges: { removed: string[]; added: HeaderList };
      /**
       * Nothing changes: no header, no route, no cookie. Answer with the host's bare
       * pass-through (`NextResponse.next()`, `next()`, `fetch(request)`).
       */
      passThrough?: true;
      /** The matched rule's upstream URL for this request, at the judged path. */
      destination?: string;
      /**
       * The path (and query) in this app to rewrite to: an exception's judged path, since a
       * host may show the gate another spelling than it routes (Next strips `.rsc`).
       * Neither field: on into the app as it is.
       */
      rewrite?: string;
    })
  | (DecisionBase & { action: "redirect"; status: 307; location: string })
  | (DecisionBase & { action: "respond"; status: number; headers: HeaderList; body: string });

export interface RequestView {
  method?: string;
  url: string;
  headers?: Headers | HeaderList | Map<string, string> | Record<string, string | string[]>;
}

export interface Session {
  accessToken: string;
  refreshToken?: string;
  /** Seconds since the epoch; read from the access token's `exp` when omitted. */
  expiresAt?: number;
}

export interface Gate {
  decide(request: RequestView | Request): Promise<Decision>;
  /**
   * How `request` would be decided, step by step (normalized path, rule, token source,
   * CSRF, each JWS and claim check, scopes, route): the decision's own steps, so `code` is
   * the code `decide` answers (`null` when a key fetch or a refresh would come first). For
   * debugging: fetches nothing, changes nothing, and never goes into a response unless you
   * put it there.
   */
  explain(request: RequestView | Request): Promise<Trace>;
  /**
   * `Set-Cookie` values storing a session, for a response to a request at `url`: one cookie,
   * or chunks `token.0`, `token.1`, … for a token one cookie cannot hold. Pass the request's
   * `Cookie` header so only the chunks it holds are removed (without it, every possible one).
   */
  sessionCookies(url: string, session: Session, cookie?: string | null): string[];
  /** `Set-Cookie` values removing the session, chunks included. */
  clearSessionCookies(url: string, cookie?: string | null): string[];
}

interface HasHeaders { headers: { append(name: string, value: string): void } }

/** The request a session is written for: its URL (the scheme) and cookies (stale chunks). */
interface SessionRequest {
  url: string;
  headers?: { get(name: string): string | null } | { cookie?: string };
}

/**
 * Stores a session on `response`: HttpOnly, SameSite=Lax, Path=/ cookies named as the gate
 * reads them (`__Host-` and Secure except on plain http on loopback), Max-Age from the
 * token's lifetime; a token one cookie cannot hold in chunks `token.0`, `token.1`, ….
 * Pass the gate's `options`, and the `request` (a Fetch `Request`, or Node's and Express's
 * `req`, read as edgegate/node reads it) so the scheme is known (without it the cookies are
 * Secure) and only the chunks it holds are removed.
 */
export declare function setSession<R extends HasHeaders>(
  response: R, session: Session, init: { options: Options; request?: SessionRequest },
): Promise<R>;

/** Removes the session cookies (chunks included) on `response`. */
export declare function clearSession<R extends HasHeaders>(
  response: R, init: { options: Options; request?: SessionRequest },
): Promise<R>;

/** Persists fetched keys where memory does not outlive a request (Workers KV, Cache API). */
export interface KeyStore {
  get(key: string): Promise<string | null | undefined>;
  put(key: string, value: string): Promise<unknown>;
}

/**
 * The shared store of `refresh.coordination`: strings in, strings out. Keys are
 * `edgegate:refresh:<hash>`; values the claim marker or a sealed outcome.
 */
export interface RefreshStore {
  /** Sets `key` to `value` for `ttlMs` if it is absent: resolves null when it did, else the value there. */
  claim(key: string, value: string, ttlMs: number): Promise<string | null | undefined>;
  /** Sets `key` to `value` for `ttlMs`, whatever it holds. */
  publish(key: string, value: string, ttlMs: number): Promise<unknown>;
  /** The value of `key`, or null. */
  read(key: string): Promise<string | null | undefined>;
  /** Deletes `key`. */
  release(key: string): Promise<unknown>;
  /**
   * Optional: resolves with `key`'s value once it no longer holds `value` (null once
   * absent), or with what it holds after `waitMs`. Without it the gate polls `read`.
   */
  wait?(key: string, value: string, waitMs: number): Promise<string | null | undefined>;
}

/** Sends one Redis command (`["SET", key, value, "NX", "PX", "10000"]`) and resolves with its reply. */
export type RedisCommand = (args: string[]) => Promise<unknown>;

/** node-redis: `createClient()` from `redis` (connected on first use if it is not yet). */
export interface NodeRedisClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** ioredis: `new Redis()` or `new Cluster()` from `ioredis`. */
export interface IORedisClient {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** @upstash/redis: `new Redis({ url, token })` or `Redis.fromEnv()`, over HTTPS (Edge runtimes). */
export interface UpstashRedisClient {
  set(key: string, value: string, options: { nx: true; px: number } | { px: number }): Promise<unknown>;
  get(key: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/**
 * A `RefreshStore` on Redis (`SET NX PX`, `SET PX`, `GET`, `DEL`) through the app's own
 * client: node-redis, ioredis, @upstash/redis, or a function sending one command. A client
 * without an `error` listener gets one that logs (a Redis restart must not crash the server).
 */
export declare function redisRefreshStore(client: NodeRedisClient | IORedisClient | UpstashRedisClient | RedisCommand): RefreshStore;

export interface HostOptions {
  /** Fixes the clock (seconds since the epoch), for tests. */
  now?: number;
  /** Replaces `globalThis.fetch` for remote keys. */
  fetch?: typeof globalThis.fetch;
  /** Persists fetched keys; a cold isolate then starts from the stored copy. */
  store?: KeyStore;
  /** The shared store of `refresh.coordination`. */
  refreshStore?: RefreshStore;
  /**
   * One structured entry per decision: `{ edgegate: code, action, status, method, path,
   * rule, kind, tokenSource, reason, ms }` (no tokens, cookies or query strings). `true`
   * logs JSON lines with console.log; a function receives the entries.
   */
  log?: true | ((entry: LogEntry) => void);
  /**
   * How RSA and ECDSA signatures are checked when `verify.webCrypto` is on: `"node"`
   * (node:crypto, synchronous) or `"webcrypto"`. By default node:crypto where the host has
   * `process.getBuiltinModule` (Node 20.16+, 22.3+; Next `proxy.ts`), else WebCrypto (Edge
   * middleware, Workers, browsers).
   */
  crypto?: "node" | "webcrypto";
  /**
   * Draws a refusal your way: a JSON 401 of your own, a login page instead of the redirect.
   * Called with each refusing decision (an `ERR_*` code; never the gate's own login and
   * logout answers) and the request; what it returns is the response, with the decision's
   * `Set-Cookie` added; `undefined` keeps the gate's. It decides how a refusal looks, never
   * whether: the request reaches neither your handlers nor an upstream, whatever it returns.
   */
  render?: (
    refusal: Extract<Decision, { action: "redirect" | "respond" }>,
    request: Request,
  ) => Response | undefined | Promise<Response | undefined>;
}

export interface LogEntry {
  edgegate: OkCode | ErrorCode;
  action: "continue" | "redirect" | "respond";
  status: number;
  method: string;
  path?: string;
  rule?: number;
  kind?: RuleKind;
  tokenSource?: "cookie" | "header";
  reason?: string;
  ms: number;
}

export interface Trace {
  steps: TraceStep[];
  /** The decision's code (`OK_*` or `ERR_*`); `null` when it needs a fetch or refresh first. */
  code: string | null;
}

/**
 * The steps a trace can hold, in the order they run: the request path, the rule, hosted
 * login's own routes, the token, an auth library's session, CSRF, refresh, the provider,
 * each JWS check (`parse`, `algorithm`, `typ`, `keys`, `signature`), the claims (`claims`,
 * then one `claim` per check) or instead a token its session vouches for (`verify`), whether
 * the provider ended the session (`logout`), a sender-constrained token refused as a bearer,
 * scopes, and where the request goes.
 */
export type TraceStepName =
  | "normalize" | "match" | "login" | "token" | "session" | "csrf" | "refresh" | "provider"
  | "parse" | "algorithm" | "typ" | "keys" | "signature" | "claims" | "claim" | "verify"
  | "logout" | "bearer" | "scopes" | "route";

export interface TraceStep {
  step: TraceStepName;
  ok: boolean;
  detail: string;
  /** The error code the step failed with, if it failed with one. */
  code?: string;
}

/** Builds a gate; rejects with `EdgeGateError` on bad options. */
export declare function createGate(options: Options, host?: HostOptions): Promise<Gate>;

/**
 * Validates options as `createGate` does, without keeping a gate: rejects with the same
 * `EdgeGateError { code: "ERR_CONFIG_*" }`. Await it in `next.config.ts` (an async config
 * function) so a bad or missing secret fails `next build` and `next start`, not the first
 * request.
 */
export declare function check(options: Options): Promise<void>;
