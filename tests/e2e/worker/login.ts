// A Worker with hosted login: the gate answers /auth/login, /auth/callback, /auth/logout and
// /auth/session; /api/* goes to the backend with the provider's access token; the pages
// are this handler's. No redirectUri or postLogoutRedirectUri: the request's origin gives
// them (<origin>/auth/callback, <origin>/). Callback failures go to /login-error?error=CODE.
import { gateWorker } from "edgegate/worker";

interface Env {
  ISSUER: string;
  CLIENT_ID: string;
  CLIENT_SECRET: string;
  LOGIN_SECRET: string;
  RESOURCE: string;
  UPSTREAM: string;
}

const page = (body: string) =>
  new Response(
    `<!doctype html><html><body><nav><a href="/">Home</a> <a href="/dashboard">Dashboard</a>` +
      `<form action="/auth/logout" method="post"><button id="sign-out" type="submit">Sign out</button></form></nav>${body}</body></html>`,
    { headers: { "content-type": "text/html; charset=utf-8" } },
  );

// The same ids as the Next app's dashboard: the profile from /auth/session, the backend's
// data through /api/stocks.
const dashboard = `<main><h1>Dashboard</h1><p id="profile" hidden></p><p id="seen-by" hidden></p><ul id="stocks"></ul></main>
<script>
fetch("/auth/session").then((r) => r.json()).then((p) => {
  if (!p.authenticated) return;
  const el = document.getElementById("profile");
  el.textContent = p.name + " <" + p.email + ">";
  el.hidden = false;
});
fetch("/api/stocks").then((r) => r.json()).then((d) => {
  const el = document.getElementById("seen-by");
  el.textContent = "Backend says you are " + d.seenBy;
  el.hidden = false;
  for (const s of d.stocks) {
    const li = document.createElement("li");
    li.textContent = s.symbol + ": " + s.price;
    document.getElementById("stocks").append(li);
  }
});
</script>`;

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
      errorUrl: "/login-error",
      sessionClaims: ["email", "name"],
    },
  }),
  (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/dashboard") return page(dashboard);
    if (url.pathname === "/login-error") {
      const code = (url.searchParams.get("error") ?? "").replace(/[^A-Z_]/g, "");
      return page(`<main><h1>Sign-in failed</h1><p id="login-error">${code}</p></main>`);
    }
    if (url.pathname === "/") return page(`<main><h1>Home</h1></main>`);
    return new Response("not found", { status: 404 });
  },
);
