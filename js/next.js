// edgegate/next: `export default edgeGate(options)` in middleware.ts (Edge runtime), or
// `export const proxy = edgeGate(options)` in a Next 16 proxy.ts (Node runtime).
import { NextResponse } from "next/server";
import { createGate } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

/**
 * Maps an engine decision onto Next's middleware responses. `rewriteTo`, an absolute URL,
 * sends a passed request there (an external rewrite) instead of on to the app.
 */
export function toNextResponse(decision, request, rewriteTo) {
  let response;
  switch (decision.action) {
    case "continue": {
      const forwarded = { request: { headers: new Headers(decision.requestHeaders) } };
      response = rewriteTo ? NextResponse.rewrite(new URL(rewriteTo), forwarded) : NextResponse.next(forwarded);
      break;
    }
    case "redirect":
      response = NextResponse.redirect(new URL(decision.location, request.url), decision.status);
      break;
    default:
      response = new NextResponse(decision.body, { status: decision.status, headers: decision.headers });
  }
  // A refreshed session (or a cleared one) goes back to the browser.
  for (const cookie of decision.setCookies ?? []) response.headers.append("set-cookie", cookie);
  return response;
}

/**
 * `host.rewrite(url)` may return the upstream URL for a request (e.g. `/api/*` to the
 * backend). Prefer it to a next.config `rewrites()` entry for an external backend: Next
 * drops a middleware's response headers on config rewrites to other origins, so a
 * refreshed session's Set-Cookie would never reach the browser.
 */
export function edgeGate(options, host = {}) {
  const { rewrite, ...gateHost } = host;
  let gate;
  return async function edgegate(request) {
    gate ??= createGate(options, gateHost);
    const decision = await (await gate).decide(request);
    const url = request.nextUrl ?? new URL(request.url);
    return toNextResponse(decision, request, decision.action === "continue" ? rewrite?.(url) : undefined);
  };
}
