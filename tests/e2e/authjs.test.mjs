// The seed architecture with Auth.js v5 (next-auth 5.0.0-beta.32) under `next build && next
// start` (Next 16, Turbopack, middleware.ts on the Edge runtime): the Credentials provider
// signs in at the Express backend, the jwt callback keeps the backend's access token in
// Auth.js's encrypted session cookie, and edgegate (`session: { format: "authjs" }`) opens
// that cookie and sends the token to the backend as `Authorization: Bearer`. A real browser
// signs in on Auth.js's own sign-in page; then the session cookie it got is replayed,
// tampered with, resealed under another AUTH_SECRET and split into chunks.
// The app is tests/e2e/authjs/, built in target/next-authjs/ with examples/nextjs/node_modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { EXAMPLE, buildTemplate, freePort, gateDecisions, launchChromium, start, startRecorder, startUpstream, verifiedBearer } from "./helpers.mjs";
import { recordCompat, versionOf } from "../compat.mjs";
import { blocks, fileName } from "../readme.mjs";

// Auth.js names its cookie by the scheme: `__Secure-authjs.session-token` over https; here
// (http on loopback) `authjs.session-token`, and the name is also the HKDF salt of its key.
const SESSION = "authjs.session-token";
// The same encode/decode next-auth's handlers use (`export * from "@auth/core/jwt"`).
const { encode, decode } = await import(pathToFileURL(`${EXAMPLE}node_modules/next-auth/jwt.js`).href);

