// edgegate vs the middleware people write by hand: jose 6 + path-to-regexp 6, doing the same
// checks (same tokens, same keys parsed once, same claims policy, same header rewrite).
// Prints a table, writes bench/results.json and bench/chart.svg. Run: scripts/bench
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createGate } from "edgegate";
import { SignJWT, importPKCS8, importSPKI } from "jose";
import { benchRequest as request, referenceGate as reference, rules } from "./reference.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 11);
const ISS = "https://issuer.example";
const AUD = "api://bench";
const here = (p) => new URL(p, import.meta.url);

// --- keys and tokens -------------------------------------------------------------------
function keyPair(type, opts) {
  const { publicKey, privateKey } = generateKeyPairSync(type, {
    ...opts,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { publicKey, privateKey };
}
const secret = randomBytes(32).toString("base64url");
const algs = {
  HS256: { edgegateKey: secret, joseKey: new TextEncoder().encode(secret), sign: new TextEncoder().encode(secret) },
  RS256: keyPair("rsa", { modulusLength: 2048 }),
  PS256: keyPair("rsa", { modulusLength: 2048 }),
  ES256: keyPair("ec", { namedCurve: "P-256" }),
  EdDSA: keyPair("ed25519", {}),
};
for (const [alg, k] of Object.entries(algs)) {
  if (alg === "HS256") continue;
  k.edgegateKey = k.publicKey;
  k.joseKey = await importSPKI(k.publicKey, alg);
  k.sign = await importPKCS8(k.privateKey, alg);
}
async function tokens(alg, n) {
  const now = Math.floor(Date.now() / 1000);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await new SignJWT({ scope: "read", jti: `t${i}` })
        .setProtectedHeader({ alg, typ: "JWT" })
        .setSubject("bench-user")
        .setIssuer(ISS)
        .setAudience(AUD)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(algs[alg].sign),
    );
  }
  return out;
}

// --- the two gates -----------------------------------------------------------------------
const options = (alg) => ({
  rules,
  verify: { algorithms: [alg], keys: algs[alg].edgegateKey, issuer: ISS, audience: AUD },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
});

// The forwarded header list is read, as the reference builds it: only the changes cross the
// boundary, and the list is made from the request on first read.
const forwarded = (decision) => (decision.requestHeaders, decision);
const edgegateGate = (alg, host) => async () => {
  const gate = await createGate(options(alg), host);
  return (r) => gate.decide(r).then(forwarded);
};
const referenceGate = (alg) => async () => reference({ alg, key: algs[alg].joseKey, issuer: ISS, audience: AUD });

// --- measurement -----------------------------------------------------------------------------
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * µs per decision for each gate over ROUNDS rounds of `tokensPerRound` requests. V8 tiers
 * wasm and JS up only after many calls, so throwaway gates first run for WARMUP_MS each:
 * same code, their own caches, and the measured gates still see every first-sight token
 * for the first time. Rounds alternate between the gates (and which goes first), so a drift
 * in the machine's speed hits both alike.
 */
async function measure(makers, tokensPerRound) {
  for (const makeGate of makers) {
    for (const until = performance.now() + WARMUP_MS; performance.now() < until; ) {
      // Each pass on a new gate with new request objects, as measured below: first-sight
      // tokens stay first sight, and the code warms on the path it is timed on.
      const warm = await makeGate();
      for (const r of tokensPerRound(-1).map(request)) await warm(r);
    }
  }
  const gates = [];
  for (const makeGate of makers) gates.push(await makeGate());
  const perRound = gates.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const i of round % 2 ? [1, 0] : [0, 1]) {
      const reqs = tokensPerRound(round).map(request);
      // The garbage of building the requests is collected before timing, not inside it
      // (with --expose-gc, as scripts/bench runs this); the decisions' own garbage counts.
      globalThis.gc?.();
      const t0 = performance.now();
      for (const r of reqs) {
        const d = await gates[i](r);
        if (d.action !== "continue") throw new Error(`benchmark decision was ${JSON.stringify(d)}`);
      }
      perRound[i].push(((performance.now() - t0) * 1000) / reqs.length);
    }
  }
  return perRound.map((xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }));
}

const rows = [];
// On Node the shim checks RSA, ECDSA and Ed25519 with node:crypto; Next's Edge sandbox and
// Workers have only WebCrypto, so those algorithms are measured both ways.
const workloads = [
  // [name, alg, requests per round, distinct tokens?, host options]
  ["repeat request, same token (RS256)", "RS256", 10000, false],
  ["first sight, HS256", "HS256", 2000, true],
  ["first sight, RS256", "RS256", 300, true],
  ["first sight, PS256", "PS256", 300, true],
  ["first sight, ES256", "ES256", 200, true],
  ["first sight, EdDSA", "EdDSA", 300, true],
  ["first sight, RS256 (WebCrypto)", "RS256", 300, true, { crypto: "webcrypto" }],
  ["first sight, PS256 (WebCrypto)", "PS256", 300, true, { crypto: "webcrypto" }],
  ["first sight, ES256 (WebCrypto)", "ES256", 200, true, { crypto: "webcrypto" }],
  ["first sight, EdDSA (WebCrypto)", "EdDSA", 300, true, { crypto: "webcrypto" }],
];
// ONLY=<text> runs the workloads whose name contains it (for profiling one of them).
for (const [name, alg, n, distinct, host = {}] of workloads.filter(([name]) => name.includes(process.env.ONLY ?? ""))) {
  const all = await tokens(alg, distinct ? n * (ROUNDS + 1) : 1);
  const pick = (round) => (distinct ? all.slice((round + 1) * n, (round + 2) * n) : Array(n).fill(all[0]));
  const [edgegate, jose] = await measure([edgegateGate(alg, host), referenceGate(alg)], pick);
  rows.push({ workload: name, edgegate_us: edgegate.median, jose_us: jose.median, ratio: edgegate.median / jose.median, edgegate_spread: [edgegate.min, edgegate.max], jose_spread: [jose.min, jose.max] });
}

