// edgegate/next: `export default edgeGate(options)` in middleware.ts (Edge runtime), or
// `export const proxy = edgeGate(options)` in a Next 16 proxy.ts (Node runtime).
import { NextResponse } from "next/server";
import { createGate } from "./index.js";
import { PRIVATE } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

/**
 * Maps an engine decision onto Next's middleware responses. A continuing decision becomes
 * a rewrite when the engine routes it: external to the rule's upstream (`destination`;
 * unlike a next.config `rewrites()` entry it keeps the middleware's response headers, so a
 * refreshed session's Set-Cookie reaches the browser), or within the app to the exact
 * path the gate judged (`rewrite`).
 */
export function toNextResponse(decision, request) {
  let response;
  switch (decision.action) {
    case "continue": {
      const forwarded = { request: { headers: new Headers(decision.requestHeaders) } };
      const to = decision.destination ?? decision.rewrite;
      response = to ? NextResponse.rewrite(new URL(to, request.url), forwarded) : NextResponse.next(forwarded);
      break;
    }
    case "redirect":
      response = NextResponse.redirect(new URL(decision.location, request.url), decision.status);
      break;
    default: {
      // Next parses a middleware response's Location as an absolute URL (then serves a
      // same-origin one relative again, as it does for the redirects above).
      const headers = new Headers(decision.headers);
      const location = headers.get("location");
      if (location?.startsWith("/")) headers.set("location", new URL(location, request.url).href);
      response = new NextResponse(decision.body || null, { status: decision.status, headers });
    }
  }
  // A refreshed session (or a cleared one) goes back to the browser.
  for (const cookie of decision.setCookies ?? []) response.headers.append("set-cookie", cookie);
  if (decision.setCookies?.length) response.headers.set("cache-control", PRIVATE);
  return response;
}

export function edgeGate(options, host = {}) {
  if ("rewrite" in host) {
    // Routing by host code read the raw path, not the one the gate judged: removed.
    throw new TypeError('edgeGate: the "rewrite" host option is gone; name the backend on the rule: { match, kind, upstream }');
  }
  let gate;
  return async function edgegate(request) {
    gate ??= createGate(options, host);
    return toNextResponse(await (await gate).decide(request), request);
  };
}
