// "next/server.js", not "next/server": next has no "exports" map, and this file is ESM
// ("type": "module"), so under moduleResolution node16/nodenext a subpath of next needs its
// extension, as in Node itself. Bundler resolution reads it the same.
import type { NextRequest, NextResponse } from "next/server.js";
import type { Decision, HostOptions, Options } from "./index.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";
export type * from "./index.js";

/**
 * Middleware (Edge) or proxy (Node) function deciding every matched request. A request let
 * through by a rule with an `upstream` is answered by the decision's `destination`, fetched
 * through the gate (its address never reaches the client).
 */
export declare function edgeGate(options: Options, host?: HostOptions): (request: NextRequest) => Promise<Response>;

/**
 * The verified claims the gate put in the request's headers (`upstream.claimHeaders`), for
 * route handlers and server components: `gateClaims(await headers(), options)`. Values as
 * the gate wrote them: strings as they are, other JSON values as JSON text. The gate strips
 * these headers from every request it decides, so on a path its `matcher` covers they are
 * its own; undefined where it authenticated nothing.
 */
export declare function gateClaims<Claim extends string = string>(
  headers: { get(name: string): string | null },
  options: Options & { upstream?: { claimHeaders?: Record<Claim, string> } },
): Partial<Record<Claim, string>> | undefined;

export declare function toNextResponse(decision: Decision, request: NextRequest): Promise<NextResponse | Response>;
