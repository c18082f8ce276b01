import type { Options } from "edgegate";
import dev from "./dev-config.json";

// One set of rules for middleware.ts (Edge) and variants/proxy.ts (Node).
export const gateOptions: Options = {
  rules: [
    { match: ["/api/login", "/api/logout"], kind: "public" }, // route handlers, before /api
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api" },
    { match: "/login", kind: "guest" },
  ],
  verify: { algorithms: ["HS256"], keys: dev.secret, issuer: dev.issuer, audience: dev.audience },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};

// /api/* goes to the separate backend, except the app's own login and logout handlers. The
// gate does this rewrite (not next.config's rewrites) so that a refreshed session's cookies
// reach the browser: Next drops middleware response headers on config rewrites to other
// origins.
// (UPSTREAM_URL is fixed at build time by next.config.ts; read only when called, so other
// hosts can import gateOptions from here.)
const appRoutes = new Set(["/api/login", "/api/logout"]);
export const gateHost = {
  rewrite: (url: URL) =>
    url.pathname.startsWith("/api/") && !appRoutes.has(url.pathname)
      ? `${process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000"}${url.pathname}${url.search}`
      : undefined,
};
