// The CLI (js/cli.js, `npx edgegate`) on the example's gate.ts, as a user debugging "why am I
// redirected?" runs it from the app's folder: TypeScript compiled with the app's own
// typescript, the JSON it imports read, the trace printed step by step (no colour when the
// output is not a terminal), the answer in the last line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jwt } from "./sign.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = `${ROOT}examples/nextjs`;
const CLI = `${ROOT}js/cli.js`;
const dev = JSON.parse(readFileSync(`${EXAMPLE}/dev-config.json`, "utf8"));
const now = Math.floor(Date.now() / 1000);
const claims = { sub: "ada", iss: dev.issuer, aud: dev.audience, exp: now + 300 };

function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: EXAMPLE, env: { ...process.env, OIDC_ISSUER: "", ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

test("edgegate check: the example's options build; bad ones fail with their code", async () => {
  const ok = await cli(["check", "gate.ts"]);
  assert.deepEqual([ok.code, ok.stdout], [0, "✓ gate.ts: the options build a gate\n"]);
  const bad = await cli(["check", "gate.ts"], { OIDC_ISSUER: "not-a-url" });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^✗ ERR_CONFIG_URL: issuer \(for OIDC discovery\) "not-a-url" must be an https:\/\/ URL/);
  const usage = await cli(["explain", "gate.ts"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^usage: edgegate check/);
  assert.deepEqual(readdirSync(EXAMPLE).filter((f) => f.startsWith(".edgegate-")), [], "the compiled copy is removed");
});

test("edgegate explain: a page without a session, a forged token, a valid one", async () => {
  const page = await cli(["explain", "gate.ts", "http://localhost:3000/dashboard"]);
  assert.equal(page.code, 0, page.stderr);
  assert.equal(
    page.stdout,
    [
      "GET http://localhost:3000/dashboard",
      '  ✓ normalize  path "/dashboard"',
      '  ✓ match      rule 1 (page) ["/dashboard/:path*"]',
      '  ✗ token      ERR_NO_TOKEN: no token in the request (looked for cookie "token")',
      "ERR_NO_TOKEN: 307 → /login?returnTo=%2Fdashboard",
      "",
    ].join("\n"),
  );

  const forged = jwt("HS256", "another-secret-that-is-long-enough-0000", claims);
  const refused = await cli(["explain", "gate.ts", "http://localhost:3000/api/stocks", "--cookie", `token=${forged}`]);
  assert.match(refused.stdout, /^ {2}✓ parse {6}alg "HS256", no kid, typ "JWT"$/m);
  assert.match(refused.stdout, /^ {2}✗ signature {2}ERR_JWS_SIGNATURE_VERIFICATION_FAILED: signature verification failed$/m);
  assert.match(refused.stdout, /\nERR_JWS_SIGNATURE_VERIFICATION_FAILED: 401 \{"error":"invalid_token"\}\n$/);

  const valid = jwt("HS256", dev.secret, claims);
  const passed = await cli(["explain", "gate.ts", "http://localhost:3000/api/stocks?q=1", "--cookie", `token=${valid}`]);
  assert.match(passed.stdout, /^ {2}✓ signature {2}valid$/m);
  assert.match(passed.stdout, /^ {2}✓ claim +aud: ok \("edgegate-demo-api"\)$/m);
  assert.match(passed.stdout, /\nOK_AUTHENTICATED: on to http:\/\/127\.0\.0\.1:4000\/api\/stocks\?q=1 with the bearer\n$/);
  assert.doesNotMatch(passed.stdout + page.stdout, /\x1b\[/, "no colour codes into a pipe");

  const crossSite = await cli(["explain", "gate.ts", "http://localhost:3000/api/stocks", "--method", "post", "--cookie", `token=${valid}`, "--header", "Origin: https://evil.example"]);
  assert.match(crossSite.stdout, /^POST http:\/\/localhost:3000\/api\/stocks\n/);
  assert.match(crossSite.stdout, /\nERR_CSRF: 403 /);
});
