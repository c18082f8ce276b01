// Cold start per kind of gate: fresh processes each instantiate the wasm of one or more builds
// (directories holding edgegate.js and edgegate_bg.wasm, as scripts/build writes js/wasm/) and
// build an HS256 gate, then a hosted-login gate; medians of 11. Run:
// node bench/cold-login.mjs js/wasm [another build's wasm dir]
import { execFileSync } from "node:child_process";
const dirs = process.argv.slice(2).map((d) => new URL(d.endsWith("/") ? d : `${d}/`, `file://${process.cwd()}/`).pathname);
const N = 11;
const child = `
const t0 = performance.now();
const { readFileSync } = await import("node:fs");
const dir = process.argv[1], which = process.argv[2];
const module = new WebAssembly.Module(readFileSync(dir + "/edgegate_bg.wasm"));
const glue = await import(dir + "/edgegate.js");
glue.initSync({ module });
const t1 = performance.now();
const verify = { algorithms: ["RS256"], issuer: "https://id.example", audience: "https://api.example" };
const hs = { algorithms: ["HS256"], keys: "an-hmac-secret-of-at-least-32-bytes!!" };
const options = which === "login"
  ? { verify, login: { issuer: "https://id.example", clientId: "app", clientSecret: "s", secret: "a-login-secret-of-at-least-32-bytes!!!" } }
  : { verify: hs };
new glue.Gate(options);
const t2 = performance.now();
console.log(JSON.stringify({ instantiate: t1 - t0, build: t2 - t1 }));
`;
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const which of ["hs256", "login"]) {
  for (const dir of dirs) {
    const runs = [];
    for (let i = 0; i < N; i++) {
      try { runs.push(JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", child, dir, which]).toString())); }
      catch { runs.push({ instantiate: NaN, build: NaN }); }
    }
    const inst = median(runs.map((r) => r.instantiate)), build = median(runs.map((r) => r.build));
    console.log(`${which.padEnd(6)} ${dir.padEnd(32)} instantiate ${inst.toFixed(2)} ms  build ${build.toFixed(2)} ms  total ${(inst + build).toFixed(2)} ms`);
  }
}
