import { edgeGate } from "edgegate/next";
import { redisRefreshStore } from "edgegate";
import { createClient } from "redis";
import { gateOptions } from "./gate";

// Next 16 proxy.ts (Node runtime) with the host's shared store: Redis when REDIS_URL is set
// where the server runs (back-channel logouts and refreshes shared by every process), else
// none. backchannel.test.mjs builds the login app with it and LOGIN_BACKCHANNEL.
const url = process.env.REDIS_URL;
export const proxy = edgeGate(gateOptions, { refreshStore: url ? redisRefreshStore(createClient({ url })) : undefined, log: true });

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
