// The npm package as a user gets it, for tests/node/pack.test.mjs and docs.test.mjs:
// `npm pack` of js/ into `tmp`, installed offline into a fresh project there, with next
// (an optional peer) linked in from the example or the e2e tests.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs a command; resolves with its exit code and output (never rejects on exit code). */
export function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** `run`, failing the test on a non-zero exit. */
export async function must(file, args, options) {
  const result = await run(file, args, options);
  assert.equal(result.code, 0, `${file} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The next the example or the e2e tests installed, or null. */
export function findNext() {
  for (const dir of ["examples/nextjs", "tests/e2e"]) {
    try {
      return dirname(createRequire(join(ROOT, dir, "package.json")).resolve("next/package.json"));
    } catch {}
  }
  return null;
}

/** Packs js/ into `tmp` and installs it into `tmp/project`: `{ packed, project, installed }`. */
export async function packedProject(tmp) {
  const { stdout } = await must("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: join(ROOT, "js") });
  const [packed] = JSON.parse(stdout);
  const project = join(tmp, "project");
  await mkdir(project);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "uses-edgegate", private: true, type: "module" }));
  // edgegate has no dependencies (next is an optional peer), so nothing is fetched.
  await must("npm", ["install", join(tmp, packed.filename), "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: project });
  const next = findNext();
  if (next) await symlink(next, join(project, "node_modules", "next"), "dir");
  return { packed, project, installed: join(project, "node_modules", "edgegate") };
}
