import type { Options } from "edgegate";
import dev from "./dev-config.json";

// One set of rules for middleware.ts (Edge) and variants/proxy.ts (Node). The gate decides
// where each request goes: every /api path goes to the separate backend, and only with the
// verified bearer. Both URLs are fixed at build time by next.config.ts.
const backend = process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000";
const issuer = process.env.OIDC_ISSUER;
// Next names a loopback host `localhost` in the URL middleware sees, while the browser is on
// 127.0.0.1: on loopback, name the app's URL so the callback returns to the browser's host.
const app = process.env.APP_URL || undefined;

export const gateOptions: Options = issuer
  ? {
      // Hosted login (scripts/demo): the gate signs visitors in at the OpenID provider
      // (idp/server.mjs) and answers /auth/login, /auth/callback, /auth/logout and
      // /auth/session itself; the backend gets the provider's access token.
      rules: [
        { match: "/dashboard/:path*", kind: "page" },
        { match: "/api/:path*", kind: "api", upstream: "backend" },
      ],
      upstreams: { backend },
      verify: { algorithms: ["RS256"], issuer, audience: dev.login.resource },
      login: {
        issuer,
        clientId: dev.login.clientId,
        clientSecret: dev.login.clientSecret,
        secret: dev.login.secret,
        resource: dev.login.resource,
        // (Left out, not `undefined`, when unset: the gate refuses an option written as
        // undefined, the mark of an unset environment variable.)
        ...(app && { redirectUri: `${app}/auth/callback`, postLogoutRedirectUri: `${app}/` }),
        // oidc-provider issues refresh tokens only after an explicit consent.
        authorizationParams: { prompt: "consent" },
        sessionClaims: ["email", "name"],
      },
      upstream: { claimHeaders: { sub: "x-auth-sub" } },
    }
  : {
      // The login route of this app: /api/login and /api/logout are its own route handlers
      // (public, read exactly as written) that post credentials to the backend.
      rules: [
        { match: ["/api/login", "/api/logout"], kind: "public" },
        { match: "/dashboard/:path*", kind: "page" },
        { match: "/api/:path*", kind: "api", upstream: "backend" },
        { match: "/login", kind: "guest" },
      ],
      upstreams: { backend },
      verify: { algorithms: ["HS256"], keys: dev.secret, issuer: dev.issuer, audience: dev.audience },
      upstream: { claimHeaders: { sub: "x-auth-sub" } },
    };
