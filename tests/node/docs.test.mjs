// The README doc-tests: every ```ts block of README.md and js/README.md, type-checked under
// `strict` against the packed tarball in a fresh project (next, hono, express, node-redis,
// ioredis and @upstash/redis with their real types), the way Rust runs its doc-tests: a snippet that
// drifts from the package fails the build. A block is a whole file unless its fence says
// otherwise:
//   ```ts fragment   lines of a file: what it uses but does not define (`options`, `request`,
//                    `edgeGate`, `NextResponse`, a Redis client, …) comes from PRELUDE;
//   ```ts options    members of the options object, checked as `Partial<Options>`.
// A block whose first line names a file (`// proxy.ts`, `// app/api/login/route.ts`) is
// written there, beside the README's own `gate.ts` block, which is what `./gate` imports.
// Entries that a user runs as written are also run: the quick start's proxy.ts, the Hono
// and Express apps, next.config.ts over the README's gate.ts, and the hosted-login
// middleware.ts answer their documented statuses here; the Worker runs under wrangler in
// tests/e2e/matrix.test.mjs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, packedProject, run } from "./packed.mjs";
import { jwt } from "./sign.mjs";
import { blocks, fileName } from "../readme.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** What a fragment may use without defining it, each with the line that provides it. */
const PRELUDE = [
  ["edgeGate", 'import { edgeGate } from "edgegate/next";'],
  ["setSession", 'import { setSession } from "edgegate/next";'],
  ["clearSession", 'import { clearSession } from "edgegate/next";'],
  ["gateWorker", 'import { gateWorker } from "edgegate/worker";'],
  ["durableRefreshStore", 'import { durableRefreshStore } from "edgegate/worker";'],
  ["redisRefreshStore", 'import { redisRefreshStore } from "edgegate";'],
  ["createGate", 'import { createGate } from "edgegate";'],
  ["NextResponse", 'import { NextResponse } from "next/server";'],
  ["options", 'declare const options: import("edgegate").Options;'],
  ["gateOptions", 'declare const gateOptions: import("edgegate").Options;'],
  ["request", "declare const request: Request;"],
  ["decision", 'declare const decision: import("edgegate").Decision;'],
  ["handler", "declare const handler: (request: Request) => Response | Promise<Response>;"],
  ["Env", 'interface Env { REFRESH: import("edgegate/worker").RefreshNamespace; KEYS: import("edgegate").KeyStore }'],
  ["get", "declare const get: (key: string) => Promise<string | null>;"],
  ["put", "declare const put: (key: string, value: string) => Promise<void>;"],
];

/** `text` as a file: a fragment gets the prelude lines for the names it uses and lacks. */
function asFile({ kind, text }) {
  if (kind === "options") return `import type { Options } from "edgegate";\nexport const part = {\n${text}} satisfies Partial<Options>;\n`;
  if (kind === "file") return text;
  const defines = (name) =>
    new RegExp(`(import[^;]*\\b${name}\\b[^;]*from|\\b(const|let|var|function|class|interface|type)\\s+${name}\\b)`).test(text);
  const lines = PRELUDE.filter(([name]) => new RegExp(`\\b${name}\\b`).test(text) && !defines(name)).map(([, line]) => line);
  return `${lines.join("\n")}\n${text}\nexport {};\n`;
}

let tmp;
let project;
const all = [];

