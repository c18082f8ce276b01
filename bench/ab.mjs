// Two builds of the wasm side by side on the hot path, for build levers (opt-level per crate,
// wasm-opt flags): the raw boundary as bench/boundary.mjs times it (a cache hit and a public
// path with a browser's 13 headers, and HS256 first sight, each token new), both builds in
// one process, rounds alternating between them (and which goes first). Prints the median
// CPU µs of each and the median of the per-round ratios B ÷ A, which a machine whose speed
// drifts moves less. Each build is a directory with the glue and the .wasm scripts/build
// writes into js/wasm/ (copy it away before building the next lever). Then the cold start
// of each in fresh processes (COLD of them each, alternating), by CPU time.
// Run: node bench/ab.mjs <dir A> <dir B> (ROUNDS, default 11; COLD, default 11)
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";

const ROUNDS = Number(process.env.ROUNDS ?? 11);
const COLD = Number(process.env.COLD ?? 11);

if (process.argv[2] === "--cold-child") {
  // A fresh process: instantiate the compiled module and build the bench's RS256 gate with
  // rules (what an Edge or Workers isolate pays first), in CPU and wall ms.
  const dir = process.argv[3];
  const { generateKeyPairSync } = await import("node:crypto");
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const module = new WebAssembly.Module(readFileSync(`${dir}/edgegate_bg.wasm`));
  const glue = await import(pathToFileURL(`${dir}/edgegate.js`).href);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  glue.initSync({ module });
  new glue.Gate({ rules: [{ match: "/dashboard/:path*", kind: "page" }, { match: "/api/:path*", kind: "api" }], verify: { algorithms: ["RS256"], keys: publicKey } });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / 1000 }));
  process.exit(0);
}

const dirs = process.argv.slice(2, 4).map((d) => resolve(d));
if (dirs.length !== 2) throw new Error("usage: node bench/ab.mjs <dir A> <dir B>");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const secret = "an-hmac-secret-of-at-least-32-bytes!!";
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const sign = (claims) => {
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "u", iss: "i", aud: "a", exp: now + 3600, scope: "read", ...claims })}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};
const browser = (token) => [
  ["cookie", `theme=dark; __Host-token=${token}`], ["accept", "application/json"],
  ["user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"], ["accept-language", "en-US,en;q=0.9"],
  ["accept-encoding", "gzip, deflate, br"], ["referer", "https://app.example/dashboard"], ["sec-fetch-site", "same-origin"],
  ["sec-fetch-mode", "cors"], ["sec-fetch-dest", "empty"], ["sec-ch-ua", '"Chromium";v="156"'], ["sec-ch-ua-mobile", "?0"],
  ["sec-ch-ua-platform", '"Linux"'],
];
const flat = (url, headers) => {
  const parts = ["GET", url, ...headers.flat()];
  return [parts.join("\0"), parts.length];
};
const hitToken = sign({ jti: "hit" });
const hit = flat("https://app.example/api/stocks", browser(hitToken));
const pub = flat("https://app.example/about", browser(hitToken));

async function load(dir) {
  const glue = await import(pathToFileURL(`${dir}/edgegate.js`).href);
  const bytes = readFileSync(`${dir}/edgegate_bg.wasm`);
  const wasm = glue.initSync({ module: new WebAssembly.Module(bytes) });
  const gate = new glue.Gate({ rules: [{ match: "/api/:path*", kind: "api" }], verify: { algorithms: ["HS256"], keys: secret, issuer: "i", audience: "a" }, upstream: { claimHeaders: { sub: "x-auth-sub" } } });
  const encoder = new TextEncoder();
  const capacity = 1 << 16;
  const ptr = gate.inputBuffer(capacity);
  const decide = ([text, parts]) => {
    const written = encoder.encodeInto(text, new Uint8Array(wasm.memory.buffer, ptr, capacity)).written;
    return gate.decideInput(written, parts, 0, Date.now());
  };
  return { dir, decide, gzipped: gzipSync(bytes, { level: 9 }).length, raw: bytes.length };
}
const builds = [];
for (const dir of dirs) builds.push(await load(dir));

let serial = 0;
const workloads = {
  "cache hit, 13 headers": { n: 20000, requests: () => null, run: (b) => b.decide(hit) },
  "public path, 13 headers": { n: 20000, requests: () => null, run: (b) => b.decide(pub) },
  "first sight HS256": {
    n: 3000,
    // Tokens no build has seen: each build gets its own copy of the same new tokens.
    requests: (n) => Array.from({ length: n }, () => flat("https://app.example/api/stocks", browser(sign({ jti: `t${serial++}` })))),
  },
};
// CPU time, not wall time: on a shared machine a round that is descheduled would count the
// other processes' time (the loop is single-threaded; V8's background threads add little).
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
function time(build, workload, requests) {
  const t0 = cpu();
  if (requests) for (const r of requests) build.decide(r);
  else for (let i = 0; i < workload.n; i++) workload.run(build);
  return (cpu() - t0) / workload.n;
}
const results = {};
for (const [name, w] of Object.entries(workloads)) {
  for (const b of builds) for (const until = performance.now() + 500; performance.now() < until; ) time(b, w, w.requests(300));
  const us = [[], []];
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const requests = w.requests(w.n);
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) us[i].push(time(builds[i], w, requests));
    ratios.push(us[1][round] / us[0][round]);
  }
  results[name] = { a: median(us[0]), b: median(us[1]), ratio: median(ratios) };
}
// Cold start: fresh processes, alternating between the builds.
const cold = [[], []];
for (let i = 0; i < COLD; i++) {
  for (const b of i % 2 ? [1, 0] : [0, 1]) {
    cold[b].push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--cold-child", dirs[b]], { encoding: "utf8" })));
  }
}
results[`cold start: instantiate + RS256 gate with rules, ms (${COLD} fresh processes; CPU / wall)`] = {
  a: median(cold[0].map((x) => x.cpu)),
  b: median(cold[1].map((x) => x.cpu)),
  ratio: median(cold[1].map((x) => x.cpu)) / median(cold[0].map((x) => x.cpu)),
  wall: [median(cold[0].map((x) => x.wall)), median(cold[1].map((x) => x.wall))],
};
console.log(`A ${dirs[0]}: ${builds[0].raw.toLocaleString("en")} bytes, ${builds[0].gzipped.toLocaleString("en")} gzipped`);
console.log(`B ${dirs[1]}: ${builds[1].raw.toLocaleString("en")} bytes, ${builds[1].gzipped.toLocaleString("en")} gzipped\n`);
console.log(`| workload | A µs | B µs | B ÷ A (median of ${ROUNDS} paired rounds) |`);
console.log("|---|---|---|---|");
for (const [name, r] of Object.entries(results)) {
  const wall = r.wall ? ` (wall ${r.wall.map((x) => x.toFixed(2)).join(" / ")})` : "";
  console.log(`| ${name} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${r.ratio.toFixed(3)}${wall} |`);
}
