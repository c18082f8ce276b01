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
 * A refresh store on Redis, through `command(args)`: a function sending one command (an
 * array of strings) and resolving with its reply. `SET NX PX` claims, `SET PX` publishes,
 * `GET` reads and `DEL` releases, so any Redis-speaking client fits: `redisCommand(url)`
 * from `edgegate/redis` on Node, `(args) => client.sendCommand(args)` (node-redis),
 * `(args) => client.call(...args)` (ioredis), or Upstash's REST API through `fetch` on
 * Edge runtimes (README, "Refresh across instances").
 */
export function redisRefreshStore(command) {
  if (typeof command !== "function") throw new TypeError("redisRefreshStore(command): command must be a function");
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