/** GETs `path` and returns the response with the code the gate logged for it. */
async function get(next, path, cookie) {
  const before = gateDecisions(next).length;
  const response = await fetch(`${next.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });
  const body = await response.text();
  const pathname = new URL(path, next.url).pathname;
  let decision;
  for (let i = 0; i < 50 && !decision; i++) {
    decision = gateDecisions(next).slice(before).find((d) => d.path === pathname);
    if (!decision) await new Promise((r) => setTimeout(r, 50));
  }
  return { status: response.status, headers: response.headers, body, code: decision?.edgegate };
}

const cookieHeader = (cookies) => cookies.map(({ name, value }) => `${name}=${value}`).join("; ");
const fromSetCookie = (setCookies) =>
  setCookies.map((c) => c.split(";")[0]).map((pair) => ({ name: pair.slice(0, pair.indexOf("=")), value: pair.slice(pair.indexOf("=") + 1) }));

/** Auth.js's Credentials sign-in over plain HTTP, as its sign-in page does it (CSRF token included). */
async function signInByFetch(base, name, password) {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const { csrfToken } = await csrf.json();
  const jar = fromSetCookie(csrf.headers.getSetCookie());
  const answer = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: cookieHeader(jar), origin: base },
    body: new URLSearchParams({ csrfToken, name, password, callbackUrl: `${base}/dashboard` }),
  });
  return { status: answer.status, location: answer.headers.get("location"), cookies: fromSetCookie(answer.headers.getSetCookie()) };
}

test("Next 16 + Auth.js v5: the backend's token from the Auth.js session, as a bearer", { timeout: 300_000 }, async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.stop());
  // Auth.js's authorize() calls the backend's /auth/login itself (server side, no bearer yet).
  const recorder = await startRecorder(upstream.url, {
    exempt: ({ method, url }) => method === "POST" && url === "/auth/login",
  });
  t.after(() => recorder.stop());

  const secret = randomBytes(32).toString("base64url"); // AUTH_SECRET: ≥ 32 bytes
  // next, react, next-auth and edgegate from one node_modules: Turbopack resolves next-auth's
  // `next/server` to the same Next that builds the app.
  const { dir, seconds } = buildTemplate("authjs", "authjs", {
    env: { UPSTREAM_URL: recorder.url, AUTH_SECRET: secret },
    files: { "dev-config.json": readFileSync(`${EXAMPLE}dev-config.json`, "utf8") },
  });
  console.log(`next build (Turbopack) of the Auth.js app: ${seconds.toFixed(1)} s`);
  // The app is used at http://localhost:<port>, not 127.0.0.1: Next's NextURL turns every
  // loopback host (127.x.x.x, [::1]) into `localhost`, so Auth.js (origin from req.nextUrl,
  // and AUTH_URL goes through a NextRequest too) renders its sign-in form to post to
  // localhost and sets its callback-url cookie there; a browser on 127.0.0.1 then has no
  // CSRF cookie for that host and Auth.js answers MissingCSRF. Gate or no gate.
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const next = await start(`${dir}/node_modules/.bin/next`, ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: dir,
    env: { NEXT_TELEMETRY_DISABLED: "1", AUTH_SECRET: secret },
    url,
  });
  next.url = url;
  t.after(() => next.stop());

  const failed = [];
  const step = (name, fn) =>
    t.test(name, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        failed.push(name);
        throw e;
      }
    });

  await step("no session: /dashboard → 307 to Auth.js's sign-in page with callbackUrl; /api → 401", async () => {
    const page = await get(next, "/dashboard");
    assert.equal(page.status, 307);
    assert.equal(page.headers.get("location"), "/api/auth/signin?callbackUrl=%2Fdashboard");
    assert.equal(page.code, "ERR_NO_TOKEN");
    const api = await get(next, "/api/whoami");
    assert.equal(api.status, 401);
    assert.equal(api.headers.get("www-authenticate"), "Bearer");
    assert.equal(api.code, "ERR_NO_TOKEN");
    // Auth.js's own endpoints are public: its sign-in page renders the Credentials form.
    const signin = await get(next, "/api/auth/signin?callbackUrl=%2Fdashboard");
    assert.equal(signin.status, 200);
    assert.match(signin.body, /name="name"/);
    assert.equal(signin.code, "OK_PUBLIC");
  });

  // The session cookies every later step starts from: the browser's, else a fetch sign-in's.
  let session;
  await step("browser: /dashboard → Auth.js sign-in page → credentials → /dashboard with the backend's answer", async (st) => {
    const browser = await launchChromium(st);
    if (!browser) return;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${next.url}/dashboard`);
    const signin = new URL(page.url());
    assert.equal(signin.pathname, "/api/auth/signin");
    assert.equal(signin.searchParams.get("callbackUrl"), "/dashboard");

    const logins = recorder.seen.filter((r) => r.url === "/auth/login").length;
    await page.fill('input[name="name"]', "carol");
    await page.fill('input[name="password"]', "carol-password");
    await page.click('form[action$="/api/auth/callback/credentials"] button[type="submit"]');
    await page.waitForURL(`${next.url}/dashboard`);
    await page.waitForSelector("#seen-by", { timeout: 15_000 });
    assert.equal(await page.textContent("#seen-by"), "Backend says you are carol");
    assert.equal(recorder.seen.filter((r) => r.url === "/auth/login").length, logins + 1, "authorize() called the backend's login");

    const cookies = await context.cookies();
    console.log(`cookies in the browser after sign-in: ${cookies.map((c) => `${c.name} (${c.value.length} chars${c.httpOnly ? ", HttpOnly" : ""}, SameSite=${c.sameSite}${c.secure ? ", Secure" : ""})`).join("; ")}`);
    session = cookies.filter((c) => c.name === SESSION || c.name.startsWith(`${SESSION}.`));
    assert.deepEqual(session.map((c) => c.name), [SESSION], "one session cookie, not chunked");
    assert.ok(session[0].httpOnly, "the session cookie is HttpOnly");
    assert.equal(session[0].sameSite, "Lax");
    assert.equal(await page.evaluate(() => document.cookie.includes("session-token")), false);

    // The access token inside is the backend's, for carol; the backend received exactly it.
    const inside = await decode({ token: session[0].value, secret, salt: SESSION });
    assert.ok(verifiedBearer(`Bearer ${inside.accessToken}`), "the session holds a token the backend signed");
    assert.equal(JSON.parse(Buffer.from(inside.accessToken.split(".")[1], "base64url")).sub, "carol");
    const view = JSON.parse(await page.textContent("#backend-view"));
    assert.equal(view.authorization, `Bearer ${inside.accessToken}`);
    assert.doesNotMatch(view.cookie ?? "", /session-token/);
    const whoami = recorder.seen.filter((r) => r.url === "/api/whoami");
    assert.ok(whoami.length >= 1, "the browser's /api/whoami reached the backend");
    for (const r of whoami) {
      assert.equal(r.headers.authorization, `Bearer ${inside.accessToken}`);
      assert.doesNotMatch(r.headers.cookie ?? "", /session-token/, "the Auth.js session cookie stays at the edge");
    }
    console.log(`cookies the backend received with the bearer: ${whoami.at(-1).headers.cookie ?? "(none)"}`);
    assert.deepEqual(recorder.violations, []);

    // The page's own server code gets the bearer, and Auth.js's auth() there still finds
    // the session: into the app the library's cookies stay (only the backend never sees them).
    assert.equal(await page.textContent("#server-bearer"), "bearer");
    assert.equal(await page.textContent("#server-session"), "carol");
    // Auth.js's own endpoints (public) still receive the cookie.
    const own = await page.evaluate(() => fetch("/api/auth/session").then((r) => r.json()));
    assert.equal(own?.user?.name, "carol");
  });

  if (!session) {
    const signedIn = await signInByFetch(next.url, "carol", "carol-password");
    session = signedIn.cookies.filter((c) => c.name === SESSION);
    assert.equal(session.length, 1, `sign-in by fetch set the session: ${JSON.stringify(signedIn)}`);
  }
  const value = session[0].value;
  const inside = await decode({ token: value, secret, salt: SESSION });

  await step("the copied session cookie: /api → 200 from the backend, with the bearer and without the cookie", async () => {
    const r = await get(next, "/api/whoami", `theme=dark; ${SESSION}=${value}`);
    assert.equal(r.status, 200);
    assert.equal(r.code, "OK_AUTHENTICATED");
    const view = JSON.parse(r.body);
    assert.equal(view.sub, "carol");
    assert.equal(view.authorization, `Bearer ${inside.accessToken}`);
    assert.equal(view.cookie, "theme=dark");
    assert.equal((await get(next, "/dashboard", `${SESSION}=${value}`)).status, 200);
    assert.deepEqual(recorder.violations, []);
  });

  await step("a tampered session, one sealed with another AUTH_SECRET, none: 401 (pages: 307)", async () => {
    const middle = Math.floor(value.length / 2) + (value[Math.floor(value.length / 2)] === "." ? 1 : 0);
    const tampered = `${value.slice(0, middle)}${value[middle] === "A" ? "B" : "A"}${value.slice(middle + 1)}`;
    // The same token (the backend's valid access token inside), sealed by the test: once
    // with the app's secret (a control: the gate accepts it) and once with another.
    const claims = { name: inside.name, sub: inside.sub, accessToken: inside.accessToken };
    const resealed = await encode({ token: claims, secret, salt: SESSION });
    const otherSecret = await encode({ token: claims, secret: randomBytes(32).toString("base64url"), salt: SESSION });
    const seen = recorder.seen.length;
    const cases = [
      ["resealed with the app's AUTH_SECRET (control)", `${SESSION}=${resealed}`, 200],
      ["one character flipped in the middle of the JWE", `${SESSION}=${tampered}`, 401],
      ["sealed with another AUTH_SECRET", `${SESSION}=${otherSecret}`, 401],
      ["no cookie", undefined, 401],
    ];
    const observed = [];
    for (const [name, cookie, status] of cases) {
      const api = await get(next, "/api/whoami", cookie);
      const page = await get(next, "/dashboard", cookie);
      observed.push(`${name}: /api ${api.status} ${api.code}, /dashboard ${page.status} ${page.code}`);
      assert.equal(api.status, status, name);
      assert.equal(page.status, status === 200 ? 200 : 307, name);
      if (status === 401) {
        assert.match(api.headers.get("www-authenticate"), /^Bearer/, name);
        assert.match(api.code, /^ERR_/, name);
      }
    }
    console.log(observed.join("\n"));
    // Only the control reached the backend.
    assert.deepEqual(recorder.seen.slice(seen).map((r) => r.url), ["/api/whoami"]);
    assert.deepEqual(recorder.violations, []);
  });

  await step("a session too big for one cookie: Auth.js writes chunks .0 and .1, the gate joins them", async () => {
    const signedIn = await signInByFetch(next.url, "dave", "chunky");
    assert.equal(signedIn.status, 302, JSON.stringify(signedIn));
    const chunks = signedIn.cookies.filter((c) => c.name.startsWith(`${SESSION}.`) && c.value);
    console.log(`chunked session: ${chunks.map((c) => `${c.name} (${c.value.length} chars)`).join(", ")}`);
    assert.deepEqual(chunks.map((c) => c.name), [`${SESSION}.0`, `${SESSION}.1`]);
    const r = await get(next, "/api/whoami", cookieHeader(chunks));
    assert.equal(r.status, 200, r.body);
    const view = JSON.parse(r.body);
    assert.equal(view.sub, "dave");
    assert.equal(view.cookie, null, "no chunk reaches the backend");
    const partial = await get(next, "/api/whoami", cookieHeader(chunks.slice(0, 1)));
    assert.equal(partial.status, 401, "a missing chunk");
    console.log(`only ${SESSION}.0: /api ${partial.status} ${partial.code}`);
    assert.deepEqual(recorder.violations, []);
  });

  assert.deepEqual(failed, [], "every step passed");
  const manifest = JSON.parse(readFileSync(`${dir}/.next/server/middleware-manifest.json`, "utf8"));
  const wasm = Object.values(manifest.middleware).flatMap((m) => m.wasm ?? []);
  assert.equal(wasm.length, 1, `wasm in the middleware bundle: ${JSON.stringify(wasm)}`);
  const from = pathToFileURL(EXAMPLE);
  recordCompat({
    host: `Next ${versionOf("next", from)} + Auth.js (next-auth ${versionOf("next-auth", from)})`,
    bundler: "Turbopack",
    runtime: "edge",
    test: "tests/e2e/authjs.test.mjs",
    bundle: { file: `.next/${wasm[0].filePath}` },
  });
});

