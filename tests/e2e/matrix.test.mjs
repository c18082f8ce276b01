// The compatibility matrix: the packed npm tarball installed in fresh Next apps outside the
// repository, built with each bundler for each runtime, under `next build && next start`.
// Each cell checks the gate's basic verdicts and how many copies of the wasm the build holds,
// and records its row for the README's compatibility table (scripts/compat).
//
// `scripts/test` runs the Next 16 cells; `scripts/test --full` (EDGEGATE_FULL=1, what CI
// runs) adds Next 14 and 15.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { relative } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, browserRequest, freePort, start, startNext, startTlsProxy } from "./helpers.mjs";
import { recordCompat } from "../compat.mjs";
import { jwt } from "../node/sign.mjs";

const FULL = process.env.EDGEGATE_FULL === "1";
const HERE = `${ROOT}tests/e2e/matrix/`;
// Per checkout: two runs on one machine (CI jobs, worktrees) must not build in each other's apps.
const WORK = `${tmpdir()}/edgegate-matrix-${createHash("sha256").update(ROOT).digest("hex").slice(0, 8)}`;
const SECRET = "a-matrix-secret-of-at-least-32-bytes";
const MATCHER = '["/((?!_next/static|_next/image|favicon.ico).*)"]';

// Next 14 has no Turbopack build and no Node middleware; Node middleware is stable from 15.5;
// Next 16 renames Node middleware to proxy.ts (middleware.ts stays, for the Edge runtime).
const CELLS = [
  { next: 16, bundler: "turbopack", runtime: "edge" },
  { next: 16, bundler: "turbopack", runtime: "proxy" },
  { next: 16, bundler: "webpack", runtime: "edge", flag: "--webpack" },
  { next: 16, bundler: "webpack", runtime: "proxy", flag: "--webpack" },
  ...(FULL
    ? [
        { next: 15, bundler: "webpack", runtime: "edge" },
        { next: 15, bundler: "webpack", runtime: "node" },
        { next: 15, bundler: "turbopack", runtime: "edge", flag: "--turbopack" },
        { next: 15, bundler: "turbopack", runtime: "node", flag: "--turbopack" },
        { next: 14, bundler: "webpack", runtime: "edge" },
      ]
    : []),
];

// The entry file a user writes, per runtime (the README's snippets).
const ENTRY = {
  edge: ["middleware.ts", `export default edgeGate(options);\nexport const config = { matcher: ${MATCHER} };\n`],
  node: ["middleware.ts", `export default edgeGate(options);\nexport const config = { runtime: "nodejs", matcher: ${MATCHER} };\n`],
  proxy: ["proxy.ts", `export const proxy = edgeGate(options);\nexport const config = { matcher: ${MATCHER} };\n`],
};

const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env }, stdio: "pipe" }).toString();

/** Packs js/ as `npm publish` would, once per run. */
let tarball;
function pack() {
  if (tarball) return tarball;
  mkdirSync(WORK, { recursive: true });
  const out = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", WORK], `${ROOT}js`));
  return (tarball = `${WORK}/${out[0].filename}`);
}

/**
 * A fresh app (tests/e2e/matrix/<name>) in the temp dir, from its pinned package.json and
 * lockfile (installed again only when they change), with the packed tarball installed on top.
 */
const installed = new Map();
function install(name) {
  if (installed.has(name)) return installed.get(name);
  const dir = `${WORK}/${name}`;
  mkdirSync(dir, { recursive: true });
  const pins = ["package.json", "package-lock.json"].map((f) => readFileSync(`${HERE}${name}/${f}`));
  const stamp = createHash("sha256").update(pins[0]).update(pins[1]).digest("hex");
  if (!existsSync(`${dir}/node_modules/.stamp`) || readFileSync(`${dir}/node_modules/.stamp`, "utf8") !== stamp) {
    rmSync(`${dir}/node_modules`, { recursive: true, force: true });
    writeFileSync(`${dir}/package.json`, pins[0]);
    writeFileSync(`${dir}/package-lock.json`, pins[1]);
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], dir);
    writeFileSync(`${dir}/node_modules/.stamp`, stamp);
  }
  run("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", pack()], dir);
  const installedWasm = readFileSync(`${dir}/node_modules/edgegate/wasm/edgegate_bg.wasm`);
  assert.ok(installedWasm.equals(readFileSync(`${ROOT}js/wasm/edgegate_bg.wasm`)), "the tarball carries this build's wasm");
  const version = (pkg) => JSON.parse(readFileSync(`${dir}/node_modules/${pkg}/package.json`, "utf8")).version;
  installed.set(name, { dir, version });
  return { dir, version };
}

