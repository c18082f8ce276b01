// edgegate/hono: `app.use("*", edgeGate(options))`. The same decisions as edgegate/worker,
// on any runtime Hono runs on: a refusal is the response, a rule's upstream answers the
// requests it routes, and the rest go on to the app's handlers with the gate's headers. The
// decision is `c.get("edgegate")`.
import { createGate } from "./index.js";
import { answer, applyCookies, drawRefusal, fetchUpstream, judgedHeaders } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

/**
 * What `options` and `host` functions read: the bindings in `c.env` (Workers, or the env
 * `app.fetch` was given), over the process environment (Node, Bun, Deno's compat), where
 * `c.env` holds no bindings (@hono/node-server's `{ incoming, outgoing }`).
 */
const environment = (c) => ({ ...globalThis.process?.env, ...c.env });

export function edgeGate(options, host) {
  let gate;
  let render;
  return async function edgegate(c, next) {
    if (!gate) {
      const env = environment(c);
      const own = typeof host === "function" ? host(env) : host;
      render = own?.render;
      gate = createGate(typeof options === "function" ? options(env) : options, own);
    }
    const request = c.req.raw;
    const decision = await (await gate).decide(request);
    c.set("edgegate", decision);
    if (decision.action !== "continue") {
      c.res = (render && (await drawRefusal(decision, request, render))) || answer(decision);
    } else if (decision.passThrough) {
      await next();
    } else if (decision.destination) {
      c.res = await fetchUpstream(decision, request);
    } else {
      // Hono chose the handlers by the path as sent, before any middleware ran. That is the
      // path the gate judged: an exception opens only the spelling it was written in
      // (tests/routing.rs, an_exception_opens_only_the_path_as_sent), and a protected path
      // passes only with a verified bearer, whichever handler serves it.
      const own = new Request(request, { headers: judgedHeaders(decision, request) });
      c.req.raw = decision.rewrite ? new Request(new URL(decision.rewrite, request.url), own) : own;
      await next();
    }
    // Appended last, after Hono has merged in whatever it set before (its `c.res` setter
    // replaces a new response's Set-Cookie with the old one's): a refreshed (or cleared)
    // session reaches the browser whatever answered. `c.header` copies a finalized response,
    // so an upstream's immutable headers are no obstacle.
    applyCookies({ append: (n, v) => c.header(n, v, { append: true }), set: (n, v) => c.header(n, v) }, decision.setCookies);
  };
}
