// edgegate: the host-agnostic part of the shim. It loads the engine once per isolate and
// passes requests through; every decision is made by the Rust engine.
import { loadWasm } from "#wasm";
import { initSync, resetWasm, Gate as WasmGate } from "./wasm/edgegate.js";

/** An error from the engine, with a stable `code` such as `ERR_CONFIG_WEAK_KEY`. */
export class EdgeGateError extends Error {
  constructor(message, code, options) {
    super(message, options);
    this.name = "EdgeGateError";
    this.code = code;
  }
}

// node:crypto where the host is Node (proxy.ts, a Node server): the OpenSSL behind Node's
// WebCrypto, called synchronously, 2-3x faster per check than through its promise queue
// (bench/README.md). Edge sandboxes and Workers have no process.getBuiltinModule and use
// WebCrypto.
const nodeCrypto = (() => {
  try {
    return globalThis.process?.getBuiltinModule?.("node:crypto");
  } catch {
    return undefined;
  }
})();

// Engine answers come back as text, one string across the boundary: JSON, then for a
// decision that continues, `\x01` and the forwarded headers as `name NUL value NUL …`
// (cheaper than escaping a kilobyte-long token into JSON and parsing it back). Fetches come
// as objects.
function parsed(answer) {
  if (typeof answer !== "string") return answer;
  const cut = answer.indexOf("\x01");
  if (cut < 0) return JSON.parse(answer);
  const decision = JSON.parse(answer.slice(0, cut));
  const flat = answer.slice(cut + 1).split("\0");
  const headers = [];
  for (let i = 0; i + 1 < flat.length; i += 2) headers.push([flat[i], flat[i + 1]]);
  decision.requestHeaders = headers;
  return decision;
}

let ready;
// Set once the instance is up, so a warm decision skips awaiting `ready`.
let initialized = false;

// Next's Edge sandbox hands over a WebAssembly.Module created in another realm: a real
// module that fails `instanceof` here, which wasm-bindgen's initSync relies on.
function sameRealm(source) {
  if (
    source &&
    typeof source === "object" &&
    !(source instanceof WebAssembly.Module) &&
    Object.prototype.toString.call(source) === "[object WebAssembly.Module]"
  ) {
    Object.setPrototypeOf(source, WebAssembly.Module.prototype);
  }
  return source;
}

function init() {
  ready ??= Promise.resolve(loadWasm()).then((source) => {
    initSync({ module: sameRealm(source) });
    initialized = true;
  });
  return ready;
}

function rethrow(error) {
  if (error instanceof Error && error.name === "EdgeGateError" && !(error instanceof EdgeGateError)) {
    throw new EdgeGateError(error.message, error.code, { cause: error });
  }
  throw error;
}

// Headers as one string, `name NUL value NUL …`: a single crossing into the engine instead
// of one per header. Undefined (the engine reads the object itself) for shapes it does not
// know and for text holding a NUL, which no HTTP header can carry.
function flatHeaders(headers) {
  if (headers == null) return "";
  const parts = [];
  const add = (name, value) => {
    if (Array.isArray(value)) for (const v of value) parts.push(name, String(v));
    else parts.push(name, String(value));
  };
  // Duck-typed: Next's Edge sandbox hands over Headers from another realm.
  if (Array.isArray(headers)) for (const [k, v] of headers) add(String(k), v);
  else if (typeof headers.forEach === "function") headers.forEach((v, k) => add(String(k), v));
  else if (typeof headers === "object" && !(Symbol.iterator in headers)) {
    for (const k of Object.keys(headers)) add(k, headers[k]);
  } else return undefined;
  if (parts.length === 0) return "";
  const flat = parts.join("\0");
  return flat.split("\0").length === parts.length ? flat : undefined;
}

// One structured line per decision: what and why, never tokens, cookies or the query.
function logEntry(request, decision, ms) {
  let path;
  try {
    path = new URL(request.url, "http://relative.invalid").pathname;
  } catch {
    path = undefined;
  }
  return {
    edgegate: decision.code,
    action: decision.action,
    status: decision.status ?? 200,
    method: request.method ?? "GET",
    path,
    rule: decision.rule,
    kind: decision.kind,
    tokenSource: decision.tokenSource,
    reason: decision.message,
    ms: Math.round(ms * 1000) / 1000,
  };
}

/** Thrown inside the shim when a response body passes the engine's size cap. */
class TooLarge extends Error {}

