// edgegate/worker: wraps a Worker's fetch handler. A request the gate lets through goes to
// its rule's upstream when the decision names one (`destination`), else to `handler` (or
// the origin, without one), at the path the gate judged when it says so (`rewrite`), with
// the gate's headers; the rest get the redirect or 401.
import { createGate } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

export function toResponse(decision) {
  const response =
    decision.action === "redirect"
      ? new Response(null, { status: decision.status, headers: { location: decision.location } })
      : new Response(decision.body, { status: decision.status, headers: decision.headers });
  return withCookies(response, decision);
}

// A refreshed session (or a cleared one) goes back to the browser.
function withCookies(response, decision) {
  if (!decision.setCookies?.length) return response;
  const copy = new Response(response.body, response); // upstream headers may be immutable
  for (const cookie of decision.setCookies) copy.headers.append("set-cookie", cookie);
  return copy;
}

export function gateWorker(options, handler, host) {
  let gate;
  return {
    async fetch(request, env, ctx) {
      gate ??= createGate(
        typeof options === "function" ? options(env) : options,
        typeof host === "function" ? host(env) : host,
      );
      const decision = await (await gate).decide(request);
      if (decision.action !== "continue") return toResponse(decision);
      const headers = new Headers(decision.requestHeaders);
      const { destination, rewrite } = decision;
      let response;
      if (destination) {
        // The upstream's redirects go back to the browser, as from any reverse proxy.
        const init = { method: request.method, headers, body: request.body, redirect: "manual" };
        response = await fetch(new Request(destination, init));
      } else {
        const own = new Request(request, { headers });
        const forwarded = rewrite ? new Request(new URL(rewrite, request.url), own) : own;
        response = await (!handler
          ? fetch(forwarded)
          : typeof handler === "function"
            ? handler(forwarded, env, ctx)
            : handler.fetch(forwarded, env, ctx));
      }
      return withCookies(response, decision);
    },
  };
}
