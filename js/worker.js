// edgegate/worker: wraps a Worker's fetch handler. A request the gate lets through goes to
// its rule's upstream when the decision names one (`destination`), else to `handler` (or
// the origin, without one), at the path the gate judged when it says so (`rewrite`), with
// the gate's headers; the rest get the redirect or 401.
import { createGate } from "./index.js";
import { fetchUpstream, toResponse, withCookies } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export { toResponse } from "./respond.js";

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
      const { destination, rewrite } = decision;
      let response;
      if (destination) {
        response = await fetchUpstream(decision, request);
      } else {
        const own = new Request(request, { headers: new Headers(decision.requestHeaders) });
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
