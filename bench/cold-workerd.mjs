// Cold start inside workerd: the first request a fresh isolate serves, timed from outside
// (Miniflare; a Worker's timers are frozen while it computes). Each sample starts a new
// workerd process with one Worker (bench/cold-worker/: edgegate/worker, the same Worker by
// hand with jose, a no-op that only answers, and two that stop early: one only instantiates
// edgegate's wasm on its first request, one also builds the gate), sends one request with a
// valid token and
// then a second with another token. The first pays for building the gate (instantiating the
// wasm, parsing the options, importing the key, V8's lazy compilation of every function it
// reaches) or for jose's key import and first run; the second is the same work warm. The
// no-op's first request is what workerd and Miniflare's own first dispatch cost, and is
// subtracted. Samples rotate the order of the three Workers. Writes
// bench/results-cold-workerd.json. Run: scripts/bench, or node bench/cold-workerd.mjs
// (SAMPLES, default 9; ONLY=HS256|RS256 without writing results).
import { writeFileSync } from "node:fs";
import { bundleWorkers, keys, tokens, workerd, ISS, AUD } from "./workerd-common.mjs";

const SAMPLES = Number(process.env.SAMPLES ?? 9);
const here = (p) => new URL(p, import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const WORKERS = ["noop", "instantiate", "build", "edgegate", "jose"];

await bundleWorkers(WORKERS.map((w) => `cold-worker/${w}.mjs`), "bench-cold-worker");

async function timed(mf, t) {
  const t0 = performance.now();
  const r = await mf.dispatchFetch("http://app.local/api/stocks", { headers: { cookie: `theme=dark; __Host-token=${t}` } });
  const body = await r.text();
  const ms = performance.now() - t0;
  if (r.status !== 200 || body !== "ok") throw new Error(`answered ${r.status} ${body} ${JSON.stringify([...r.headers])}`);
  return ms;
}

/** One fresh workerd with `worker`: ms to start it, its first request and its second. */
async function sample(worker, options, [first, second]) {
  const t0 = performance.now();
  const mf = workerd("bench-cold-worker", worker, { bindings: { OPTIONS: options } });
  try {
    await mf.ready;
    const startup = performance.now() - t0;
    return { startup, first: await timed(mf, first), second: await timed(mf, second) };
  } finally {
    await mf.dispose();
  }
}

const rows = [];
for (const alg of ["HS256", "RS256"].filter((a) => a.includes(process.env.ONLY ?? ""))) {
  const k = keys(alg);
  const options = {
    rules: [
      { match: "/dashboard/:path*", kind: "page" },
      { match: "/api/:path*", kind: "api" },
    ],
    verify: { algorithms: [alg], keys: k.key, issuer: ISS, audience: AUD },
    upstream: { claimHeaders: { sub: "x-auth-sub" } },
  };
  const runs = Object.fromEntries(WORKERS.map((w) => [w, []]));
  for (let i = 0; i < SAMPLES; i++) {
    const pair = await tokens(alg, k, 2, `s${i}-`);
    const order = [...WORKERS.slice(i % WORKERS.length), ...WORKERS.slice(0, i % WORKERS.length)];
    for (const w of order) runs[w].push(await sample(w, options, pair));
  }
  const pick = (w, f) => median(runs[w].map((r) => r[f]));
  const noopFirst = pick("noop", "first");
  const row = { alg, samples: SAMPLES, noop: { first_ms: noopFirst, second_ms: pick("noop", "second"), startup_ms: pick("noop", "startup") } };
  for (const w of ["instantiate", "build", "edgegate", "jose"]) {
    row[w] = {
      first_ms: pick(w, "first"),
      second_ms: pick(w, "second"),
      startup_ms: pick(w, "startup"),
      // The first request's own cost: the same Worker's first request less the no-op's.
      cold_ms: median(runs[w].map((r, i) => r.first - runs.noop[i].first)),
      runs: runs[w],
    };
  }
  rows.push(row);
}

const f = (x) => x.toFixed(1);
console.log(`\nCold start inside workerd (Miniflare), median of ${SAMPLES} fresh processes each, ms:\n`);
console.log("| gate | first request | less the no-op's | second request | workerd start |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| no-op (${r.alg} run) | ${f(r.noop.first_ms)} | — | ${f(r.noop.second_ms)} | ${f(r.noop.startup_ms)} |`);
  for (const w of ["instantiate", "build", "edgegate", "jose"]) {
    const x = r[w];
    console.log(`| ${w}, ${r.alg} | ${f(x.first_ms)} | ${f(x.cold_ms)} | ${f(x.second_ms)} | ${f(x.startup_ms)} |`);
  }
}
if (!process.env.ONLY) {
  writeFileSync(here("results-cold-workerd.json"), `${JSON.stringify({ samples: SAMPLES, rows, date: new Date().toISOString() }, null, 2)}\n`);
  console.log("wrote bench/results-cold-workerd.json");
}
