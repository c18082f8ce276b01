// What naming `login`, `session` or `refresh.coordination` adds to building a gate, against
// an HS256 gate alone. Each sample is a fresh node process that instantiates js/wasm
// (untimed) and times `new Gate(options)`, as cold-login.mjs does; 21 samples per kind, the
// kinds alternating (and which goes first); medians in ms. An option set the engine refuses
// fails the run rather than being timed. goals.mjs runs it; alone: node bench/cold-options.mjs
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";

const hs256 = { algorithms: ["HS256"], keys: "an-hmac-secret-of-at-least-32-bytes!!" };
export const KINDS = {
  HS256: { verify: hs256 },
  login: { verify: hs256, login: { issuer: "https://id.example", clientId: "app", clientSecret: "s", secret: "a-login-secret-of-at-least-32-bytes!!!" } },
  session: { verify: hs256, session: { format: "next-auth", secret: "a-session-secret-of-at-least-32-bytes!!" } },
  coordination: { verify: hs256, refresh: { tokenEndpoint: "https://id.example/token", clientId: "app", coordination: { secret: "a-coordination-secret-of-32-bytes-or-more" } } },
};

const wasm = (file) => JSON.stringify(new URL(`../js/wasm/${file}`, import.meta.url).href);
const child = `
const { readFileSync } = await import("node:fs");
const glue = await import(${wasm("edgegate.js")});
glue.initSync({ module: new WebAssembly.Module(readFileSync(new URL(${wasm("edgegate_bg.wasm")}))) });
const options = JSON.parse(process.argv[1]);
const t0 = performance.now();
new glue.Gate(options);
console.log(performance.now() - t0);`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median ms of `new Gate(options)` in a fresh process, per kind of `KINDS`. */
export function coldOptions(samples = 21) {
  const kinds = Object.keys(KINDS);
  const runs = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const k of [...kinds.slice(i % kinds.length), ...kinds.slice(0, i % kinds.length)]) {
      // A refused option set throws in the child: execFileSync throws, its stderr shown.
      const ms = Number(execFileSync(process.execPath, ["--input-type=module", "-e", child, JSON.stringify(KINDS[k])], { encoding: "utf8" }));
      if (!Number.isFinite(ms)) throw new Error(`${k}: no time from the child`);
      runs[k].push(ms);
    }
  }
  return Object.fromEntries(kinds.map((k) => [k, median(runs[k])]));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ms = coldOptions();
  for (const [k, v] of Object.entries(ms)) console.log(`${k.padEnd(12)} build ${v.toFixed(2)} ms  ${(v / ms.HS256).toFixed(2)}× HS256's`);
}
