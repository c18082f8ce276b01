// Summarizes V8 .cpuprofile files (node --cpu-prof): self and inclusive time by function,
// per 1,000 requests when told how many requests the profile served, and a side by side of
// two profiles. Used on the Next servers bench/app.mjs runs under APP_PROF (bench/README.md).
// Run: node bench/prof-summary.mjs <a.cpuprofile> [requests] [<b.cpuprofile> [requests]]
//      [--top N] [--match <regex on url or name>] [--group <regex with one capture>]
//      [--under <regex>: only samples with a frame whose function matches, e.g. '^#ask ']
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const TOP = Number(flag("--top", 25));
const regex = (name) => {
  const source = flag(name);
  return source === undefined ? undefined : new RegExp(source);
};
const MATCH = regex("--match");
const GROUP = regex("--group");
const UNDER = regex("--under");
const inputs = [];
for (let i = 0; i < args.length; i++) {
  const requests = Number(args[i + 1]);
  inputs.push({ path: args[i], requests: Number.isFinite(requests) ? requests : undefined });
  if (Number.isFinite(requests)) i += 1;
}

const short = (url) => url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "").replace(/^.*\/\.next\//, ".next/");
const keyOf = (frame) => `${frame.functionName || "(anonymous)"} ${short(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;

/** ms of self and inclusive time by function key, and by group (--group on url + name). */
export function summarize(path) {
  const profile = JSON.parse(readFileSync(path, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is its time
    const node = byId.get(profile.samples[i]);
    if (UNDER) {
      let id = node.id;
      while (id !== undefined && !UNDER.test(keyOf(byId.get(id).callFrame))) id = parent.get(id);
      if (id === undefined) continue;
    }
    total += ms;
    const key = keyOf(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + ms);
    const seen = new Set();
    const seenGroups = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame;
      const k = keyOf(frame);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
      }
      const g = GROUP?.exec(`${frame.url} ${frame.functionName}`)?.[1];
      if (g && !seenGroups.has(g)) {
        seenGroups.add(g);
        groups.set(g, (groups.get(g) ?? 0) + ms);
      }
    }
  }
  return { total, self, inclusive, groups };
}

const runs = inputs.map(({ path, requests }) => ({ path, requests, ...summarize(path) }));
const scale = (run) => (run.requests ? 1000 / run.requests : 1);
const unit = runs.every((r) => r.requests) ? "ms per 1,000 requests" : "ms";
const fmt = (x) => (x === undefined ? "—" : x.toFixed(1));

function table(title, pick, limit = TOP) {
  const keys = new Set();
  for (const run of runs) for (const [k] of [...pick(run)].sort((a, b) => b[1] - a[1]).filter(([k]) => !MATCH || MATCH.test(k)).slice(0, limit)) keys.add(k);
  const rows = [...keys].map((k) => [k, runs.map((r) => (pick(r).get(k) ?? 0) * scale(r))]);
  rows.sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]));
  console.log(`\n${title} (${unit})\n`);
  console.log(`| function | ${runs.map((r) => short(r.path).split("/").slice(-2).join("/")).join(" | ")}${runs.length === 2 ? " | difference" : ""} |`);
  console.log(`|---|${runs.map(() => "---|").join("")}${runs.length === 2 ? "---|" : ""}`);
  for (const [k, xs] of rows) console.log(`| ${k} | ${xs.map(fmt).join(" | ")}${xs.length === 2 ? ` | ${fmt(xs[0] - xs[1])}` : ""} |`);
}

console.log(`total sampled: ${runs.map((r) => `${fmt(r.total * scale(r))} ${unit}`).join(", ")}`);
if (GROUP) table("inclusive time by group", (r) => r.groups, Infinity);
table("self time", (r) => r.self);
table("inclusive time", (r) => r.inclusive);
