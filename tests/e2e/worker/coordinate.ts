// A Worker refreshing sessions at oidc-provider, coordinated across isolates by the
// RefreshCoordinator Durable Object when REFRESH is bound (without it, each isolate alone).
// tests/e2e/coordinate.test.mjs runs it as two workers sharing one Durable Object namespace.
import { durableRefreshStore, gateWorker, type RefreshNamespace } from "edgegate/worker";
import type { Env as OidcEnv } from "./oidc";

export { RefreshCoordinator } from "edgegate/worker";

interface Env extends OidcEnv {
  STORE_SECRET: string;
  REFRESH?: RefreshNamespace;
}

export default gateWorker<Env>(
  (env) => ({
    rules: [{ match: "/api/:path*", kind: "api", upstream: env.UPSTREAM }],
    verify: { algorithms: ["RS256", "ES256"], issuer: env.ISSUER, audience: env.AUDIENCE, typ: "at+jwt" },
    refresh: {
      tokenEndpoint: `${env.ISSUER}/token`,
      clientId: env.CLIENT_ID,
      clientSecret: env.CLIENT_SECRET,
      coordination: { secret: env.STORE_SECRET },
    },
  }),
  () => new Response("not found", { status: 404 }),
  (env) => ({ refreshStore: env.REFRESH && durableRefreshStore(env.REFRESH) }),
);
