// edgegate: the wire between the shim and the engine's fast path. It mirrors
// src/wasm/wire.rs (`to_wire`, `read_request`, `verify`), where the spec is written; change
// the two together. Both sides are UTF-8 text in the engine's buffers; NUL separates fields.
//
//   request   (shim → engine, input buffer, `decideInput(bytes, fields, round, now, after)`):
//             method NUL url NUL name NUL value …
//             `fields` counts them; a header holding a NUL throws the count off, and the
//             engine answers 0 (decide the request as an object instead).
//   decision  (engine → shim, output buffer, the returned length in bytes), by its tag; an
//             absent field is empty:
//             \x04code NUL rule NUL kind NUL tokenSource NUL message
//               on as it came: the host answers with its bare pass-through
//             \x02code NUL rule NUL kind NUL tokenSource NUL message NUL destination NUL rewrite NUL n
//               then n × NUL removed-name, then NUL name NUL value per added header
//             \x05code NUL rule NUL kind NUL tokenSource NUL message NUL location
//             \x06code NUL rule NUL kind NUL tokenSource NUL message NUL status NUL n
//               then n × NUL name NUL value (response headers), NUL, and the body (the rest)
//   verify    \x03id NUL alg NUL dataLength NUL signatureLength NUL handle,handle…
//             then, past the returned length, dataLength bytes of signed data and
//             signatureLength bytes of signature; `hostParams(alg)` says how to check it.
//   other     the JSON of `decide` (decisions that set cookies, fetches, store operations).
import { hostParams } from "./wasm/edgegate.js";

/** The first character of a positional answer. */
export const Tag = Object.freeze({ Continue: 2, Verify: 3, Pass: 4, Redirect: 5, Respond: 6 });

/** The number of fields of the last string `flatRequest` returned. */
export let flatFields = 0;

/**
 * Calls `fn(name, value)` for each header of a request's `headers` (a `Headers` from any
 * realm, a `Map`, `[name, value]` pairs or a plain object; array values give one call
 * each); false for shapes the engine reads itself.
 */
function eachHeader(headers, fn) {
  const add = (name, value) => {
    if (Array.isArray(value)) for (const v of value) fn(name, v);
    else fn(name, value);
  };
  // Duck-typed: Next's Edge sandbox hands over Headers from another realm.
  if (headers == null) return true;
  if (Array.isArray(headers)) for (const [name, value] of headers) add(name, value);
  else if (typeof headers.forEach === "function") headers.forEach((value, name) => add(name, value));
  else if (typeof headers === "object" && !(Symbol.iterator in headers)) {
    for (const name of Object.keys(headers)) add(name, headers[name]);
  } else return false;
  return true;
}

/**
 * The request as one string, `method NUL url NUL name NUL value …`, with its number of
 * fields in `flatFields`; undefined for header shapes the engine reads itself.
 */
export function flatRequest(request) {
  let text = `${request.method ?? "GET"}\0${request.url}`;
  let fields = 2;
  const known = eachHeader(request.headers, (name, value) => {
    text += `\0${name}\0${value}`;
    fields += 2;
  });
  if (!known) return undefined;
  flatFields = fields;
  return text;
}

/**
 * The engine's answer `text`, decoded from its output buffer `bytes`, where `end` is just
 * past the text (a verify answer's bytes start there), to `request`.
 */
export function readAnswer(text, bytes, end, request) {
  switch (text.charCodeAt(0)) {
    case Tag.Verify:
      return readVerify(text, bytes, end);
    case Tag.Pass:
    case Tag.Continue:
    case Tag.Redirect:
    case Tag.Respond:
      return readDecision(text, request);
    default:
      return asDecision(JSON.parse(text), request);
  }
}

/**
 * An answer the engine gave as an object (JSON: a decision that sets cookies, or any answer
 * to headers the shim could not flatten): a continuing decision gets the same class as a
 * positional one, so its `claims` read the same.
 */
export function asDecision(answer, request) {
  return answer?.action === "continue" ? Object.assign(new Continuing(request), answer) : answer;
}

/**
 * A positional decision, as the object `decide` gives: read field by field with indexOf,
 * twice as fast as split() here, and faster than JSON.parse.
 */
