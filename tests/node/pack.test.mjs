// The npm package as a user gets it: `npm pack` of js/, the tarball's contents, then the
// tarball installed into a fresh project outside the repository, imported from plain Node
// ESM, and type-checked by tsc under moduleResolution "bundler" and "node16". The other
// node tests import js/ through a symlink (file:../../js), which hides a missing file in
// "files", a broken exports map or declarations that only resolve in this tree.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { jwt } from "./sign.mjs";
import { ROOT, findNext, must, packedProject, run } from "./packed.mjs";

const JS = join(ROOT, "js");
const require = createRequire(import.meta.url);
const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";

/** Every file under `dir`, relative, with `/` separators. */
async function listFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)).split(sep).join("/"))
    .sort();
}

let tmp; // everything this test writes: the tarball and the project
let packed; // npm pack's --json report for the tarball
let project; // the fresh project the tarball is installed into
let installed; // node_modules/edgegate in it

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "edgegate-pack-"));
  ({ packed, project, installed } = await packedProject(tmp));
  console.log(
    `npm pack: ${packed.filename}, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ` +
      `${packed.entryCount} files`,
  );
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("the tarball holds the package and nothing else", async () => {
  const files = packed.files.map((f) => f.path).sort();
  // Packed and installed agree (what npm reported is what a user gets).
  assert.deepEqual(await listFiles(installed), files);

  for (const name of ["README.md", "LICENSE-MIT", "LICENSE-APACHE", "package.json"]) {
    assert.ok(files.includes(name), `${name} is not in the tarball`);
  }
  // The licenses are the repository's (copied in by prepack, removed again by postpack).
  for (const name of ["LICENSE-MIT", "LICENSE-APACHE"]) {
    assert.equal(await readFile(join(installed, name), "utf8"), await readFile(join(ROOT, name), "utf8"));
    await assert.rejects(readFile(join(JS, name)), { code: "ENOENT" }, `postpack left js/${name} behind`);
  }
  assert.deepEqual(files.filter((f) => f.endsWith(".wasm")), ["wasm/edgegate_bg.wasm"]);
  for (const name of ["wasm/edgegate.js", "load/node.js", "load/edge.js", "load/workerd.js", "load/default.js"]) {
    assert.ok(files.includes(name), `${name} is not in the tarball`);
  }
  // The engine once: no other file holds its bytes, raw or as base64 (from an offset that is a
  // multiple of 3, so it lines up with a base64 copy of the whole file; issue 27: a 959 KB
  // base64 module once doubled the package).
  const engine = await readFile(join(installed, "wasm/edgegate_bg.wasm"));
  const marks = [engine.subarray(63, 2049), Buffer.from(engine.subarray(63, 2049).toString("base64"))];
  for (const file of files.filter((f) => f !== "wasm/edgegate_bg.wasm")) {
    const bytes = await readFile(join(installed, file));
    assert.ok(!marks.some((mark) => bytes.includes(mark)), `${file} holds a copy of the engine`);
  }

  // Every entry point ships its module and its declarations, with the .d.ts beside the .js.
  const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
  const entries = Object.entries(manifest.exports).filter(([key]) => key !== "./package.json");
  assert.deepEqual(entries.map(([key]) => key).slice(0, 3), [".", "./next", "./worker"]);
  for (const [key, target] of entries) {
    assert.deepEqual(Object.keys(target), ["types", "default"], `exports["${key}"]: types first, then default`);
    assert.equal(target.types, target.default.replace(/\.js$/, ".d.ts"), `exports["${key}"]`);
    for (const file of [target.types, target.default]) {
      assert.ok(files.includes(file.replace(/^\.\//, "")), `exports["${key}"] names ${file}, not in the tarball`);
    }
  }
  for (const target of Object.values(manifest.imports["#wasm"])) {
    assert.ok(files.includes(target.replace(/^\.\//, "")), `imports["#wasm"] names ${target}, not in the tarball`);
  }

  // The npm page's metadata.
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.equal(manifest.repository.type, "git");
  assert.match(manifest.repository.url, /^git\+https:\/\/github\.com\/edgegate\/edgegate\.git$/);
  assert.equal(manifest.repository.directory, "js");
  assert.ok(manifest.homepage && manifest.bugs?.url && manifest.keywords?.length, "homepage, bugs, keywords");
  assert.equal(manifest.private, undefined);
  assert.deepEqual(manifest.dependencies, undefined, "the package has no runtime dependencies");

  // Nothing else: the shim's modules, their declarations, the engine and the package files.
  const expected = (f) =>
    /^[\w-]+\.(js|d\.ts)$/.test(f) ||
    /^load\/[\w-]+\.js$/.test(f) ||
    /^wasm\/(edgegate\.js|edgegate_bg\.wasm)$/.test(f) ||
    ["README.md", "LICENSE-MIT", "LICENSE-APACHE", "package.json"].includes(f);
  assert.deepEqual(files.filter((f) => !expected(f)), []);
  // Every declaration file is one the package's types reach: an entry's `types`, or a file
  // one of those imports (wasm-bindgen's own .d.ts and the `?module` shim typed nothing a
  // user imports, issue 27).
  const typed = new Set(entries.map(([, target]) => target.types.replace(/^\.\//, "")));
  for (const file of [...typed]) {
    const text = await readFile(join(installed, file), "utf8");
    for (const [, to] of text.matchAll(/from "\.\/([\w/-]+)\.js"/g)) typed.add(`${to}.d.ts`);
  }
  assert.deepEqual(files.filter((f) => f.endsWith(".d.ts") && !typed.has(f)), [], "declarations no type reaches");
  assert.deepEqual(files.filter((f) => /(^|\/)(node_modules|tests?|scripts)\/|package-lock\.json|\.tgz$|\.map$/.test(f)), []);
});

test("the installed package imports and decides from plain Node ESM", async () => {
  const NOW = Math.floor(Date.now() / 1000);
  const token = jwt("HS256", SECRET, { sub: "u1", iss: "iss", aud: "aud", exp: NOW + 300 });
  // A script inside the project, so "edgegate" resolves to the installed copy and not to
  // this repository's js/.
  await writeFile(
    join(project, "run.mjs"),
    `import { createGate, EdgeGateError } from "edgegate";
import { gateWorker } from "edgegate/worker";
const [secret, token] = process.argv.slice(2);
const options = {
  rules: [{ match: "/api/:path*", kind: "api" }],
  verify: { algorithms: ["HS256"], keys: secret, issuer: "iss", audience: "aud" },
};
const gate = await createGate(options);
const request = (auth) => new Request("https://app.example/api/stocks", { headers: auth ? { authorization: "Bearer " + auth } : {} });
const ok = await gate.decide(request(token));
const denied = await gate.decide(request());
const bad = await createGate({ ...options, verify: { ...options.verify, keys: "short" } }).catch((e) => e);
const worker = gateWorker(options, (req) => new Response("handler saw " + req.headers.get("authorization")));
const passed = await worker.fetch(request(token), {}, {});
const refused = await worker.fetch(request(), {}, {});
console.log(JSON.stringify({
  resolved: [import.meta.resolve("edgegate"), import.meta.resolve("edgegate/worker")],
  ok: [ok.action, ok.code, new Headers(ok.requestHeaders).get("authorization")],
  denied: [denied.action, denied.status, denied.code],
  bad: [bad instanceof EdgeGateError, bad.code],
  worker: [passed.status, await passed.text(), refused.status],
}));
`,
  );
  const { stdout } = await must(process.execPath, ["run.mjs", SECRET, token], { cwd: project });
  const out = JSON.parse(stdout);
  for (const url of out.resolved) assert.ok(fileURLToPath(url).startsWith(installed + sep), `resolved ${url}`);
  assert.deepEqual(out.ok, ["continue", "OK_AUTHENTICATED", `Bearer ${token}`]);
  assert.deepEqual(out.denied, ["respond", 401, "ERR_NO_TOKEN"]);
  assert.deepEqual(out.bad, [true, "ERR_CONFIG_WEAK_KEY"]);
  assert.deepEqual(out.worker, [200, `handler saw Bearer ${token}`, 401]);
});

// edgegate/next from plain Node ESM (next.config.ts, a script, a test), with Next's own
// NextRequest: it resolved `next/server`, which Node cannot find without a bundler (issue 27).
test("edgegate/next runs from plain Node ESM", async (t) => {
  const next = findNext(); // linked into the project by before()
  if (!next) {
    t.skip("no next installed in examples/nextjs or tests/e2e (npm install there)");
    return;
  }
  const token = jwt("HS256", SECRET, { sub: "n", exp: Math.floor(Date.now() / 1000) + 300 });
  await writeFile(
    join(project, "next-run.mjs"),
    `import { edgeGate, gateClaims } from "edgegate/next";
import { NextRequest } from "next/server.js";
const proxy = edgeGate({ verify: { algorithms: ["HS256"], keys: process.argv[2] }, rules: [{ match: "/dashboard/:path*", kind: "page" }] });
const page = await proxy(new NextRequest("https://app.example/dashboard?tab=1"));
const passed = await proxy(new NextRequest("https://app.example/dashboard", { headers: { cookie: "__Host-token=" + process.argv[3] } }));
// Redirects on the origin the client connected to (its Host, as a reverse proxy passes it
// on); a Host that is not host[:port] leaves the URL's own origin.
const hosts = [];
for (const host of ["app.example:8443", "a@evil.example", "evil.example/x", "evil.example:80:80", ""]) {
  const r = await proxy(new NextRequest("https://app.example/dashboard", { headers: { host } }));
  hosts.push(r.headers.get("location"));
}
const drawing = edgeGate({ verify: { algorithms: ["HS256"], keys: process.argv[2] }, rules: [{ match: "/dashboard/:path*", kind: "page" }] }, { render: (refusal) => new Response("sign in first: " + refusal.code, { status: 401 }) });
const drawn = await drawing(new NextRequest("https://app.example/dashboard"));
const options = { upstream: { claimHeaders: { sub: "x-auth-sub", email: "x-auth-email" } } };
const claims = [gateClaims(new Headers({ "x-auth-sub": "n" }), options), gateClaims(new Headers(), options)];
console.log(JSON.stringify({ page: [page.status, page.headers.get("location")], passed: [passed.status, passed.headers.get("x-middleware-next")], claims, drawn: [drawn.status, await drawn.text()], hosts }));
`,
  );
  const { stdout } = await must(process.execPath, ["next-run.mjs", SECRET, token], { cwd: project });
  assert.deepEqual(JSON.parse(stdout), {
    page: [307, "https://app.example/login?returnTo=%2Fdashboard%3Ftab%3D1"],
    passed: [200, "1"],
    // gateClaims reads the claim headers the gate set, by claim name; none: undefined.
    claims: [{ sub: "n" }, null],
    // A host's render draws the refusal.
    drawn: [401, "sign in first: ERR_NO_TOKEN"],
    hosts: [
      "https://app.example:8443/login?returnTo=%2Fdashboard",
      ...Array(4).fill("https://app.example/login?returnTo=%2Fdashboard"),
    ],
  });
  // The CLI as `npx edgegate` finds it: the package's bin, on an options module.
  await writeFile(join(project, "gate.mjs"), `export const options = { verify: { algorithms: ["HS256"], keys: "${SECRET}" }, rules: [{ match: "/dashboard/:path*", kind: "page" }] };\n`);
  const bin = await must(join(project, "node_modules", ".bin", "edgegate"), ["explain", "gate.mjs", "https://app.example/dashboard"], { cwd: project });
  assert.match(bin.stdout, /\nERR_NO_TOKEN: 307 → \/login\?returnTo=%2Fdashboard\n$/);
});

// The TypeScript programs. `strict.mts` uses the main types with skipLibCheck off, so the
// package's own declarations are checked too; its @ts-expect-error lines are wrong usages
// that must be refused (an unused directive is an error). `entries.mts` imports every entry
// of the exports map and `next.mts` uses edgegate/next against next's real types, with
// skipLibCheck on as in Next's own tsconfig (next's declarations need its whole dependency
// tree); a NextRequest that failed to resolve would become `any`, which next.mts's
// @ts-expect-error catches.
const STRICT = `import { createGate, EdgeGateError, setSession, clearSession } from "edgegate";
import type { Decision, ErrorCode, Gate, Options, Trace } from "edgegate";
import { gateWorker, toResponse } from "edgegate/worker";

const options: Options = {
  rules: [
    { match: "/api/login", kind: "public" },
    { match: ["/api/:path*"], kind: "api", scopes: ["read"], upstream: "backend" },
  ],
  upstreams: { backend: "https://api.internal" },
  verify: { algorithms: ["HS256"], keys: "${SECRET}", issuer: "iss", clockTolerance: "1m" },
  token: { precedence: "header" },
};

export async function decide(request: Request): Promise<string> {
  let gate: Gate;
  try {
    gate = await createGate(options, { log: (entry) => void entry.ms });
  } catch (error) {
    if (error instanceof EdgeGateError) {
      const code: ErrorCode = error.code;
      return code;
    }
    throw error;
  }
  const decision: Decision = await gate.decide(request);
  const trace: Trace = await gate.explain({ url: request.url, headers: [["cookie", "a=1"]] });
  switch (decision.action) {
    case "continue":
      return \`\${decision.code} \${decision.destination ?? decision.rewrite ?? ""} \${new Headers(decision.requestHeaders).get("authorization")}\`;
    case "redirect": {
      const status: 307 = decision.status;
      return \`\${status} \${decision.location} \${decision.setCookies?.length}\`;
    }
    case "respond":
      return \`\${decision.status} \${decision.body} \${decision.headers.length} \${trace.code} \${trace.steps[0]?.detail}\`;
  }
}

export const stored = (response: Response) => setSession(response, { accessToken: "a.b.c" }, { options });
export const cleared = (response: Response) => clearSession(response, { options, request: { url: "https://app.example/" } });

interface Env { JWT_SECRET: string; BACKEND: string }
const worker = gateWorker<Env>(
  (env) => ({
    rules: [{ match: "/api/:path*", kind: "api", upstream: env.BACKEND }],
    verify: { algorithms: ["HS256"], keys: env.JWT_SECRET },
  }),
  (request, env) => new Response(\`\${request.url} \${env.BACKEND}\`),
);
export default worker;
export const answered: Promise<Response> = worker.fetch(new Request("https://app.example/"), { JWT_SECRET: "s", BACKEND: "b" }, {});
export { toResponse };

// Wrong usages the declarations must refuse.
// @ts-expect-error "nope" is not a rule kind
export const badKind: Options = { rules: [{ match: "/x", kind: "nope" }] };
// @ts-expect-error "none" is not an algorithm
export const badAlgorithm: Options = { verify: { algorithms: ["none"] } };
// @ts-expect-error verify needs algorithms
export const noAlgorithms: Options = { verify: { keys: "k" } };
export function notNarrowed(decision: Decision) {
  // @ts-expect-error only a redirect has a location
  return decision.location;
}
// @ts-expect-error the Worker's env is typed
worker.fetch(new Request("https://app.example/"), { JWT_SECRET: 1 }, {});
`;

const NEXT = `import { NextResponse, type NextRequest } from "next/server.js";
import { createGate, edgeGate, setSession, toNextResponse, type Decision, type Options } from "edgegate/next";

const options: Options = {
  rules: [{ match: "/dashboard/:path*", kind: "page" }],
  verify: { algorithms: ["RS256"], issuer: "https://id.example" },
};
export default edgeGate(options, { log: true });
export const proxy = edgeGate(options);
export async function middleware(request: NextRequest): Promise<Response> {
  const decision: Decision = await (await createGate(options)).decide(request);
  return toNextResponse(decision, request);
}
export const login = (request: NextRequest) =>
  setSession(NextResponse.redirect(new URL("/", request.url), 303), { accessToken: "a.b.c" }, { options, request });
// @ts-expect-error the gate takes a NextRequest (were next/server unresolved, it would take anything)
proxy(42);
`;

/** Where this repository has `next` installed (its types are checked against edgegate/next). */

test("tsc: the declarations under moduleResolution bundler and node16", { concurrency: true }, async (t) => {
  let tsc;
  try {
    tsc = require.resolve("typescript/bin/tsc");
  } catch {
    assert.fail("typescript is not installed in tests/node: run npm install there (scripts/setup does)");
  }
  const next = findNext(); // linked into the project by before()
  if (!next) {
    console.log("SKIPPED: next.mts (no next installed in examples/nextjs or tests/e2e: npm install there); entries.mts still imports edgegate/next");
  }
  const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
  const entries = Object.keys(manifest.exports).filter((key) => key !== "./package.json");
  const specifier = (key) => (key === "." ? "edgegate" : `edgegate/${key.slice(2)}`);
  await writeFile(
    join(project, "entries.mts"),
    entries.map((key, i) => `import * as entry${i} from "${specifier(key)}";\n`).join("") +
      `export const entries = [${entries.map((_, i) => `entry${i}`).join(", ")}];\n`,
  );
  await writeFile(join(project, "strict.mts"), STRICT);
  await writeFile(join(project, "next.mts"), NEXT);
  await writeFile(
    join(project, "wrong.mts"),
    `import { createGate } from "edgegate";\nawait createGate({ rules: [{ match: "/x", kind: "nope" }] });\n`,
  );

  const modes = { bundler: "esnext", node16: "node16" };
  const tsconfig = async (name, resolution, compilerOptions, files) => {
    const path = join(project, `tsconfig.${name}.json`);
    const base = { strict: true, noEmit: true, target: "es2022", module: modes[resolution], moduleResolution: resolution, types: [] };
    await writeFile(path, JSON.stringify({ compilerOptions: { ...base, ...compilerOptions }, files }, null, 2));
    return path;
  };
  const check = async (config) => {
    const result = await run(process.execPath, [tsc, "-p", config], { cwd: project });
    return { ...result, output: `${result.stdout}${result.stderr}` };
  };
  const programs = [];
  for (const resolution of Object.keys(modes)) {
    programs.push([
      `${resolution}: strict.mts, skipLibCheck off`,
      tsconfig(`strict-${resolution}`, resolution, { skipLibCheck: false, lib: ["es2022", "dom"] }, ["strict.mts"]),
    ]);
    programs.push([
      `${resolution}: every entry${next ? " and next.mts against next's types" : ""}, skipLibCheck on`,
      tsconfig(`entries-${resolution}`, resolution, { skipLibCheck: true, lib: ["dom", "dom.iterable", "esnext"] }, [
        "entries.mts",
        ...(next ? ["next.mts"] : []),
      ]),
    ]);
  }
  const subtests = programs.map(([name, config]) =>
    t.test(name, async () => {
      const { code, output } = await check(await config);
      assert.equal(code, 0, `tsc -p ${await config}:\n${output}`);
    }),
  );
  // The check can fail: a rule kind the types do not have is an error.
  subtests.push(
    t.test("bundler: a wrong usage fails to type-check", async () => {
      const { code, output } = await check(await tsconfig("wrong", "bundler", { skipLibCheck: false, lib: ["es2022", "dom"] }, ["wrong.mts"]));
      assert.notEqual(code, 0, "tsc accepted kind: \"nope\"");
      assert.match(output, /wrong\.mts\(2,\d+\): error TS2322: Type '"nope"' is not assignable to type 'RuleKind'/);
    }),
  );
  await Promise.all(subtests);
});
