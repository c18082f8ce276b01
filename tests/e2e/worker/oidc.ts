// A Worker gated by edgegate with keys found by OIDC discovery: ISSUER and AUDIENCE come
// from bindings; /api/* is proxied to UPSTREAM.
import { gateWorker } from "edgegate/worker";

interface Env {
  ISSUER: string;
  AUDIENCE: string;
  UPSTREAM: string;
}

export default gateWorker<Env>(
  (env) => ({
    rules: [{ match: "/api/:path*", kind: "api" }],
    verify: { algorithms: ["RS256", "ES256"], issuer: env.ISSUER, audience: env.AUDIENCE.split(","), typ: "at+jwt" },
  }),
  {
    async fetch(request: Request, env: Env) {
      const url = new URL(request.url);
      return fetch(new Request(`${env.UPSTREAM}${url.pathname}${url.search}`, request));
    },
  },
);
