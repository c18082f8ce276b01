// edgegate/next: `export default edgeGate(options)` in middleware.ts (Edge runtime), or
// `export const proxy = edgeGate(options)` in a Next 16 proxy.ts (Node runtime).
import { NextResponse } from "next/server";
import { createGate } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

/** Maps an engine decision onto Next's middleware responses. */
export function toNextResponse(decision, request) {
  let response;
  switch (decision.action) {
    case "continue":
      response = NextResponse.next({ request: { headers: new Headers(decision.requestHeaders) } });
      break;
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

export function edgeGate(options, host) {
  let gate;
  return async function edgegate(request) {
    gate ??= createGate(options, host);
    const decision = await (await gate).decide(request);
    return toNextResponse(decision, request);
  };
}
