// A Worker gated by edgegate with keys found by OIDC discovery and sessions refreshed at
// the provider's token endpoint; ISSUER, AUDIENCE and the client come from bindings;
// /api/* goes to UPSTREAM.
import { gateWorker } from "edgegate/worker";

export interface Env {
  ISSUER: string;
  AUDIENCE: string;
  UPSTREAM: string;
  CLIENT_ID: string;
  CLIENT_SECRET: string;
}

export default gateWorker<Env>(
  (env) => ({
    rules: [{ match: "/api/:path*", kind: "api", upstream: env.UPSTREAM }],
    verify: { algorithms: ["RS256", "ES256", "ES384", "ES512"], issuer: env.ISSUER, audience: env.AUDIENCE.split(","), typ: "at+jwt" },
    refresh: { tokenEndpoint: `${env.ISSUER}/token`, clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET },
  }),
  () => new Response("not found", { status: 404 }),
);
