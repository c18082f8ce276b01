// A real OpenID Connect provider (npm oidc-provider) for the hosted-login tests: users sign
// in on its own development pages (any login and password), consent, and come back to the
// app with an authorization code; the app exchanges it (PKCE S256 required) for an ID token
// carrying `email` and `name`, a refresh token (offline_access, rotated on every use, a
// reused one revoking the whole grant) and a JWT access token for the backend (RFC 9068
// `at+jwt`, RFC 8707 resource `https://api.edgegate.test/rs`). RP-initiated logout, token
// revocation (RFC 7009) and the RFC 9207 `iss` authorization-response parameter are on.
// Everything it serves is counted and recorded for the tests to compare with what the
// gate should have sent.
//
// It is addressed as http://localhost:<port> (listening on 127.0.0.1 only) while the apps
// are addressed as http://127.0.0.1:<port>: two hosts, so the provider is cross-site to the
// app as in production, and the browser's callback navigation is a cross-site one (a
// SameSite=Strict transaction cookie would not survive it).
//
// What oidc-provider 9 does that a relying party must live with (login.test.mjs checks the
// first ones):
// - Every authorization response carries `iss` (RFC 9207; errors too), and discovery says
//   `authorization_response_iss_parameter_supported: true`.
// - `offline_access` is dropped unless `prompt` includes `consent` (OIDC Core §11): no
//   refresh token without `prompt=consent`.
// - A second use of an authorization code revokes the grant, so the tokens already issued
//   from it (the refresh token) die too; so does a second use of a refresh token.
// - Revocation answers 200 with an empty body whatever the token (RFC 7009), and refuses
//   JWT-format tokens (`unsupported_token_type`): revoke the opaque refresh token.
// - The end-session endpoint needs `id_token_hint` or `client_id` for a
//   `post_logout_redirect_uri`, accepts an expired ID token as the hint, and while the
//   provider's session lives shows a confirmation page (form `op.logoutForm`, button
//   `name=logout value=yes`); without a session it auto-posts that form.
// - Its own cookies (`_session`, `_interaction`, `_interaction_resume`, each with `.sig`)
//   are SameSite=Lax on the provider's host.
//
// Back-Channel Logout 1.0 (`backchannelLogout`, off unless asked for; backchannel.test.mjs):
// - A client with `backchannel_logout_uri` and `backchannel_logout_session_required`
//   gets `sid` in its ID tokens (the provider's session id for that client, stable across
//   sign-ins in one provider session, new after it ends); JWT access tokens carry no `sid`
//   unless `accessTokenSid` puts it there.
// - The logout token is signed like the client's ID tokens (RS256, the first key, its
//   `kid`), header `typ: logout+jwt`; claims `iss`, `aud` (the client id), `iat`, `exp`
//   (iat + 120 s), `jti`, `sub`, `sid` (session required), and `events` holding
//   `http://schemas.openid.net/event/backchannel-logout: {}`; never `nonce`.
// - It is POSTed (form `logout_token=…`, 2.5 s timeout) when the provider session ends at
//   end-session with `logout=yes` (every client of the session), or by
//   `client.backchannelLogout(sub, sid)`; 200 or 204 counts as success.
// - http:// URIs are accepted at registration, but its fetch refuses loopback and private
//   addresses (an SSRF guard); with `backchannelLogout` the provider's fetch goes without
//   that guard, as the apps under test listen on 127.0.0.1.
import Provider from "oidc-provider";
import { createPrivateKey, randomBytes } from "node:crypto";
import { freePort } from "./helpers.mjs";
import { jwt } from "../node/sign.mjs";
import { RESOURCES, privateJwk, resourceIndicators } from "./oidc.mjs";

export { RESOURCES };

