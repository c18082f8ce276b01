// The raw wasm boundary without the shim: one decision through `decideInput` (encode the
// request into the engine's buffer, decide, decode the answer). Run: node bench/boundary.mjs
import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { initSync, Gate } from "../js/wasm/edgegate.js";

const wasm = initSync({ module: readFileSync(new URL("../js/wasm/edgegate_bg.wasm", import.meta.url)) });
const secret = "an-hmac-secret-of-at-least-32-bytes!!";
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "u", iss: "i", aud: "a", exp: now + 3600, scope: "read" })}`;
const token = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
const gate = new Gate({ verify: { algorithms: ["HS256"], keys: secret, issuer: "i", audience: "a" }, upstream: { claimHeaders: { sub: "x-auth-sub" } } });
// What a browser sends.
const browser = new Headers({ cookie: `theme=dark; __Host-token=${token}`, accept: "application/json", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "accept-language": "en-US,en;q=0.9", "accept-encoding": "gzip, deflate, br", referer: "https://app.example/dashboard", "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty", "sec-ch-ua": '"Chromium";v="156"', "sec-ch-ua-mobile": "?0", "sec-ch-ua-platform": '"Linux"' });
const flat = (url, headers) => {
  const parts = ["GET", url];
  headers.forEach((v, k) => parts.push(k, v));
  return [parts.join("\0"), parts.length];
};
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const capacity = 1 << 16;
const ptr = gate.inputBuffer(capacity);
const decide = ([text, parts]) => {
  const written = encoder.encodeInto(text, new Uint8Array(wasm.memory.buffer, ptr, capacity)).written;
  const length = gate.decideInput(written, parts, 0, Date.now());
  const at = gate.outputPtr();
  return decoder.decode(new Uint8Array(wasm.memory.buffer, at, length));
};
const time = (label, request, n = 20000) => {
  if (![2, 4].includes(decide(request).charCodeAt(0))) throw new Error(`not a continue: ${decide(request)}`);
  for (let i = 0; i < 2000; i++) decide(request);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) decide(request);
  console.log(label.padEnd(40), (((performance.now() - t0) / n) * 1000).toFixed(2), "µs");
};
time("cache hit, 13 browser headers", flat("https://app.example/api/stocks", browser));
time("public path, 13 browser headers", flat("https://app.example/about", browser));
time("public path, no headers", flat("https://app.example/about", new Headers()));
