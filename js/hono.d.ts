import type { MiddlewareHandler } from "hono";
import type { Decision, HostOptions, Options } from "./index.js";

declare module "hono" {
  /** Typed `c.get("edgegate")` in every handler once this module is imported, as Hono's own middleware do. */
  interface ContextVariableMap {
    edgegate: Decision;
  }
}

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export type * from "./index.js";

/**
 * Hono middleware deciding every request it sees (`app.use("*", edgeGate(options))`): a
 * refusal (redirect, 401, 403) is the response; a request its rule sends to an `upstream`
 * is answered by it (the decision's `destination`); the rest reach the app's handlers with
 * the gate's headers. The decision's `setCookies` go on whatever response goes out. The
 * decision is `c.get("edgegate")`. `options` and `host` may be functions of the
 * environment: the bindings in `c.env` (Workers) over `process.env` (Node, where `c.env`
 * holds none), read once, when the first request builds the gate.
 */
export declare function edgeGate<Bindings extends object = {}>(
  options: Options | ((env: Bindings) => Options),
  host?: HostOptions | ((env: Bindings) => HostOptions),
): MiddlewareHandler<{ Bindings: Bindings; Variables: { edgegate: Decision } }>;
