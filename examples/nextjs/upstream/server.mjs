// The separate backend: Express with express-jwt. It trusts nothing from the edge except a
// bearer token it can verify itself, so a request that skips edgegate is still refused.
// With OIDC_ISSUER set, it verifies the provider's tokens with jwks-rsa (keys found through
// the issuer's discovery document), as a production backend would.
import express from "express";
import { expressjwt } from "express-jwt";
import jwksRsa from "jwks-rsa";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

const dev = JSON.parse(readFileSync(new URL("../dev-config.json", import.meta.url), "utf8"));
const app = express();

async function verifier() {
  const issuer = process.env.OIDC_ISSUER;
  if (!issuer) {
    return expressjwt({ secret: dev.secret, algorithms: ["HS256"], issuer: dev.issuer, audience: dev.audience });
  }
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  return expressjwt({
    secret: jwksRsa.expressJwtSecret({ jwksUri: discovery.jwks_uri, cache: true, rateLimit: true }),
    algorithms: ["RS256", "ES256", "ES384", "ES512"],
    issuer,
    audience: process.env.OIDC_AUDIENCE.split(","),
  });
}

// DEVELOPMENT ONLY: the demo backend doubles as its identity provider. POST /auth/login
// takes any name; POST /auth/token is an OAuth token endpoint for grant_type=refresh_token
// with rotation (each refresh token works once). A real backend checks credentials.
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const refreshTokens = new Map(); // refresh token -> subject
function issue(sub) {
  const now = Math.floor(Date.now() / 1000);
  const lifetime = Number(process.env.ACCESS_TOKEN_TTL ?? 900);
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, iss: dev.issuer, aud: dev.audience, iat: now, exp: now + lifetime })}`;
  const refresh = randomBytes(32).toString("base64url");
  refreshTokens.set(refresh, sub);
  return {
    token_type: "Bearer",
    access_token: `${input}.${createHmac("sha256", dev.secret).update(input).digest("base64url")}`,
    refresh_token: refresh,
    expires_in: lifetime,
  };
}
app.post("/auth/login", express.urlencoded({ extended: false }), express.json(), (req, res) => {
  const name = String(req.body?.name || "demo-user").slice(0, 64);
  res.json(issue(name));
});
app.post("/auth/token", express.urlencoded({ extended: false }), (req, res) => {
  const sub = refreshTokens.get(req.body?.refresh_token);
  if (req.body?.grant_type !== "refresh_token" || !sub) return res.status(400).json({ error: "invalid_grant" });
  refreshTokens.delete(req.body.refresh_token);
  res.json(issue(sub));
});

app.use("/api", await verifier());

app.get("/api/stocks", (req, res) => {
  res.json({
    seenBy: req.auth.sub,
    stocks: [
      { symbol: "EDGE", price: 101.5 },
      { symbol: "GATE", price: 42.0 },
    ],
  });
});

// What the backend received, for the end-to-end tests.
app.get("/api/whoami", (req, res) => {
  res.json({
    sub: req.auth.sub,
    authorization: req.headers.authorization ?? null,
    cookie: req.headers.cookie ?? null,
    xAuthSub: req.headers["x-auth-sub"] ?? null,
    middlewareSubrequest: req.headers["x-middleware-subrequest"] ?? null,
  });
});

// An unsafe endpoint, for the CSRF tests: it records that a write got through.
app.post("/api/echo", (req, res) => {
  res.json({ ok: true, sub: req.auth.sub });
});

app.use((err, req, res, next) => {
  if (err.name === "UnauthorizedError") return res.status(401).json({ error: "invalid_token" });
  next(err);
});

const port = Number(process.env.PORT ?? 4000);
app.listen(port, "127.0.0.1", () => console.log(`upstream listening on http://127.0.0.1:${port}`));
