#!/usr/bin/env node
// The README's compatibility table, from the rows the passing tests left in target/compat/
// (tests/e2e/helpers.mjs recordCompat). `node scripts/compat.mjs` rewrites the table between
// its markers; `--check` (run by `scripts/test --full`) fails when the README claims a cell
// no test passed, or misses one that did.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const ROOT = new URL("../", import.meta.url);
const README = new URL("README.md", ROOT);
const ROWS = new URL("target/compat/", ROOT);
const BEGIN = "<!-- compat:begin (scripts/compat.mjs writes this table from the tests that passed) -->";
const END = "<!-- compat:end -->";

const RUNTIMES = {
  edge: "Edge, `middleware.ts`",
  node: 'Node, `middleware.ts` with `runtime: "nodejs"`',
  proxy: "Node, `proxy.ts`",
  worker: "workerd",
};

const BUNDLERS = { turbopack: "Turbopack" };

let rows;
try {
  rows = readdirSync(ROWS)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(new URL(f, ROWS), "utf8")));
} catch {
  rows = [];
}
if (rows.length === 0) {
  console.error("no rows in target/compat/: run scripts/test --full first");
  process.exit(1);
}

// Next majors newest first, then the other hosts by name.
const version = (host) => host.match(/\d+/g)?.map(Number) ?? [];
const rank = (r) => (r.host.startsWith("Next ") ? 0 : 1);
rows.sort((a, b) => {
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 0) {
    const [x, y] = [version(a.host), version(b.host)];
    if (x[0] !== y[0]) return y[0] - x[0];
  } else if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return `${a.bundler} ${a.runtime}` < `${b.bundler} ${b.runtime}` ? -1 : 1;
});

const copies = (r) => (!r.bundle ? "no bundle: run from node_modules" : (r.bundle.copies ?? "1 `.wasm`"));
const table = [
  "| host | bundler | runtime | wasm copies in the build | test |",
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.host} | ${BUNDLERS[r.bundler] ?? r.bundler} | ${RUNTIMES[r.runtime] ?? r.runtime} | ${copies(r)} | \`${r.test}\` |`),
].join("\n");

const text = readFileSync(README, "utf8");
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no table markers (${BEGIN} … ${END})`);
  process.exit(1);
}
const updated = `${text.slice(0, start + BEGIN.length)}\n${table}\n${text.slice(end)}`;

if (process.argv.includes("--check")) {
  if (updated !== text) {
    const current = text.slice(start + BEGIN.length, end).trim();
    console.error(`README.md's compatibility table is not what the tests ran.\nREADME:\n${current}\n\nthe tests:\n${table}\n\nrun: node scripts/compat.mjs`);
    process.exit(1);
  }
  console.log(`README.md's compatibility table matches the ${rows.length} cells that passed`);
} else {
  writeFileSync(README, updated);
  console.log(`README.md: ${rows.length} cells`);
}
