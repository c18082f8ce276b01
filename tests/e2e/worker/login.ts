// A Worker with hosted login: the gate answers /auth/login, /auth/callback, /auth/logout and
// /auth/session; /api/* goes to the backend with the provider's access token; the pages
// are this handler's. No redirectUri or postLogoutRedirectUri: the request's origin gives
// them (<origin>/auth/callback, <origin>/). Callback failures go to /login-error?error=CODE.
// The client authenticates with private_key_jwt, its assertions signed by workerd's WebCrypto,
// and pushes its authorization requests (RFC 9126).
import { gateWorker } from "edgegate/worker";
import { dashboard, home, loginError } from "../login-pages.mjs";

interface Env {
  ISSUER: string;
  CLIENT_ID: string;
  /** The client's private JWK (JSON): private_key_jwt. */
  CLIENT_KEY: string;
  LOGIN_SECRET: string;
  RESOURCE: string;
  UPSTREAM: string;
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
      clientAssertionSigningKey: env.CLIENT_KEY,
      pushedAuthorizationRequests: true,
      secret: env.LOGIN_SECRET,
      resource: env.RESOURCE,
      errorUrl: "/login-error",
      sessionClaims: ["email", "name"],
      authorizationParams: { prompt: "consent" },
    },
  }),
  (request) => {
    const url = new URL(request.url);
    const html = (text: string) => new Response(text, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (url.pathname === "/dashboard") return html(dashboard);
    if (url.pathname === "/login-error") return html(loginError(url.searchParams.get("error")));
    if (url.pathname === "/") return html(home);
    return new Response("not found", { status: 404 });
  },
);
