import type { Options } from "edgegate";

// Hosted login: the gate answers /auth/login, /auth/callback, /auth/logout and /auth/session
// itself. A page without a session goes to /auth/login?returnTo=…, then to the provider;
// /api/* goes to the backend with the provider's access token as the bearer.
const env = process.env;
export const gateOptions: Options = {
  rules: [
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", upstream: env.UPSTREAM_URL! },
  ],
  // The backend's access token (RFC 9068, audience = the resource), keys by discovery.
  verify: { algorithms: ["RS256"], issuer: env.LOGIN_ISSUER!, audience: env.LOGIN_RESOURCE!, typ: "at+jwt" },
  login: {
    issuer: env.LOGIN_ISSUER!,
    clientId: env.LOGIN_CLIENT_ID!,
    clientSecret: env.LOGIN_CLIENT_SECRET!,
    secret: env.LOGIN_SECRET!,
    resource: env.LOGIN_RESOURCE!,
    // The origins the browser uses (the app's, and a TLS proxy's in front of it): the gate
    // matches the client's Host against them, as Next names every loopback `localhost`.
    appBaseUrl: env.APP_ORIGIN!.split(","),
    sessionClaims: ["email", "name"],
    // oidc-provider issues refresh tokens (offline_access) only with an explicit consent.
    authorizationParams: { prompt: "consent" },
    // One build pushes its authorization requests (RFC 9126), the other uses the front channel.
    pushedAuthorizationRequests: env.LOGIN_PUSH === "1",
    // Back-channel logout (backchannel.test.mjs) when LOGIN_BACKCHANNEL names its recheck
    // duration ("1s"): ended sessions recorded in Redis (the proxy's refreshStore) when
    // REDIS_URL is set where the server runs, else in this process. Left out otherwise.
    ...(env.LOGIN_BACKCHANNEL
      ? { backchannelLogout: { store: env.REDIS_URL ? ("shared" as const) : ("memory" as const), recheckDuration: env.LOGIN_BACKCHANNEL } }
      : {}),
    // OAuth 2.0 Form Post Response Mode (form-post.test.mjs) when LOGIN_RESPONSE_MODE is
    // "form_post": the provider posts its answer to the callback. Left out otherwise.
    ...(env.LOGIN_RESPONSE_MODE ? { responseMode: env.LOGIN_RESPONSE_MODE as "query" | "form_post" } : {}),
  },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};
