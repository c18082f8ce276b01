// The separate backend: Express with express-jwt. It trusts nothing from the edge except a
// bearer token it can verify itself, so a request that skips edgegate is still refused.
// With OIDC_ISSUER set, it verifies the provider's tokens with jwks-rsa (keys found through
// the issuer's discovery document), as a production backend would.
import express from "express";
import { expressjwt } from "express-jwt";
import jwksRsa from "jwks-rsa";
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
    algorithms: ["RS256", "ES256"],
    issuer,
    audience: process.env.OIDC_AUDIENCE.split(","),
  });
}

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

app.use((err, req, res, next) => {
  if (err.name === "UnauthorizedError") return res.status(401).json({ error: "invalid_token" });
  next(err);
});

const port = Number(process.env.PORT ?? 4000);
app.listen(port, "127.0.0.1", () => console.log(`upstream listening on http://127.0.0.1:${port}`));