// Reads at most `max` bytes of the body; more is a failure, and the rest is never read.
async function readCapped(response, max) {
  const declared = Number(response.headers.get("content-length"));
  if (declared > max) {
    await response.body?.cancel();
    throw new TooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLarge();
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function build(options, now) {
  try {
    return new WasmGate(options, now);
  } catch (error) {
    rethrow(error);
  }
}

// Bumped when a trap forces a fresh instance; gates built on an older one rebuild.
let generation = 0;

class Gate {
  #options;
  #now;
  #fetch;
  #store;
  #inner;
  #generation;
  // Key fetches in flight, by the engine's ticket id: concurrent requests share one.
  #inflight = new Map();

  #log;
  // node:crypto where it is present and not turned off, else WebCrypto.
  #nodeCrypto;

  constructor(options, { now, fetch, store, log, crypto } = {}) {
    if (crypto !== undefined && crypto !== "node" && crypto !== "webcrypto") {
      throw new TypeError('host option crypto must be "node" or "webcrypto"');
    }
    if (crypto === "node" && !nodeCrypto) {
      throw new TypeError('crypto: "node" needs process.getBuiltinModule (Node 20.16+, 22.3+)');
    }
    this.#nodeCrypto = crypto === "webcrypto" ? undefined : nodeCrypto;
    this.#options = options;
    this.#now = now;
    this.#fetch = fetch;
    this.#store = store;
    this.#log = log === true ? (entry) => console.log(JSON.stringify(entry)) : log;
    this.#build();
  }

  #build() {
    this.#inner = build(this.#options, this.#now);
    this.#generation = generation;
    // Tickets and key handles belong to the old engine instance.
    this.#inflight = new Map();
    this.#hostKeys = new Map();
  }

  #forget() {
    // Unregister the finalizer without calling into the (possibly dead) instance: it must
    // never free this pointer in a newer instance.
    this.#inner.__destroy_into_raw();
  }

  /** Decides `{ method, url, headers }` (a `Request` works as is). */
  async decide(request) {
    if (!this.#log) return this.#decide(request);
    const started = performance.now();
    const decision = await this.#decide(request);
    this.#log(logEntry(request, decision, performance.now() - started));
    return decision;
  }

  /**
   * The trace of how `request` would be decided: `{ steps: [{ step, ok, detail }] }`
   * (normalized path, rule, token source, CSRF, each JWS and claim check, scopes). For
   * debugging; it fetches nothing and changes nothing.
   */
  async explain(request) {
    await init();
    return this.#current().explain({ method: request.method, url: request.url, headers: request.headers });
  }

  async #decide(request) {
    const view = { method: request.method, url: request.url, headers: request.headers };
    if (!initialized) await init();
    this.#current();
    try {
      return await this.#decideOnce(view);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) rethrow(error);
      // A trap leaves the instance in an unknown state: drop it, start a fresh one, retry.
      this.#forget();
      resetWasm();
      generation += 1;
      ready = undefined;
      initialized = false;
      await init();
      this.#build();
      return this.#decideOnce(view);
    }
  }

  /** `Set-Cookie` values storing a session, for a response to a request at `url`. */
  sessionCookies(url, session) {
    try {
      return this.#current().sessionCookies(url, session);
    } catch (error) {
      rethrow(error);
    }
  }

  /** `Set-Cookie` values removing the session, for a response to a request at `url`. */
  clearSessionCookies(url) {
    return this.#current().clearSessionCookies(url);
  }

  #current() {
    if (this.#generation !== generation) {
      this.#forget();
      this.#build();
    }
    return this.#inner;
  }

  async #decideOnce(view) {
    const flat = flatHeaders(view.headers);
    // The engine bounds the rounds: past its limit it answers instead of asking to fetch.
    for (let round = 0; ; round++) {
      const decision = parsed(
        flat === undefined
          ? this.#inner.decide(view, round)
          : this.#inner.decideFlat(view.method ?? "GET", String(view.url), flat, round),
      );
      if (decision.action === "fetch") {
        await this.#fetchKeys(decision);
        continue;
      }
      return decision.action === "verify" ? this.#verifyOnHost(decision) : decision;
    }
  }

  // The engine asked for a provider's keys. Only the I/O happens here; what to fetch,
  // when, and what the answer means are the engine's.
  #fetchKeys(ticket) {
    let running = this.#inflight.get(ticket.id);
    if (!running) {
      running = this.#runFetch(ticket).finally(() => this.#inflight.delete(ticket.id));
      this.#inflight.set(ticket.id, running);
    }
    return running;
  }

  async #runFetch(ticket) {
    const store = this.#store;
    const key = `edgegate:${ticket.url}`;
    if (ticket.mayUseStored && store && ticket.method === "GET") {
      try {
        const saved = JSON.parse((await store.get(key)) ?? "null");
        if (saved && this.#inner.fetchedStored(ticket.id, saved.body, saved.fetchedAt)) return;
      } catch {
        // An unreadable store is just a cold start.
      }
    }
    const fetch = this.#fetch ?? globalThis.fetch;
    try {
      const response = await fetch(ticket.url, {
        method: ticket.method,
        headers: ticket.headers,
        body: ticket.body,
        redirect: "manual",
        signal: AbortSignal.timeout(ticket.timeoutMs),
      });
      const body = response.status === 200 ? await readCapped(response, ticket.maxBytes) : "";
      if (response.status !== 200) await response.body?.cancel();
      const fetchedAt = this.#inner.fetched(ticket.id, response.status, body);
      if (fetchedAt !== undefined && store && ticket.method === "GET") {
        try {
          await store.put(key, JSON.stringify({ fetchedAt, body }));
        } catch {
          // Persisting is an optimisation; the keys are already in use.
        }
      }
    } catch (error) {
      const reason =
        error instanceof TooLarge
          ? "too_large"
          : error?.name === "TimeoutError" || error?.name === "AbortError"
            ? "timeout"
            : "network";
      this.#inner.fetchFailed(ticket.id, reason, String(error?.message ?? error));
    }
  }

  // The engine asked for a signature check with the host's crypto: it chose the algorithm
  // parameters and the candidate keys; the verdict goes back to it.
  async #verifyOnHost(check) {
    const bytes = this.#inner.pendingBytes(check.id);
    const data = bytes.subarray(0, check.dataLength);
    const signature = bytes.subarray(check.dataLength);
    const subtle = globalThis.crypto?.subtle;
    let valid = false;
    try {
      const node = this.#nodeCrypto;
      if (check.node && node) {
        const { algorithm, options } = check.node;
        for (const handle of check.keys) {
          const key = this.#hostKey(`node ${check.alg} ${handle}`, check, handle, (jwk) =>
            node.createPublicKey({ key: jwk, format: "jwk" }),
          );
          if (this.#checks(() => node.verify(algorithm, data, { ...options, key }, signature))) {
            valid = true;
            break;
          }
        }
      } else if (check.webCrypto && subtle) {
        const { import: params, verify } = check.webCrypto;
        for (const handle of check.keys) {
          const key = await this.#hostKey(`web ${check.alg} ${handle}`, check, handle, (jwk) =>
            subtle.importKey("jwk", jwk, params, false, ["verify"]),
          );
          if (await subtle.verify(verify, key, signature, data).catch(() => false)) {
            valid = true;
            break;
          }
        }
      } else {
        return parsed(this.#inner.resumeHere(check.id));
      }
    } catch {
      // This host cannot import the key type (e.g. no Ed25519): the engine checks instead.
      return parsed(this.#inner.resumeHere(check.id));
    }
    return parsed(this.#inner.resume(check.id, valid));
  }

  // A signature the host's crypto cannot even parse for this key is not valid.
  #checks(verify) {
    try {
      return verify() === true;
    } catch {
      return false;
    }
  }

  // Imported keys by algorithm and the engine's key handle (unique per engine instance and
  // stable across JWKS refreshes); cleared with the instance. Bounded: rotations add handles.
  #hostKeys = new Map();

  #hostKey(id, check, handle, load) {
    let key = this.#hostKeys.get(id);
    if (key === undefined) {
      if (this.#hostKeys.size >= 256) this.#hostKeys.clear();
      key = load(this.#inner.candidateKey(check.id, handle));
      this.#hostKeys.set(id, key);
      // A failed import is not remembered: the next request tries again.
      if (key instanceof Promise) key.catch(() => this.#hostKeys.delete(id));
    }
    return key;
  }
}

/**
 * Builds a gate from its options (throws `EdgeGateError` with an `ERR_CONFIG_*` code).
 * Host options: `now` (seconds since the epoch) fixes the clock, for tests; `fetch`
 * replaces `globalThis.fetch` for remote keys; `store` ({ get(key), put(key, value) },
 * async, strings) persists fetched keys where memory does not outlive a request. `crypto`
 * ("node" or "webcrypto") picks how RSA and ECDSA signatures are checked; by default
 * node:crypto where the host has it (Node), else WebCrypto.
 */
export async function createGate(options, host = {}) {
  await init();
  return new Gate(options, host);
}

// Cookie helpers build a gate from the same options, once per options object, so cookie
// names and attributes always match what the gate reads.
const helpers = new WeakMap();
function helperGate(options) {
  if (!options || typeof options !== "object") {
    throw new TypeError("pass { options } (the gate's options) so cookie names match the gate");
  }
  let gate = helpers.get(options);
  if (!gate) helpers.set(options, (gate = createGate(options)));
  return gate;
}

/**
 * Stores a session on `response` (anything with `headers.append`): the access token (and
 * refresh token) in HttpOnly, SameSite=Lax, Path=/ cookies, `__Host-` and Secure except on
 * plain http on loopback, Max-Age from the token's lifetime.
 */
export async function setSession(response, session, { options, request } = {}) {
  const gate = await helperGate(options);
  for (const cookie of gate.sessionCookies(request?.url ?? "https://unknown.invalid/", session)) {
    response.headers.append("set-cookie", cookie);
  }
  return response;
}

/** Removes the session cookies (both names) on `response`. */
export async function clearSession(response, { options, request } = {}) {
  const gate = await helperGate(options);
  for (const cookie of gate.clearSessionCookies(request?.url ?? "https://unknown.invalid/")) {
    response.headers.append("set-cookie", cookie);
  }
  return response;
}
