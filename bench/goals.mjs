// The performance issue's goals, each met or missed, from what scripts/bench just wrote:
// results.json (compare.mjs), results-workerd.json (workerd.mjs), results-cold-workerd.json
// (cold-workerd.mjs), results-app.json (app.mjs) and the built .wasm; plus the cold cost of
// the options that add to construction, measured here (cold-options.mjs). A missing result
// file shows its rows as "not run". Prints one markdown table and writes it as
// bench/results-goals.json. Run: scripts/bench (its last step), or node bench/goals.mjs
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { coldOptions } from "./cold-options.mjs";

const here = (p) => new URL(p, import.meta.url);
const read = (p) => (existsSync(here(p)) ? JSON.parse(readFileSync(here(p), "utf8")) : undefined);
const FILES = ["results.json", "results-workerd.json", "results-cold-workerd.json", "results-app.json"];
const [node, workerd, coldWorkerd, app] = FILES.map(read);
const wasm = here("../js/wasm/edgegate_bg.wasm");
const gzipped = existsSync(wasm) ? gzipSync(readFileSync(wasm), { level: 9 }).length : undefined;

const num = (x) => (+x.toFixed(Math.abs(x) < 10 ? 2 : 1)).toLocaleString("en");
const UNITS = {
  ms: (x) => `${num(x)} ms`,
  "µs": (x) => `${num(x)} µs`,
  "×": (x) => `${x.toFixed(2)}×`,
  bytes: (x) => `${Math.round(x).toLocaleString("en")} bytes`,
};

const rows = [];
/** One goal: `value` (not a number: not run) at most `target`, or at least with `atLeast`. */
function goal(name, value, target, unit, { atLeast = false, note } = {}) {
  const run = Number.isFinite(value);
  rows.push({
    goal: name, value: run ? value : null, target, unit, atLeast,
    met: run ? (atLeast ? value >= target : value <= target) : null,
    by: run ? Math.abs(value - target) : null,
    note: run ? note : undefined,
  });
}
/** The rows of a result file that a group of goals reads, or one placeholder when there are none. */
const each = (found, placeholder) => (found?.length ? found : [placeholder]);
const vs = (e, j, unit) => `${UNITS[unit](e)} against jose's ${UNITS[unit](j)}`;

goal("node cold start: instantiate + build (RS256 gate with rules)", node?.cold_start_ms, 2, "ms");
goal("node cold start with import + compile", node?.cold_start_with_compile_ms, 10, "ms");
for (const alg of ["HS256", "RS256"]) {
  const r = coldWorkerd?.rows.find((x) => x.alg === alg);
  goal(`workerd first request, ${alg}: edgegate's − jose's (each less the no-op's)`,
    r && r.edgegate.cold_ms - r.jose.cold_ms, 2, "ms", { note: r && vs(r.edgegate.cold_ms, r.jose.cold_ms, "ms") });
}
goal(".wasm gzipped (node zlib, level 9)", gzipped, 120 * 1024, "bytes");
for (const r of each(app?.rows, { scenario: "every scenario" })) {
  goal(`app under next start, ${r.scenario}: CPU per request ÷ jose's`, r.cpuRatio, 1, "×",
    { note: r.edgegate && `${vs(r.edgegate.cpuPer1000, r.jose.cpuPer1000, "ms")} per 1,000` });
  goal(`app under next start, ${r.scenario}: req/s ÷ jose's`, r.rpsRatio, 1, "×",
    { atLeast: true, note: r.edgegate && `${num(Math.round(r.edgegate.rps))} against ${num(Math.round(r.jose.rps))}` });
}
const hit = (f) => f?.rows.find((r) => r.workload.startsWith("repeat request"));
goal("node cache hit (µs per decision)", hit(node)?.edgegate_us, 3, "µs");
for (const r of each(node?.rows.filter((x) => x.workload.includes("(WebCrypto)")), { workload: "first sight (WebCrypto)" })) {
  goal(`node ${r.workload} ÷ jose`, r.ratio, 0.75, "×", { note: r.ratio && vs(r.edgegate_us, r.jose_us, "µs") });
}
const hostChecked = (r) => r.workload.startsWith("first sight") && !r.workload.includes("HS256");
for (const r of each(workerd?.rows.filter(hostChecked), { workload: "first sight, RS256/ES256/EdDSA" })) {
  goal(`workerd ${r.workload} (WebCrypto) ÷ jose`, r.ratio, 0.75, "×", { note: r.ratio && vs(r.edgegate_us, r.jose_us, "µs") });
}
goal("workerd cache hit ÷ jose", hit(workerd)?.ratio, 0.1, "×", { note: hit(workerd) && vs(hit(workerd).edgegate_us, hit(workerd).jose_us, "µs") });
const cold = coldOptions();
for (const [kind, named] of [["login", "`login`"], ["session", "`session`"], ["coordination", "`refresh.coordination`"]]) {
  goal(`node cold build with ${named} ÷ HS256 only`, cold[kind] / cold.HS256, 1.2, "×",
    { note: `${UNITS.ms(cold[kind])} against ${UNITS.ms(cold.HS256)}` });
}

// --- report ------------------------------------------------------------------------------
const verdict = (r) => {
  if (r.met === null) return "not run";
  const by = UNITS[r.unit](r.by);
  return r.met ? `met, ${by} to spare` : `**missed** by ${by}`;
};
console.log("\nThe performance issue's goals:\n");
console.log("| goal | measured | target | verdict |");
console.log("|---|---|---|---|");
for (const r of rows) {
  const measured = r.value === null ? "not run" : `${UNITS[r.unit](r.value)}${r.note ? ` (${r.note})` : ""}`;
  console.log(`| ${r.goal} | ${measured} | ${r.atLeast ? "≥" : "≤"} ${UNITS[r.unit](r.target)} | ${verdict(r)} |`);
}
const sources = Object.fromEntries(FILES.map((f, i) => [f, [node, workerd, coldWorkerd, app][i]?.date ?? null]));
console.log(`\nfrom ${Object.entries(sources).map(([f, d]) => `${f} (${d ?? "not run"})`).join(", ")}; cold builds: fresh processes, median of 21`);
writeFileSync(here("results-goals.json"), `${JSON.stringify({ rows, coldOptionsMs: cold, sources, date: new Date().toISOString() }, null, 2)}\n`);
console.log("wrote bench/results-goals.json");
