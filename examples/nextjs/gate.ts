import type { Options } from "edgegate";
import dev from "./dev-config.json";

// One set of rules for middleware.ts (Edge) and variants/proxy.ts (Node). The gate decides
// where each request goes: /api/login and /api/logout are this app's own route handlers
// (public, read exactly as written); every other /api path goes to the separate backend,
// and only with the verified bearer.
export const gateOptions: Options = {
  rules: [
    { match: ["/api/login", "/api/logout"], kind: "public" },
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", upstream: "backend" },
    { match: "/login", kind: "guest" },
  ],
  // Fixed at build time by next.config.ts (Next inlines process.env.UPSTREAM_URL).
  upstreams: { backend: process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000" },
  verify: { algorithms: ["HS256"], keys: dev.secret, issuer: dev.issuer, audience: dev.audience },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};
