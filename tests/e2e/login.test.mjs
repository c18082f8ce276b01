// Hosted OIDC login (the gate answers /auth/login, /auth/callback, /auth/logout and
// /auth/session itself) against a real provider: oidc-provider on 127.0.0.1 addressed as
// http://localhost:<port> (cross-site to the apps on http://127.0.0.1:<port>, as a hosted
// provider is), its own sign-in and consent pages driven by headless Chromium, the
// Express + express-jwt + jwks-rsa backend verifying the access token the gate forwards.
// First the harness proves itself with a hand-rolled PKCE client (login-rp.mjs); then the
// gate under `next start` (middleware.ts and proxy.ts) and in workerd (Miniflare); then its
// refusals, decided in Node by `createGate(options, { fetch })` with the real provider or a
// malicious one.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createGate } from "edgegate";
import { jwt } from "../node/sign.mjs";
import { browserRequest, buildTemplate, freePort, gateDecisions, launchChromium, startNext, startTlsProxy, startUpstream, startWorker } from "./helpers.mjs";
import { startReferenceRp } from "./login-rp.mjs";
import { privateJwk } from "./oidc.mjs";
import {
  ASSERTION_KEYS, CLIENTS, RESOURCES, authorizeAtProvider, confirmLogoutAtProvider, loopbackOnly, signInAtProvider, startLoginProvider,
} from "./login-provider.mjs";

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));
const jwtParts = (token) => token.split(".").slice(0, 2).map(b64json);

// One port per app, chosen before the provider starts: each origin is registered there
// (redirect and post-logout URIs) and baked into the apps' builds.
const PORTS = {};
for (const name of ["rp", "middleware", "proxy", "worker", "tls"]) PORTS[name] = await freePort();
const ORIGIN = Object.fromEntries(Object.entries(PORTS).map(([name, port]) => [name, `http://127.0.0.1:${port}`]));
/** nginx terminating TLS in front of the proxy.ts app. */
ORIGIN.tls = `https://127.0.0.1:${PORTS.tls}`;
/** The app the Node tests decide requests for. */
const APP = "https://app.edgegate.test";

const op = await startLoginProvider({ appOrigins: [...Object.values(ORIGIN), APP] });
const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
after(() => Promise.all([op.stop(), backend.stop()]));

test("the login harness: oidc-provider, the backend and Chromium, against a hand-rolled relying party", { timeout: 300_000 }, async (t) => {
  const rp = await startReferenceRp({ port: PORTS.rp, op, backend: backend.url, resource: RESOURCES.rs, errorUrl: "/login-error" });
  t.after(() => rp.stop());

  await t.test("discovery advertises what the gate relies on", async () => {
    const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.issuer, op.issuer);
    assert.equal(discovery.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
    for (const endpoint of ["authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "end_session_endpoint"]) {
      assert.match(discovery[endpoint], new RegExp(`^${op.issuer}/`), endpoint);
    }
    assert.ok(discovery.token_endpoint_auth_methods_supported.includes("client_secret_post"));
  });

  await t.test("without a browser: code + PKCE, an ID token with the profile, an at+jwt for the backend, rotation and reuse detection", async () => {
    const start = await browserRequest(`${rp.origin}/auth/login?returnTo=%2Fdashboard`, { headers: NAVIGATE });
    const authorize = new URL(start.headers.get("location"));
    const callback = new URL(await authorizeAtProvider(authorize.href, { login: "harness" }));
    assert.equal(callback.origin + callback.pathname, `${rp.origin}/auth/callback`);
    assert.equal(callback.searchParams.get("iss"), op.issuer, "RFC 9207 iss in the authorization response");
    assert.equal(callback.searchParams.get("state"), authorize.searchParams.get("state"));
    const tx = start.headers.getSetCookie()[0].split(";")[0];
    const done = await fetch(callback, { headers: { cookie: tx }, redirect: "manual" });
    assert.equal(done.status, 303, await done.clone().text());
    const cookie = done.headers.getSetCookie().map((c) => c.split(";")[0]).filter((c) => !c.endsWith("=")).join("; ");
    const stocks = await (await fetch(`${rp.origin}/api/stocks`, { headers: { cookie } })).json();
    assert.equal(stocks.seenBy, "harness");

    const tokens = rp.tokens;
    const [accessHeader, access] = jwtParts(tokens.access_token);
    assert.equal(accessHeader.typ, "at+jwt");
    assert.equal(access.aud, RESOURCES.rs);
    assert.equal(access.iss, op.issuer);
    const [, id] = jwtParts(tokens.id_token);
    assert.equal(id.aud, op.clientId);
    assert.equal(id.email, "harness@users.edgegate.test");
    assert.equal(id.name, "User harness");
    assert.equal(id.nonce, authorize.searchParams.get("nonce"));
    assert.ok(tokens.refresh_token, "offline_access with prompt=consent gives a refresh token");

    const rotated = await op.refresh(tokens.refresh_token);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refresh_token, tokens.refresh_token);
    const reused = await op.refresh(tokens.refresh_token);
    assert.deepEqual([reused.status, reused.body.error], [400, "invalid_grant"]);
    const afterReuse = await op.refresh(rotated.body.refresh_token);
    assert.deepEqual([afterReuse.status, afterReuse.body.error], [400, "invalid_grant"], "reuse revoked the whole grant");
  });

  // The browser scenarios every host must pass, here passed by the hand-rolled party.
  await hostScenarios(t, rp.origin, { errorUrl: true });
  await t.test("returnTo in Chromium (a few of the catalogue): every login lands on this origin", (t) =>
    returnToInBrowser(t, rp.origin, ["//evil.example", "/\\evil.example", "https://evil.example", "/%2F%2Fevil.example", "/%252F%252Fevil.example"]));
});

// ---------------------------------------------------------------------------------------
// What every host must show: a browser signing in through the provider's pages, the
// session, prefetches, two tabs, logout and cross-site logout attempts.

const NAVIGATE = { "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-dest": "document", "sec-fetch-user": "?1" };
const SESSION_COOKIES = ["token", "refreshToken", "idToken"];
const TX = /^edgegate-tx-/;
/** `[name, value, attributes]` of each Set-Cookie line. */
const parseSetCookies = (lines) =>
  lines.map((line) => {
    const [pair, ...attributes] = line.split(";").map((s) => s.trim());
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1), attributes.join("; ")];
  });
/** The session cookies among `lines` that are set (not cleared). */
const sessionSet = (lines) =>
  parseSetCookies(lines).filter(([name, value, attributes]) =>
    SESSION_COOKIES.includes(name.replace(/^__Host-/, "")) && value && !/max-age=0\b/i.test(attributes));
const noStore = (res) => /\bno-store\b/.test(res.headers.get("cache-control") ?? "");
const byName = (cookies) => Object.fromEntries(cookies.map((c) => [c.name, c]));

/** A page on the attacker's origin that makes the browser POST (a form) or GET (a link) `target`. */
async function startAttacker() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://attacker");
    const target = JSON.stringify(url.searchParams.get("target") ?? "/").replaceAll("<", "\\u003c");
    const script = url.pathname === "/post"
      ? `const f = document.createElement("form"); f.method = "post"; f.action = ${target}; document.body.append(f); f.submit();`
      : `const a = document.createElement("a"); a.href = ${target}; document.body.append(a); a.click();`;
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><body><script>${script}</script></body>`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    /** Cross-site to the apps (another host). */
    crossSite: `http://localhost:${port}`,
    /** Same site as the apps (the same host, another port), but another origin. */
    sameSite: `http://127.0.0.1:${port}`,
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}

/** A new browser context kept on this machine, and a page in it. */
async function freshPage(browser) {
  const context = await browser.newContext();
  await loopbackOnly(context);
  return { context, page: await context.newPage() };
}

/** The dashboard shows the backend's data for `login` and the profile from /auth/session. */
async function expectDashboard(page, origin, login) {
  const { origin: at, pathname } = new URL(page.url());
  assert.equal(`${at}${pathname}`, `${origin}/dashboard`);
  await page.waitForSelector("#seen-by:not([hidden])", { timeout: 15_000 });
  assert.equal(await page.textContent("#seen-by"), `Backend says you are ${login}`);
  assert.equal(await page.locator("#stocks li").count(), 2);
  await page.waitForSelector("#profile:not([hidden])", { timeout: 15_000 });
  assert.equal(await page.textContent("#profile"), `User ${login} <${login}@users.edgegate.test>`);
}

/**
 * The scenarios at `origin`: `nextLinks` when its home page has Next <Link>s to prefetch,
 * `errorUrl` when it sends refused callbacks to /login-error; `onFailure(name)` is told
 * which step failed (to print the host's log).
 */