function files(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files(path, out);
    else out.push(path);
  }
  return out;
}

/** Copies of the wasm in the built server: .wasm files, and JS files holding its base64. */
function wasmCopies(appDir, out = `${appDir}/.next`) {
  const bytes = readFileSync(`${ROOT}js/wasm/edgegate_bg.wasm`);
  const fingerprint = bytes.subarray(0, 3000).toString("base64");
  const built = files(out).filter((f) => !f.includes("/.next/cache/"));
  const wasm = built.filter((f) => f.endsWith(".wasm"));
  const inlined = built.filter((f) => /\.[cm]?js$/.test(f) && readFileSync(f, "latin1").includes(fingerprint));
  return { wasm, inlined };
}

/** A backend that records what reaches it. */
async function startBackend() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ from: "backend" }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, stop: () => server.close() };
}

/** The gate's basic verdicts on a running app; `backend.seen` is emptied first. */
async function verdicts(url, backend) {
  backend.seen.length = 0;
  const page = await fetch(`${url}/dashboard`, { redirect: "manual" });
  assert.equal(page.status, 307);
  // The gate's location is relative; Next 16 keeps it so, Next 14 and 15 make it absolute
  // on the origin they serve from, which `next start` spells localhost.
  const login = new URL(page.headers.get("location"), url);
  assert.equal(login.port, new URL(url).port);
  assert.ok(["127.0.0.1", "localhost"].includes(login.hostname), login.href);
  assert.equal(`${login.pathname}${login.search}`, "/login?returnTo=%2Fdashboard");

  const denied = await fetch(`${url}/api/stocks`);
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get("www-authenticate"), "Bearer");
  assert.equal(backend.seen.length, 0, "nothing reached the backend without a session");

  const now = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", SECRET, { sub: "matrix", iat: now, exp: now + 300 });
  const passed = await fetch(`${url}/api/stocks?x=1`, { headers: { cookie: `theme=dark; token=${token}` } });
  assert.equal(passed.status, 200);
  assert.deepEqual(await passed.json(), { from: "backend" });
  assert.equal(backend.seen.length, 1);
  assert.equal(backend.seen[0].url, "/api/stocks?x=1");
  assert.equal(backend.seen[0].headers.authorization, `Bearer ${token}`);
  assert.equal(backend.seen[0].headers.cookie, "theme=dark");

  const home = await fetch(`${url}/`);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /home/);
}

/**
 * The same verdicts through nginx terminating TLS in front of `next start`: redirects go to
 * the origin the client connected to, never to Next's own (`localhost:<port>`, where Next 14
 * and 15 put an absolute Location), and no response names Next's address.
 */
async function behindTlsProxy(t, next, backend) {
  const tls = await startTlsProxy(t, next.url);
  if (!tls) return;
  const inner = `:${new URL(next.url).port}`;
  const via = async (path, headers = {}) => {
    const answer = await browserRequest(`${tls.url}${path}`, { ca: tls.ca, headers });
    for (const [name, value] of answer.headers) {
      assert.ok(!value.includes(inner) && !value.includes("localhost"), `${path}: ${name}: ${value} names the server`);
    }
    return answer;
  };
  backend.seen.length = 0;
  const page = await via("/dashboard");
  assert.equal(page.status, 307);
  const login = new URL(page.headers.get("location"), tls.url);
  assert.equal(login.origin, new URL(tls.url).origin, page.headers.get("location"));
  assert.equal(`${login.pathname}${login.search}`, "/login?returnTo=%2Fdashboard");
  assert.equal((await via("/api/stocks")).status, 401);
  const now = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", SECRET, { sub: "matrix", iat: now, exp: now + 300 });
  // Over https the session cookie carries the __Host- prefix (a plain-named one is refused).
  assert.equal((await via("/api/stocks", { cookie: `token=${token}` })).status, 401);
  const passed = await via("/api/stocks?tls=1", { cookie: `__Host-token=${token}` });
  assert.equal(passed.status, 200);
  assert.deepEqual(backend.seen.map((s) => [s.url, s.headers.authorization, s.headers["x-forwarded-proto"]]), [["/api/stocks?tls=1", `Bearer ${token}`, "https"]]);
  assert.equal((await via("/")).status, 200);
  tls.stop();
}

