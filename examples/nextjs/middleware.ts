import { edgeGate } from "edgegate/next";
import { gateOptions } from "./gate";

// Edge runtime. Every request except static assets reaches the gate; its rules decide.
export default edgeGate(gateOptions);

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
