// edgegate vs jose inside workerd (Miniflare), whose WebCrypto is not node's. Timers are
// frozen inside a Worker while it computes, so each batch is timed from outside and a
// same-sized request that does no work is subtracted. Run: scripts/bench
import { writeFileSync } from "node:fs";
import { bundleWorkers, keys, tokens, workerd, ISS, AUD } from "./workerd-common.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 11);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000);
const here = (p) => new URL(p, import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await bundleWorkers(["worker.mjs"], "bench-worker");
const mf = workerd("bench-worker", "worker");

async function post(job) {
  const t0 = performance.now();
  const r = await mf.dispatchFetch("http://bench.local/", { method: "POST", body: JSON.stringify(job) });
  const ok = Number(await r.text());
  return { ms: performance.now() - t0, ok };
}

const rows = [];
for (const [workload, alg, n, distinct] of [
  // Batches long enough (10-40 ms) that the jitter of reaching workerd stays small.
  ["repeat request, same token (RS256)", "RS256", 2000, false],
  ["first sight, HS256", "HS256", 2000, true],
  ["first sight, RS256", "RS256", 400, true],
  ["first sight, ES256", "ES256", 400, true],
  ["first sight, EdDSA", "EdDSA", 400, true],
].filter(([name]) => name.includes(process.env.ONLY ?? ""))) {
  const k = keys(alg);
  const pool = await tokens(alg, k, distinct ? n * (ROUNDS + 1) : 1);
  const batch = (round) => (distinct ? pool.slice(round * n, (round + 1) * n) : Array(n).fill(pool[0]));
  const base = { alg, key: k.key, issuer: ISS, audience: AUD };
  const modes = ["edgegate", "jose"];
  // Warm-up: build the gate and let V8 tier the code up, for WARMUP_MS (a fixed 20 requests
  // left it cold: the first workload measured 3x slower than when run third). The measured
  // batches use tokens not seen here.
  for (const mode of modes) {
    for (const until = performance.now() + WARMUP_MS; performance.now() < until; ) {
      await post({ ...base, mode, tokens: batch(ROUNDS) });
    }
  }
  // Rounds alternate between the gates (and which goes first), so a drift in the machine's
  // speed hits both alike.
  const perOp = { edgegate: [], jose: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 ? [...modes].reverse() : modes) {
      const job = { ...base, mode, tokens: batch(round) };
      const noop = await post({ ...job, mode: "noop" });
      const run = await post(job);
      if (run.ok !== n) throw new Error(`${mode} ${alg}: only ${run.ok}/${n} decisions continued`);
      perOp[mode].push(((run.ms - noop.ms) * 1000) / n);
    }
  }
  const [edgegate, jose] = [median(perOp.edgegate), median(perOp.jose)];
  const spread = (xs) => [Math.min(...xs), Math.max(...xs)];
  rows.push({ workload, edgegate_us: edgegate, jose_us: jose, ratio: edgegate / jose, edgegate_spread: spread(perOp.edgegate), jose_spread: spread(perOp.jose) });
}
await mf.dispose();

const fmt = (x) => x.toFixed(1);
console.log(`\nInside workerd (Miniflare), median of ${ROUNDS} batches (min–max):\n`);
console.log("| workload | edgegate µs/op | jose µs/op | ratio |");
console.log("|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.workload} | ${fmt(r.edgegate_us)} (${r.edgegate_spread.map(fmt).join("–")}) | ${fmt(r.jose_us)} (${r.jose_spread.map(fmt).join("–")}) | ${r.ratio.toFixed(2)}× |`);
}
// A partial run (ONLY=<text>) prints its table but never overwrites the committed results.
if (!process.env.ONLY) {
  writeFileSync(here("results-workerd.json"), `${JSON.stringify({ rows, date: new Date().toISOString() }, null, 2)}\n`);
  console.log("wrote bench/results-workerd.json");
}
