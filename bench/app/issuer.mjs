// The OpenID provider of the whole-app bench's hosted-login scenario (bench/app.mjs): on
// `issuer` (a loopback URL fixed at build time, ISSUER_URL), the discovery document with
// what the gate requires of it (the issuer, jwks_uri, the authorization and token
// endpoints) and the JWKS of an RSA key made at start. `sign` mints the access token a
// hosted login would have put in the session cookie. `served` counts the requests: both
// middlewares should fetch the keys once, not per request.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { SignJWT } from "jose";

export async function startIssuer(issuer) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "bench";
  const documents = {
    "/.well-known/openid-configuration": {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      code_challenge_methods_supported: ["S256"],
    },
    "/.well-known/jwks.json": { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] },
  };
  const counts = {};
  const server = http.createServer((req, res) => {
    counts[req.url] = (counts[req.url] ?? 0) + 1;
    const doc = documents[req.url];
    res.writeHead(doc ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(doc ?? { error: "not_found" }));
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(Number(new URL(issuer).port), "127.0.0.1", resolve));
  // An access token as oidc-provider issues one for a resource (examples/nextjs/idp).
  const sign = ({ sub, audience, clientId, expiresAt }) =>
    new SignJWT({ client_id: clientId, scope: "openid profile email offline_access" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
      .setIssuer(issuer).setAudience(audience).setSubject(sub).setIssuedAt().setExpirationTime(expiresAt).setJti(crypto.randomUUID())
      .sign(privateKey);
  return { sign, served: () => counts, close: () => new Promise((resolve) => (server.close(resolve), server.closeAllConnections())) };
}
