// Where a cold start goes: the first gate built on a fresh instance, step by step, then its
// first decisions. Each line is the first time its code runs, then (again) the second. V8 compiles wasm functions
// lazily, on first call, so a first time pays for compiling the code it reaches.
// Run: node bench/cold.mjs (compare with node --no-wasm-lazy-compilation bench/cold.mjs);
// WASM=<path> times another build of the same module (bench/cold-functions.mjs).
import { createHmac, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";

const module = new WebAssembly.Module(readFileSync(process.env.WASM ?? new URL("../js/wasm/edgegate_bg.wasm", import.meta.url)));
const glue = await import("../js/wasm/edgegate.js");
const { publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const secret = "an-hmac-secret-of-at-least-32-bytes!!";
const rules = [
  { match: "/dashboard/:path*", kind: "page" },
  { match: "/api/:path*", kind: "api" },
];
// STEPS=<n> stops after the first n steps (bench/cold-functions.mjs attributes compiles so).
let steps = Number(process.env.STEPS ?? Infinity);
const time = (label, f) => {
  if (steps-- <= 0) return;
  const t0 = performance.now();
  try {
    f();
  } catch {
    // `{}` is refused after parsing, which is the point of that step.
  }
  console.log(`${label.padEnd(44)} ${(performance.now() - t0).toFixed(2)} ms`);
};
let wasm;
time("initSync (instantiate)", () => (wasm = glue.initSync({ module })));
time("options {} (parsed, then refused)", () => new glue.Gate({}));
time("options {} again", () => new glue.Gate({}));
time("+ verify HS256", () => new glue.Gate({ verify: { algorithms: ["HS256"], keys: secret } }));
time("+ rules (Next matcher compiler)", () => new glue.Gate({ rules, verify: { algorithms: ["HS256"], keys: secret } }));
time("+ claimHeaders", () => new glue.Gate({ rules, verify: { algorithms: ["HS256"], keys: secret }, upstream: { claimHeaders: { sub: "x-sub" } } }));
time("+ RS256 PEM key (DER, RSA checks)", () => new glue.Gate({ rules, verify: { algorithms: ["RS256"], keys: publicKey } }));
time("the same gate again", () => new glue.Gate({ rules, verify: { algorithms: ["RS256"], keys: publicKey } }));

// The first decisions, through the shim's wire form (as js/index.js makes them), on a gate
// whose construction code the steps above compiled (built in the first one: ~0.3 ms).
let gate;
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const input = `${b64({ alg: "HS256" })}.${b64({ sub: "u", exp: Math.floor(Date.now() / 1000) + 600 })}`;
const token = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
const decide = (url, headers) => {
  gate ??= new glue.Gate({ rules, verify: { algorithms: ["HS256"], keys: secret }, upstream: { claimHeaders: { sub: "x-sub" } } });
  const text = ["GET", url, ...headers.flat()].join("\0");
  const ptr = gate.inputBuffer(4096);
  const written = new TextEncoder().encodeInto(text, new Uint8Array(wasm.memory.buffer, ptr, 4096)).written;
  gate.decideInput(written, 2 + 2 * headers.length, 0, Date.now());
};
time("first decision: a public page", () => decide("https://app.example/about", [["accept", "text/html"]]));
time("first decision: a page, no session (307)", () => decide("https://app.example/dashboard", []));
time("first decision: HS256 token, first sight", () => decide("https://app.example/api/x", [["cookie", `__Host-token=${token}`]]));
time("the same token again (cache hit)", () => decide("https://app.example/api/x", [["cookie", `__Host-token=${token}`]]));
