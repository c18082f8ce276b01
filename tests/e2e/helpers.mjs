// Shared by the end-to-end tests: real servers on 127.0.0.1 with free ports, each in its own
// process group so that a failing test still takes them down.
import { spawn, execFileSync } from "node:child_process";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "../node/net.mjs";
import { jwt } from "../node/sign.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const EXAMPLE = `${ROOT}examples/nextjs/`;
export const dev = JSON.parse(readFileSync(`${EXAMPLE}dev-config.json`, "utf8"));

const running = new Set();
const killAll = () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
};
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (killAll(), process.exit(1)));

export { freePort };

/** Keeps `child` (a detached process group) to kill at exit; the function kills it now. */
function track(child) {
  running.add(child);
  return () => {
    running.delete(child);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
}

/** Starts a server and resolves once `url` answers; `stop()` kills its process group. */
export async function start(command, args, { cwd, env = {}, url, timeoutMs = 60_000 }) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = track(child);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      // A port that accepts and never answers must not hold the poll (undici waits 300 s).
      await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5000) });
      return { stop, output: () => output, pid: child.pid };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  stop();
  throw new Error(`${command} ${args.join(" ")} did not come up at ${url}:\n${output}`);
}

/** The example's Express upstream; `env` may point it at an OIDC provider (OIDC_ISSUER). */
export async function startUpstream(env = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await start("node", ["upstream/server.mjs"], { cwd: EXAMPLE, env: { ...env, PORT: String(port) }, url });
  return { ...server, url };
}

/**
 * Builds the example app with `middleware.ts` (Edge) or `proxy.ts` (Node) in its own folder
 * under target/ (inside the repository, as Turbopack requires), with UPSTREAM_URL set to
 * `upstream`. `gateSource` replaces the example's gate.ts; `files` adds files by path;
 * `name` tells builds apart.
 */
