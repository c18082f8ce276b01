// The apps of the whole-app bench (bench/app.mjs, bench/sandbox.mjs): copies of the example
// under target/bench-app-<gate>, two levels down as the e2e tests' copies are (next.config.ts
// puts Turbopack's root two levels up, which must hold js/), one with the example's own
// middleware.ts (edgegate), one with bench/app/middleware.ts (jose), and the same two for
// hosted login (OIDC_ISSUER set at build time, bench/app/middleware-login.ts for jose). Each
// is rebuilt only when what goes into it changed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = `${ROOT}examples/nextjs/`;

// The backend's and the provider's addresses are fixed at build time, so the bench's have
// ports of their own.
export const UPSTREAM_URL = `http://127.0.0.1:${Number(process.env.UPSTREAM_PORT ?? 4517)}`;
export const ISSUER_URL = `http://127.0.0.1:${Number(process.env.ISSUER_PORT ?? 4518)}`;

// `env`: what the build sets besides UPSTREAM_URL (next.config.ts inlines it).
export const GATES = {
  edgegate: { middleware: `${EXAMPLE}middleware.ts` },
  jose: { middleware: `${ROOT}bench/app/middleware.ts` },
  "edgegate-login": { middleware: `${EXAMPLE}middleware.ts`, env: { OIDC_ISSUER: ISSUER_URL } },
  "jose-login": { middleware: `${ROOT}bench/app/middleware-login.ts`, env: { OIDC_ISSUER: ISSUER_URL } },
};
// What the edgegate app bundles from the package.
const PACKAGE = ["js/wasm", "js/load", "js/index.js", "js/next.js", "js/wire.js", "js/crypto.js", "js/fetch.js", "js/respond.js", "js/package.json"];
const SOURCES = ["app", "lib", "gate.ts", "dev-config.json", "next.config.ts", "package.json", "tsconfig.json"];

function hashTree(hash, path) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry !== "node_modules") hashTree(hash, `${path}/${entry}`);
    }
  } else {
    hash.update(path.slice(ROOT.length)).update(readFileSync(path));
  }
}

/** The app directory of `name`; `names`: a `next build --no-mangling` build of its own. */
export function appDir(name, { names = false } = {}) {
  return `${ROOT}target/bench-app-${name}${names ? "-names" : ""}`;
}

/**
 * Builds the app gated by `name` (a key of GATES) for a backend at `upstream` (Next
 * inlines UPSTREAM_URL at build time) unless the build there is current; returns its dir.
 */
export function buildApp(name, upstream, { names = false } = {}) {
  const dir = appDir(name, { names });
  const { middleware, env = {} } = GATES[name];
  const hash = createHash("sha256").update(upstream).update(String(names)).update(JSON.stringify(env));
  for (const f of SOURCES) hashTree(hash, `${EXAMPLE}${f}`);
  hashTree(hash, middleware);
  if (name.startsWith("edgegate")) for (const f of PACKAGE) hashTree(hash, `${ROOT}${f}`);
  const stamp = hash.digest("hex");
  if (existsSync(`${dir}/.next/BUILD_ID`) && existsSync(`${dir}/stamp`) && readFileSync(`${dir}/stamp`, "utf8") === stamp) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of SOURCES) cpSync(`${EXAMPLE}${f}`, `${dir}/${f}`, { recursive: true });
  cpSync(middleware, `${dir}/middleware.ts`);
  // The example's packages, except jose: the bench's own (bench/package.json pins it, the
  // same jose compare.mjs measures), so the reference does not lean on next-auth's copy.
  mkdirSync(`${dir}/node_modules`);
  for (const entry of readdirSync(`${EXAMPLE}node_modules`)) {
    if (entry !== "jose") symlinkSync(`${EXAMPLE}node_modules/${entry}`, `${dir}/node_modules/${entry}`);
  }
  symlinkSync(`${ROOT}bench/node_modules/jose`, `${dir}/node_modules/jose`);
  const t0 = performance.now();
  execFileSync(`${dir}/node_modules/.bin/next`, ["build", ...(names ? ["--no-mangling"] : [])], {
    cwd: dir,
    // Not the caller's OIDC_ISSUER: only the login apps run hosted login.
    env: { ...process.env, OIDC_ISSUER: "", ...env, UPSTREAM_URL: upstream, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: "pipe",
  });
  writeFileSync(`${dir}/stamp`, stamp);
  console.log(`built ${name}${names ? " (--no-mangling)" : ""} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return dir;
}
