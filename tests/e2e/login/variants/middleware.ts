import { edgeGate } from "edgegate/next";
import { gateOptions } from "./gate";

// Edge runtime; one JSON line per decision (codes, no tokens) for the test's failure output.
export default edgeGate(gateOptions, { log: true });

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
