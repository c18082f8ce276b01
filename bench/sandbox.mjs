// The middleware alone, inside Next's Edge sandbox, without HTTP: each call is what
// `next start` does per request in runMiddleware (Next's own sandbox `run`, with the headers,
// URL and context it passes), on the two apps bench/app.mjs builds. One child process per
// app and round (the sandbox caches its context by the middleware's name, which both
// share), rounds alternating between the apps; µs per call, median of the rounds.
// SANDBOX_PROF=<dir> runs each child under --cpu-prof into <dir>/<app>/, and NAMES=1 on
// `next build --no-mangling` builds, whose profiles name functions (bench/README.md).
// Run: node bench/sandbox.mjs (ROUNDS, default 5; CALLS per round, default 20000;
// ONLY=<text> picks scenarios).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp, UPSTREAM_URL } from "./app/build.mjs";

const APPS = ["edgegate", "jose"];
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CALLS = Number(process.env.CALLS ?? 20000);
const PROF = process.env.SANDBOX_PROF;
const NAMES = Boolean(process.env.NAMES);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = {
  host: "127.0.0.1:3000",
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "accept-language": "en-US,en;q=0.9",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
};
const SCENARIOS = [
  { name: "/dashboard without a session → 307", path: "/dashboard", headers: browser, status: 307 },
  { name: "guest page (/login, no session)", path: "/login", headers: browser, status: 200 },
  { name: "public page (/)", path: "/", headers: browser, status: 200 },
].filter(({ name }) => name.includes(process.env.ONLY ?? ""));

if (process.argv[2] === "--child") {
  // One app, every scenario: µs per call for each, as JSON on stdout.
  const dir = buildApp(process.argv[3], UPSTREAM_URL, { names: NAMES });
  const require = createRequire(`${dir}/package.json`);
  require("next/dist/server/node-environment"); // the globals next start sets up (AsyncLocalStorage)
  const { run } = require("next/dist/server/web/sandbox");
  const distDir = join(dir, ".next");
  const info = JSON.parse(readFileSync(`${distDir}/server/middleware-manifest.json`, "utf8")).middleware["/"];
  // As NextNodeServer.getEdgeFunctionInfo builds it.
  const entry = {
    name: info.name,
    paths: info.files.map((f) => join(distDir, f)),
    wasm: (info.wasm ?? []).map((b) => ({ ...b, filePath: join(distDir, b.filePath) })),
    assets: (info.assets ?? []).map((b) => ({ ...b, filePath: join(distDir, b.filePath) })),
    env: info.env,
  };
  const call = (s) =>
    run({
      distDir,
      name: entry.name,
      paths: entry.paths,
      edgeFunctionEntry: entry,
      request: {
        headers: { ...s.headers },
        method: "GET",
        nextConfig: { basePath: "", i18n: undefined, trailingSlash: false, experimental: {} },
        url: `http://localhost:3000${s.path}`,
        page: {},
        body: undefined,
        signal: new AbortController().signal,
        waitUntil: () => {},
      },
      useCache: true,
      onWarning: () => {},
    });
  const out = {};
  for (const s of SCENARIOS) {
    const first = await call(s);
    // Next answers a continuing middleware with x-middleware-next or -rewrite (200 here).
    if ((first.response.status === 200 ? 200 : first.response.status) !== s.status) {
      throw new Error(`${process.argv[3]}: ${s.name} answered ${first.response.status}`);
    }
    for (const until = performance.now() + 1000; performance.now() < until; ) await call(s);
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await call(s);
    out[s.name] = ((performance.now() - t0) * 1000) / CALLS;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  for (const app of APPS) buildApp(app, UPSTREAM_URL, { names: NAMES }); // not inside a timed child
  const runs = Object.fromEntries(APPS.map((a) => [a, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const app of round % 2 ? [...APPS].reverse() : APPS) {
      const prof = PROF ? ["--cpu-prof", `--cpu-prof-dir=${PROF}/${app}`] : [];
      const out = execFileSync(process.execPath, [...prof, fileURLToPath(import.meta.url), "--child", app], { encoding: "utf8", env: { ...process.env, NODE_ENV: "production" } });
      runs[app].push(JSON.parse(out.trim().split("\n").pop()));
    }
  }
  console.log(`\nThe middleware in Next's Edge sandbox (run(), no HTTP), µs per call, median of ${ROUNDS} rounds × ${CALLS} calls:\n`);
  console.log("| scenario | edgegate | jose | difference |");
  console.log("|---|---|---|---|");
  for (const s of SCENARIOS) {
    const [e, j] = APPS.map((a) => median(runs[a].map((r) => r[s.name])));
    console.log(`| ${s.name} | ${e.toFixed(1)} | ${j.toFixed(1)} | ${(e - j).toFixed(1)} |`);
  }
}