export function readDecision(text, request) {
  let at = 1;
  const field = () => {
    let end = text.indexOf("\0", at);
    if (end < 0) end = text.length;
    const value = text.slice(at, end);
    at = end + 1;
    return value;
  };
  const tag = text.charCodeAt(0);
  const decision = tag === Tag.Pass || tag === Tag.Continue ? new Continuing(request) : { action: "continue" };
  decision.code = field();
  const rule = field();
  const kind = field();
  const tokenSource = field();
  const message = field();
  if (rule !== "") decision.rule = Number(rule);
  if (kind !== "") decision.kind = kind;
  if (tokenSource !== "") decision.tokenSource = tokenSource;
  if (message !== "") decision.message = message;
  if (tag === Tag.Redirect) {
    decision.action = "redirect";
    decision.status = 307;
    decision.location = field();
  } else if (tag === Tag.Respond) {
    decision.action = "respond";
    decision.status = Number(field());
    const headers = [];
    for (let n = Number(field()); n > 0; n--) headers.push([field(), field()]);
    decision.headers = headers;
    decision.body = text.slice(at);
  } else {
    const changes = { removed: [], added: [] };
    if (tag === Tag.Pass) {
      decision.passThrough = true;
    } else {
      const destination = field();
      const rewrite = field();
      if (destination !== "") decision.destination = destination;
      if (rewrite !== "") decision.rewrite = rewrite;
      for (let n = Number(field()); n > 0; n--) changes.removed.push(field());
      while (at < text.length) changes.added.push([field(), field()]);
    }
    decision.headerChanges = changes;
  }
  return decision;
}

/**
 * A decision that lets the request on. Its whole forwarded header list (`requestHeaders`) is
 * built from the request only when read: the adapters apply `headerChanges` instead. A
 * getter on the class, not one defined on each decision: that would turn every decision
 * into a dictionary-mode object for V8, which measured 0.65 µs more per decision to make
 * and slowed every read of it.
 */
class Continuing {
  #request;
  #headers;
  #claims;
  constructor(request) {
    this.action = "continue";
    this.#request = request;
  }
  get requestHeaders() {
    return (this.#headers ??= forwardedHeaders(this.#request.headers, this.headerChanges));
  }
  set requestHeaders(list) {
    this.#headers = list;
  }
  /**
   * The claims of the token the gate verified for this request (its JWT payload), read on
   * first use from the bearer the gate forwards: nothing is decoded for a decision whose
   * claims nobody reads. Undefined where the gate authenticated nothing (a public or guest
   * route, where an Authorization header the client sent is not the gate's) or where the
   * token is not a JWT.
   */
  get claims() {
    if (this.#claims === undefined) this.#claims = verifiedClaims(this) ?? null;
    return this.#claims ?? undefined;
  }
  /** As data, the list included (logs, `structuredClone` of `toJSON()`). */
  toJSON() {
    return { ...this, requestHeaders: this.requestHeaders };
  }
}

// The payload of the bearer an authenticated decision forwards: the gate sets that header
// itself, from whichever source it verified the token.
function verifiedClaims(decision) {
  if (decision.code !== "OK_AUTHENTICATED" && decision.code !== "OK_REFRESHED") return undefined;
  const authorization = decision.headerChanges.added.find(([name]) => name === "authorization")?.[1];
  const payload = /^Bearer [\w-]+\.([\w-]+)\.[\w-]+$/.exec(authorization ?? "")?.[1];
  if (payload === undefined) return undefined;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

// Lowercase as the engine folds names: ASCII letters only (`toLowerCase` also folds the
// Kelvin sign to `k`).
const asciiLower = (name) => (/^[\x00-\x7f]*$/.test(name) ? name.toLowerCase() : name.replace(/[A-Z]/g, (c) => c.toLowerCase()));

/**
 * The request's `headers` with a decision's `changes` applied, as the engine lists them:
 * names lowercase, every value of each removed name dropped, the added ones last.
 */
export function forwardedHeaders(headers, { removed, added }) {
  const list = [];
  eachHeader(headers, (name, value) => {
    const key = asciiLower(name);
    if (!removed.includes(key)) list.push([key, `${value}`]);
  });
  return list.concat(added);
}

// How to check a signature is the engine's choice per algorithm (`hostParams`), the same
// for every check and every gate: asked once.
const paramsByAlg = new Map();

/**
 * A signature for the host to check, its data and signature in `bytes` from `at`: the same
 * object as the engine's object path answers (`{ action: "verify", id, alg, webCrypto,
 * node, keys, data, signature }`).
 */
export function readVerify(text, bytes, at) {
  const [id, alg, dataLength, signatureLength, handles] = text.slice(1).split("\0");
  // Copied out first: the buffer is reused, a WebCrypto check outlives this call, and the
  // call into the engine below may grow its memory, which detaches `bytes`.
  const raw = bytes.slice(at, at + Number(dataLength) + Number(signatureLength));
  let params = paramsByAlg.get(alg);
  if (params === undefined) {
    params = JSON.parse(hostParams(alg) ?? "{}");
    paramsByAlg.set(alg, params);
  }
  return {
    action: "verify",
    id: Number(id),
    alg,
    webCrypto: params.webCrypto ?? null,
    node: params.node ?? null,
    keys: handles === "" ? [] : handles.split(",").map(Number),
    data: raw.subarray(0, Number(dataLength)),
    signature: raw.subarray(Number(dataLength)),
  };
}
