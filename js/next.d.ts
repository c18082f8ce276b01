import type { NextRequest, NextResponse } from "next/server";
import type { Decision, HostOptions, Options } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export type * from "./index.js";

/** Middleware (Edge) or proxy (Node) function deciding every matched request. */
export interface NextHostOptions extends HostOptions {
  /**
   * The upstream URL for a passed request, or undefined to continue in the app. Use it for
   * an external backend instead of next.config `rewrites()`: Next drops a middleware's
   * response headers on config rewrites to other origins, so a refreshed session's
   * Set-Cookie would be lost.
   */
  rewrite?: (url: URL) => string | URL | undefined;
}

export declare function edgeGate(options: Options, host?: NextHostOptions): (request: NextRequest) => Promise<Response>;

export declare function toNextResponse(decision: Decision, request: NextRequest, rewriteTo?: string | URL): NextResponse | Response;
