// What the hosted-login Workers share (login.ts, backchannel.ts, form-post.ts): the app's
// rules, the provider's access tokens verified for the backend's resource, the login at the
// provider with the options each Worker adds, and the pages the handler serves.
import type { LoginOptions, Options } from "edgegate";
import { dashboard, home, loginError } from "../login-pages.mjs";

export interface LoginEnv {
  ISSUER: string;
  CLIENT_ID: string;
  LOGIN_SECRET: string;
  RESOURCE: string;
  UPSTREAM: string;
}

/** `/dashboard/*` a page, `/api/*` the backend's; the login at `env.ISSUER` with `login`. */
export function loginOptions(env: LoginEnv, login: Partial<LoginOptions>): Options {
  return {
    rules: [
      { match: "/dashboard/:path*", kind: "page" },
      { match: "/api/:path*", kind: "api", upstream: env.UPSTREAM },
    ],
    verify: { algorithms: ["RS256"], issuer: env.ISSUER, audience: env.RESOURCE, typ: "at+jwt" },
    login: {
      issuer: env.ISSUER,
      clientId: env.CLIENT_ID,
      secret: env.LOGIN_SECRET,
      resource: env.RESOURCE,
      sessionClaims: ["email", "name"],
      // oidc-provider issues refresh tokens (offline_access) only with an explicit consent.
      authorizationParams: { prompt: "consent" },
      ...login,
    },
  };
}

/** The handler's pages: the dashboard, the home page and the login's error page. */
export function pages(request: Request): Response {
  const url = new URL(request.url);
  const html = (text: string) => new Response(text, { headers: { "content-type": "text/html; charset=utf-8" } });
  if (url.pathname === "/dashboard") return html(dashboard);
  if (url.pathname === "/login-error") return html(loginError(url.searchParams.get("error")));
  if (url.pathname === "/") return html(home);
  return new Response("not found", { status: 404 });
}
