// The reference: what a careful hand-written middleware with jose 6 + path-to-regexp 6 does per
// request. Shared by compare.mjs (node) and worker.mjs (workerd) so both run the same code.
import { jwtVerify } from "jose";
import { pathToRegexp } from "path-to-regexp";

export const rules = [
  { match: "/dashboard/:path*", kind: "page" },
  { match: "/api/:path*", kind: "api" },
];

export function referenceGate({ alg, key, issuer, audience }) {
  const matchers = rules.map((r) => pathToRegexp(r.match));
  return async function decide(request) {
    const url = new URL(request.url);
    if (!matchers.some((m) => m.test(url.pathname))) return { action: "continue" };
    const cookies = new Map(
      (request.headers.get("cookie") ?? "").split(";").map((p) => {
        const i = p.indexOf("=");
        return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
      }),
    );
    const token = cookies.get("__Host-token");
    if (!token) return { action: "redirect" };
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [alg], issuer, audience });
      const headers = new Headers(request.headers);
      headers.set("authorization", `Bearer ${token}`);
      headers.delete("x-middleware-subrequest");
      headers.set("x-auth-sub", String(payload.sub));
      const rest = [...cookies].filter(([n]) => n !== "__Host-token").map(([n, v]) => `${n}=${v}`);
      if (rest.length) headers.set("cookie", rest.join("; "));
      else headers.delete("cookie");
      return { action: "continue", requestHeaders: [...headers] };
    } catch {
      return { action: "respond" };
    }
  };
}

/** The request both gates see. */
export const benchRequest = (token) => ({
  method: "GET",
  url: "https://app.example/api/stocks",
  headers: new Headers({ cookie: `theme=dark; __Host-token=${token}`, accept: "application/json" }),
});
