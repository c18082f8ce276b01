import type { IncomingMessage, ServerResponse } from "node:http";
import type { Claims, Decision, HostOptions, Options } from "./index.js";

declare module "http" {
  interface IncomingMessage {
    /**
     * The verified token's claims, as express-jwt's `req.auth` (decoded when first read);
     * undefined where the gate authenticated nothing.
     */
    readonly auth?: Claims;
    /** The gate's decision for this request. */
    edgegate?: Decision;
  }
}

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export type * from "./index.js";

/**
 * Express or Connect middleware deciding every request (`app.use(edgeGate(options))`,
 * first, at the root): a refusal (redirect, 401, 403) is the response; a request its rule
 * sends to an `upstream` is answered by it (the decision's `destination`); the rest go on
 * with `req.headers` and `req.url` as the gate judged them, the decision as `req.edgegate`
 * and the verified claims as `req.auth`. The decision's `setCookies` go on whatever
 * response goes out. Errors go to `next(error)`.
 */
export declare function edgeGate(
  options: Options,
  host?: HostOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