async function hostScenarios(t, origin, { nextLinks = false, errorUrl = false, onFailure = () => {}, client = { id: op.clientId, authMethod: "client_secret_basic" } } = {}) {
  const get = (path, headers = {}) => browserRequest(`${origin}${path}`, { headers });
  // One browser for the host; each step opens its own context.
  const browser = await launchChromium(t);
  const open = () => freshPage(browser);
  const step = (name, fn) =>
    t.test(name, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        onFailure(name);
        throw e;
      }
    });

  await step("no session: /dashboard → /auth/login?returnTo=/dashboard, /api → 401, /auth/session unauthenticated", async () => {
    const page = await get("/dashboard", NAVIGATE);
    assert.equal(page.status, 307);
    const login = new URL(page.headers.get("location"), origin);
    assert.equal(login.origin + login.pathname, `${origin}/auth/login`);
    assert.equal(login.searchParams.get("returnTo"), "/dashboard");
    assert.deepEqual(page.headers.getSetCookie(), []);
    assert.equal((await get("/api/stocks")).status, 401);
    const session = await get("/auth/session");
    assert.equal(session.status, 200);
    assert.ok(noStore(session), `Cache-Control: ${session.headers.get("cache-control")}`);
    assert.deepEqual(await session.json(), { authenticated: false });
  });

  await step("/auth/login on a navigation: the provider's authorization endpoint, code + PKCE S256, one sealed transaction cookie", async () => {
    const res = await get("/auth/login?returnTo=%2Fdashboard", NAVIGATE);
    assert.equal(res.status, 307);
    const to = new URL(res.headers.get("location"));
    assert.equal(to.origin + to.pathname, `${op.issuer}/auth`);
    let q = Object.fromEntries(to.searchParams);
    if (client.pushed) {
      // RFC 9126: the browser carries the client and a request_uri; the rest was pushed.
      assert.deepEqual(Object.keys(q).sort(), ["client_id", "request_uri"], to.href);
      const push = op.seen.pushes.at(-1);
      assert.deepEqual([push.status, push.client, push.authMethod], [201, client.id, client.authMethod]);
      q = { ...push.params, ...q };
    }
    assert.equal(q.response_type, "code");
    assert.equal(q.client_id, client.id);
    assert.equal(q.redirect_uri, `${origin}/auth/callback`);
    assert.equal(q.code_challenge_method, "S256");
    assert.match(q.code_challenge, /^[\w-]{43}$/);
    assert.match(q.state, /^[\w-]{16,}$/);
    assert.match(q.nonce, /^[\w-]{16,}$/);
    assert.deepEqual(q.scope.split(" ").sort(), ["email", "offline_access", "openid", "profile"]);
    assert.equal(q.resource, RESOURCES.rs);
    assert.ok(!("code_verifier" in q) && !("client_secret" in q));
    const cookies = parseSetCookies(res.headers.getSetCookie());
    assert.equal(cookies.length, 1, res.headers.getSetCookie().join("\n"));
    const [[name, value, attributes]] = cookies;
    assert.equal(name, `edgegate-tx-${q.state}`);
    assert.ok(!value.includes(q.nonce) && !value.includes(q.state), "the transaction is sealed");
    assert.match(attributes, /HttpOnly/i);
    assert.match(attributes, /SameSite=Lax/i, "Lax: the provider's redirect back is a cross-site navigation");
    assert.match(res.headers.get("cache-control") ?? "", /private.*no-store|no-store.*private/);
  });

  await step("/auth/login without a navigation (fetch, prefetch, prerender, no Sec-Fetch-*): 401, no cookie", async () => {
    const cases = {
      "fetch (Sec-Fetch-Mode: cors)": { "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", "sec-fetch-dest": "empty" },
      "Next's RSC prefetch": { "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", rsc: "1", "next-router-prefetch": "1", "next-router-segment-prefetch": "/_tree" },
      "Sec-Purpose: prefetch": { ...NAVIGATE, "sec-purpose": "prefetch" },
      "Sec-Purpose: prefetch;prerender": { ...NAVIGATE, "sec-purpose": "prefetch;prerender" },
      "Purpose: prefetch": { ...NAVIGATE, purpose: "prefetch" },
      "no Sec-Fetch-Mode": {},
    };
    for (const [name, headers] of Object.entries(cases)) {
      const res = await get("/auth/login?returnTo=%2Fdashboard", headers);
      assert.equal(res.status, 401, name);
      assert.deepEqual(res.headers.getSetCookie(), [], name);
      assert.match(res.headers.get("content-type") ?? "", /json/, name);
    }
    // A prefetch of the page is sent to login, which it does not start.
    const prefetch = await get("/dashboard", cases["Next's RSC prefetch"]);
    assert.deepEqual(prefetch.headers.getSetCookie(), []);
  });

  let signedIn; // { context, page } of the browser signed in as "alice"
  let tabs; // the browser context signed in by two tabs
  const needs = (st, what) => (what ? false : (st.skip("needs the signed-in browser of an earlier step"), true));
  await step("Chromium: /dashboard → the provider's sign-in and consent → /dashboard with the backend's data", async (t) => {
    if (!browser) return t.skip("no Chromium");
    const { context, page } = await open();
    const before = { ...op.counts.token };
    await page.goto(`${origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer);
    const { state } = op.seen.authorizations.at(-1);
    const pending = byName(await context.cookies(origin));
    assert.ok(pending[`edgegate-tx-${state}`], `the transaction cookie: ${Object.keys(pending)}`);
    const callback = page.waitForResponse((r) => r.url().startsWith(`${origin}/auth/callback`));
    await signInAtProvider(page, op.issuer, { login: "alice" });
    const answer = await callback;
    assert.equal(answer.status(), 303);
    assert.match(answer.headers()["cache-control"] ?? "", /private.*no-store|no-store.*private/, "the callback sets cookies: no-store");
    await expectDashboard(page, origin, "alice");

    const cookies = byName(await context.cookies(origin));
    assert.deepEqual(Object.keys(cookies).filter((n) => TX.test(n)), [], "the transaction cookie is gone");
    for (const name of SESSION_COOKIES) {
      assert.ok(cookies[name], `${name} is set`);
      assert.ok(cookies[name].httpOnly, `${name} is HttpOnly`);
      assert.equal(cookies[name].sameSite, "Lax", name);
    }
    assert.equal(await page.evaluate(() => document.cookie), "", "no cookie readable by scripts");
    const [header, access] = jwtParts(cookies.token.value);
    assert.equal(header.typ, "at+jwt");
    assert.equal(access.aud, RESOURCES.rs);
    assert.equal(access.sub, "alice");
    assert.ok(!cookies.idToken.value.startsWith("eyJ"), "the ID token is kept sealed");
    assert.equal(op.counts.token.authorization_code - (before.authorization_code ?? 0), 1, "one code exchange");
    const exchange = op.seen.tokenRequests.findLast((r) => r.grantType === "authorization_code");
    assert.deepEqual([exchange.ok, exchange.client, exchange.authMethod], [true, client.id, client.authMethod]);
    assert.match(exchange.params.code_verifier, /^[\w~.-]{43,128}$/);
    signedIn = { context, page };
  });

  await step("an 8 KB access token (150 group claims, as Entra's): chunked cookies, the dashboard, the whole bearer at the backend", async (t) => {
    if (!browser) return t.skip("no Chromium");
    const { context, page } = await open();
    await page.goto(`${origin}/dashboard`);
    await signInAtProvider(page, op.issuer, { login: "groups-gil" });
    // The backend verifies the bearer and answers with its `sub`: it got the token whole.
    await expectDashboard(page, origin, "groups-gil");
    const cookies = byName(await context.cookies(origin));
    const chunks = Object.keys(cookies).filter((n) => /^token\.\d+$/.test(n)).sort();
    assert.deepEqual(chunks, ["token.0", "token.1", "token.2"], Object.keys(cookies).join());
    assert.ok(!cookies.token, "no whole cookie beside the chunks");
    for (const name of chunks) {
      assert.ok(cookies[name].httpOnly && cookies[name].sameSite === "Lax", name);
      assert.ok(name.length + cookies[name].value.length <= 4096, `${name}: ${cookies[name].value.length}`);
    }
    const token = chunks.map((n) => cookies[n].value).join("");
    assert.ok(token.length > 8000, `${token.length} bytes`);
    const [, access] = jwtParts(token);
    assert.equal(access.groups.length, 150);
    await context.close();
  });

  await step("/auth/session: the profile from the ID token, no tokens, no-store", async (st) => {
    if (needs(st, signedIn)) return;
    const { page, context } = signedIn;
    const { status, cacheControl, text } = await page.evaluate(async () => {
      const r = await fetch("/auth/session");
      return { status: r.status, cacheControl: r.headers.get("cache-control"), text: await r.text() };
    });
    assert.equal(status, 200);
    assert.match(cacheControl ?? "", /no-store/);
    const body = JSON.parse(text);
    assert.equal(body.authenticated, true);
    assert.equal(body.sub, "alice");
    assert.equal(body.email, "alice@users.edgegate.test");
    assert.equal(body.name, "User alice");
    assert.ok(body.exp > Date.now() / 1000, "exp in the future");
    for (const c of await context.cookies(origin)) assert.ok(!text.includes(c.value), `no ${c.name} in the body`);
    assert.doesNotMatch(text, /eyJ|token/i, "no token in the body");
  });

  if (nextLinks) {
    await step("Next <Link> prefetches of /dashboard and /auth/login start no login; clicking the link does", async (t) => {
      if (!browser) return t.skip("no Chromium");
      const { context, page } = await open();
      const prefetches = [];
      page.on("request", (r) => {
        const { pathname } = new URL(r.url());
        if (!r.isNavigationRequest() && (pathname.startsWith("/dashboard") || pathname.startsWith("/auth/login"))) prefetches.push(r.url());
      });
      const authorizations = op.counts.authorizations;
      await page.goto(`${origin}/`);
      const deadline = Date.now() + 10_000;
      while (prefetches.length < 2 && Date.now() < deadline) await page.waitForTimeout(100);
      await page.waitForTimeout(1_000); // whatever the prefetches set has arrived by now
      assert.ok(prefetches.length >= 1, "Next prefetched the links");
      const cookies = await context.cookies(origin);
      assert.deepEqual(cookies.map((c) => c.name), [], `cookies after ${prefetches.length} prefetches: ${prefetches.join(" ")}`);
      assert.equal(op.counts.authorizations, authorizations, "nothing reached the provider");
      await page.click("#open-dashboard");
      await page.waitForURL((u) => u.origin === op.issuer, { timeout: 15_000 });
      await signInAtProvider(page, op.issuer, { login: "linda" });
      console.log(`after Next's client navigation to /dashboard and the login: ${page.url()}`);
      await expectDashboard(page, origin, "linda");
      await context.close();
    });
  }

  await step("two tabs starting a login at once both end signed in", async (t) => {
    if (!browser) return t.skip("no Chromium");
    const { context, page: first } = await open();
    const second = await context.newPage();
    await first.goto(`${origin}/dashboard`);
    await second.goto(`${origin}/dashboard`);
    for (const page of [first, second]) assert.equal(new URL(page.url()).origin, op.issuer);
    const pending = (await context.cookies(origin)).filter((c) => TX.test(c.name));
    assert.equal(pending.length, 2, "two transaction cookies side by side");
    await signInAtProvider(first, op.issuer, { login: "tabs" });
    await signInAtProvider(second, op.issuer, { login: "tabs" });
    for (const page of [first, second]) await expectDashboard(page, origin, "tabs");
    assert.deepEqual((await context.cookies(origin)).filter((c) => TX.test(c.name)), []);
    tabs = context;
  });

  await step("cross-origin logout attempts (a form POST, a link) answer 403 and leave the session", async (t) => {
    if (needs(t, signedIn)) return;
    const { context } = signedIn;
    const attacker = await startAttacker();
    t.after(() => attacker.stop());
    const before = byName(await context.cookies(origin));
    const counts = { ...op.counts };
    for (const from of [attacker.crossSite, attacker.sameSite]) {
      for (const how of ["post", "get"]) {
        const page = await context.newPage();
        const answer = page.waitForResponse((r) => r.url().startsWith(`${origin}/auth/logout`));
        await page.goto(`${from}/${how}?target=${encodeURIComponent(`${origin}/auth/logout`)}`);
        const res = await answer;
        assert.equal(res.status(), 403, `${how} from ${from}`);
        assert.ok(!(await res.headersArray()).some((h) => h.name.toLowerCase() === "set-cookie"), `${how} from ${from}: no Set-Cookie`);
        await page.close();
      }
    }
    const after = byName(await context.cookies(origin));
    for (const name of SESSION_COOKIES) assert.equal(after[name]?.value, before[name].value, `${name} kept`);
    assert.equal(op.counts.revocations, counts.revocations, "nothing revoked");
    assert.equal(op.counts.endSession, counts.endSession, "no end-session");
    const page = await context.newPage();
    await page.goto(`${origin}/dashboard`);
    await expectDashboard(page, origin, "alice");
    await page.close();
  });

  await step("logout from the page: cookies cleared, refresh token revoked, provider session ended", async (st) => {
    if (needs(st, signedIn)) return;
    const { context, page } = signedIn;
    const before = byName(await context.cookies(origin));
    const counts = { ...op.counts };
    const answer = page.waitForResponse((r) => r.url() === `${origin}/auth/logout`);
    await page.click("#sign-out");
    const res = await answer;
    assert.equal(res.status(), 303);
    assert.match(res.headers()["cache-control"] ?? "", /no-store/);
    await page.waitForURL((u) => u.origin === op.issuer, { timeout: 15_000 });

    const end = op.seen.endSessions.at(-1);
    assert.equal(op.counts.endSession - counts.endSession, 1);
    assert.equal(end.query.client_id, client.id);
    assert.equal(end.query.post_logout_redirect_uri, `${origin}/`);
    const [, hint] = jwtParts(end.query.id_token_hint);
    assert.deepEqual([hint.sub, hint.aud, hint.iss], ["alice", client.id, op.issuer], "the ID token as id_token_hint");

    assert.equal(op.counts.revocations - counts.revocations, 1, "one revocation");
    const revocation = op.seen.revocations.at(-1);
    assert.equal(revocation.status, 200);
    assert.equal(revocation.params.token, before.refreshToken.value);
    const refresh = await op.refresh(before.refreshToken.value);
    assert.deepEqual([refresh.status, refresh.body.error], [400, "invalid_grant"], "the old refresh token is dead");
    const left = (await context.cookies(origin)).map((c) => c.name);
    for (const name of SESSION_COOKIES) assert.ok(!left.includes(name), `${name} cleared`);

    await confirmLogoutAtProvider(page);
    assert.equal(page.url(), `${origin}/`);
    assert.equal(op.counts.endSessionConfirmed - counts.endSessionConfirmed, 1);
    await page.goto(`${origin}/dashboard`);
    await page.locator('input[name="login"]').waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).origin, op.issuer, "the provider asks to sign in again");
  });

  await step("GET /auth/logout typed in the address bar (Sec-Fetch-Site: none) logs out too", async (st) => {
    if (needs(st, tabs)) return;
    const context = tabs;
    const page = await context.newPage();
    const counts = { ...op.counts };
    await page.goto(`${origin}/auth/logout`);
    assert.equal(new URL(page.url()).origin, op.issuer);
    assert.equal(op.counts.revocations - counts.revocations, 1);
    const left = (await context.cookies(origin)).map((c) => c.name);
    for (const name of SESSION_COOKIES) assert.ok(!left.includes(name), `${name} cleared`);
    await confirmLogoutAtProvider(page);
    assert.equal(page.url(), `${origin}/`);
    await context.close();
  });

  if (errorUrl) {
    await step("errorUrl: a refused callback lands on it with ?error=CODE, no session", async (t) => {
      if (!browser) return t.skip("no Chromium");
      const { context, page } = await open();
      await page.goto(`${origin}/auth/callback?code=forged&state=forged&iss=${encodeURIComponent(op.issuer)}`);
      const landed = new URL(page.url());
      assert.equal(landed.origin + landed.pathname, `${origin}/login-error`);
      assert.equal(landed.searchParams.get("error"), "ERR_LOGIN_STATE");
      assert.equal(await page.textContent("#login-error"), "ERR_LOGIN_STATE");
      assert.deepEqual((await context.cookies(origin)).filter((c) => SESSION_COOKIES.includes(c.name)), []);
      await context.close();
    });
  }
  await signedIn?.context.close();
}

