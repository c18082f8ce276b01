// Which wasm functions the first gate compiles, step by step, and how big they are. V8
// compiles wasm lazily, one function on its first call (Liftoff, in time about linear in
// the body's size), so a cold start pays for every function construction reaches. This
// runs bench/cold.mjs in a child under `node --trace-wasm-compilation-times` on a
// copy of the built module that keeps its function names (wasm-bindgen --keep-debug, then
// wasm-opt with wasm-pack.toml's flags and -g instead of --strip-debug: the same code), and
// prints per step the functions compiled, their body bytes, V8's own compile times (whole
// ms, so per function only the large ones show) and the largest functions by name. Step
// times are one process's: noisy; bytes are what to compare.
// Run after scripts/build: node bench/cold-functions.mjs [--top N] (WASM_OPT_FLAGS=...)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TOP = Number(process.argv[process.argv.indexOf("--top") + 1] || 8);


// --- the named module --------------------------------------------------------------------
const out = `${ROOT}target/bench-named`;
mkdirSync(out, { recursive: true });
const cargoBin = `${homedir()}/.cargo/bin`;
execFileSync(`${cargoBin}/wasm-bindgen`, ["--target", "web", "--keep-debug", "--omit-default-module-path", "--out-dir", out, "--out-name", "edgegate",
  `${ROOT}target/wasm-pre/web.wasm`]); // the package's build, as scripts/build kept it
const pack = readFileSync(`${ROOT}wasm-pack.toml`, "utf8");
// WASM_OPT_FLAGS (space-separated) tries other flags than wasm-pack.toml's.
const flags = (process.env.WASM_OPT_FLAGS?.split(" ") ?? JSON.parse(/^flags = (\[.*\])$/m.exec(pack)[1])).filter((f) => f !== "--strip-debug");
execFileSync(`${ROOT}js/node_modules/.bin/wasm-opt`, [...flags, "-g", `${out}/edgegate_bg.wasm`, "-o", `${out}/named.wasm`]);
const bytes = readFileSync(`${out}/named.wasm`);

// Function names from the "name" section (subsection 1: index → name).
function functionNames(wasm) {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm), "name");
  const b = new Uint8Array(section);
  let p = 0;
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = b[p++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return result;
    }
  };
  const names = new Map();
  while (p < b.length) {
    const id = b[p++];
    const size = leb();
    const end = p + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        const index = leb();
        const length = leb();
        names.set(index, new TextDecoder().decode(b.subarray(p, p + length)));
        p += length;
      }
    }
    p = end;
  }
  return names;
}
const names = functionNames(bytes);
const short = (name) => (name ?? "?").replace(/::h[0-9a-f]{16}$/, "").replace(/<([^<>]*)>/g, (m) => (m.length > 80 ? "<…>" : m));

// --- the trace -----------------------------------------------------------------------------
// V8 prints its trace through C's stdout, and a compile on a background thread can land in
// the middle of a step's line. So each step is attributed by difference: the child that
// runs steps 1..k compiles what the one running 1..k-1 did, plus step k's functions.
const STEP_COUNT = 12; // the lines bench/cold.mjs prints
function run(steps) {
  const trace = execFileSync(process.execPath, ["--trace-wasm-compilation-times", `${ROOT}bench/cold.mjs`], {
    encoding: "utf8",
    env: { ...process.env, WASM: `${out}/named.wasm`, STEPS: String(steps) },
    maxBuffer: 1 << 28,
  });
  // Liftoff is the lazy first compile a call waits for; TurboFan recompiles hot functions in
  // the background (dynamic tiering).
  const compiled = new Map();
  for (const m of trace.matchAll(/Compiled function \S*#(\d+) using Liftoff, took (\d+) ms .*?bodysize (\d+)/g)) {
    compiled.set(Number(m[1]), { ms: Number(m[2]), body: Number(m[3]) });
  }
  const lines = trace.split("\n").map((l) => /^([a-z+(].*\S)\s+([\d.]+) ms$/i.exec(l)).filter(Boolean);
  return { compiled, step: lines.at(-1) };
}
console.log("| step | ms | functions compiled | body bytes | V8's compile ms (whole ms each) | largest |");
console.log("|---|---|---|---|---|---|");
let before = new Map();
let total = { functions: 0, body: 0, ms: 0 };
for (let k = 1; k <= STEP_COUNT; k++) {
  const { compiled, step } = run(k);
  const fresh = [...compiled].filter(([index]) => !before.has(index)).map(([index, f]) => ({ index, ...f }));
  before = compiled;
  const body = fresh.reduce((n, f) => n + f.body, 0);
  const ms = fresh.reduce((n, f) => n + f.ms, 0);
  total = { functions: total.functions + fresh.length, body: total.body + body, ms: total.ms + ms };
  const largest = fresh.sort((a, b) => b.body - a.body).slice(0, TOP)
    .map((f) => `${short(names.get(f.index))} (${(f.body / 1024).toFixed(1)} KB${f.ms ? `, ${f.ms} ms` : ""})`);
  console.log(`| ${step?.[1]} | ${step?.[2]} | ${fresh.length} | ${body.toLocaleString("en")} | ${ms} | ${largest.join("; ")} |`);
}
console.log(`\nconstruction and the first decisions compiled ${total.functions} functions, ${total.body.toLocaleString("en")} body bytes in all (V8 reports ${total.ms} ms in whole-ms steps)`);
