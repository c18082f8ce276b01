// Where a cold start goes: the first gate built on a fresh instance, step by step. Each line
// is the first time its code runs, then (again) the second. V8 compiles wasm functions
// lazily, on first call, so a first time pays for compiling the code it reaches.
// Run: node bench/cold.mjs (compare with node --no-wasm-lazy-compilation bench/cold.mjs);
// WASM=<path> times another build of the same module (bench/cold-functions.mjs).
import { generateKeyPairSync } from "node:crypto";
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
time("initSync (instantiate)", () => glue.initSync({ module }));
time("options {} (parsed, then refused)", () => new glue.Gate({}));
time("options {} again", () => new glue.Gate({}));
time("+ verify HS256", () => new glue.Gate({ verify: { algorithms: ["HS256"], keys: secret } }));
time("+ rules (Next matcher compiler)", () => new glue.Gate({ rules, verify: { algorithms: ["HS256"], keys: secret } }));
time("+ claimHeaders", () => new glue.Gate({ rules, verify: { algorithms: ["HS256"], keys: secret }, upstream: { claimHeaders: { sub: "x-sub" } } }));
time("+ RS256 PEM key (DER, RSA checks)", () => new glue.Gate({ rules, verify: { algorithms: ["RS256"], keys: publicKey } }));
time("the same gate again", () => new glue.Gate({ rules, verify: { algorithms: ["RS256"], keys: publicKey } }));
