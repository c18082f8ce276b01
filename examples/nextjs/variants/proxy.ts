// Next 16 proxy.ts (Node runtime): copy over middleware.ts to run the gate on Node.
import { edgeGate } from "edgegate/next";
import { gateOptions } from "./gate";

export const proxy = edgeGate(gateOptions);

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