// ---------------------------------------------------------------------------------------
// returnTo: whatever a link puts there, the callback sends the browser to a path here.

const RETURN_TO = [
  "//evil.example", "/\\evil.example", "/%09/evil.example", "https:evil.example", "https://evil.example",
  "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%5Cevil.example", "\\/evil.example", "\\\\evil.example",
  "HTTPS://EVIL.EXAMPLE", "hTtPs:/\\evil.example", "//EVIL.example/dashboard", "/%2f%2fevil.example",
  "/%5cevil.example", "%5C%5Cevil.example", "/%252F%252Fevil.example", "///evil.example", "/\t/evil.example",
  "/\\/evil.example", "http:/\\evil.example", " //evil.example", "/./\\evil.example", "/dashboard/..//evil.example",
  "javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>", "/%0d%0aLocation:%20https://evil.example",
  "//127.0.0.1@evil.example", "https://127.0.0.1@evil.example", "/\u3002evil.example", "/ｅvil.example/%2e%2e//evil.example",
];
/** `returnTo` as a link might carry `value`: inserted as it is, and percent-encoded. */
const spellings = (value) => [["as is", `returnTo=${value}`], ["encoded", `returnTo=${encodeURIComponent(value)}`]];

/** Is `location` (a redirect's) a place on `origin`, written so no browser reads another host? */
function sameOriginPath(location, origin) {
  if (typeof location !== "string" || /[\x00-\x20\x7f\\]/.test(location)) return false;
  const path = location.startsWith(`${origin}/`) ? location.slice(origin.length) : location;
  return path.startsWith("/") && !path.startsWith("//") && new URL(location, origin).origin === origin;
}