/** The clients registered at the provider, one per token-endpoint authentication method. */
export const CLIENTS = {
  basic: { client_id: "edgegate-app", token_endpoint_auth_method: "client_secret_basic" },
  post: { client_id: "edgegate-post", token_endpoint_auth_method: "client_secret_post" },
  public: { client_id: "edgegate-public", token_endpoint_auth_method: "none" },
  /** RFC 7523: the provider holds the public halves of ASSERTION_KEYS. */
  privateKeyJwt: { client_id: "edgegate-pkjwt", token_endpoint_auth_method: "private_key_jwt" },
  /** Another relying party of the same provider (its ID tokens are not for edgegate-app). */
  other: { client_id: "other-app", token_endpoint_auth_method: "client_secret_basic" },
};

export const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
export const BACKCHANNEL_PATH = "/auth/backchannel-logout";

/** The private_key_jwt client's signing keys (private JWKs with `alg` and `kid`), by alg. */
export const ASSERTION_KEYS = {
  RS256: privateJwk("rsa", { modulusLength: 2048 }, "RS256"),
  ES256: privateJwk("ec", { namedCurve: "P-256" }, "ES256"),
  EdDSA: privateJwk("ed25519", {}, "EdDSA"),
};
const publicJwk = ({ d, p, q, dp, dq, qi, ...rest }) => rest;
export const CLIENT_SECRET = "login-e2e-client-secret-0123456789abcdef";

/** The profile the provider holds for the account `id` (any login signs in as itself). */
export const profile = (id) => ({ sub: id, email: `${id}@users.edgegate.test`, email_verified: true, name: `User ${id}` });

const form = (params) => new URLSearchParams(params);
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/**
 * Starts the provider. `appOrigins` are the origins of the apps under test: each gets
 * `<origin>/auth/callback` as a redirect URI and `<origin>/` as a post-logout redirect URI
 * for every client (a 127.0.0.1 origin also under its `localhost` twin, the name Next
 * gives loopback hosts). `host` is the name the provider is addressed by. `port`, `keys`
 * (private JWKs, the first signs), `accessTokenTTL` (seconds), `middleware` (Koa, run
 * first) and `adapter` (its storage: each instance has its own otherwise) let a test
 * restart it in place with rotated keys and its grants, and put faults in its way.
 *
 * `backchannelLogout` (true, or an app origin) turns on Back-Channel Logout 1.0: every
 * client but `other` registers `<origin>/auth/backchannel-logout` (the origin given, else
 * the first of `appOrigins`) with `backchannel_logout_session_required`, so ID tokens carry
 * `sid`; each logout token the provider POSTs is recorded in `seen.backchannel`.
 * `accessTokenSid` puts the session's `sid` in JWT access tokens too.
 */
