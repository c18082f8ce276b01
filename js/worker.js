// edgegate/worker: wraps a Worker's fetch handler. A request the gate lets through goes to
// its rule's upstream when the decision names one (`destination`), else to `handler` (or
// the origin, without one), at the path the gate judged when it says so (`rewrite`), with
// the gate's headers; the rest get the redirect or 401. `RefreshCoordinator` and
// `durableRefreshStore` coordinate refreshes across isolates on a Durable Object.
import { createGate } from "./index.js";
import { drawRefusal, fetchUpstream, judgedHeaders, toResponse, withCookies } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession, redisRefreshStore } from "./index.js";
export { toResponse } from "./respond.js";

export function gateWorker(options, handler, host) {
  let gate;
  let render;
  return {
    async fetch(request, env, ctx) {
      if (!gate) {
        const own = typeof host === "function" ? host(env) : host;
        render = own?.render;
        gate = createGate(typeof options === "function" ? options(env) : options, own);
      }
      const decision = await (await gate).decide(request);
      if (decision.action !== "continue") {
        const drawn = render && (await drawRefusal(decision, request, render));
        return drawn ? withCookies(drawn, decision) : toResponse(decision);
      }
      const { destination, rewrite } = decision;
      let response;
      if (destination) {
        response = await fetchUpstream(decision, request);
      } else {
        let forwarded = request; // as it came, when the gate changed nothing
        if (!decision.passThrough) {
          const own = new Request(request, { headers: judgedHeaders(decision, request) });
          forwarded = rewrite ? new Request(new URL(rewrite, request.url), own) : own;
        }
        response = await (!handler
          ? fetch(forwarded)
          : typeof handler === "function"
            ? handler(forwarded, env, ctx)
            : handler.fetch(forwarded, env, ctx));
      }
      return withCookies(response, decision);
    },
  };
}

/**
 * The Durable Object behind `durableRefreshStore`: one object per refresh token's store key
 * (`idFromName(key)`), so every claim, publish, read and release of one refresh token runs
 * in one place, one at a time. It keeps one entry (the claim marker or the sealed outcome)
 * with its expiry, in memory and in its storage (an alarm deletes it once expired), and
 * answers a waiting read as soon as the entry changes instead of being polled. Export it
 * from your Worker and bind it (README, "Refresh across instances").
 */
export class RefreshCoordinator {
  #storage;
  #entry; // { value, expires } | null, once loaded
  #waiting = new Set();

  constructor(ctx) {
    this.#storage = ctx.storage;
  }

  async #value() {
    this.#entry ??= (await this.#storage.get("entry")) ?? null;
    if (this.#entry && this.#entry.expires <= Date.now()) this.#entry = null;
    return this.#entry?.value ?? null;
  }

  async #set(value, ttlMs) {
    this.#entry = value === null ? null : { value, expires: Date.now() + Number(ttlMs) };
    if (this.#entry) {
      await this.#storage.put("entry", this.#entry);
      await this.#storage.setAlarm(this.#entry.expires);
    } else {
      await this.#storage.delete("entry");
    }
    for (const wake of [...this.#waiting]) wake();
  }

  async fetch(request) {
    const { op, value, ttlMs, waitMs } = await request.json();
    const current = await this.#value();
    let answer = null;
    switch (op) {
      case "claim":
        if (current === null) await this.#set(value, ttlMs);
        answer = current;
        break;
      case "publish":
        await this.#set(value, ttlMs);
        break;
      case "release":
        await this.#set(null);
        break;
      case "read":
        answer = current;
        break;
      case "wait": {
        const deadline = Date.now() + Number(waitMs);
        answer = current;
        while (answer === value && Date.now() < deadline) {
          const left = Math.min(deadline, this.#entry?.expires ?? deadline) - Date.now();
          await new Promise((resume) => {
            const wake = () => {
              clearTimeout(timer);
              this.#waiting.delete(wake);
              resume();
            };
            const timer = setTimeout(wake, Math.max(left, 0) + 1);
            this.#waiting.add(wake);
          });
          answer = await this.#value();
        }
        break;
      }
      default:
        return new Response("unknown operation", { status: 400 });
    }
    return Response.json({ value: answer });
  }

  async alarm() {
    if ((await this.#value()) === null) await this.#storage.delete("entry");
  }
}

/**
 * A refresh store on a Durable Object namespace bound to `RefreshCoordinator`
 * (`gateWorker(options, handler, (env) => ({ refreshStore: durableRefreshStore(env.REFRESH) }))`).
 */
export function durableRefreshStore(namespace) {
  const call = async (key, body) => {
    const stub = namespace.get(namespace.idFromName(key));
    const response = await stub.fetch("https://refresh.edgegate.invalid/", { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`refresh store: HTTP ${response.status}`);
    return (await response.json()).value;
  };
  return {
    claim: (key, value, ttlMs) => call(key, { op: "claim", value, ttlMs }),
    publish: (key, value, ttlMs) => call(key, { op: "publish", value, ttlMs }),
    read: (key) => call(key, { op: "read" }),
    release: (key) => call(key, { op: "release" }),
    wait: (key, value, waitMs) => call(key, { op: "wait", value, waitMs }),
  };
}