/** Signs in from `/auth/login?returnTo=…` for each of `values` (each spelling) in Chromium. */
async function returnToInBrowser(t, origin, values = RETURN_TO) {
  const browser = await launchChromium(t);
  if (!browser) return;
  const { context } = await freshPage(browser);
  const hosts = new Set([new URL(origin).host, new URL(op.issuer).host]);
  const strays = [];
  for (const value of values) {
    for (const [spelling, query] of spellings(value)) {
      const page = await context.newPage();
      page.on("request", (r) => {
        if (r.isNavigationRequest() && !hosts.has(new URL(r.url()).host)) strays.push(`${spelling} ${JSON.stringify(value)} → ${r.url()}`);
      });
      await page.goto(`${origin}/auth/login?${query}`);
      try {
        await signInAtProvider(page, op.issuer, { login: "rita" });
      } catch (e) {
        const text = (await page.textContent("body").catch(() => "")).slice(0, 300);
        throw new Error(`${spelling} ${JSON.stringify(value)}: stuck at ${page.url()}: ${text}`, { cause: e });
      }
      assert.equal(new URL(page.url()).origin, origin, `${spelling} ${JSON.stringify(value)} landed on ${page.url()}`);
      await page.close();
    }
  }
  assert.deepEqual(strays, [], "no navigation left the app and the provider");
  await context.close();
}

// ---------------------------------------------------------------------------------------
// The hosts: next start (middleware.ts, proxy.ts) and workerd, each built once.

const SECRET = randomBytes(32).toString("base64url");
const printLog = (server, name) => {
  const lines = gateDecisions(server).slice(-30).map((d) => JSON.stringify(d));
  console.log(`${name} failed; the gate's last decisions:\n${lines.join("\n")}\n${server.output().slice(-3000)}`);
};

for (const variant of ["middleware", "proxy"]) {
  test(`hosted login under next start with ${variant}.ts`, { timeout: 480_000 }, async (t) => {
    const origin = ORIGIN[variant];
    const { dir, seconds } = buildTemplate("login", `login-${variant}`, {
      env: {
        UPSTREAM_URL: backend.url, LOGIN_ISSUER: op.issuer, LOGIN_CLIENT_ID: op.clientId, LOGIN_CLIENT_SECRET: op.clientSecret,
        LOGIN_SECRET: SECRET, LOGIN_RESOURCE: RESOURCES.rs, APP_ORIGIN: variant === "proxy" ? `${origin},${ORIGIN.tls}` : origin,
        LOGIN_PUSH: variant === "middleware" ? "1" : "0",
      },
      files: { [`${variant}.ts`]: readFileSync(new URL(`./login/variants/${variant}.ts`, import.meta.url), "utf8") },
    });
    console.log(`next build of the login app with ${variant}.ts: ${seconds.toFixed(1)} s`);
    const next = await startNext(dir, { port: PORTS[variant] });
    t.after(() => next.stop());
    // The Edge build pushes its authorization requests (RFC 9126); the Node one does not.
    const client = { id: op.clientId, authMethod: "client_secret_basic", pushed: variant === "middleware" };
    await hostScenarios(t, origin, { nextLinks: true, client, onFailure: (name) => printLog(next, name) });
    if (variant === "middleware") {
      await t.test("returnTo catalogue in Chromium: every login lands on this origin", (t) => returnToInBrowser(t, origin));
    } else {
      await t.test("behind nginx terminating TLS: login, session, backend and logout on the public origin", (t) => loginThroughTlsProxy(t, next));
    }
  });
}

/**
 * Hosted login through nginx (TLS, `Host` and `X-Forwarded-Proto` passed on) in front of
 * `next start`: every URL the gate writes is on the proxy's https origin, listed in
 * `appBaseUrl`, though the URL Next hands the gate is `https://localhost:<port>`; the
 * session cookies are `__Host-`; and no response names Next's own address.
 */
async function loginThroughTlsProxy(t, next) {
  const tls = await startTlsProxy(t, next.url, { port: PORTS.tls });
  if (!tls) return;
  const origin = ORIGIN.tls;
  const inner = `:${new URL(next.url).port}`;
  const via = async (path, { headers = {}, ...init } = {}) => {
    const answer = await browserRequest(`${origin}${path}`, { ca: tls.ca, headers, ...init });
    for (const [name, value] of answer.headers) assert.ok(!value.includes(inner), `${path}: ${name}: ${value} names the server`);
    return answer;
  };
  const page = await via("/dashboard", { headers: NAVIGATE });
  assert.equal(page.status, 307);
  assert.equal(page.headers.get("location"), `${origin}/auth/login?returnTo=%2Fdashboard`);

  const start = await via("/auth/login?returnTo=%2Fdashboard", { headers: NAVIGATE });
  assert.equal(start.status, 307);
  const authorize = new URL(start.headers.get("location"));
  assert.equal(authorize.searchParams.get("redirect_uri"), `${origin}/auth/callback`);
  const tx = start.headers.getSetCookie().map((c) => c.split(";")[0]);
  assert.ok(tx.length === 1 && tx[0].startsWith("__Host-edgegate-tx-"), tx.join());

  const callback = new URL(await authorizeAtProvider(authorize.href, { login: "tess" }));
  assert.equal(callback.origin, origin);
  const done = await via(`${callback.pathname}${callback.search}`, { headers: { ...NAVIGATE, cookie: tx[0] } });
  assert.equal(done.status, 303, await done.text());
  assert.equal(new URL(done.headers.get("location"), origin).href, `${origin}/dashboard`);
  const set = done.headers.getSetCookie();
  for (const name of HOST_SESSION) assert.ok(set.some((c) => c.startsWith(`${name}=`) && /; Secure/i.test(c)), `${name}: ${set.join(" | ")}`);
  const cookie = set.filter((c) => !/max-age=0/i.test(c)).map((c) => c.split(";")[0]).join("; ");

  assert.equal((await via("/dashboard", { headers: { ...NAVIGATE, cookie } })).status, 200);
  const api = await via("/api/whoami", { headers: { cookie } });
  assert.equal(api.status, 200);
  assert.equal((await api.json()).sub, "tess");

  // An 8 KB token in chunks through the proxy (with the README's large_client_header_buffers).
  const big = await via("/auth/login?returnTo=%2Fdashboard", { headers: NAVIGATE });
  const bigTx = big.headers.getSetCookie()[0].split(";")[0];
  const bigCallback = new URL(await authorizeAtProvider(big.headers.get("location"), { login: "groups-tess" }));
  const bigDone = await via(`${bigCallback.pathname}${bigCallback.search}`, { headers: { ...NAVIGATE, cookie: bigTx } });
  assert.equal(bigDone.status, 303, await bigDone.text());
  const bigSet = bigDone.headers.getSetCookie().filter((c) => !/max-age=0/i.test(c)).map((c) => c.split(";")[0]);
  assert.ok(bigSet.some((c) => c.startsWith("__Host-token.2=")), bigSet.map((c) => c.split("=")[0]).join());
  const bigApi = await via("/api/whoami", { headers: { cookie: bigSet.join("; ") } });
  assert.equal(bigApi.status, 200);
  assert.equal((await bigApi.json()).sub, "groups-tess");

  const out = await via("/auth/logout", { method: "POST", headers: { origin, cookie } });
  assert.equal(out.status, 303);
  const end = new URL(out.headers.get("location"));
  assert.equal(end.origin + end.pathname, `${op.issuer}/session/end`);
  assert.equal(end.searchParams.get("post_logout_redirect_uri"), `${origin}/`);
  assert.doesNotMatch(next.output(), /Failed to proxy/);
}

test("hosted login in workerd (Miniflare), redirect and post-logout URIs from the request's origin, private_key_jwt, pushed requests", { timeout: 240_000 }, async (t) => {
  // This host's client authenticates with private_key_jwt (EdDSA), signed by workerd's
  // WebCrypto, and pushes its authorization requests; the Node hosts use a client secret
  // and the front channel.
  const client = CLIENTS.privateKeyJwt.client_id;
  const mf = await startWorker(new URL("./worker/login.ts", import.meta.url).pathname, "worker-login", {
    ISSUER: op.issuer, CLIENT_ID: client, CLIENT_KEY: JSON.stringify(ASSERTION_KEYS.EdDSA), LOGIN_SECRET: SECRET,
    RESOURCE: RESOURCES.rs, UPSTREAM: backend.url,
  }, { host: "127.0.0.1", port: PORTS.worker });
  t.after(() => mf.dispose());
  assert.equal((await mf.ready).origin, ORIGIN.worker);
  await hostScenarios(t, ORIGIN.worker, { errorUrl: true, client: { id: client, authMethod: "private_key_jwt", pushed: true } });
});

