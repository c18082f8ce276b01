// edgegate: the host's store I/O for refresh coordination (`refresh.coordination`). The
// engine decides which operation, on which key, with which value, and what the answer
// means; this only performs it on the host's store, within the engine's timeout, and
// reports what happened. The protocol is in src/session/coordinate.rs.
//
// A store is four async methods on strings (the key is `edgegate:refresh:<hash>`, values
// are the claim marker or a sealed outcome):
//   claim(key, value, ttlMs)   set if absent, for ttlMs; resolve null when it was set, else
//                              the value already there
//   publish(key, value, ttlMs) set, whatever is there, for ttlMs
//   read(key)                  the value, or null
//   release(key)               delete
// and optionally wait(key, value, waitMs): resolve with the value once the key no longer
// holds `value` (or null once absent), or with what it holds after waitMs. Without it, the
// shim polls `read`.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `promise`, or a rejection after `ms`.
function within(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the refresh store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A value the engine can take: a string, or null for none.
function value(answer) {
  if (answer == null) return null;
  if (typeof answer !== "string") throw new TypeError("the refresh store answered something other than a string");
  return answer;
}

async function perform(op, store) {
  const t = op.timeoutMs;
  switch (op.op) {
    case "claim":
      return value(await within(store.claim(op.key, op.value, op.ttlMs), t));
    case "publish":
      await within(store.publish(op.key, op.value, op.ttlMs), t);
      return null;
    case "release":
      await within(store.release(op.key), t);
      return null;
    case "read": {
      if (store.wait) return value(await within(store.wait(op.key, op.value, op.waitMs), op.waitMs + t));
      const deadline = Date.now() + op.waitMs;
      for (let pause = 10; ; pause = Math.min(pause * 2, 50)) {
        const current = value(await within(store.read(op.key), t));
        const left = deadline - Date.now();
        if (current !== op.value || left <= 0) return current;
        await sleep(Math.min(pause, left));
      }
    }
    default:
      throw new TypeError(`unknown store operation ${op.op}`);
  }
}

/**
 * Performs the engine's store operation `op` (`{ id, op, key, value, ttlMs, waitMs,
 * timeoutMs }`) on `store` and reports to `engine()` with `stored(id, ok, value)`. A store
 * that throws, times out or answers a non-string is reported as failed, and the engine
 * refreshes on its own. `engine` throws when a trap replaced the instance meanwhile: the
 * report is then never made, and the promise rejects with what it threw.
 */
export async function runStore(op, engine, store) {
  let answer;
  try {
    if (!store) throw new Error("no refreshStore: pass one to createGate(options, { refreshStore })");
    answer = await perform(op, store);
  } catch {
    engine().stored(op.id, false);
    return;
  }
  engine().stored(op.id, true, answer ?? undefined);
}

/**
 * A refresh store on Redis, through the client the app already has:
 * - node-redis (`createClient()` from `redis`), connected on first use if it is not yet;
 * - ioredis (`new Redis()`, `new Cluster()`);
 * - @upstash/redis (`new Redis({ url, token })`, `Redis.fromEnv()`), over HTTPS on Edge;
 * - or `command(args)`, a function sending one command (an array of strings) and resolving
 *   with its reply, for any other client.
 * `SET NX PX` claims, `SET PX` publishes, `GET` reads and `DEL` releases, so instances on
 * different clients share one Redis. A client that emits errors and has no listener for
 * them gets one that logs, so a Redis restart cannot crash the server (node-redis throws
 * an unhandled `error` event); a command that fails or stalls costs coordination for that
 * request only: the gate refreshes on its own (the engine bounds every wait).
 */
export function redisRefreshStore(client) {
  const command = commandOf(client);
  return {
    async claim(key, value, ttlMs) {
      const set = await command(["SET", key, value, "NX", "PX", String(ttlMs)]);
      if (set === "OK") return null;
      if (set != null) throw new Error("redis: SET NX answered neither OK nor nil");
      // Taken. Gone again by now (expired), it still was not ours: wait it out.
      return (await command(["GET", key])) ?? value;
    },
    async publish(key, value, ttlMs) {
      await command(["SET", key, value, "PX", String(ttlMs)]);
    },
    read: (key) => command(["GET", key]),
    async release(key) {
      await command(["DEL", key]);
    },
  };
}

// One Redis command as `(args) => Promise<reply>`, over whichever client this is. The
// order matters: ioredis has a `sendCommand` of its own that takes no array.
function commandOf(client) {
  if (typeof client === "function") return client;
  if (client == null || typeof client !== "object") throw notAClient();
  logErrors(client);
  if (typeof client.call === "function") return ([name, ...args]) => client.call(name, ...args);
  // node-redis: its typed commands, which its cluster and sentinel clients take alike (their
  // `sendCommand` wants routing arguments first).
  if (typeof client.sendCommand === "function") return connecting(client, typed(client, (nx, px) => (nx ? { NX: true, PX: px } : { PX: px })));
  // @upstash/redis has no raw command. Its `get` may parse a value as JSON; the store's
  // values (`claimed`, base64url) never parse, and a value that did would not be a string,
  // which the store reports as a failure rather than misread.
  if (["set", "get", "del"].every((m) => typeof client[m] === "function")) return typed(client, (nx, px) => (nx ? { nx: true, px } : { px }));
  throw notAClient();
}

// The store's three commands through a client's typed `set`, `get` and `del`; `options`
// spells SET's NX and PX as the client does.
const typed = (redis, options) => ([name, key, value, ...rest]) => {
  switch (name) {
    case "SET":
      return redis.set(key, value, options(rest.includes("NX"), Number(rest[rest.indexOf("PX") + 1])));
    case "GET":
      return redis.get(key);
    case "DEL":
      return redis.del(key);
  }
  return Promise.reject(new TypeError(`redisRefreshStore: the store sends no ${name}`));
};

// A node-redis client not connected yet is connected on first use, not awaited: commands
// wait in its offline queue, bounded by the engine's timeouts.
function connecting(client, command) {
  let pending;
  return (args) => {
    if (client.isOpen === false && !pending) {
      try {
        pending = client.connect().catch(() => (pending = undefined));
      } catch {
        pending = undefined;
      }
    }
    return command(args);
  };
}

function logErrors(client) {
  if (typeof client.on !== "function" || typeof client.listenerCount !== "function") return;
  if (client.listenerCount("error") > 0) return;
  let last = 0;
  client.on("error", (error) => {
    // Reconnecting clients repeat the same error; once every 10 s is enough to see it.
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    console.warn(`edgegate: the refresh store's Redis client: ${error?.message ?? error}`);
  });
}

const notAClient = () =>
  new TypeError("redisRefreshStore(client): expected a node-redis, ioredis or @upstash/redis client, or a function sending one command");
