// The example app under `next build && next start`, gated by middleware.ts (Edge runtime)
// and by proxy.ts (Node runtime), in front of the real Express + express-jwt upstream; and a
// real browser signing in through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { browserRequest, buildNext, launchChromium, startNext, startRecorder, startTlsProxy, startUpstream, token } from "./helpers.mjs";
import { gateScenarios, SIBLING } from "./scenarios.mjs";
import { jwt } from "../node/sign.mjs";


for (const variant of ["middleware", "proxy"]) {
  test(`Next.js ${variant}.ts under next start`, { timeout: 240_000 }, async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.stop());
    // The app's login route handler calls the backend's /auth/login itself, not through the gate.
    const recorder = await startRecorder(upstream.url, {
      exempt: ({ method, url }) => method === "POST" && url === "/auth/login",
    });
    t.after(() => recorder.stop());
    // A dynamic route handler beside the public /api/login and /api/logout: /api/* is the
    // backend's, so nothing may ever reach it (a gate fooled by a spelling would let it).
    const files = { "app/api/[name]/route.ts": `const answer = () => new Response(${JSON.stringify(SIBLING)});\nexport const GET = answer;\nexport const POST = answer;\n` };
    const dir = buildNext(variant, recorder.url, { files });
    const next = await startNext(dir);
    t.after(() => next.stop());

    await gateScenarios(t, next.url, upstream.url, recorder);

    if (variant === "middleware") {
      await t.test("the Edge bundle carries the wasm once", () => {
        const manifest = JSON.parse(readFileSync(`${dir}/.next/server/middleware-manifest.json`, "utf8"));
        const wasm = Object.values(manifest.middleware).flatMap((m) => m.wasm ?? []);
        assert.equal(wasm.length, 1, `wasm in the middleware bundle: ${JSON.stringify(wasm)}`);
        const bytes = readFileSync(`${dir}/.next/${wasm[0].filePath}`);
        console.log(`Edge middleware bundle: 1 wasm, ${statSync(`${dir}/.next/${wasm[0].filePath}`).size} bytes, ${gzipSync(bytes, { level: 9 }).length} gzipped`);
      });
    }

    await t.test("the app's own login and logout route handlers still answer", async () => {
      const login = await fetch(`${next.url}/api/login`, {
        method: "POST",
        body: new URLSearchParams({ name: "dave", returnTo: "/dashboard" }),
        headers: { origin: next.url },
        redirect: "manual",
      });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get("location"), "/dashboard");
      const session = login.headers.getSetCookie().find((c) => c.startsWith("token="))?.split(";")[0];
      assert.ok(session, "the login handler set the session cookie");
      const whoami = await fetch(`${next.url}/api/whoami`, { headers: { cookie: session } });
      assert.equal((await whoami.json()).sub, "dave");
      const logout = await fetch(`${next.url}/api/logout`, {
        method: "POST",
        headers: { cookie: session, origin: next.url },
        redirect: "manual",
      });
      assert.equal(logout.status, 303);
      assert.ok(logout.headers.getSetCookie().some((c) => /^token=;/.test(c) || /^token=[^;]*;.*Max-Age=0/i.test(c)));
      assert.deepEqual(recorder.violations, []);
    });

    await t.test("behind nginx terminating TLS (X-Forwarded-Proto: https): the same answers", async (t) => {
      const tls = await startTlsProxy(t, next.url);
      if (!tls) return;
      const via = (path, { headers = {}, ...init } = {}) =>
        browserRequest(`${tls.url}${path}`, { ca: tls.ca, headers: { origin: tls.url, ...headers }, ...init });

      assert.equal((await via("/login")).status, 200);
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const login = await via("/api/login", { method: "POST", headers: form, body: "name=dave&returnTo=/dashboard" });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get("location"), "/dashboard");
      // The session cookie follows the client's scheme, not the plain http Next listens on.
      const session = login.headers.getSetCookie().find((c) => c.startsWith("__Host-token="));
      assert.match(session ?? "", /; Secure/i, "a __Host- cookie, Secure, for an https client");
      const cookie = { cookie: session.split(";")[0] };

      assert.equal((await via("/dashboard", { headers: cookie })).status, 200);
      const whoami = await via("/api/whoami?probe=tls", { headers: cookie });
      assert.equal(whoami.status, 200);
      assert.equal((await whoami.json()).sub, "dave");
      const [arrived] = recorder.seen.filter((s) => s.url === "/api/whoami?probe=tls");
      assert.equal(arrived.headers["x-forwarded-proto"], "https", "the backend hears the client's scheme");

      const page = await via("/dashboard?tab=2");
      assert.equal(page.status, 307);
      assert.equal(new URL(page.headers.get("location"), tls.url).searchParams.get("returnTo"), "/dashboard?tab=2");
      assert.equal((await via("/api/stocks")).status, 401);
      assert.equal((await via("/login", { headers: cookie })).status, 307);
      assert.equal((await via("/api/stocks", { headers: { cookie: `__Host-token=${token({}, "another-secret-of-sufficient-length!")}` } })).status, 401);

      const logout = await via("/api/logout", { method: "POST", headers: cookie });
      assert.equal(logout.status, 303);
      assert.ok(logout.headers.getSetCookie().some((c) => /^__Host-token=;.*Max-Age=0/i.test(c)), "the session is cleared");

      assert.doesNotMatch(next.output(), /Failed to proxy/, "Next failed to reach itself through a rewrite");
      assert.deepEqual(recorder.violations, []);
    });

    if (variant !== "middleware") return;
    await t.test("browser: sign in, land on /dashboard, see data fetched through the gate", async (t) => {
      const browser = await launchChromium(t);
      if (!browser) return;
      const page = await browser.newPage();
      await page.goto(`${next.url}/dashboard`);
      const login = new URL(page.url());
      assert.equal(login.pathname, "/login");
      assert.equal(login.searchParams.get("returnTo"), "/dashboard");

      await page.fill('input[name="name"]', "carol");
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${next.url}/dashboard`);
      await page.waitForSelector("#seen-by", { timeout: 15_000 });
      assert.equal(await page.textContent("#seen-by"), "Backend says you are carol");
      assert.equal(await page.locator("#stocks li").count(), 2);

      const [session] = (await page.context().cookies()).filter((c) => c.name === "token");
      assert.ok(session?.httpOnly, "the session cookie is httpOnly");
      assert.equal(session.sameSite, "Lax");
      assert.equal(await page.evaluate(() => document.cookie.includes("token=")), false);

      await page.click('nav button[type="submit"]'); // sign out
      await page.waitForURL(`${next.url}/`);
      await page.goto(`${next.url}/dashboard`);
      assert.equal(new URL(page.url()).pathname, "/login");
    });
  });
}

// RS256 tokens are checked by the Edge runtime's own WebCrypto (the sandbox has its own
// realm): valid ones pass, forged and expired ones are sent to login.
test("Next.js middleware.ts with RS256 through the Edge runtime's WebCrypto", { timeout: 240_000 }, async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const gateSource = `import type { Options } from "edgegate";\nexport const gateOptions: Options = ${JSON.stringify({
    rules: [{ match: "/dashboard/:path*", kind: "page" }],
    verify: { algorithms: ["RS256"], keys: publicKey, issuer: "rs-issuer" },
  })};\n`;
  const dir = buildNext("middleware", "http://127.0.0.1:9", { gateSource, name: "rs256" });
  const next = await startNext(dir);
  t.after(() => next.stop());
  const rs256 = (claims) => jwt("RS256", privateKey, { sub: "r", iss: "rs-issuer", ...claims });
  const now = Math.floor(Date.now() / 1000);
  const valid = rs256({ exp: now + 300 });
  const forged = `${valid.slice(0, -4)}${valid.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
  for (const [name, token, status] of [
    ["valid", valid, 200],
    ["valid again (cache hit)", valid, 200],
    ["forged", forged, 307],
    ["expired", rs256({ exp: now - 5 }), 307],
    ["other issuer", rs256({ exp: now + 300, iss: "evil" }), 307],
  ]) {
    const r = await fetch(`${next.url}/dashboard`, { headers: { cookie: `token=${token}` }, redirect: "manual" });
    assert.equal(r.status, status, name);
  }
});
