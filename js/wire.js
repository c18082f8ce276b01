// edgegate: the wire between the shim and the engine's fast path. It mirrors
// src/wasm/wire.rs (`to_wire`, `read_request`, `verify`), where the spec is written; change
// the two together. Both sides are UTF-8 text in the engine's buffers; NUL separates fields.
//
//   request   (shim → engine, input buffer, `decideInput(bytes, fields, round)`):
//             method NUL url NUL name NUL value …
//             `fields` counts them; a header holding a NUL throws the count off, and the
//             engine answers 0 (decide the request as an object instead).
//   continue  (engine → shim, output buffer, the returned length in bytes):
//             \x02code NUL rule NUL kind NUL tokenSource NUL destination NUL rewrite
//             then NUL name NUL value per forwarded header; an absent field is empty.
//   verify    \x03id NUL alg NUL dataLength NUL signatureLength NUL handle,handle…
//             then, past the returned length, dataLength bytes of signed data and
//             signatureLength bytes of signature; `hostParams(alg)` says how to check it.
//   other     the JSON of `decide` (redirects, responses, fetches, store operations, and
//             continues that carry a message or cookies).
import { hostParams } from "./wasm/edgegate.js";

/** The first character of a positional answer. */
export const Tag = Object.freeze({ Continue: 2, Verify: 3 });

/** The number of fields of the last string `flatRequest` returned. */
export let flatFields = 0;

/**
 * The request as one string, `method NUL url NUL name NUL value …`, with its number of
 * fields in `flatFields`; undefined for header shapes the engine reads itself.
 */
export function flatRequest(request) {
  let text = `${request.method ?? "GET"}\0${request.url}`;
  let fields = 2;
  const add = (name, value) => {
    if (Array.isArray(value)) {
      for (const v of value) text += `\0${name}\0${v}`;
      fields += 2 * value.length;
    } else {
      text += `\0${name}\0${value}`;
      fields += 2;
    }
  };
  const headers = request.headers;
  // Duck-typed: Next's Edge sandbox hands over Headers from another realm.
  if (headers == null) {
    // No headers.
  } else if (Array.isArray(headers)) for (const [name, value] of headers) add(name, value);
  else if (typeof headers.forEach === "function") headers.forEach((value, name) => add(name, value));
  else if (typeof headers === "object" && !(Symbol.iterator in headers)) {
    for (const name of Object.keys(headers)) add(name, headers[name]);
  } else return undefined;
  flatFields = fields;
  return text;
}

/**
 * The engine's answer `text`, decoded from its output buffer `bytes`, where `end` is just
 * past the text (a verify answer's bytes start there).
 */
export function readAnswer(text, bytes, end) {
  switch (text.charCodeAt(0)) {
    case Tag.Continue:
      return readContinue(text);
    case Tag.Verify:
      return readVerify(text, bytes, end);
    default:
      return JSON.parse(text);
  }
}

/**
 * A decision that continues. Read field by field with indexOf: twice as fast as split()
 * here.
 */
export function readContinue(text) {
  let at = 1;
  const field = () => {
    let end = text.indexOf("\0", at);
    if (end < 0) end = text.length;
    const value = text.slice(at, end);
    at = end + 1;
    return value;
  };
  const decision = { action: "continue", code: field() };
  const rule = field();
  const kind = field();
  const tokenSource = field();
  const destination = field();
  const rewrite = field();
  if (rule !== "") decision.rule = Number(rule);
  if (kind !== "") decision.kind = kind;
  if (tokenSource !== "") decision.tokenSource = tokenSource;
  if (destination !== "") decision.destination = destination;
  if (rewrite !== "") decision.rewrite = rewrite;
  const headers = [];
  while (at < text.length) headers.push([field(), field()]);
  decision.requestHeaders = headers;
  return decision;
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
