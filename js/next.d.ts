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

export declare function toNextResponse(decision: Decision, request: NextRequest): Promise<NextResponse | Response>;
