// A Worker with hosted login: the gate answers /auth/login, /auth/callback, /auth/logout and
// /auth/session; /api/* goes to the backend with the provider's access token; the pages
// are this handler's. No redirectUri or postLogoutRedirectUri: the request's origin gives
// them (<origin>/auth/callback, <origin>/). Callback failures go to /login-error?error=CODE.
// The client authenticates with private_key_jwt, its assertions signed by workerd's WebCrypto,
// and pushes its authorization requests (RFC 9126).
import { gateWorker } from "edgegate/worker";
import { type LoginEnv, loginOptions, pages } from "./login-app";

interface Env extends LoginEnv {
  /** The client's private JWK (JSON): private_key_jwt. */
  CLIENT_KEY: string;
}

export default gateWorker<Env>(
  (env) =>
    loginOptions(env, {
      clientAssertionSigningKey: env.CLIENT_KEY,
      pushedAuthorizationRequests: true,
      errorUrl: "/login-error",
    }),
  pages,
);
