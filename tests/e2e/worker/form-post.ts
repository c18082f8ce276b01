// A Worker with hosted login in OAuth 2.0 Form Post Response Mode: the provider has the
// browser POST its answer (code, state, iss) to /auth/callback, which takes only that
// form; /api/* goes to the backend with the provider's access token; the pages are this
// handler's. The client authenticates with its secret (client_secret_basic), over the
// front channel. tests/e2e/form-post.test.mjs runs it; it logs each decision as a JSON line.
import { gateWorker } from "edgegate/worker";
import { type LoginEnv, loginOptions, pages } from "./login-app";

interface Env extends LoginEnv {
  CLIENT_SECRET: string;
}

export default gateWorker<Env>(
  (env) => loginOptions(env, { clientSecret: env.CLIENT_SECRET, responseMode: "form_post" }),
  pages,
  { log: true },
);
