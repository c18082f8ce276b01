// edgegate: the host-agnostic part of the shim. It loads the engine once per isolate,
// replaces it after a trap, and passes requests through; every decision is made by the
// Rust engine. The wire form is in wire.js, key fetches in fetch.js, refresh-store
// operations in store.js, host signature checks in crypto.js.
import { loadWasm } from "#wasm";
import { initSync, resetWasm, Gate as WasmGate } from "./wasm/edgegate.js";
import { asDecision, flatFields, flatRequest, readAnswer } from "./wire.js";
import { runFetch } from "./fetch.js";
import { runStore } from "./store.js";
import { readBody } from "./body.js";
import { HostCrypto } from "./crypto.js";
import { applyCookies } from "./respond.js";
import { nodeUrl } from "./node-url.js";

export { redisRefreshStore } from "./store.js";

/** An error from the engine, with a stable `code` such as `ERR_CONFIG_WEAK_KEY`. */
export class EdgeGateError extends Error {
  constructor(message, code, options) {
    super(message, options);
    this.name = "EdgeGateError";
    this.code = code;
  }
}

// Requests cross into the engine as UTF-8 in its input buffer and answers come back as
// UTF-8 in its output buffer (the wire form: js/wire.js): one native encode and one native
// decode per decision. This module owns the instance and the view on its memory.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let wasm;
let memoryBytes = new Uint8Array(0);

// The wasm memory as bytes. A view made before the memory grew is detached (length 0).
function memory() {
  if (memoryBytes.byteLength === 0) memoryBytes = new Uint8Array(wasm.memory.buffer);
  return memoryBytes;
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
    wasm = initSync({ module: sameRealm(source) });
    memoryBytes = new Uint8Array(0);
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

/**
 * The path of an option written with the value `undefined` (`upstream:
 * process.env.BACKEND_URL` with the variable unset), or null. JSON would drop it and the
 * option's default would apply: for an upstream, the rule's requests would go into the app.
 */
function undefinedOption(value, path) {
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`${path}[${i}]`, v])
    : value && typeof value === "object"
      ? Object.entries(value).map(([k, v]) => [path ? `${path}.${k}` : k, v])
      : [];
  for (const [at, v] of entries) {
    const found = v === undefined ? at : undefinedOption(v, at);
    if (found) return found;
  }
  return null;
}

function build(options, now) {
  const unset = undefinedOption(options, "");
  if (unset) {
    throw new EdgeGateError(`${unset} is undefined (an unset environment variable?): give it a value, or leave the option out`, "ERR_CONFIG_INVALID");
  }
  try {
    return new WasmGate(options, now);
  } catch (error) {
    rethrow(error);
  }
}

// Bumped when a trap forces a fresh instance; gates built on an older one rebuild.
let generation = 0;
// Thrown to take the slow path when the first decision finds the engine not loaded yet.
const notReady = Symbol("edgegate: not loaded");
// Thrown when the instance a request was waiting on (for a fetch, a host signature check)
// was replaced meanwhile: the request starts over on the new one.
const stale = Symbol("edgegate: instance replaced");

class Gate {
  #options;
  #now;
  #fetch;
  #store;
  #refreshStore;
  #inner;
  #generation;
  // Key fetches and store operations in flight, by the engine's ticket id: concurrent
  // requests share one.
  #inflight = new Map();
  // Bodies read for the engine, by request: a request started over on a fresh instance
  // (after a trap) finds its body, whose stream is spent.
  #bodies = new WeakMap();

  #log;
  // How signatures are checked on the host, and the keys imported for it.
  #crypto;
  // The engine's input buffer: where it starts in the wasm memory, its size, a view on it.
  #ptr = 0;
  #capacity = 0;
  #input;

  constructor(options, { now, fetch, store, refreshStore, log, crypto } = {}) {
    this.#crypto = new HostCrypto(crypto);
    this.#options = options;
    this.#now = now;
    this.#fetch = fetch;
    this.#store = store;
    this.#refreshStore = refreshStore;
    this.#log = log === true ? (entry) => console.log(JSON.stringify(entry)) : log;
    this.#build();
  }