const checked = new Set();
for (const cell of CELLS) {
  const name = `next${cell.next}-${cell.bundler}-${cell.runtime}`;
  test(`Next ${cell.next} × ${cell.bundler} × ${cell.runtime === "proxy" ? "proxy.ts" : `${cell.runtime} middleware`}`, { timeout: 300_000 }, async (t) => {
    const { dir: base, version: versionOf } = install(`next${cell.next}`);
    const version = versionOf("next");
    const backend = await startBackend();
    t.after(() => backend.stop());

    const app = `${base}/cells/${name}`;
    rmSync(app, { recursive: true, force: true });
    cpSync(`${HERE}app`, app, { recursive: true });
    const [file, body] = ENTRY[cell.runtime];
    writeFileSync(`${app}/${file}`, `import { edgeGate } from "edgegate/next";\nimport { options } from "./gate";\n\n${body}`);
    const node = cell.runtime !== "edge";
    if (node) {
      // Node cells also build a standalone server (the Docker way), run below moved away.
      const config = readFileSync(`${app}/next.config.ts`, "utf8");
      writeFileSync(`${app}/next.config.ts`, config.replace("return {};", 'return { output: "standalone" };'));
    }
    if (cell.next === 14) {
      // Next 14 reads no next.config.ts; its next.config.mjs cannot import gate.ts.
      rmSync(`${app}/next.config.ts`);
      writeFileSync(`${app}/next.config.mjs`, "export default {};\n");
    } else if (!checked.has(cell.next)) {
      // next.config.ts awaits check(options): a short secret fails the build, with its code.
      checked.add(cell.next);
      const weak = spawnSync(`${base}/node_modules/.bin/next`, ["build", ...(cell.flag ? [cell.flag] : [])], {
        cwd: app,
        env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", UPSTREAM_URL: backend.url, JWT_SECRET: "short" },
        encoding: "utf8",
      });
      assert.notEqual(weak.status, 0, "next build passed with a 5-byte HMAC secret");
      assert.match(weak.stdout + weak.stderr, /ERR_CONFIG_WEAK_KEY/);
      rmSync(`${app}/.next`, { recursive: true, force: true });
    }
    const env = { UPSTREAM_URL: backend.url, JWT_SECRET: SECRET };
    const started = Date.now();
    try {
      run(`${base}/node_modules/.bin/next`, ["build", ...(cell.flag ? [cell.flag] : [])], app, env);
    } catch (e) {
      assert.fail(`next build failed:\n${e.stdout}\n${e.stderr}`);
    }
    const buildSeconds = (Date.now() - started) / 1000;
    const next = await startNext(app, { env, bin: `${base}/node_modules/.bin/next` });
    t.after(() => next.stop());

    await verdicts(next.url, backend);
    await behindTlsProxy(t, next, backend);
    await next.stop();

    if (node) {
      // The standalone server in another folder, the build's node_modules/edgegate gone (as
      // in a Docker image): webpack fixed `import.meta.url` to that path, so the engine
      // must come from the copy Next traced into the standalone folder.
      const moved = `${WORK}/standalone-${name}`;
      rmSync(moved, { recursive: true, force: true });
      cpSync(`${app}/.next/standalone`, moved, { recursive: true });
      // Next's server.js is CommonJS; the install's package.json says "type": "module".
      writeFileSync(`${moved}/${relative(base, app)}/package.json`, '{ "type": "commonjs" }\n');
      const away = `${base}/node_modules/edgegate.away`;
      renameSync(`${base}/node_modules/edgegate`, away);
      t.after(() => existsSync(away) && renameSync(away, `${base}/node_modules/edgegate`));
      const port = await freePort();
      // The standalone folder mirrors the tracing root (the install, whose node_modules the
      // cells share), so server.js sits at the app's path inside it.
      const server = await start("node", [`${moved}/${relative(base, app)}/server.js`], {
        cwd: tmpdir(),
        env: { ...env, PORT: String(port), HOSTNAME: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1" },
        url: `http://127.0.0.1:${port}/`,
      });
      t.after(() => server.stop());
      await verdicts(`http://127.0.0.1:${port}`, backend);
      await server.stop();
      renameSync(away, `${base}/node_modules/edgegate`);
      rmSync(`${app}/.next/standalone`, { recursive: true, force: true });
    }

    const { wasm, inlined } = wasmCopies(app);
    let size;
    if (cell.runtime === "edge") {
      // The `?module` import only: wasm-bindgen's default `new URL('…_bg.wasm')` is omitted.
      assert.equal(wasm.length, 1, `wasm files in the build: ${wasm.join(", ")}`);
      assert.equal(inlined.length, 0, `the base64 copy is in: ${inlined.join(", ")}`);
      size = readFileSync(wasm[0]);
    } else {
      // Node reads the .wasm file, no copy in JS. Turbopack emits the file it reads; webpack
      // emits one it never reads (its URL for it is public-path relative, not a file), and
      // the server reads the one in node_modules.
      assert.ok(wasm.length <= 1, `wasm files in the build: ${wasm.join(", ")}`);
      assert.equal(inlined.length, 0, `a JS copy is in: ${inlined.join(", ")}`);
      size = readFileSync(wasm[0] ?? `${base}/node_modules/edgegate/wasm/edgegate_bg.wasm`);
    }
    const copies = !node ? "1 `.wasm`" : wasm.length ? "1 `.wasm`, read from disk" : "none: reads node_modules' `.wasm`";
    const copy = wasm[0]?.slice(app.length + 1) ?? "node_modules/edgegate/wasm/edgegate_bg.wasm";
    const bundle = { file: copy, copies, bytes: size.length, gzipped: gzipSync(size, { level: 9 }).length };
    console.log(`${name} (next ${version}): built in ${buildSeconds.toFixed(1)} s; wasm copy ${bundle.file}: ${bundle.bytes} bytes, ${bundle.gzipped} gzipped`);
    recordCompat({ host: `Next ${version}`, bundler: cell.bundler, runtime: cell.runtime, test: "tests/e2e/matrix.test.mjs", bundle });
  });
}

// The README's Worker snippet, type-checked and run by wrangler itself (`wrangler dev`,
// workerd), bundled as `wrangler deploy` would.
test("Cloudflare Worker × wrangler", { timeout: 180_000 }, async (t) => {
  const { dir, version } = install("wrangler");
  const snippet = /```ts\n(\/\/ worker\.ts[^]*?)```/.exec(readFileSync(`${ROOT}README.md`, "utf8"))?.[1];
  assert.ok(snippet, "the README has a worker.ts snippet");
  mkdirSync(`${dir}/src`, { recursive: true });
  writeFileSync(`${dir}/src/worker.ts`, snippet);
  for (const f of ["wrangler.toml", "tsconfig.json"]) cpSync(`${HERE}wrangler/${f}`, `${dir}/${f}`);
  const env = { WRANGLER_SEND_METRICS: "false", CI: "1" };
  try {
    run(`${dir}/node_modules/.bin/tsc`, ["-p", "."], dir);
  } catch (e) {
    assert.fail(`the README's worker.ts does not type-check:\n${e.stdout}`);
  }

  rmSync(`${dir}/dist`, { recursive: true, force: true });
  run(`${dir}/node_modules/.bin/wrangler`, ["deploy", "--dry-run", "--outdir", "dist"], dir, env);
  const { wasm, inlined } = wasmCopies(dir, `${dir}/dist`);
  assert.equal(wasm.length, 1, `wasm files in the bundle: ${wasm.join(", ")}`);
  assert.equal(inlined.length, 0, `the base64 copy is in: ${inlined.join(", ")}`);
  const bytes = readFileSync(wasm[0]);
  const bundle = { file: wasm[0].slice(dir.length + 1), bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };

  const backend = await startBackend();
  t.after(() => backend.stop());
  const port = await freePort();
  const worker = await start(
    `${dir}/node_modules/.bin/wrangler`,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--var", `BACKEND:${backend.url}`, "--var", `JWT_SECRET:${SECRET}`],
    { cwd: dir, env, url: `http://127.0.0.1:${port}/`, timeoutMs: 90_000 },
  );
  t.after(() => worker.stop());
  const url = `http://127.0.0.1:${port}`;

  const denied = await fetch(`${url}/api/stocks`);
  assert.equal(denied.status, 401);
  assert.equal(backend.seen.length, 0);
  const now = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", SECRET, { sub: "worker", iat: now, exp: now + 300 });
  const passed = await fetch(`${url}/api/stocks?x=1`, { headers: { authorization: `Bearer ${token}`, cookie: "theme=dark" } });
  assert.equal(passed.status, 200);
  assert.deepEqual(await passed.json(), { from: "backend" });
  assert.equal(backend.seen[0].url, "/api/stocks?x=1", "the query reaches the backend");
  assert.equal(backend.seen[0].headers.authorization, `Bearer ${token}`);
  const app = await fetch(`${url}/?q=1`);
  assert.equal(await app.text(), "the app");

  console.log(`wrangler ${version("wrangler")}: wasm copy ${bundle.file}: ${bundle.bytes} bytes, ${bundle.gzipped} gzipped`);
  recordCompat({ host: `wrangler ${version("wrangler")}`, bundler: "esbuild (wrangler)", runtime: "worker", test: "tests/e2e/matrix.test.mjs", bundle });
});

// A Node server bundled whole by esbuild and by Vite (SSR, nothing external), then run from
// a folder with no node_modules beside it: the bundle and the .wasm copied beside it, as the
// README's "Bundling a Node server" says. Without the copy, requests fail closed and the log
// says what to copy where.
for (const bundler of ["esbuild", "vite"]) {
  test(`Node server × ${bundler} bundle`, { timeout: 120_000 }, async (t) => {
    const { dir, version } = install("node-bundlers");
    for (const f of ["server.mjs", "vite.config.mjs"]) cpSync(`${HERE}node-bundlers/${f}`, `${dir}/${f}`);
    const out = `${dir}/dist-${bundler}`;
    rmSync(out, { recursive: true, force: true });
    if (bundler === "vite") run(`${dir}/node_modules/.bin/vite`, ["build", "--outDir", out], dir);
    else run(`${dir}/node_modules/.bin/esbuild`, ["server.mjs", "--bundle", "--platform=node", "--format=esm", `--outfile=${out}/server.js`, "--log-level=error"], dir);
    const { wasm, inlined } = wasmCopies(dir, out);
    assert.deepEqual(wasm, [], "no .wasm emitted beside the bundle");
    assert.deepEqual(inlined, [], "no JS copy of the wasm in the bundle");
    const bundled = files(out).filter((f) => /\.[cm]?js$/.test(f));
    assert.equal(bundled.length, 1, `bundle files: ${bundled.join(", ")}`);

    const alone = `${WORK}/run-${bundler}`;
    rmSync(alone, { recursive: true, force: true });
    mkdirSync(alone);
    cpSync(bundled[0], `${alone}/server.mjs`);
    const backend = await startBackend();
    t.after(() => backend.stop());
    const env = { UPSTREAM_URL: backend.url, JWT_SECRET: SECRET };

    let port = await freePort();
    const missing = await start("node", ["server.mjs"], { cwd: alone, env: { ...env, PORT: String(port) }, url: `http://127.0.0.1:${port}/` });
    t.after(() => missing.stop());
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/stocks`)).status, 500);
    // The server logs the error as it answers: wait for the whole line to reach the pipe
    // (its stack, then its code) instead of reading what has arrived so far.
    const logged = /copy node_modules\/edgegate\/wasm\/edgegate_bg\.wasm beside the bundle[^]*ERR_WASM_NOT_FOUND/;
    for (let i = 0; i < 50 && !logged.test(missing.output()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(missing.output(), logged);
    assert.equal(backend.seen.length, 0);
    missing.stop();

    cpSync(`${dir}/node_modules/edgegate/wasm/edgegate_bg.wasm`, `${alone}/edgegate_bg.wasm`);
    port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await start("node", ["server.mjs"], { cwd: alone, env: { ...env, PORT: String(port) }, url: `${url}/` });
    t.after(() => server.stop());

    const page = await fetch(`${url}/dashboard`, { redirect: "manual" });
    assert.deepEqual([page.status, page.headers.get("location")], [307, "/login?returnTo=%2Fdashboard"]);
    assert.equal((await fetch(`${url}/api/stocks`)).status, 401);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt("HS256", SECRET, { sub: "bundled", iat: now, exp: now + 300 });
    const passed = await fetch(`${url}/api/stocks?x=1`, { headers: { cookie: `theme=dark; token=${token}` } });
    assert.deepEqual(await passed.json(), { from: "backend" });
    assert.equal(backend.seen[0].url, "/api/stocks?x=1");
    assert.equal(backend.seen[0].headers.authorization, `Bearer ${token}`);
    assert.equal(backend.seen[0].headers.cookie, "theme=dark");
    assert.equal(await (await fetch(`${url}/`)).text(), "home");

    const bytes = readFileSync(`${alone}/edgegate_bg.wasm`);
    const bundle = { file: "edgegate_bg.wasm", copies: "1 `.wasm`, copied beside the bundle", bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
    console.log(`${bundler} ${version(bundler)}: wasm copy ${bundle.file}: ${bundle.bytes} bytes, ${bundle.gzipped} gzipped`);
    const name = bundler === "vite" ? "Vite" : "esbuild";
    recordCompat({ host: `Node ${process.versions.node}, Hono ${version("hono")}`, bundler: `${name} ${version(bundler)}`, runtime: "Node, `edgegate/hono`", test: "tests/e2e/matrix.test.mjs", bundle });
  });
}