// ---------------------------------------------------------------------------------------
// Decided in Node: `createGate(options, { fetch })` and `gate.decide(request)` with the real
// provider, or with a token endpoint rewritten by a malicious provider. The app is APP
// (https, registered at the provider, never fetched: the gate only decides its requests),
// so cookies carry their production `__Host-` names.

const header = (decision, name) => decision.headers?.find(([n]) => n.toLowerCase() === name)?.[1];
const locationOf = (decision) => decision.location ?? header(decision, "location");
const cookieHeader = (lines) =>
  parseSetCookies(lines).filter(([, value, attributes]) => value && !/max-age=0\b/i.test(attributes)).map(([n, v]) => `${n}=${v}`).join("; ");
const HOST_SESSION = SESSION_COOKIES.map((name) => `__Host-${name}`);

/** The gate's options for APP; `login` overrides (an `undefined` removes the option). */
function loginOptions(login = {}) {
  const fields = {
    issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, secret: SECRET, appBaseUrl: APP,
    resource: RESOURCES.rs, sessionClaims: ["email", "name"], authorizationParams: { prompt: "consent" }, ...login,
  };
  return {
    rules: [{ match: "/dashboard/:path*", kind: "page" }, { match: "/api/:path*", kind: "api" }],
    verify: { algorithms: ["RS256"], issuer: op.issuer, audience: RESOURCES.rs, typ: "at+jwt" },
    login: Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
  };
}
const without = (object, ...keys) => Object.fromEntries(Object.entries(object).filter(([k]) => !keys.includes(k)));

/** The provider session of the user "nora" for the Node tests: she signs in once, then consents. */
const noraJar = new Map();

/** GET /auth/login as a navigation: the authorization URL, its state and nonce, the transaction cookie. */
async function beginLogin(gate, query = "returnTo=%2Fdashboard") {
  const decision = await gate.decide({ method: "GET", url: `${APP}/auth/login?${query}`, headers: NAVIGATE });
  assert.equal(decision.status, 307, JSON.stringify(decision));
  const authorize = new URL(locationOf(decision));
  const tx = parseSetCookies(decision.setCookies ?? []).find(([name]) => name.startsWith("__Host-edgegate-tx-"));
  assert.ok(tx, `a __Host- transaction cookie: ${decision.setCookies}`);
  return {
    authorize, decision, state: authorize.searchParams.get("state"), nonce: authorize.searchParams.get("nonce"),
    txCookie: `${tx[0]}=${tx[1]}`, tx,
  };
}
/** Nora at the provider for `authorize`: the callback URL it sends her back to. */
const atProvider = async (authorize, options = {}) =>
  new URL(await authorizeAtProvider(authorize.href, { jar: noraJar, login: "nora", ...options }));
/** The provider's redirect back arriving at the gate (a cross-site navigation). */
const callback = (gate, url, cookie) =>
  gate.decide({ method: "GET", url: String(url), headers: { ...NAVIGATE, "sec-fetch-site": "cross-site", ...(cookie ? { cookie } : {}) } });
/** A full login through the real provider: the callback's decision. */
async function login(gate, query) {
  const flow = await beginLogin(gate, query);
  return { ...flow, done: await callback(gate, await atProvider(flow.authorize), flow.txCookie) };
}
const exchanges = () => (op.counts.token.authorization_code ?? 0) + (op.counts.tokenErrors.authorization_code ?? 0);

function assertRefused(decision, code, what) {
  assert.equal(decision.code, code, `${what}: ${JSON.stringify(decision)}`);
  assert.equal(decision.status, 400, what);
  const body = JSON.parse(decision.body);
  assert.equal(body.code, code, what);
  assert.equal(typeof body.error, "string", what);
  assert.deepEqual(sessionSet(decision.setCookies ?? []).map(([n]) => n), [], `${what}: no session cookie`);
}