  #build() {
    this.#inner = build(this.#options, this.#now);
    this.#generation = generation;
    // Tickets, key handles and buffers belong to the old engine instance.
    this.#inflight = new Map();
    this.#crypto.clear();
    this.#capacity = 0;
    this.#input = undefined;
  }

  #forget() {
    // Unregister the finalizer without calling into the (possibly dead) instance: it must
    // never free this pointer in a newer instance.
    this.#inner.__destroy_into_raw();
  }

  /** Decides `{ method, url, headers }` (a `Request` works as is). */
  decide(request) {
    if (!this.#log) return this.#decide(request);
    const started = performance.now();
    return this.#decide(request).then((decision) => {
      this.#log(logEntry(request, decision, performance.now() - started));
      return decision;
    });
  }

  /**
   * The trace of how `request` would be decided: `{ steps: [{ step, ok, detail, code? }],
   * code }` (normalized path, rule, token source, CSRF, each JWS and claim check, scopes,
   * route), run through the decision's own steps. For debugging; it fetches nothing and
   * changes nothing.
   */
  async explain(request) {
    await init();
    return this.#current().explain({ method: request.method, url: request.url, headers: request.headers });
  }

  // Most decisions are made synchronously: only a fetch, a store operation or a host
  // signature check waits, and the caller's promise is the only one.
  #decide(request) {
    try {
      if (!initialized) throw notReady;
      this.#current();
      const answer = this.#ask(request, 0);
      if (answer.action !== "fetch" && answer.action !== "store" && answer.action !== "verify" && answer.action !== "body") {
        return Promise.resolve(answer);
      }
      return this.#settle(request, answer).catch((error) => this.#recover(request, error));
    } catch (error) {
      return this.#recover(request, error);
    }
  }

  // The instance is not up yet, it trapped, or it was replaced while this request waited:
  // a trap leaves it in an unknown state, so drop it and start a fresh one; then decide
  // once more from the start, on the current instance.
  async #recover(request, error) {
    if (error instanceof WebAssembly.RuntimeError) {
      this.#forget();
      resetWasm();
      generation += 1;
      ready = undefined;
      initialized = false;
    } else if (error !== notReady && error !== stale) {
      rethrow(error);
    }
    await init();
    this.#current();
    try {
      return await this.#settle(request, this.#ask(request, 0));
    } catch (error) {
      if (error === stale) throw new Error("edgegate: the engine was replaced twice during one request");
      rethrow(error);
    }
  }

  // The instance this gate talks to now, as a getter that throws `stale` once it is gone.
  // A fetch ticket or a pending signature check belongs to the instance that issued it: a
  // fresh instance issues its own, and a late report must never reach it (nor may a call
  // reach a dropped instance's object, whose pointer means nothing in the new memory).
  #bound() {
    const inner = this.#inner;
    const born = this.#generation;
    return () => {
      if (this.#inner !== inner || generation !== born) throw stale;
      return inner;
    };
  }

  /**
   * `Set-Cookie` values storing a session, for a response to a request at `url` whose
   * `Cookie` header is `cookie` (its stale chunks removed; every possible one without it).
   */
  sessionCookies(url, session, cookie) {
    try {
      return this.#current().sessionCookies(url, session, cookie ?? undefined);
    } catch (error) {
      rethrow(error);
    }
  }

  /** `Set-Cookie` values removing the session, for a response to a request at `url`. */
  clearSessionCookies(url, cookie) {
    return this.#current().clearSessionCookies(url, cookie ?? undefined);
  }

  #current() {
    if (this.#generation !== generation) {
      this.#forget();
      this.#build();
    }
    return this.#inner;
  }

  // The engine's answer to `request` after `round` fetches or store operations, the last
  // of them ticket `after` (a pushed login finds its transaction by it), with its `body`
  // once the engine asked for it.
  #ask(request, round, after, body) {
    const flat = flatRequest(request);
    if (flat !== undefined) {
      // The time goes in with the request: no call out of the engine per clock reading.
      const length = this.#inner.decideInput(this.#write(flat), flatFields, round, Date.now(), after, body);
      if (length > 0) return this.#read(length, request);
    }
    // Headers the shim cannot flatten (or holding a NUL): the engine reads the object.
    const object = { method: request.method, url: request.url, headers: request.headers };
    return asDecision(this.#inner.decide(object, round, after, body), request);
  }

  // A decision as it is, or after the fetches, store operations and signature checks it
  // asks for. The engine bounds the rounds: past its limit it answers instead of asking. A
  // request's token takes one check; a hosted-login callback may take one per token it
  // verifies (the ID token, the access token), each followed by fetches or a decision.
  async #settle(request, answer) {
    const engine = this.#bound();
    let round = 0;
    let after;
    let body;
    for (let checks = 0; ; ) {
      if (answer.action === "fetch" || answer.action === "store") {
        await this.#perform(answer, engine);
        engine(); // still the instance that asked, or start over
        after = answer.id;
        answer = this.#ask(request, ++round, after, body);
      } else if (answer.action === "body") {
        if (body !== undefined) throw new Error("edgegate: the engine asked for the body twice");
        body = this.#bodies.get(request) ?? (await readBody(request, answer.maxBytes));
        this.#bodies.set(request, body);
        engine();
        answer = this.#ask(request, round, after, body);
      } else if (answer.action === "verify") {
        if (++checks > 4) throw new Error("edgegate: more signature checks than one request takes");
        answer = await this.#crypto.verify(answer, engine, (length) => this.#read(length, request));
      } else {
        return answer;
      }
    }
  }

  // Encodes `text` into the engine's input buffer; returns the bytes written.
  #write(text) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (text.length * 3 > this.#capacity) {
      this.#capacity = Math.max(text.length * 3, 4096);
      this.#ptr = this.#inner.inputBuffer(this.#capacity);
      this.#input = undefined;
    }
    if (this.#input === undefined || this.#input.byteLength === 0) {
      this.#input = new Uint8Array(wasm.memory.buffer, this.#ptr, this.#capacity);
    }
    return encoder.encodeInto(text, this.#input).written;
  }

  // The engine's answer to `request`, of `length` bytes in its output buffer.
  #read(length, request) {
    const at = this.#inner.outputPtr();
    const bytes = memory();
    return readAnswer(decoder.decode(bytes.subarray(at, at + length)), bytes, at + length, request);
  }

  // The engine asked for a fetch (keys, a token refresh: fetch.js) or a refresh-store
  // operation (store.js): one per ticket, shared by concurrent requests. What to do, when,
  // and what the answer means are the engine's.
  #perform(ticket, engine) {
    let running = this.#inflight.get(ticket.id);
    if (!running) {
      running =
        ticket.action === "store"
          ? runStore(ticket, engine, this.#refreshStore)
          : runFetch(ticket, engine, { fetch: this.#fetch, store: this.#store });
      running = running.finally(() => this.#inflight.delete(ticket.id));
      this.#inflight.set(ticket.id, running);
    }
    return running;
  }
}

/**
 * Builds a gate from its options (throws `EdgeGateError` with an `ERR_CONFIG_*` code).
 * Host options: `now` (seconds since the epoch) fixes the clock, for tests; `fetch`
 * replaces `globalThis.fetch` for remote keys; `store` ({ get(key), put(key, value) },
 * async, strings) persists fetched keys where memory does not outlive a request;
 * `refreshStore` is the shared store of `refresh.coordination` (store.js: Redis, a Durable
 * Object from edgegate/worker, or your own claim/publish/read/release). `crypto`
 * ("node" or "webcrypto") picks how RSA and ECDSA signatures are checked; by default
 * node:crypto where the host has it (Node), else WebCrypto.
 */
export async function createGate(options, host = {}) {
  await init();
  return new Gate(options, host);
}

/**
 * Validates options as `createGate` does, without keeping a gate. Await it in next.config.ts
 * so bad options fail `next build` and `next start`, not the first request.
 */
export async function check(options) {
  await createGate(options);
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
 * Stores a session on `response` (anything with `headers.append` and `headers.set`): the
 * access token (and refresh token) in HttpOnly, SameSite=Lax, Path=/ cookies, `__Host-` and
 * Secure except on plain http on loopback, Max-Age from the token's lifetime; the response
 * made `private, no-store`, as every response carrying a session is.
 */
export async function setSession(response, session, { options, request } = {}) {
  const gate = await helperGate(options);
  applyCookies(response.headers, gate.sessionCookies(urlOf(request), session, cookieOf(request)));
  return response;
}

/** Removes the session cookies (both names, and chunks) on `response`, made `private, no-store`. */
export async function clearSession(response, { options, request } = {}) {
  const gate = await helperGate(options);
  applyCookies(response.headers, gate.clearSessionCookies(urlOf(request), cookieOf(request)));
  return response;
}

// A Node request's `url` is a path: made absolute as edgegate/node makes it for its
// decisions, so the names agree. Anything else without a scheme: the secure names.
const urlOf = (request) => {
  const url = request?.url;
  if (typeof url === "string" && request.socket) return nodeUrl(request).href;
  if (typeof url === "string" && /^[a-z][a-z\d+.-]*:\/\//i.test(url)) return url;
  return "https://unknown.invalid/";
};
// The request's cookies name the chunks a shorter session leaves stale; Express's
// `req.headers` is a plain object, a Fetch request's a `Headers`.
const cookieOf = (request) => {
  const headers = request?.headers;
  if (typeof headers?.get === "function") return headers.get("cookie") ?? "";
  // A plain object (Express's req.headers) says nothing about cookies unless it has the
  // lowercase string: anything else is unknown, and every chunk name is then removed.
  return typeof headers?.cookie === "string" ? headers.cookie : undefined;
};
