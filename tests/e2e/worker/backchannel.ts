// A Worker with hosted login and OpenID Connect Back-Channel Logout: the provider POSTs its
// logout tokens to /auth/backchannel-logout; the ended sessions are recorded through the
// RefreshCoordinator Durable Object when REFRESH is bound (every isolate bound to the
// namespace learns of them within RECHECK), else in the isolate alone. /api/* goes to the
// backend with the provider's access token; the pages are this handler's.
// tests/e2e/backchannel.test.mjs runs it as two workers sharing one Durable Object
// namespace; each logs its decisions as JSON lines tagged with its NAME.
import { durableRefreshStore, gateWorker, type RefreshNamespace } from "edgegate/worker";
import { dashboard, home } from "../login-pages.mjs";

export { RefreshCoordinator } from "edgegate/worker";

interface Env {
  NAME: string;
  ISSUER: string;
  CLIENT_ID: string;
  CLIENT_SECRET: string;
  LOGIN_SECRET: string;
  RESOURCE: string;
  UPSTREAM: string;
  /** recheckDuration, e.g. "1s". */
  RECHECK: string;
  REFRESH?: RefreshNamespace;
}

export default gateWorker<Env>(
  (env) => ({
    rules: [
      { match: "/dashboard/:path*", kind: "page" },
      { match: "/api/:path*", kind: "api", upstream: env.UPSTREAM },
    ],
    verify: { algorithms: ["RS256"], issuer: env.ISSUER, audience: env.RESOURCE, typ: "at+jwt" },
    login: {
      issuer: env.ISSUER,
      clientId: env.CLIENT_ID,
      clientSecret: env.CLIENT_SECRET,
      secret: env.LOGIN_SECRET,
      resource: env.RESOURCE,
      sessionClaims: ["email", "name"],
      authorizationParams: { prompt: "consent" },
      backchannelLogout: { store: env.REFRESH ? "shared" : "memory", recheckDuration: env.RECHECK },
    },
  }),
  (request) => {
    const url = new URL(request.url);
    const html = (text: string) => new Response(text, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (url.pathname === "/dashboard") return html(dashboard);
    if (url.pathname === "/") return html(home);
    return new Response("not found", { status: 404 });
  },
  (env) => ({
    refreshStore: env.REFRESH && durableRefreshStore(env.REFRESH),
    log: (entry) => console.log(JSON.stringify({ ...entry, worker: env.NAME })),
  }),
);