before(async () => {
  for (const file of ["README.md", "js/README.md"]) all.push(...blocks(await readFile(join(ROOT, file), "utf8"), file));
  tmp = await mkdtemp(join(tmpdir(), "edgegate-docs-"));
  ({ project } = await packedProject(tmp));
  // The frameworks and clients the snippets use, with their own types: the copies
  // tests/node installed, and the example's next.
  for (const name of ["hono", "@hono/node-server", "express", "@types/express", "@types/node", "redis", "ioredis", "@upstash/redis", "typescript"]) {
    await mkdir(dirname(join(project, "node_modules", name)), { recursive: true });
    await symlink(join(HERE, "node_modules", name), join(project, "node_modules", name), "dir");
  }
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("every README block type-checks under strict against the packed package", async () => {
  assert.ok(all.length >= 20, `${all.length} blocks found`);
  const gate = all.find((b) => b.file === "README.md" && fileName(b) === "gate.ts");
  assert.ok(gate, "README.md has a gate.ts block for ./gate to import");
  const origin = new Map(); // written path → the block
  for (const [i, block] of all.entries()) {
    const dir = join(project, "docs", `${String(i).padStart(2, "0")}`);
    const path = join(dir, fileName(block));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, asFile(block));
    origin.set(path, block);
    if (block !== gate) await writeFile(join(dir, "gate.ts"), gate.text);
  }
  await writeFile(
    join(project, "docs", "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler",
        lib: ["es2022", "dom", "dom.iterable"], types: ["node"], skipLibCheck: true, isolatedModules: true,
      },
      include: ["**/*.ts"],
    }),
  );
  const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
  const { code, stdout } = await run(process.execPath, [tsc, "-p", "docs/tsconfig.json", "--pretty", "false"], { cwd: project });
  // Each error as README.md:<line of the block>: the error.
  const errors = stdout
    .split("\n")
    .filter((line) => /error TS\d+/.test(line))
    .map((line) => {
      const [, path, at, message] = /^(.+?)\((\d+),\d+\): (.*)$/.exec(line) ?? [, "", "", line];
      const block = origin.get(join(project, path)) ?? (path.endsWith("gate.ts") ? gate : undefined);
      return block ? `${block.file}:${block.line} (${fileName(block)} line ${at}): ${message}` : line;
    });
  assert.deepEqual(errors, [], `tsc exited ${code}`);
  console.log(`${all.length} README blocks type-check (${all.filter((b) => b.kind !== "file").length} fragments or option members)`);
});

/** A block as JavaScript the test can import (type-checked above; here only run). */
async function runnable(block, name, extra = "", given = "", rename = {}) {
  const ts = (await import(join(project, "node_modules", "typescript", "lib", "typescript.js"))).default;
  const js = ts.transpileModule(asFile(block) + extra, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  // What a fragment takes from its surroundings at run time (`given`) goes after its imports.
  const at = js.lastIndexOf("\nimport ") >= 0 ? js.indexOf("\n", js.lastIndexOf("\nimport ") + 1) + 1 : 0;
  const path = join(project, "docs-run", name);
  await mkdir(dirname(path), { recursive: true });
  let code = js.slice(0, at) + given + js.slice(at);
  // Relative imports of other blocks, as the compiled files are named here.
  for (const [from, to] of Object.entries(rename)) code = code.replaceAll(`from "${from}"`, `from "${to}"`);
  await writeFile(path, code);
  return import(`${path}?${Date.now()}`);
}

/** A backend that records what reaches it. */
async function backend() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization, cookie: req.headers.cookie });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ from: "backend" }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}

test("the quick start's proxy.ts answers as the README says", async (t) => {
  const quickStart = all.find((b) => b.file === "README.md" && fileName(b) === "proxy.ts" && b.text.includes("JWT_PUBLIC_KEY"));
  assert.ok(quickStart, "README.md's quick start proxy.ts");
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const api = await backend();
  t.after(() => api.close());
  process.env.BACKEND_URL = api.url;
  process.env.JWT_PUBLIC_KEY = publicKey.export({ type: "spki", format: "pem" });
  const { proxy } = await runnable(quickStart, "proxy.mjs");
  const { NextRequest } = await import(join(project, "node_modules", "next", "server.js"));

  const page = await proxy(new NextRequest("https://app.example/dashboard"));
  assert.equal(page.status, 307);
  assert.equal(new URL(page.headers.get("location")).pathname + new URL(page.headers.get("location")).search, "/login?returnTo=%2Fdashboard");
  assert.equal((await proxy(new NextRequest("https://app.example/api/stocks"))).status, 401);
  const now = Math.floor(Date.now() / 1000);
  const token = jwt("RS256", privateKey, { sub: "reader", iss: "https://id.example", aud: "api", iat: now, exp: now + 300 });
  const passed = await proxy(new NextRequest("https://app.example/api/stocks?x=1", { headers: { cookie: `__Host-token=${token}; theme=dark` } }));
  assert.equal(passed.status, 200);
  assert.deepEqual(await passed.json(), { from: "backend" });
  assert.deepEqual(api.seen, [{ url: "/api/stocks?x=1", authorization: `Bearer ${token}`, cookie: "theme=dark" }]);
});

