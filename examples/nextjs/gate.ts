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
