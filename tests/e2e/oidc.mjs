// A real OpenID Connect provider (npm oidc-provider) on 127.0.0.1 for the end-to-end tests.
// It issues JWT access tokens (RFC 9068, `typ: at+jwt`) through client credentials with
// resource indicators (RFC 8707): the resource becomes the `aud`, and each resource has its
// signing algorithm, so one provider issues RS256, ES256, ES384 and ES512 tokens. It counts the JWKS
// requests it serves, which the tests compare against what the gate should fetch.
import Provider from "oidc-provider";
import { generateKeyPairSync } from "node:crypto";
import { freePort } from "./helpers.mjs";

export const RESOURCES = {
  rs: "https://api.edgegate.test/rs",
  es: "https://api.edgegate.test/es",
  es384: "https://api.edgegate.test/es384",
  es512: "https://api.edgegate.test/es512",
  other: "https://other.edgegate.test/",
  /** RS256 tokens that expire after one second, to have expired sessions. */
  short: "https://api.edgegate.test/short",
};
const ALG = {
  [RESOURCES.rs]: "RS256", [RESOURCES.es]: "ES256", [RESOURCES.es384]: "ES384", [RESOURCES.es512]: "ES512",
  [RESOURCES.other]: "RS256", [RESOURCES.short]: "RS256",
};

/** A fresh private signing key as a JWK with `alg`, `use` and a random `kid`. */
export function privateJwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: "jwk" }), alg, use: "sig", kid: `${alg}-${Math.random().toString(36).slice(2, 8)}` };
}

/**
 * oidc-provider's resource-indicator feature for RESOURCES: each resource is the `aud` of
 * JWT access tokens signed with its own algorithm; `defaultResource(ctx, client, oneOf)`
 * names the one used when a request names none.
 */
export function resourceIndicators(defaultResource, { accessTokenTTL } = {}) {
  return {
    enabled: true,
    defaultResource,
    useGrantedResource: () => true,
    getResourceServerInfo: (ctx, resource) => {
      if (!ALG[resource]) throw new Provider.errors.InvalidTarget();
      return {
        scope: "read:stocks",
        audience: resource,
        accessTokenTTL: accessTokenTTL ?? (resource === RESOURCES.short ? 1 : 300),
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: ALG[resource] } },
      };
    },
  };
}

/** Starts a provider; `issuer` is `http://127.0.0.1:<port>`. `stop()` closes it. */
export async function startOidc({ clientId = "edgegate-e2e", clientSecret = "e2e-client-secret-0123456789" } = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials", "authorization_code", "refresh_token"],
        redirect_uris: ["http://127.0.0.1/callback"],
        response_types: ["code"],
        scope: "openid offline_access read:stocks",
      },
    ],
    jwks: {
      keys: [
        privateJwk("rsa", { modulusLength: 2048 }, "RS256"),
        privateJwk("ec", { namedCurve: "P-256" }, "ES256"),
        privateJwk("ec", { namedCurve: "P-384" }, "ES384"),
        privateJwk("ec", { namedCurve: "P-521" }, "ES512"),
      ],
    },
    scopes: ["openid", "offline_access", "read:stocks"],
    ttl: {
      // Tokens for a resource live as long as the resource says (one second for `short`).
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      RefreshToken: 86_400,
      Grant: 86_400,
      IdToken: 300,
    },
    // Every refresh token works once; a second use revokes the grant (reuse detection).
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: resourceIndicators(() => RESOURCES.rs),
    },
  });
  provider.proxy = false;
  // JWKS requests by User-Agent: the gate's ("edgegate/…") apart from the upstream's.
  const counts = { jwks: 0, jwksByAgent: {}, discovery: 0, token: 0, refresh: 0, refreshErrors: 0 };
  provider.on("grant.success", (ctx) => {
    if (ctx.oidc.params?.grant_type === "refresh_token") counts.refresh += 1;
  });
  provider.on("grant.error", (ctx) => {
    if (ctx.oidc.params?.grant_type === "refresh_token") counts.refreshErrors += 1;
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === "/jwks") {
      counts.jwks += 1;
      const agent = (ctx.get("user-agent") || "none").split("/")[0];
      counts.jwksByAgent[agent] = (counts.jwksByAgent[agent] ?? 0) + 1;
    }
    if (ctx.path === "/.well-known/openid-configuration") counts.discovery += 1;
    if (ctx.path === "/token") counts.token += 1;
    await next();
  });
  // Token requests one at a time, as a provider's database consumes a refresh token
  // atomically: a second use of a rotated token is then always seen as reuse (the memory
  // adapter would let two concurrent requests both pass its check before either consumed).
  let turn = Promise.resolve();
  provider.use(async (ctx, next) => {
    if (ctx.path !== "/token") return next();
    const mine = turn.then(() => next());
    turn = mine.catch(() => {});
    await mine;
  });
  const server = await new Promise((resolve) => {
    const s = provider.listen(port, "127.0.0.1", () => resolve(s));
  });

  /** A JWT access token for `resource` (its algorithm follows the resource). */
  async function token(resource = RESOURCES.rs) {
    const res = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "read:stocks", resource }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  }

  /**
   * Refreshes with `refreshToken` at the token endpoint as the client: the token response,
   * or `{ error }` (whether a grant is still valid, without a gate in between).
   */
  async function refresh(refreshToken) {
    const res = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
    return res.json();
  }

  /**
   * A refresh token for `accountId` (the test's stand-in for a finished authorization-code
   * login): minted through the provider's own models; refreshing it then goes through
   * the real token endpoint, rotation and reuse detection included.
   */
  async function refreshToken(accountId = "e2e-user") {
    const client = await provider.Client.find(clientId);
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope("openid offline_access");
    grant.addResourceScope(RESOURCES.rs, "read:stocks");
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      accountId, client, grantId, gty: "authorization_code",
      scope: "openid offline_access read:stocks", resource: RESOURCES.rs,
    });
    return token.save();
  }

  /** Revokes a refresh token at the revocation endpoint (RFC 7009). */
  async function revoke(value) {
    const res = await fetch(`${issuer}/token/revocation`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ token: value, token_type_hint: "refresh_token" }),
    });
    if (!res.ok) throw new Error(`revocation: ${res.status}`);
  }

  return {
    issuer,
    clientId,
    clientSecret,
    counts,
    token,
    refreshToken,
    refresh,
    revoke,
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}