// The README's "Coming from next-auth" section is the whole migration: its gate.ts and
// proxy.ts, copied as written into the Auth.js app (in place of the test's middleware.ts),
// with only the environment values set.
test("the README's next-auth migration as written: its gate.ts and proxy.ts in the Auth.js v5 app", { timeout: 300_000 }, async (t) => {
  const readme = blocks(readFileSync(new URL("../../README.md", import.meta.url), "utf8"), "README.md");
  const gate = readme.find((b) => fileName(b) === "gate.ts" && b.text.includes('format: "authjs"'));
  const proxy = readme.find((b) => fileName(b) === "proxy.ts" && b.line > gate?.line);
  assert.ok(gate && proxy, "the section's gate.ts and the proxy.ts after it");
  const upstream = await startUpstream();
  t.after(() => upstream.stop());
  const recorder = await startRecorder(upstream.url, {
    exempt: ({ method, url }) => method === "POST" && url === "/auth/login",
  });
  t.after(() => recorder.stop());
  const dev = JSON.parse(readFileSync(`${EXAMPLE}dev-config.json`, "utf8"));
  const env = {
    BACKEND_URL: recorder.url, BACKEND_JWT_SECRET: dev.secret, AUTH_SECRET: randomBytes(32).toString("base64url"),
    UPSTREAM_URL: recorder.url, // the app's own auth.ts: where authorize() signs in
  };
  const { dir, seconds } = buildTemplate("authjs", "authjs-readme", {
    env,
    omit: ["middleware.ts"],
    files: { "dev-config.json": JSON.stringify(dev), "gate.ts": gate.text, "proxy.ts": proxy.text },
  });
  console.log(`next build of the Auth.js app with the README's gate.ts (line ${gate.line}) and proxy.ts (line ${proxy.line}): ${seconds.toFixed(1)} s`);
  const port = await freePort();
  const url = `http://localhost:${port}`; // see the test above: Auth.js wants localhost
  const next = await start(`${dir}/node_modules/.bin/next`, ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: dir,
    env: { NEXT_TELEMETRY_DISABLED: "1", ...env },
    url,
  });
  t.after(() => next.stop());
  const get = (path, cookie) => fetch(`${url}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });

  const page = await get("/dashboard");
  assert.equal(page.status, 307);
  assert.equal(page.headers.get("location"), "/api/auth/signin?callbackUrl=%2Fdashboard");
  assert.equal((await get("/api/whoami")).status, 401);
  const signin = await get("/api/auth/signin?callbackUrl=%2Fdashboard");
  assert.equal(signin.status, 200, "Auth.js's own routes are open");
  assert.match(await signin.text(), /name="name"/);

  const signedIn = await signInByFetch(url, "carol", "carol-password");
  assert.equal(signedIn.status, 302, JSON.stringify(signedIn));
  const session = signedIn.cookies.filter((c) => c.name === SESSION);
  assert.equal(session.length, 1);
  const inside = await decode({ token: session[0].value, secret: env.AUTH_SECRET, salt: SESSION });
  const api = await get("/api/whoami", `theme=dark; ${cookieHeader(session)}`);
  assert.equal(api.status, 200);
  const view = await api.json();
  assert.equal(view.sub, "carol");
  assert.equal(view.authorization, `Bearer ${inside.accessToken}`);
  assert.equal(view.cookie, "theme=dark", "the session cookie stays at the edge");
  assert.equal((await get("/dashboard", cookieHeader(session))).status, 200);
  assert.deepEqual(recorder.violations, []);
});
