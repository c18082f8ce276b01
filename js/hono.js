// edgegate/hono: `app.use("*", edgeGate(options))`. The same decisions as edgegate/worker,
// on any runtime Hono runs on: a refusal is the response, a rule's upstream answers the
// requests it routes, and the rest go on to the app's handlers with the gate's headers. The
// decision is `c.get("edgegate")`.
import { createGate } from "./index.js";
import { answer, fetchUpstream } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

export function edgeGate(options, host) {
  let gate;
  return async function edgegate(c, next) {
    gate ??= createGate(
      typeof options === "function" ? options(c.env) : options,
      typeof host === "function" ? host(c.env) : host,
    );
    const request = c.req.raw;
    const decision = await (await gate).decide(request);
    c.set("edgegate", decision);
    if (decision.action !== "continue") {
      c.res = answer(decision);
    } else if (decision.destination) {
      c.res = await fetchUpstream(decision, request);
    } else if (decision.rewrite && new URL(decision.rewrite, request.url).pathname !== new URL(request.url).pathname) {
      // Hono chose the handlers by the path before any middleware ran and cannot route
      // again: a path the gate judged must not reach those of another. (The gate rewrites
      // to the very spelling it was shown on every host but Next, so this stays unused.)
      c.res = await c.notFound();
    } else {
      const own = new Request(request, { headers: new Headers(decision.requestHeaders) });
      c.req.raw = decision.rewrite ? new Request(new URL(decision.rewrite, request.url), own) : own;
      await next();
    }
    // Appended last, after Hono has merged in whatever it set before (its `c.res` setter
    // replaces a new response's Set-Cookie with the old one's): a refreshed (or cleared)
    // session reaches the browser whatever answered. `c.header` copies a finalized response,
    // so an upstream's immutable headers are no obstacle.
    for (const cookie of decision.setCookies ?? []) c.header("set-cookie", cookie, { append: true });
  };
}