test("the Hono snippet answers as the README says", async (t) => {
  const snippet = all.find((b) => b.file === "README.md" && b.text.includes('from "edgegate/hono"') && b.text.includes("new Hono"));
  assert.ok(snippet, "README.md's Hono block");
  const api = await backend();
  t.after(() => api.close());
  const env = { JWT_SECRET: "a-hono-secret-of-at-least-32-bytes!!", BACKEND: api.url };
  const { app } = await runnable(snippet, "hono.mjs", "\nexport { app };\n");
  const page = await app.request("/dashboard", {}, env);
  assert.deepEqual([page.status, page.headers.get("location")], [307, "/login?returnTo=%2Fdashboard"]);
  assert.equal((await app.request("/api/stocks", {}, env)).status, 401);
  const now = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", env.JWT_SECRET, { sub: "hono-reader", iat: now, exp: now + 300 });
  const hello = await app.request("/dashboard", { headers: { cookie: `token=${token}` } }, env);
  assert.equal(await hello.text(), "hello hono-reader");
  const passed = await app.request("/api/stocks", { headers: { cookie: `token=${token}` } }, env);
  assert.deepEqual(await passed.json(), { from: "backend" });
  assert.equal(api.seen[0].authorization, `Bearer ${token}`);
});

test("the Express snippet answers as the README says", async (t) => {
  const snippet = all.find((b) => b.file === "README.md" && b.text.includes('from "edgegate/node"') && b.text.includes("express()"));
  assert.ok(snippet, "README.md's Express block");
  const secret = "an-express-secret-of-at-least-32-bytes";
  // The fragment's `options`, as a user's gate.ts would give them.
  const options = { rules: [{ match: "/dashboard/:path*", kind: "page" }], verify: { algorithms: ["HS256"], keys: secret } };
  const { app } = await runnable(snippet, "express.mjs", "\nexport { app };\n", `const options = ${JSON.stringify(options)};\n`);
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  const page = await fetch(`${url}/dashboard`, { redirect: "manual" });
  assert.deepEqual([page.status, page.headers.get("location")], [307, "/login?returnTo=%2Fdashboard"]);
  const now = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", secret, { sub: "express-reader", iat: now, exp: now + 300 });
  const hello = await fetch(`${url}/dashboard`, { headers: { cookie: `token=${token}` } });
  assert.equal(await hello.text(), "hello express-reader");
});

test("the next.config.ts and the hosted-login middleware.ts answer as the README says", async () => {
  const gate = all.find((b) => b.file === "README.md" && fileName(b) === "gate.ts");
  const config = all.find((b) => b.file === "README.md" && fileName(b) === "next.config.ts");
  const auth0 = all.find((b) => b.file === "README.md" && fileName(b) === "middleware.ts" && b.text.includes("login: {"));
  assert.ok(gate && config && auth0, "README.md's gate.ts, next.config.ts and hosted-login middleware.ts");
  const { NextRequest } = await import(join(project, "node_modules", "next", "server.js"));

  // next.config.ts awaits check(options): unset secrets fail the build with their code.
  // (gate.ts reads the environment when it loads: one compiled copy per environment.)
  process.env.BACKEND_URL = "http://127.0.0.1:9";
  process.env.AUTH_SECRET = "an-auth-js-secret-of-at-least-32-bytes";
  delete process.env.BACKEND_JWT_SECRET;
  await runnable(gate, "gate-unset.mjs");
  const unset = await runnable(config, "next.config-unset.mjs", "", "", { "./gate": "./gate-unset.mjs" });
  await assert.rejects(unset.default(), (e) => e.code === "ERR_CONFIG_INVALID" && /verify\.keys is undefined/.test(e.message));
  process.env.BACKEND_JWT_SECRET = "a-backend-secret-of-at-least-32-bytes!";
  await runnable(gate, "gate-set.mjs");
  const set = await runnable(config, "next.config-set.mjs", "", "", { "./gate": "./gate-set.mjs" });
  assert.deepEqual(await set.default(), {});

  // Hosted login: a page without a session goes to the gate's own /auth/login, which no
  // provider is needed for.
  Object.assign(process.env, { AUTH0_CLIENT_ID: "app", AUTH0_CLIENT_SECRET: "an-auth0-client-secret", EDGEGATE_SECRET: "an-edgegate-secret-of-at-least-32-bytes", APP_BASE_URL: "https://app.example" });
  const { default: middleware } = await runnable(auth0, "middleware.mjs");
  const page = await middleware(new NextRequest("https://app.example/dashboard?tab=2", { headers: { "sec-fetch-mode": "navigate" } }));
  assert.equal(page.status, 307);
  assert.equal(page.headers.get("location"), "https://app.example/auth/login?returnTo=%2Fdashboard%3Ftab%3D2");
  assert.equal((await middleware(new NextRequest("https://app.example/api/stocks"))).status, 401);
});
