import type { Decision, HostOptions, Options } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export type * from "./index.js";

type Handler<Env> =
  | ((request: Request, env: Env, ctx: unknown) => Response | Promise<Response>)
  | { fetch(request: Request, env: Env, ctx: unknown): Response | Promise<Response> };

/**
 * A Worker whose passed requests go to their rule's `upstream` (the decision's
 * `destination`), or else reach `handler` (or the origin), at the decision's `rewrite` path
 * when it has one, with the gate's headers. `options` may read secrets from `env`; `host` may bind a KV namespace as the
 * key store (`env => ({ store: env.KEYS })`).
 */
export declare function gateWorker<Env = unknown>(
  options: Options | ((env: Env) => Options),
  handler?: Handler<Env>,
  host?: HostOptions | ((env: Env) => HostOptions),
): { fetch(request: Request, env: Env, ctx: unknown): Promise<Response> };

export declare function toResponse(decision: Decision): Response;