// Cold start, each in a fresh process (median of 5). What the issue budgets, and what Edge
// and Workers pay per isolate, is instantiating a compiled module and building the gate:
// they get the module compiled at deploy. A Node server also compiles it, once per process.
const coldScript = `
  const { readFileSync } = await import("node:fs");
  const module = new WebAssembly.Module(readFileSync(new URL("${here("../js/wasm/edgegate_bg.wasm").href}")));
  const glue = await import("${here("../js/wasm/edgegate.js").href}");
  const t0 = performance.now();
  glue.initSync({ module });
  new glue.Gate(${JSON.stringify(options("RS256"))});
  const built = performance.now() - t0;
  console.log(JSON.stringify({ built }));`;
const fullScript = `
  const t0 = performance.now();
  const { createGate } = await import("edgegate");
  await createGate(${JSON.stringify(options("RS256"))});
  console.log(performance.now() - t0);`;
const fresh = (script) => execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: here("."), encoding: "utf8" });
const cold = [];
const full = [];
for (let i = 0; i < 5; i++) {
  cold.push(JSON.parse(fresh(coldScript)).built);
  full.push(Number(fresh(fullScript)));
}
const coldStartMs = median(cold);
const coldStartWithCompileMs = median(full);
const wasm = readFileSync(here("../js/wasm/edgegate_bg.wasm"));
const wasmGzipBytes = gzipSync(wasm, { level: 9 }).length;

// --- report ------------------------------------------------------------------------------
const fmt = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
console.log(`\nedgegate vs jose ${JSON.parse(readFileSync(here("node_modules/jose/package.json"))).version} + path-to-regexp 6.3.0, node ${process.version}, median of ${ROUNDS} rounds (min–max)\n`);
console.log("| workload | edgegate µs/op | jose µs/op | ratio |");
console.log("|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.workload} | ${fmt(r.edgegate_us)} (${fmt(r.edgegate_spread[0])}–${fmt(r.edgegate_spread[1])}) | ${fmt(r.jose_us)} (${fmt(r.jose_spread[0])}–${fmt(r.jose_spread[1])}) | ${r.ratio.toFixed(2)}× |`);
}
console.log(`\ncold start, instantiate + build the gate from options (fresh process, median of 5): ${coldStartMs.toFixed(2)} ms`);
console.log(`cold start with import and compile, as a Node server pays once: ${coldStartWithCompileMs.toFixed(1)} ms`);
console.log(`.wasm: ${wasm.length.toLocaleString("en")} bytes raw, ${wasmGzipBytes.toLocaleString("en")} bytes gzipped\n`);

const results = {
  rows: rows.map(({ workload, edgegate_us, jose_us, ratio }) => ({ workload, edgegate_us, jose_us, ratio })),
  wasm_gzip_bytes: wasmGzipBytes,
  cold_start_ms: coldStartMs,
  cold_start_with_compile_ms: coldStartWithCompileMs,
  node: process.version,
  date: new Date().toISOString(),
};
// A partial run (ONLY) prints its table but never overwrites the committed results.
if (process.env.ONLY) process.exit(0);
writeFileSync(here("results.json"), `${JSON.stringify(results, null, 2)}\n`);

// A bar chart of the ratios (log scale), with the 1.0× line: left of it, edgegate is faster.
const W = 760, rowH = 34, left = 280, top = 40, plotW = W - left - 40;
const H = top + rows.length * rowH + 40;
const lo = Math.log10(0.03), hi = Math.log10(30);
const x = (ratio) => left + ((Math.log10(Math.min(Math.max(ratio, 0.03), 30)) - lo) / (hi - lo)) * plotW;
const bars = rows.map((r, i) => {
  const y = top + i * rowH;
  const color = r.ratio <= 1 ? "#2e7d32" : "#c62828";
  return `<text x="${left - 8}" y="${y + 20}" text-anchor="end" font-size="13">${r.workload}</text>
  <rect x="${Math.min(x(1), x(r.ratio))}" y="${y + 6}" width="${Math.abs(x(r.ratio) - x(1))}" height="20" fill="${color}"/>
  <text x="${x(r.ratio) + (r.ratio > 1 ? 4 : -4)}" y="${y + 20}" font-size="12" text-anchor="${r.ratio > 1 ? "start" : "end"}">${r.ratio.toFixed(2)}×</text>`;
});
const ticks = [0.03, 0.1, 0.3, 1, 3, 10, 30].map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${H - 30}" stroke="${t === 1 ? "#000" : "#ddd"}"/><text x="${x(t)}" y="${H - 14}" font-size="11" text-anchor="middle">${t}×</text>`);
writeFileSync(
  here("chart.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="system-ui, sans-serif">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="16" y="22" font-size="14" font-weight="bold">edgegate time per decision ÷ jose (log scale; left of 1× is faster)</text>
  ${ticks.join("\n  ")}
  ${bars.join("\n  ")}
</svg>
`,
);
console.log("wrote bench/results.json and bench/chart.svg");
