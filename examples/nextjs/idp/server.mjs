// DEVELOPMENT ONLY: the demo's stand-in identity provider, a real OpenID Connect provider
// (npm oidc-provider) on 127.0.0.1 with its development sign-in pages (any login, any
// password). It plays Auth0, Kinde or Okta for scripts/demo: the gate sends visitors here
// (authorization code + PKCE), gets an ID token, a rotating refresh token and a JWT access
// token for the backend (RFC 8707 resource = the backend's audience), and ends the session
// here on logout. A real app points `login.issuer` at its provider instead.
import Provider from "oidc-provider";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";

const dev = JSON.parse(readFileSync(new URL("../dev-config.json", import.meta.url), "utf8"));
const port = Number(process.env.PORT ?? 4100);
const appPort = Number(process.env.APP_PORT ?? 3000);
const issuer = `http://127.0.0.1:${port}`;
const apps = [`http://127.0.0.1:${appPort}`, `http://localhost:${appPort}`];

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: dev.login.clientId,
      client_secret: dev.login.clientSecret,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: apps.map((o) => `${o}/auth/callback`),
      post_logout_redirect_uris: apps.map((o) => `${o}/`),
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), alg: "RS256", use: "sig", kid: "demo" }] },
  pkce: { required: () => true },
  claims: { email: ["email", "email_verified"], profile: ["name"] },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: `${id}@demo.edgegate.test`, email_verified: true, name: id }),
  }),
  // A refresh token works once; a second use revokes the grant (reuse detection).
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => dev.login.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "openid",
        audience: dev.login.resource,
        accessTokenTTL: 300,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
});
provider.listen(port, "127.0.0.1", () => console.log(`demo identity provider: ${issuer}`));