export async function startLoginProvider({ appOrigins = [], host = "localhost", port, keys, accessTokenTTL, middleware, adapter, requirePushes = false, backchannelLogout = false, accessTokenSid = false } = {}) {
  port ??= await freePort();
  const issuer = `http://${host}:${port}`;
  const origins = [...new Set(appOrigins.flatMap((o) => [o, o.replace("//127.0.0.1:", "//localhost:")]))];
  const signing = keys?.[0] ?? privateJwk("rsa", { modulusLength: 2048 }, "RS256");
  const backchannelUri = backchannelLogout
    ? `${typeof backchannelLogout === "string" ? backchannelLogout : appOrigins[0]}${BACKCHANNEL_PATH}`
    : undefined;
  // The logout tokens the provider POSTs: { url, at, logoutToken, header, claims, doneAt,
  // status, body, error } (`at` when sent, `doneAt` when answered, ms since the epoch).
  const backchannelSeen = [];
  const clients = Object.values(CLIENTS).map((c) => ({
    ...c,
    ...(c.token_endpoint_auth_method === "none"
      ? {}
      : c.token_endpoint_auth_method === "private_key_jwt"
        ? { jwks: { keys: Object.values(ASSERTION_KEYS).map(publicJwk) } }
        : { client_secret: CLIENT_SECRET }),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: origins.map((o) => `${o}/auth/callback`),
    post_logout_redirect_uris: origins.map((o) => `${o}/`),
    ...(backchannelUri && c !== CLIENTS.other
      ? { backchannel_logout_uri: backchannelUri, backchannel_logout_session_required: true }
      : {}),
  }));
  const provider = new Provider(issuer, {
    ...(adapter ? { adapter } : {}),
    clients,
    jwks: { keys: keys ?? [signing, privateJwk("ec", { namedCurve: "P-256" }, "ES256")] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    async findAccount(ctx, id) {
      return { accountId: id, claims: async () => profile(id) };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    scopes: ["openid", "offline_access", "profile", "email", "read:stocks"],
    // Profile claims in the ID token itself, as hosted providers (Auth0, Google, Okta) put
    // them; oidc-provider's default keeps them for userinfo when an access token is issued.
    conformIdTokenClaims: false,
    // Accounts named `groups-…` get an Entra-sized access token: 150 group ids, about 8 KB,
    // more than one cookie holds.
    extraTokenClaims: (ctx, token) => {
      const groups = token.accountId?.startsWith("groups-")
        ? { groups: Array.from({ length: 150 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`) }
        : undefined;
      const sid = accessTokenSid && token.kind === "AccessToken" && token.sid ? { sid: token.sid } : undefined;
      return groups || sid ? { ...groups, ...sid } : undefined;
    },
    // Back-channel logout POSTs to the apps on 127.0.0.1: without oidc-provider's SSRF
    // guard (its dispatcher refuses loopback), and recorded.
    ...(backchannelLogout
      ? {
          async fetch(url, { dispatcher, ...init }) {
            const entry = { url: String(url), at: Date.now() };
            if (init.body instanceof URLSearchParams && init.body.has("logout_token")) {
              entry.logoutToken = init.body.get("logout_token");
              [entry.header, entry.claims] = entry.logoutToken.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
              backchannelSeen.push(entry);
            }
            try {
              const res = await globalThis.fetch(url, init);
              entry.doneAt = Date.now();
              entry.status = res.status;
              entry.body = await res.clone().text();
              return res;
            } catch (e) {
              entry.error = String(e?.cause ?? e);
              throw e;
            }
          },
        }
      : {}),
    pkce: { required: () => true },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AuthorizationCode: 60,
      IdToken: 300,
      RefreshToken: 86_400,
      Grant: 86_400,
      Session: 86_400,
      Interaction: 600,
    },
    // Every refresh token works once; a second use revokes the grant (reuse detection).
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: true },
      // RFC 9126 at `/request`: offered, or (`requirePushes`) required and advertised so.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: requirePushes },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: Boolean(backchannelLogout) },
      // `resource` may be sent at the authorization endpoint, the token endpoint, both or
      // neither (Auth0's `audience` is not a parameter oidc-provider knows): the backend's
      // API is the default.
      resourceIndicators: resourceIndicators((ctx, client, oneOf) => oneOf ?? RESOURCES.rs, { accessTokenTTL }),
    },
  });
  provider.proxy = false;

  const counts = {
    discovery: 0,
    jwks: 0,
    authorizations: 0,
    /** Successful token responses by grant_type. */
    token: {},
    /** Refused token requests by grant_type, e.g. { authorization_code: 1 }. */
    tokenErrors: {},
    revocations: 0,
    grantsRevoked: 0,
    endSession: 0,
    endSessionConfirmed: 0,
    pushes: 0,
  };
  // What arrived, for asserting what the gate sent: the authorization requests' query,
  // each token request's grant type, client, auth method and outcome, each revocation's
  // form fields, each end-session request's query.
  // A pushed authorization request's parameters stand for its query (`pushed: true`).
  // With `backchannelLogout`: each logout token POSTed (`backchannel`), and the claims of
  // each ID token issued (`idTokens`: { client, grantType, claims }, claims.sid included).
  const seen = { authorizations: [], tokenRequests: [], revocations: [], endSessions: [], pushes: [], ...(backchannelLogout ? { backchannel: backchannelSeen, idTokens: [] } : {}) };
  const pushed = new Map();
  const grantType = (ctx) => ctx.oidc?.params?.grant_type ?? "unknown";
  provider.on("grant.success", (ctx) => {
    counts.token[grantType(ctx)] = (counts.token[grantType(ctx)] ?? 0) + 1;
    seen.tokenRequests.push({ grantType: grantType(ctx), client: ctx.oidc.client?.clientId, authMethod: ctx.oidc.client?.clientAuthMethod, ok: true, params: { ...ctx.oidc.params } });
    const idToken = ctx.body?.id_token;
    if (seen.idTokens && typeof idToken === "string") {
      seen.idTokens.push({ client: ctx.oidc.client?.clientId, grantType: grantType(ctx), claims: JSON.parse(Buffer.from(idToken.split(".")[1], "base64url")) });
    }
  });
  provider.on("grant.error", (ctx, error) => {
    counts.tokenErrors[grantType(ctx)] = (counts.tokenErrors[grantType(ctx)] ?? 0) + 1;
    seen.tokenRequests.push({ grantType: grantType(ctx), client: ctx.oidc?.client?.clientId, ok: false, error: error.error, description: error.error_detail ?? error.error_description });
  });
  provider.on("grant.revoked", () => (counts.grantsRevoked += 1));
  provider.on("end_session.success", () => (counts.endSessionConfirmed += 1));
  // A test's own middleware first (the chaos run's faults), then the counting.
  if (middleware) provider.use(middleware);
  provider.use(async (ctx, next) => {
    const path = ctx.path;
    if (path === "/.well-known/openid-configuration") counts.discovery += 1;
    if (path === "/jwks") counts.jwks += 1;
    if (path === "/auth" && ctx.method === "GET") {
      counts.authorizations += 1;
      const { request_uri: uri } = ctx.query;
      seen.authorizations.push(uri && pushed.has(uri) ? { ...pushed.get(uri), ...ctx.query, pushed: true } : { ...ctx.query });
    }
    if (path === "/session/end") {
      counts.endSession += 1;
      seen.endSessions.push({ method: ctx.method, query: { ...ctx.query } });
    }
    await next();
    if (path === "/request") {
      counts.pushes += 1;
      // The authorization parameters, and the whole form as sent (client authentication too).
      const params = { ...ctx.oidc?.params };
      const body = { ...ctx.oidc?.body };
      seen.pushes.push({ status: ctx.status, client: ctx.oidc?.client?.clientId, authMethod: ctx.oidc?.client?.clientAuthMethod, params, body, error: ctx.body?.error });
      if (ctx.status === 201) pushed.set(ctx.body.request_uri, params);
    }
    if (path === "/token/revocation") {
      counts.revocations += 1;
      seen.revocations.push({ status: ctx.status, client: ctx.oidc?.client?.clientId, params: { ...ctx.oidc?.params } });
    }
  });
  const server = await new Promise((resolve) => {
    const s = provider.listen(port, "127.0.0.1", () => resolve(s));
  });

  /** The client's token-endpoint authentication, as headers and form fields. */
  function clientAuth(clientId) {
    const client = Object.values(CLIENTS).find((c) => c.client_id === clientId);
    switch (client.token_endpoint_auth_method) {
      case "client_secret_basic": return [{ authorization: basic(clientId, CLIENT_SECRET) }, {}];
      case "client_secret_post": return [{}, { client_id: clientId, client_secret: CLIENT_SECRET }];
      default: return [{}, { client_id: clientId }];
    }
  }

  /** POSTs `params` to the token endpoint as `clientId`: `{ status, body }`. */
  async function tokenRequest(params, clientId = CLIENTS.basic.client_id) {
    const [headers, fields] = clientAuth(clientId);
    const res = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
      body: form({ ...params, ...fields }),
    });
    return { status: res.status, body: await res.json() };
  }

  return {
    issuer,
    port,
    provider,
    /** The RS256 key the provider signs ID tokens and access tokens with (private JWK). */
    signingKey: signing,
    clientId: CLIENTS.basic.client_id,
    clientSecret: CLIENT_SECRET,
    counts,
    seen,
    tokenRequest,
    /** Uses `refreshToken` at the token endpoint: `{ status, body }` (400 invalid_grant once revoked or reused). */
    refresh: (refreshToken, clientId) => tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, clientId),
    /** Revokes `token` (RFC 7009) as `clientId`. */
    async revoke(token, clientId = CLIENTS.basic.client_id) {
      const [headers, fields] = clientAuth(clientId);
      const res = await fetch(`${issuer}/token/revocation`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        body: form({ token, token_type_hint: "refresh_token", ...fields }),
      });
      return res.status;
    },
    /**
     * Back-channel logout as the provider sends it, without ending its session:
     * `client.backchannelLogout(sub, sid)` for `clientId` (a POST of a fresh logout token to
     * the client's `backchannel_logout_uri`). Resolves the `seen.backchannel` entry, or
     * rejects with oidc-provider's error when the app did not answer 200 or 204.
     */
    async backchannelLogout(sub, sid, clientId = CLIENTS.basic.client_id) {
      const client = await provider.Client.find(clientId);
      const before = backchannelSeen.length;
      await client.backchannelLogout(sub, sid);
      return backchannelSeen.slice(before).find((e) => e.claims.aud === clientId);
    },
    /**
     * A logout token as the provider would sign it (RS256 with its signing key and `kid`,
     * `typ: logout+jwt`) for `sub`/`sid` and the app's client, with `claims` overriding
     * (a member set to `undefined` is left out), `header` overriding the header, and `key`
     * (a private JWK; its `alg` signs unless the header names one) signing instead: the
     * attack tokens. `alg: "none"` in the header gives an unsigned token.
     */
    logoutToken({ sub, sid, clientId = CLIENTS.basic.client_id, claims = {}, header = {}, key = signing } = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body = {
        iss: issuer, aud: clientId, iat: now, exp: now + 120, jti: randomBytes(16).toString("base64url"),
        ...(sub === undefined ? {} : { sub }), ...(sid === undefined ? {} : { sid }),
        events: { [BACKCHANNEL_EVENT]: {} }, ...claims,
      };
      const head = { alg: key.alg ?? "RS256", typ: "logout+jwt", kid: key.kid, ...header };
      const drop = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      if (head.alg === "none") return `${b64url(drop(head))}.${b64url(drop(body))}.`;
      return jwt(head.alg, createPrivateKey({ key, format: "jwk" }), drop(body), drop(head));
    },
    /**
     * Ends the provider session held in `jar` (as `authorizeAtProvider` filled it), the
     * way its user would on the provider's own sign-out page: GET /session/end, then the
     * confirmation form with `logout=yes`. With back-channel logout on, the provider POSTs
     * a logout token to every client of that session before it answers. Resolves the
     * `seen.backchannel` entries of this logout.
     */
    async endSession(jar) {
      const before = backchannelSeen.length;
      const send = jarSender(jar);
      const page = await send(`${issuer}/session/end`);
      const html = await page.text();
      if (page.status !== 200) throw new Error(`end-session answered ${page.status}: ${html.slice(0, 300)}`);
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
      if (!action || !xsrf) throw new Error(`no sign-out form at ${issuer}/session/end: ${html.slice(0, 300)}`);
      const done = await send(new URL(action, issuer), {
        method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form({ xsrf, logout: "yes" }),
      });
      if (done.status !== 303 && done.status !== 302) throw new Error(`end-session confirmation answered ${done.status}`);
      return backchannelSeen.slice(before);
    },
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * A fetch through `jar` (a Map of the provider's cookies): sends them, keeps what the
 * answer sets (dropping expired and emptied ones), never follows redirects.
 */
const unescapeHtml = (s) =>
  s.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

function jarSender(jar) {
  return async (url, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { signal: AbortSignal.timeout(20_000), ...init, redirect: "manual", headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && new Date(a.split("=")[1]) < new Date());
      if (expired || pair.endsWith("=")) jar.delete(name);
      else jar.set(name, pair.slice(name.length + 1));
    }
    return res;
  };
}

/**
 * A user at the provider without a browser: follows `authorizeUrl` through the provider's
 * own pages (sign-in form, then consent when asked) with a cookie jar, as a browser would,
 * until the provider redirects to a URL off its origin; returns that URL (the app's
 * callback with `code`, `state`, `iss`, or `error`). With `response_mode=form_post` the
 * provider answers with a page that posts a form instead: that form, `{ action, fields }`.
 * `deny` cancels at consent (`error=access_denied`). `jar` (a Map) keeps the provider's
 * cookies across calls, so a second call signs in silently where the provider's session
 * allows it.
 */
export async function authorizeAtProvider(authorizeUrl, { login = "alice", deny = false, jar = new Map() } = {}) {
  const origin = new URL(authorizeUrl).origin;
  const send = jarSender(jar);
  let url = authorizeUrl;
  for (let hop = 0; hop < 20; hop++) {
    if (new URL(url).origin !== origin) return url;
    const res = await send(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get("location"), url).href;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status} at ${url}: ${html.slice(0, 500)}`);
    const action = unescapeHtml(/<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? "");
    if (html.includes("<title>Submitting Callback</title>")) {
      const inputs = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)];
      return { action, fields: Object.fromEntries(inputs.map(([, name, value]) => [name, unescapeHtml(value)])) };
    }
    const post = (fields) => send(new URL(action, url), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form(fields) });
    let answer;
    if (html.includes('name="login"')) answer = await post({ prompt: "login", login, password: "any-password" });
    else if (html.includes('name="prompt" value="consent"')) {
      if (deny) {
        url = new URL(/href="([^"]*\/abort)"/.exec(html)[1], url).href;
        continue;
      }
      answer = await post({ prompt: "consent" });
    } else throw new Error(`unexpected provider page at ${url}: ${html.slice(0, 500)}`);
    url = new URL(answer.headers.get("location"), url).href;
  }
  throw new Error(`too many hops at the provider from ${authorizeUrl}`);
}

/** Keeps a Playwright browser context on this machine: requests off loopback are aborted. */
export async function loopbackOnly(context) {
  await context.route(
    (url) => !["127.0.0.1", "localhost"].includes(url.hostname),
    (route) => route.abort("blockedbyclient"),
  );
}

/** The provider's sign-in form or its consent form, whichever its page shows. */
export function providerForm(page) {
  const signIn = page.locator('input[name="login"]');
  const consent = page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
  return signIn.or(consent).first();
}

/** Signs in as `login` (any password) or consents, on the page shown, and waits for the next. */
export async function submitProviderForm(page, login) {
  const before = page.url();
  const signIn = page.locator('input[name="login"]');
  if (await signIn.count()) {
    await signIn.fill(login);
    await page.fill('input[name="password"]', "any-password");
    await page.click('form:has(input[name="login"]) button[type="submit"]');
  } else {
    await page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]').click();
  }
  await page.waitForURL((u) => u.href !== before, { timeout: 15_000 });
}

/**
 * In a browser `page` sent to the provider at `provider` (its origin): signs in as `login`
 * on its form and consents (each only when asked), until the page has left the provider.
 * Returns the URL it landed on.
 */
export async function signInAtProvider(page, provider, { login = "alice" } = {}) {
  const atProvider = () => new URL(page.url()).origin === provider;
  for (let step = 0; step < 6 && atProvider(); step++) {
    await page.waitForLoadState();
    if (!atProvider()) break;
    await providerForm(page).waitFor({ timeout: 15_000 });
    await submitProviderForm(page, login);
  }
  await page.waitForURL((u) => u.origin !== provider, { timeout: 15_000 });
  await page.waitForLoadState();
  return page.url();
}

/** On the provider's "Do you want to sign-out" page: confirms, and waits to leave it. */
export async function confirmLogoutAtProvider(page) {
  const yes = page.locator('button[name="logout"][value="yes"]');
  await yes.waitFor({ timeout: 15_000 });
  const before = page.url();
  await yes.click();
  await page.waitForURL((u) => u.href !== before, { timeout: 15_000 });
  await page.waitForLoadState();
}
