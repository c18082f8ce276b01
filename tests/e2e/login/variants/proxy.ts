import { edgeGate } from "edgegate/next";
import { gateOptions } from "./gate";

// Next 16 proxy.ts (Node runtime).
export const proxy = edgeGate(gateOptions, { log: true });

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
