// A Worker with hosted login and OpenID Connect Back-Channel Logout: the provider POSTs its
// logout tokens to /auth/backchannel-logout; the ended sessions are recorded through the
// RefreshCoordinator Durable Object when REFRESH is bound (every isolate bound to the
// namespace learns of them within RECHECK), else in the isolate alone. /api/* goes to the
// backend with the provider's access token; the pages are this handler's.
// tests/e2e/backchannel.test.mjs runs it as two workers sharing one Durable Object
// namespace; each logs its decisions as JSON lines tagged with its NAME.
import { durableRefreshStore, gateWorker, type RefreshNamespace } from "edgegate/worker";
import { type LoginEnv, loginOptions, pages } from "./login-app";

export { RefreshCoordinator } from "edgegate/worker";

interface Env extends LoginEnv {
  NAME: string;
  CLIENT_SECRET: string;
  /** recheckDuration, e.g. "1s". */
  RECHECK: string;
  REFRESH?: RefreshNamespace;
}

export default gateWorker<Env>(
  (env) =>
    loginOptions(env, {
      clientSecret: env.CLIENT_SECRET,
      backchannelLogout: { store: env.REFRESH ? "shared" : "memory", recheckDuration: env.RECHECK },
    }),
  pages,
  (env) => ({
    refreshStore: env.REFRESH && durableRefreshStore(env.REFRESH),
    log: (entry) => console.log(JSON.stringify({ ...entry, worker: env.NAME })),
  }),
);
