import type { Decision, HostOptions, Options, RefreshStore } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession, redisRefreshStore } from "./index.js";
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

/** The Durable Object namespace binding `durableRefreshStore` needs (structurally). */
export interface RefreshNamespace {
  idFromName(name: string): unknown;
  get(id: any): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/**
 * The Durable Object of `durableRefreshStore`: one object per refresh token's store key, so
 * its claim, publish, read and release run in one place, one at a time; a waiting read is
 * answered as soon as the outcome is published. Export it from your Worker and bind it:
 * `export { RefreshCoordinator } from "edgegate/worker"`, with a `durable_objects` binding
 * and a migration for the class in wrangler.toml.
 */
export declare class RefreshCoordinator {
  constructor(ctx: { storage: any }, env?: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/**
 * A `RefreshStore` on a Durable Object namespace bound to `RefreshCoordinator`:
 * `gateWorker(options, handler, (env) => ({ refreshStore: durableRefreshStore(env.REFRESH) }))`.
 */
export declare function durableRefreshStore(namespace: RefreshNamespace): RefreshStore;