test("hosted login decided in Node: the session it sets, /auth/session, logout and its CSRF guard", { timeout: 120_000 }, async (t) => {
  const gate = await createGate(loginOptions());
  const { state, done } = await login(gate);
  let cookie;
  await t.test("the callback: 303 to returnTo, __Host- session cookies, the transaction cookie cleared", () => {
    assert.equal(done.status, 303, JSON.stringify(done));
    assert.equal(locationOf(done), "/dashboard");
    const set = parseSetCookies(done.setCookies);
    for (const name of HOST_SESSION) {
      const [, value, attributes] = set.find(([n]) => n === name) ?? [];
      assert.ok(value, `${name} set`);
      for (const attribute of [/Secure/i, /HttpOnly/i, /SameSite=Lax/i, /Path=\//i]) assert.match(attributes, attribute, name);
    }
    const tx = set.find(([n]) => n === `__Host-edgegate-tx-${state}`);
    assert.ok(tx && (!tx[1] || /max-age=0/i.test(tx[2])), "the transaction cookie is cleared");
    cookie = cookieHeader(done.setCookies);
  });

  await t.test("the session reaches /api as the provider's access token, /auth/session as the profile", async () => {
    const api = await gate.decide({ method: "GET", url: `${APP}/api/stocks`, headers: { cookie } });
    assert.equal(api.action, "continue", JSON.stringify(api));
    const bearer = Object.fromEntries(api.requestHeaders).authorization;
    const [, claims] = jwtParts(bearer.slice("Bearer ".length));
    assert.deepEqual([claims.sub, claims.aud, claims.iss], ["nora", RESOURCES.rs, op.issuer]);
    const session = await gate.decide({ method: "GET", url: `${APP}/auth/session`, headers: { cookie } });
    assert.equal(session.status, 200);
    assert.match(header(session, "cache-control"), /no-store/);
    const body = JSON.parse(session.body);
    assert.deepEqual(without(body, "exp"), { authenticated: true, sub: "nora", email: "nora@users.edgegate.test", name: "User nora" });
    assert.equal(typeof body.exp, "number");
  });

  await t.test("logout refused without same-origin proof: 403 ERR_CSRF, nothing cleared, nothing revoked", async () => {
    const revocations = op.counts.revocations;
    const attempts = [
      ["POST", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
      ["POST", { "sec-fetch-site": "same-site", origin: "https://evil.app.edgegate.test" }],
      ["POST", { origin: "https://evil.example" }],
      ["POST", {}],
      ["GET", { ...NAVIGATE, "sec-fetch-site": "cross-site" }],
      ["GET", { ...NAVIGATE, "sec-fetch-site": "same-site" }],
      ["GET", {}],
    ];
    for (const [method, headers] of attempts) {
      const what = `${method} ${JSON.stringify(headers)}`;
      const d = await gate.decide({ method, url: `${APP}/auth/logout`, headers: { ...headers, cookie } });
      assert.equal(d.status, 403, what);
      assert.equal(d.code, "ERR_CSRF", what);
      assert.deepEqual(d.setCookies ?? [], [], what);
    }
    assert.equal(op.counts.revocations, revocations);
  });

  await t.test("logout (POST, Origin matching): cookies cleared, refresh token revoked, 303 to end-session", async () => {
    const refreshToken = parseSetCookies(done.setCookies).find(([n]) => n === "__Host-refreshToken")[1];
    const idToken = parseSetCookies(done.setCookies).find(([n]) => n === "__Host-idToken")[1];
    assert.ok(!idToken.startsWith("eyJ"), "the ID token cookie is sealed");
    const d = await gate.decide({ method: "POST", url: `${APP}/auth/logout`, headers: { origin: APP, cookie } });
    assert.equal(d.status, 303, JSON.stringify(d));
    const cleared = parseSetCookies(d.setCookies ?? []).filter(([n, v, a]) => HOST_SESSION.includes(n) && (!v || /max-age=0/i.test(a)));
    assert.deepEqual(cleared.map(([n]) => n).sort(), [...HOST_SESSION].sort());
    assert.equal(op.seen.revocations.at(-1).params.token, refreshToken);
    assert.equal((await op.refresh(refreshToken)).body.error, "invalid_grant");
    const end = new URL(locationOf(d));
    assert.equal(end.origin + end.pathname, `${op.issuer}/session/end`);
    assert.equal(end.searchParams.get("client_id"), op.clientId);
    assert.equal(end.searchParams.get("post_logout_redirect_uri"), `${APP}/`);
    assert.equal(jwtParts(end.searchParams.get("id_token_hint"))[1].sub, "nora");
  });
});

test("callback refusals against the real provider: each with its code, no session, no exchange before the checks", { timeout: 120_000 }, async (t) => {
  const gate = await createGate(loginOptions());
  const refuse = async (what, code, make) => {
    await t.test(`${what}: ${code}`, async () => {
      const before = exchanges();
      const { url, cookie, gate: other } = await make();
      assertRefused(await callback(other ?? gate, url, cookie), code, what);
      if (code !== "ERR_LOGIN_EXCHANGE" && code !== "ERR_LOGIN_PROVIDER") assert.equal(exchanges(), before, `${what}: the code was not exchanged`);
    });
  };
  const flow = async () => {
    const f = await beginLogin(gate);
    return { ...f, url: await atProvider(f.authorize) };
  };
  const edit = (url, change) => {
    const u = new URL(url);
    change(u.searchParams);
    return u;
  };
  const flip = (s, at = Math.floor(s.length / 2)) => `${s.slice(0, at)}${s[at] === "A" ? "B" : "A"}${s.slice(at + 1)}`;

  await refuse("a tampered state", "ERR_LOGIN_STATE", async () => {
    const f = await flow();
    return { url: edit(f.url, (q) => q.set("state", flip(f.state))), cookie: f.txCookie };
  });
  await refuse("no state", "ERR_LOGIN_STATE", async () => {
    const f = await flow();
    return { url: edit(f.url, (q) => q.delete("state")), cookie: f.txCookie };
  });
  await refuse("no transaction cookie", "ERR_LOGIN_STATE", async () => ({ url: (await flow()).url }));
  await refuse("a tampered transaction cookie", "ERR_LOGIN_STATE", async () => {
    const f = await flow();
    return { url: f.url, cookie: `${f.tx[0]}=${flip(f.tx[1])}` };
  });
  await refuse("only another login's transaction cookie", "ERR_LOGIN_STATE", async () => {
    const [a, b] = [await flow(), await beginLogin(gate)];
    return { url: a.url, cookie: b.txCookie };
  });
  await refuse("another login's sealed transaction under this state's cookie name", "ERR_LOGIN_STATE", async () => {
    const [a, b] = [await flow(), await beginLogin(gate)];
    return { url: a.url, cookie: `${a.tx[0]}=${b.tx[1]}` };
  });
  await refuse("a transaction sealed under another secret", "ERR_LOGIN_STATE", async () => {
    const stranger = await createGate(loginOptions({ secret: randomBytes(32).toString("base64url") }));
    const f = await beginLogin(stranger);
    return { url: await atProvider(f.authorize), cookie: f.txCookie };
  });
  await refuse("a wrong iss (RFC 9207)", "ERR_LOGIN_ISS", async () => {
    const f = await flow();
    return { url: edit(f.url, (q) => q.set("iss", "http://localhost:1")), cookie: f.txCookie };
  });
  await refuse("no iss, which the provider advertises it sends", "ERR_LOGIN_ISS", async () => {
    const f = await flow();
    return { url: edit(f.url, (q) => q.delete("iss")), cookie: f.txCookie };
  });
  await refuse("the provider's error=access_denied (consent cancelled)", "ERR_LOGIN_PROVIDER", async () => {
    const f = await beginLogin(gate);
    const url = await atProvider(f.authorize, { deny: true });
    assert.equal(url.searchParams.get("error"), "access_denied");
    return { url, cookie: f.txCookie };
  });
  await refuse("a transaction older than 10 minutes", "ERR_LOGIN_EXPIRED", async () => {
    const f = await flow();
    const later = await createGate(loginOptions(), { now: Date.now() / 1000 + 601 });
    return { url: f.url, cookie: f.txCookie, gate: later };
  });
  await refuse("a code minted for another login (PKCE binds it)", "ERR_LOGIN_EXCHANGE", async () => {
    const [a, b] = [await flow(), await flow()];
    return { url: edit(a.url, (q) => q.set("code", b.url.searchParams.get("code"))), cookie: a.txCookie };
  });

  await t.test("a replayed callback (a copy of the transaction cookie): ERR_LOGIN_EXCHANGE, the code not spent again", async () => {
    const { url, txCookie, done } = await (async () => {
      const f = await flow();
      return { ...f, done: await callback(gate, f.url, f.txCookie) };
    })();
    assert.equal(done.status, 303, JSON.stringify(done));
    const codeExchanges = () => (op.counts.token.authorization_code ?? 0) + (op.counts.tokenErrors.authorization_code ?? 0);
    const exchanges = codeExchanges();
    // The gate remembers the code went to one session: the replay gets none, and the
    // provider is not asked again (a later replay, past that memory, is refused by the
    // provider: "a code minted for another login" above, and tests/login.rs).
    assertRefused(await callback(gate, url, txCookie), "ERR_LOGIN_EXCHANGE", "the same callback again");
    assert.equal(codeExchanges(), exchanges, "no second exchange of the code");
  });

  await t.test("errorUrl: a refusal is a 303 there with ?error=CODE", async () => {
    const withErrorUrl = await createGate(loginOptions({ errorUrl: "/login-error" }));
    const f = await beginLogin(withErrorUrl);
    const d = await callback(withErrorUrl, await atProvider(f.authorize));
    assert.equal(d.code, "ERR_LOGIN_STATE");
    assert.equal(d.status, 303);
    assert.equal(locationOf(d), "/login-error?error=ERR_LOGIN_STATE");
    assert.deepEqual(sessionSet(d.setCookies ?? []), []);
  });
});

test("a malicious token endpoint: every forged ID token or access token is refused", { timeout: 120_000 }, async (t) => {
  const key = createPrivateKey({ key: op.signingKey, format: "jwk" });
  const { privateKey: strangerKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = op.signingKey.kid;
  const sign = (claims, header = { alg: "RS256", kid }, with_ = key) => jwt("RS256", with_, claims, header);
  const now = Math.floor(Date.now() / 1000);
  const idClaims = (tokens) => jwtParts(tokens.id_token)[1];
  const atClaims = (tokens) => jwtParts(tokens.access_token)[1];
  const withId = (change) => (tokens, flow) => ({ ...tokens, id_token: change(idClaims(tokens), flow, tokens) });
  const withAccess = (change) => (tokens) => ({ ...tokens, access_token: change(atClaims(tokens)) });

  // The provider's token endpoint as the gate reaches it, with the code exchange's answer
  // rewritten by `rewrite(tokens, flow)` while a case runs.
  let rewrite;
  let current;
  const hostFetch = async (url, init) => {
    const res = await fetch(url, init);
    const exchange = String(url) === `${op.issuer}/token` && String(init?.body).includes("grant_type=authorization_code");
    if (!rewrite || !exchange || !res.ok) return res;
    return Response.json(await rewrite(await res.json(), current), { status: res.status });
  };
  const gate = await createGate(loginOptions(), { fetch: hostFetch });
  const run = async (change) => {
    current = await beginLogin(gate);
    const url = await atProvider(current.authorize);
    rewrite = change;
    try {
      return await callback(gate, url, current.txCookie);
    } finally {
      rewrite = undefined;
    }
  };

  /** A genuine ID token the provider issued to another client (other-app), with `nonce`. */
  async function otherClientsIdToken(nonce) {
    const verifier = randomBytes(32).toString("base64url");
    const authorize = new URL(`${op.issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: "other-app", response_type: "code", redirect_uri: `${APP}/auth/callback`, scope: "openid email profile",
      state: "other", nonce, code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
    });
    const code = (await atProvider(authorize)).searchParams.get("code");
    const { body } = await op.tokenRequest({ grant_type: "authorization_code", code, redirect_uri: `${APP}/auth/callback`, code_verifier: verifier }, "other-app");
    return body.id_token;
  }

  await t.test("control: the same tokens re-signed with the provider's key are accepted", async () => {
    const d = await run(withId((claims) => sign(claims)));
    assert.equal(d.status, 303, JSON.stringify(d));
    assert.equal(sessionSet(d.setCookies).length, 3);
  });

  const cases = [
    ["the nonce of another login", withId((c) => sign({ ...c, nonce: "another-login" })), "ERR_LOGIN_ID_TOKEN"],
    ["no nonce", withId(({ nonce, ...c }) => sign(c)), "ERR_LOGIN_ID_TOKEN"],
    ["a genuine ID token of another client, with this login's nonce", async (tokens, flow) => ({ ...tokens, id_token: await otherClientsIdToken(flow.nonce) }), "ERR_LOGIN_ID_TOKEN"],
    ["aud naming this client beside another, azp the other", withId((c) => sign({ ...c, aud: ["other-app", c.aud], azp: "other-app" })), "ERR_LOGIN_ID_TOKEN"],
    ["another issuer", withId((c) => sign({ ...c, iss: "http://localhost:1" })), "ERR_LOGIN_ID_TOKEN"],
    ["expired", withId((c) => sign({ ...c, iat: now - 900, exp: now - 600 })), "ERR_LOGIN_ID_TOKEN"],
    ["issued an hour from now", withId((c) => sign({ ...c, iat: now + 3600, exp: now + 7200 })), "ERR_LOGIN_ID_TOKEN"],
    ["signed by another key under the provider's kid", withId((c) => sign(c, { alg: "RS256", kid }, strangerKey)), "ERR_LOGIN_ID_TOKEN"],
    ["signed by another key under an unknown kid", withId((c) => sign(c, { alg: "RS256", kid: "stranger" }, strangerKey)), "ERR_LOGIN_ID_TOKEN"],
    ["unsigned (alg none)", withId((c) => `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from(JSON.stringify(c)).toString("base64url")}.`), "ERR_LOGIN_ID_TOKEN"],
    ["HS256 with the client secret", withId((c) => jwt("HS256", op.clientSecret, c, { alg: "HS256" })), "ERR_LOGIN_ID_TOKEN"],
    ["another subject with the original signature", withId((c, f, tokens) => {
      const [h, , s] = tokens.id_token.split(".");
      return `${h}.${Buffer.from(JSON.stringify({ ...c, sub: "admin" })).toString("base64url")}.${s}`;
    }), "ERR_LOGIN_ID_TOKEN"],
    ["no ID token", ({ id_token, ...tokens }) => tokens, "ERR_LOGIN_ID_TOKEN"],
    ["an access token for another audience", withAccess((c) => sign({ ...c, aud: RESOURCES.other }, { alg: "RS256", typ: "at+jwt", kid })), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["an access token signed by another key", withAccess((c) => sign(c, { alg: "RS256", typ: "at+jwt", kid }, strangerKey)), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
  ];
  for (const [name, change, code] of cases) {
    await t.test(`${name}: ${code}`, async () => assertRefused(await run(change), code, name));
  }
});

test("returnTo catalogue decided in Node: the callback's Location is always a path on the app", { timeout: 180_000 }, async () => {
  const gate = await createGate(loginOptions());
  const landed = [];
  for (const value of RETURN_TO) {
    for (const [spelling, query] of spellings(value)) {
      const what = `${spelling} ${JSON.stringify(value)}`;
      const start = await gate.decide({ method: "GET", url: `${APP}/auth/login?${query}`, headers: NAVIGATE });
      if (start.status !== 307) {
        // Refused outright (e.g. a control character in the request target): nowhere to go.
        assert.ok(start.status >= 400 && !locationOf(start), `${what}: ${JSON.stringify(start)}`);
        landed.push(`${what} → ${start.status} ${start.code}`);
        continue;
      }
      const authorize = new URL(locationOf(start));
      const tx = parseSetCookies(start.setCookies).find(([n]) => n.startsWith("__Host-edgegate-tx-"));
      const done = await callback(gate, await atProvider(authorize), `${tx[0]}=${tx[1]}`);
      assert.equal(done.status, 303, `${what}: ${JSON.stringify(done)}`);
      assert.ok(sameOriginPath(locationOf(done), APP), `${what} → ${locationOf(done)}`);
      landed.push(`${what} → ${locationOf(done)}`);
    }
  }
  console.log(`returnTo catalogue:\n${landed.join("\n")}`);
});

test("logins side by side, secret rotation, client authentication methods, Auth0-style audience", { timeout: 120_000 }, async (t) => {
  await t.test("two transactions in one Cookie header: each callback finds its own", async () => {
    const gate = await createGate(loginOptions());
    const [a, b] = [await beginLogin(gate, "returnTo=%2Fa"), await beginLogin(gate, "returnTo=%2Fb")];
    const both = `${a.txCookie}; ${b.txCookie}`;
    const [urlA, urlB] = [await atProvider(a.authorize), await atProvider(b.authorize)];
    const [doneB, doneA] = [await callback(gate, urlB, both), await callback(gate, urlA, both)];
    assert.deepEqual([doneA.status, locationOf(doneA), doneB.status, locationOf(doneB)], [303, "/a", 303, "/b"]);
  });

  await t.test("a login begun under the old secret completes after rotation (secrets: [new, old]), not under the new one alone", async () => {
    const fresh = randomBytes(32).toString("base64url");
    const old = await createGate(loginOptions());
    const rotated = await createGate(loginOptions({ secret: undefined, secrets: [fresh, SECRET] }));
    const dropped = await createGate(loginOptions({ secret: fresh }));
    const [first, second] = [await beginLogin(old), await beginLogin(old)];
    const done = await callback(rotated, await atProvider(first.authorize), first.txCookie);
    assert.equal(done.status, 303, JSON.stringify(done));
    assertRefused(await callback(dropped, await atProvider(second.authorize), second.txCookie), "ERR_LOGIN_STATE", "the old secret dropped");
  });

  const methods = [
    ["client_secret_basic (the default with a secret)", { }, "edgegate-app", "client_secret_basic"],
    ["client_secret_post", { clientId: "edgegate-post", tokenEndpointAuthMethod: "client_secret_post" }, "edgegate-post", "client_secret_post"],
    ["a public client (no secret)", { clientId: "edgegate-public", clientSecret: undefined }, "edgegate-public", "none"],
  ];
  for (const [name, overrides, client, method] of methods) {
    await t.test(`token endpoint authentication: ${name}`, async () => {
      const gate = await createGate(loginOptions(overrides));
      const { done } = await login(gate);
      assert.equal(done.status, 303, JSON.stringify(done));
      const exchange = op.seen.tokenRequests.findLast((r) => r.grantType === "authorization_code");
      assert.deepEqual([exchange.ok, exchange.client, exchange.authMethod], [true, client, method]);
    });
  }

  await t.test("audience (Auth0 style) instead of resource", async () => {
    const gate = await createGate(loginOptions({ resource: undefined, audience: RESOURCES.rs }));
    const { authorize, done } = await login(gate);
    assert.equal(authorize.searchParams.get("audience"), RESOURCES.rs);
    assert.equal(authorize.searchParams.get("resource"), null);
    assert.equal(done.status, 303, JSON.stringify(done));
  });
});

test("private_key_jwt (RFC 7523): each token, refresh and revocation request signed by the host's crypto", { timeout: 120_000 }, async (t) => {
  const client = CLIENTS.privateKeyJwt.client_id;
  const tokenEndpoint = `${op.issuer}/token`;
  const options = (key, login = {}) => loginOptions({ clientId: client, clientSecret: undefined, clientAssertionSigningKey: key, ...login });
  /** The assertion a request to the provider carried: its header and claims. */
  const assertionOf = (params) => {
    assert.equal(params.client_assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert.equal(params.client_secret, undefined);
    return jwtParts(params.client_assertion);
  };
  const lastExchange = () => op.seen.tokenRequests.findLast((r) => r.grantType === "authorization_code");

  for (const [alg, key] of Object.entries(ASSERTION_KEYS)) {
    await t.test(`${alg}: the code exchange authenticates with a fresh assertion, aud the token endpoint`, async () => {
      const { done } = await login(await createGate(options(key)));
      assert.equal(done.status, 303, JSON.stringify(done));
      const exchange = lastExchange();
      assert.deepEqual([exchange.ok, exchange.client, exchange.authMethod], [true, client, "private_key_jwt"]);
      const [header, claims] = assertionOf(exchange.params);
      assert.deepEqual(header, { alg, kid: key.kid });
      assert.deepEqual([claims.iss, claims.sub, claims.aud], [client, client, tokenEndpoint]);
      assert.equal(claims.exp - claims.iat, 60);
      assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5, "iat is now");
      assert.match(claims.jti, /^[A-Za-z0-9_-]{22}$/);
    });
  }

  await t.test("the key as JSON text (an environment variable), aud the issuer (Auth0's convention)", async () => {
    const { done } = await login(await createGate(options(JSON.stringify(ASSERTION_KEYS.ES256), { clientAssertionAudience: "issuer" })));
    assert.equal(done.status, 303, JSON.stringify(done));
    assert.equal(assertionOf(lastExchange().params)[1].aud, op.issuer);
  });

  await t.test("refresh and logout's revocation sign too, each assertion with its own jti", async () => {
    // Access tokens for `short` live one second: the next request refreshes.
    const base = options(ASSERTION_KEYS.EdDSA, { resource: RESOURCES.short });
    const gate = await createGate({ ...base, verify: { ...base.verify, audience: RESOURCES.short } });
    const { done } = await login(gate);
    assert.equal(done.status, 303, JSON.stringify(done));
    await new Promise((r) => setTimeout(r, 1_100));
    const api = await gate.decide({ method: "GET", url: `${APP}/api/stocks`, headers: { cookie: cookieHeader(done.setCookies) } });
    assert.deepEqual([api.action, api.code], ["continue", "OK_REFRESHED"], JSON.stringify(api));
    const refresh = op.seen.tokenRequests.findLast((r) => r.grantType === "refresh_token");
    assert.deepEqual([refresh.ok, refresh.client, refresh.authMethod], [true, client, "private_key_jwt"]);
    // The browser's jar after both responses: a later Set-Cookie replaces or removes.
    const jar = new Map();
    for (const [n, v, a] of parseSetCookies([...done.setCookies, ...api.setCookies])) {
      if (v && !/max-age=0\b/i.test(a)) jar.set(n, v);
      else jar.delete(n);
    }
    const cookie = [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
    const out = await gate.decide({ method: "POST", url: `${APP}/auth/logout`, headers: { origin: APP, cookie } });
    assert.equal(out.status, 303, JSON.stringify(out));
    const revocation = op.seen.revocations.at(-1);
    assert.deepEqual([revocation.status, revocation.client], [200, client], "the provider authenticated the revocation");
    const refreshToken = parseSetCookies(api.setCookies).find(([n]) => n === "__Host-refreshToken")[1];
    assert.equal((await op.refresh(refreshToken)).body.error, "invalid_grant", "revoked");
    const claims = [lastExchange(), refresh, revocation].map((r) => assertionOf(r.params)[1]);
    assert.equal(new Set(claims.map((c) => c.jti)).size, 3, "one jti per request");
    // Each names the endpoint it went to: one collected elsewhere authenticates nowhere else.
    assert.deepEqual(claims.map((c) => c.aud), [tokenEndpoint, tokenEndpoint, `${op.issuer}/token/revocation`]);
  });

  await t.test("a key the provider does not hold: the exchange is refused, no session", async () => {
    const stranger = privateJwk("ec", { namedCurve: "P-256" }, "ES256");
    const refused = op.counts.tokenErrors.authorization_code ?? 0;
    const { done } = await login(await createGate(options(stranger)));
    assertRefused(done, "ERR_LOGIN_EXCHANGE", "an unknown key");
    assert.equal(op.counts.tokenErrors.authorization_code, refused + 1, "the provider refused the assertion");
  });

  await t.test("a key the host's crypto cannot import: the login fails closed, nothing sent", async () => {
    // Well-formed for the engine (P-256 sizes), but no point on the curve: WebCrypto refuses it.
    const offCurve = { kty: "EC", crv: "P-256", x: Buffer.alloc(32, 1).toString("base64url"), y: Buffer.alloc(32, 2).toString("base64url"), d: Buffer.alloc(32, 3).toString("base64url") };
    const sent = op.seen.tokenRequests.length;
    const { done } = await login(await createGate(options(offCurve)));
    assertRefused(done, "ERR_LOGIN_EXCHANGE", "an unusable key");
    assert.match(`${done.message}`, /could not sign the client assertion/, JSON.stringify(done));
    assert.equal(op.seen.tokenRequests.length, sent, "no token request reached the provider");
  });

  await t.test("a key that cannot sign fails at construction, and no error shows it", async () => {
    const { d, ...publicOnly } = ASSERTION_KEYS.ES256;
    for (const [what, login] of [
      ["a public key", { clientAssertionSigningKey: publicOnly }],
      ["a secret beside the key", { clientSecret: "s3cret", clientAssertionSigningKey: ASSERTION_KEYS.ES256 }],
      ["an RSA key under 2048 bits", { clientAssertionSigningKey: privateJwk("rsa", { modulusLength: 1024 }, "RS256") }],
      ["private_key_jwt without a key", { clientSecret: undefined, tokenEndpointAuthMethod: "private_key_jwt", clientAssertionSigningKey: undefined }],
      ["a PEM string", { clientAssertionSigningKey: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----" }],
    ]) {
      const error = await createGate(options(ASSERTION_KEYS.ES256, login)).then(() => null, (e) => e);
      assert.equal(error?.code, "ERR_CONFIG_INVALID", what);
      assert.match(error.message, /^login/, what);
      assert.ok(!error.message.includes(d), `${what}: no key material in "${error.message}"`);
    }
  });
});

test("pushed authorization requests (RFC 9126): the parameters go over the back channel, the browser carries a request_uri", { timeout: 120_000 }, async (t) => {
  const URN = /^urn:ietf:params:oauth:request_uri:[\w-]+$/;
  const clients = [
    ["client_secret_basic", {}, op.clientId],
    ["client_secret_post", { clientId: "edgegate-post", tokenEndpointAuthMethod: "client_secret_post" }, "edgegate-post"],
    ["private_key_jwt", { clientId: CLIENTS.privateKeyJwt.client_id, clientSecret: undefined, clientAssertionSigningKey: ASSERTION_KEYS.ES256 }, CLIENTS.privateKeyJwt.client_id],
  ];
  for (const [method, overrides, client] of clients) {
    await t.test(`${method}: pushed and authenticated, then the whole login`, async () => {
      const gate = await createGate(loginOptions({ pushedAuthorizationRequests: true, ...overrides }));
      const { authorize, done, txCookie } = await login(gate);
      // Nothing of the request in the browser's URL: no state, challenge, redirect URI or scope.
      assert.deepEqual([...authorize.searchParams.keys()].sort(), ["client_id", "request_uri"], authorize.href);
      assert.equal(authorize.searchParams.get("client_id"), client);
      assert.match(authorize.searchParams.get("request_uri"), URN);
      const push = op.seen.pushes.at(-1);
      assert.deepEqual([push.status, push.client, push.authMethod], [201, client, method]);
      assert.equal(push.params.redirect_uri, `${APP}/auth/callback`);
      assert.equal(push.params.code_challenge_method, "S256");
      assert.equal(push.params.resource, RESOURCES.rs);
      assert.ok(txCookie.startsWith(`__Host-edgegate-tx-${push.params.state}=`), "the transaction is the pushed one");
      // RFC 9126 §2 recommends, and FAPI 2.0 requires, the issuer as a push's assertion aud.
      if (method === "private_key_jwt") assert.equal(jwtParts(push.body.client_assertion)[1].aud, op.issuer);
      else assert.equal(push.body.client_secret, method === "client_secret_post" ? op.clientSecret : undefined);
      assert.equal([push.body.client_id].flat().length, 1, "client_id once");
      assert.equal(done.status, 303, JSON.stringify(done));
      assert.equal(locationOf(done), "/dashboard");
      const exchange = op.seen.tokenRequests.findLast((r) => r.grantType === "authorization_code");
      assert.deepEqual([exchange.ok, exchange.client], [true, client]);
    });
  }

  await t.test("a pushed login's URL opened in another browser: no transaction there, no session", async () => {
    const gate = await createGate(loginOptions({ pushedAuthorizationRequests: true }));
    const { authorize } = await beginLogin(gate);
    assertRefused(await callback(gate, await atProvider(authorize)), "ERR_LOGIN_STATE", "the attacker's pushed URL in the victim's browser");
  });

  await t.test("the provider refuses the push (an unregistered redirect URI): its error, no transaction, no redirect", async () => {
    const gate = await createGate(loginOptions({ pushedAuthorizationRequests: true, redirectUri: "https://evil.example/auth/callback" }));
    const pushes = op.counts.pushes;
    const decision = await gate.decide({ method: "GET", url: `${APP}/auth/login`, headers: NAVIGATE });
    assertRefused(decision, "ERR_LOGIN_PROVIDER", "a refused push");
    const push = op.seen.pushes.at(-1);
    assert.equal(push.status, 400);
    assert.ok(decision.message.endsWith(`the push was refused: ${push.error}`), JSON.stringify(decision));
    assert.deepEqual(decision.setCookies ?? [], []);
    assert.equal(op.counts.pushes, pushes + 1);
  });

  await t.test("a provider that requires pushes (and advertises it) gets them without the option", async (st) => {
    const strict = await startLoginProvider({ appOrigins: [APP], requirePushes: true });
    st.after(() => strict.stop());
    const options = loginOptions({ issuer: strict.issuer });
    const gate = await createGate({ ...options, verify: { ...options.verify, issuer: strict.issuer } });
    const flow = await beginLogin(gate);
    assert.match(flow.authorize.searchParams.get("request_uri") ?? "", URN, flow.authorize.href);
    assert.equal(strict.counts.pushes, 1);
    const url = new URL(await authorizeAtProvider(flow.authorize.href, { login: "nora" }));
    const done = await callback(gate, url, flow.txCookie);
    assert.equal(done.status, 303, JSON.stringify(done));
    // The requirement is real: the front channel alone is refused there.
    const front = new URL(`${strict.issuer}/auth`);
    for (const [k, v] of Object.entries({ client_id: op.clientId, response_type: "code", scope: "openid", redirect_uri: `${APP}/auth/callback`, code_challenge: "x".repeat(43), code_challenge_method: "S256" })) front.searchParams.set(k, v);
    assert.match(await authorizeAtProvider(front.href, { login: "nora" }), /error=invalid_request/);
  });
});
