import type { RedisCommand } from "./index.js";

export { redisRefreshStore } from "./index.js";
export type { RedisCommand, RefreshStore } from "./index.js";

/**
 * A Redis connection for `redisRefreshStore` on Node: `redis://[user:password@]host:port[/db]`
 * (`rediss://` for TLS), connected on first use, reconnected after a failure; commands in
 * flight are rejected when the connection drops, or stalls for `idleTimeoutMs` (default
 * 5000). `close()` ends it.
 */
export declare function redisCommand(url?: string, options?: { idleTimeoutMs?: number }): RedisCommand & { close(): void };