export function buildNext(variant, upstream, { gateSource, files = {}, name = variant } = {}) {
  const dir = `${ROOT}target/next-${name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ["app", "lib", "gate.ts", "dev-config.json", "next.config.ts", "package.json", "tsconfig.json"]) {
    cpSync(`${EXAMPLE}${f}`, `${dir}/${f}`, { recursive: true });
  }
  if (variant === "middleware") cpSync(`${EXAMPLE}middleware.ts`, `${dir}/middleware.ts`);
  else cpSync(`${EXAMPLE}variants/proxy.ts`, `${dir}/proxy.ts`);
  if (gateSource) writeFileSync(`${dir}/gate.ts`, gateSource);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    writeFileSync(`${dir}/${path}`, text);
  }
  nextBuild(dir, { UPSTREAM_URL: upstream });
  return dir;
}

/**
 * `next build` in `dir` with `env`, node_modules linked to the example's (next, react,
 * next-auth and edgegate from one place); returns the seconds it took.
 */
function nextBuild(dir, env) {
  symlinkSync(`${EXAMPLE}node_modules`, `${dir}/node_modules`);
  const started = performance.now();
  try {
    execFileSync(`${dir}/node_modules/.bin/next`, ["build"], {
      cwd: dir,
      env: { ...process.env, ...env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: "pipe",
    });
  } catch (e) {
    throw new Error(`next build failed:\n${e.stdout}\n${e.stderr}`);
  }
  return (performance.now() - started) / 1000;
}

/**
 * Copies the app `template` (a folder of tests/e2e/) to target/next-<name>/ (inside the
 * repository, as Turbopack requires), removes `omit`, adds `files` (path → text), and
 * builds it with `env`.
 */
export function buildTemplate(template, name, { env = {}, files = {}, omit = [] } = {}) {
  const dir = `${ROOT}target/next-${name}`;
  rmSync(dir, { recursive: true, force: true });
  cpSync(`${ROOT}tests/e2e/${template}`, dir, { recursive: true });
  for (const path of omit) rmSync(`${dir}/${path}`);
  for (const [path, text] of Object.entries(files)) writeFileSync(`${dir}/${path}`, text);
  return { dir, seconds: nextBuild(dir, env) };
}

/** `next start` in `dir`, with `env`; `bin` is the `next` to run (else dir's own); `port`, else a free one. */
export async function startNext(dir, { env = {}, bin = `${dir}/node_modules/.bin/next`, port } = {}) {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await start(bin, ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: dir,
    env: { NEXT_TELEMETRY_DISABLED: "1", ...env },
    url,
  });
  return { ...server, url };
}

/**
 * A request as a browser would send it, as a `Response`: Node's `fetch` overwrites
 * `Sec-Fetch-Mode` with `cors`, so a navigation (`Sec-Fetch-Mode: navigate`) can only be
 * sent this way. Redirects are not followed. An https `url` is trusted with `ca` (the TLS
 * proxy's certificate).
 */
export function browserRequest(url, { method = "GET", headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith("https:") ? https : http;
    const req = client.request(url, { method, headers, ca, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of [value].flat()) answer.append(name, one);
        }
        const text = Buffer.concat(chunks);
        resolve(new Response([204, 304].includes(res.statusCode) ? null : text, { status: res.statusCode, headers: answer }));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The gate's decisions so far, from the log lines of `server` (`edgeGate(options, { log: true })`). */
export function gateDecisions(server) {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith('{"edgegate"'))
    .map((line) => JSON.parse(line));
}

/** Does `authorization` carry a bearer the demo backend would accept (HS256, dev secret, not expired)? */
export function verifiedBearer(authorization) {
  const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? "")?.[1];
  if (!token) return false;
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", dev.secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  return JSON.parse(Buffer.from(header, "base64url")).alg === "HS256" && claims.exp > Date.now() / 1000;
}

/**
 * A recording reverse proxy in front of `target` (the backend): every request it receives is
 * kept in `seen` ({ method, url, headers }). One that carries no verified bearer is refused
 * (599) and kept in `violations`, unless `exempt(request)` says the app itself sent it (the
 * login route handler's own call to the backend).
 */
export async function startRecorder(target, { exempt = () => false } = {}) {
  const seen = [];
  const violations = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers };
    seen.push(entry);
    if (!exempt(entry) && !verifiedBearer(req.headers.authorization)) {
      violations.push(entry);
      req.resume();
      return res.writeHead(599).end("reached the backend without a verified bearer");
    }
    const to = new URL(req.url, target);
    const headers = { ...req.headers, host: to.host };
    const forward = http.request(to, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    violations,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** An HS256 token like the demo's sign-in issues; `claims` override the defaults. */
export function token(claims = {}, secret = dev.secret) {
  const now = Math.floor(Date.now() / 1000);
  const body = { sub: "e2e-user", iss: dev.issuer, aud: dev.audience, iat: now, exp: now + 300, ...claims };
  return jwt("HS256", secret, body);
}

/**
 * Bundles a Worker entry with esbuild using the `workerd` condition (as wrangler does), into
 * target/<name>; returns the Miniflare options of the bundle (modules, the .wasm compiled).
 */
export async function bundleWorker(entry, name, { define } = {}) {
  const outdir = `${ROOT}target/${name}`;
  rmSync(outdir, { recursive: true, force: true });
  await build({
    define,
    entryPoints: [entry],
    outdir,
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    loader: { ".wasm": "copy" },
    logLevel: "error",
  });
  const script = entry.split("/").pop().replace(/\.[cm]?[jt]s$/, ".js");
  return {
    modules: true,
    scriptPath: `${outdir}/${script}`,
    modulesRoot: outdir, // module names are relative to this, not to the cwd
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
  };
}

/**
 * Bundles a Worker entry (`bundleWorker`) and runs it in workerd through Miniflare. Returns
 * the Miniflare instance; `dispose()` it.
 */
export async function startWorker(entry, name, bindings = {}, extra = {}, { define } = {}) {
  return new Miniflare({ ...(await bundleWorker(entry, name, { define })), cf: false, bindings, ...extra });
}

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Headless Chromium (playwright-core driving the Debian package), closed when `t` ends; or
 * null, with the skip printed and recorded, when it is not installed.
 */
export async function launchChromium(t) {
  if (!existsSync(CHROMIUM)) {
    console.log(`SKIPPED browser test: no Chromium at ${CHROMIUM}`);
    t.skip(`no Chromium at ${CHROMIUM}`);
    return null;
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  t.after(() => browser.close());
  return browser;
}

/**
 * A real TLS-terminating reverse proxy (nginx, from scripts/setup) on 127.0.0.1 in front of
 * `target` (plain http), with a fresh self-signed certificate and the headers a deployment's
 * nginx sends (`X-Forwarded-Proto https`, `-For`, `-Host`, the client's Host). Resolves
 * `{ url, ca, stop }`, or null with the skip printed and recorded when nginx or openssl is
 * absent.
 */
export async function startTlsProxy(t, target, { port } = {}) {
  const targets = [target].flat();
  const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find(existsSync);
  if (!nginx || !existsSync("/usr/bin/openssl")) {
    console.log("SKIPPED TLS proxy test: no nginx or openssl (scripts/setup installs them)");
    t.skip("no nginx or openssl");
    return null;
  }
  port ??= await freePort();
  const dir = mkdtempSync(`${tmpdir()}/edgegate-nginx-`);
  chmodSync(dir, 0o755); // nginx's workers (nobody, under root) make their temp folders here
  execFileSync("/usr/bin/openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`,
  ], { stdio: "pipe" });
  writeFileSync(`${dir}/nginx.conf`, `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
${targets.map((url) => `    server ${new URL(url).host} max_fails=1 fail_timeout=5s;`).join("\n")}
  }
  # What the README asks of nginx for chunked sessions: room for a Cookie header over 8 KB
  # (else 400) and for a response setting 12 KB of cookies (else "upstream sent too big
  # header", 502).
  large_client_header_buffers 4 16k;
  proxy_buffer_size 32k;
  proxy_buffers 8 32k;
  proxy_busy_buffers_size 64k;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Connection "";
    }
  }
}
`);
  const url = `https://127.0.0.1:${port}`;
  const ca = readFileSync(`${dir}/cert.pem`);
  const child = spawn(nginx, ["-p", dir, "-c", `${dir}/nginx.conf`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr.on("data", (d) => (output += d));
  const kill = track(child);
  const stop = () => (kill(), rmSync(dir, { recursive: true, force: true }));
  t.after(stop);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      await browserRequest(`${url}/`, { ca });
      return { url, ca, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx did not come up at ${url}:\n${output}`);
}
