// OpenID Connect Back-Channel Logout 1.0, end to end: oidc-provider 9 with back-channel
// logout on (login-provider.mjs) POSTs its logout tokens to the gate's
// /auth/backchannel-logout when the user's provider session ends; the session ends on
// every instance of the app, within `recheckDuration` ("1s" here), and a new sign-in works.
// - Two `next start` processes (proxy.ts, Node runtime) sharing a real redis-server: the
//   user signs in through the provider's pages in headless Chromium, the provider's logout
//   token reaches process A, and process B refuses the session too (page → 307 to
//   /auth/login with the session cookies cleared, API → 401, ERR_SESSION_ENDED in the log).
//   The session's sid comes from the gate's sealed ID token (oidc-provider puts no sid in
//   its JWT access tokens). Then a logout token naming only `sub`, the attack tokens (each
//   400 ERR_LOGOUT_TOKEN, ending nothing), a replayed one (400 ERR_LOGOUT_REPLAYED on both
//   processes) and Redis unreachable (503 ERR_SESSION_UNCHECKED: onStoreError "deny").
// - Two workerd isolates (Miniflare) sharing a RefreshCoordinator Durable Object namespace:
//   the same story, the sid in the access token this time (`accessTokenSid`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { browserRequest, buildTemplate, bundleWorker, freePort, gateDecisions, launchChromium, startNext, startUpstream } from "./helpers.mjs";
import { privateJwk } from "./oidc.mjs";
import {
  BACKCHANNEL_EVENT, BACKCHANNEL_PATH, CLIENTS, RESOURCES, authorizeAtProvider, confirmLogoutAtProvider, loopbackOnly, signInAtProvider,
  startLoginProvider,
} from "./login-provider.mjs";
import { startRedis } from "../node/stores.mjs";

const RECHECK = "1s";
const RECHECK_MS = 1000;
/** Timers and clocks of two processes: how late past recheckDuration a recheck may come. */
const TIMER_SLACK_MS = 250;
const SECRET = randomBytes(32).toString("base64url");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));
const claimsOf = (token) => b64json(token.split(".")[1]);
/** A response body as an assertion message may quote it. */
const short = (text) => (String(text ?? "").length > 300 ? `${String(text).slice(0, 300)}…` : String(text ?? ""));

const NAVIGATE = { "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-dest": "document", "sec-fetch-user": "?1" };
const SESSION_COOKIES = ["token", "refreshToken", "idToken"];
/** `[name, value, attributes]` of each Set-Cookie line. */
const parseSetCookies = (lines) =>
  lines.map((line) => {
    const [pair, ...attributes] = line.split(";").map((s) => s.trim());
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1), attributes.join("; ")];
  });
const setCookies = (res) => res.headers.getSetCookie?.() ?? [];
/** The session cookies a response clears (empty value or Max-Age=0). */
const cleared = (res) =>
  parseSetCookies(setCookies(res))
    .filter(([name, value, attributes]) => SESSION_COOKIES.includes(name) && (!value || /max-age=0\b/i.test(attributes)))
    .map(([name]) => name)
    .sort();

/**
 * An instance of the app as the tests talk to it: `send(path, init)` answers a Response
 * without following redirects; `decisions()` the gate's log entries so far.
 */
const viaHttp = (origin, decisions) => ({
  origin,
  send: (path, init = {}) => browserRequest(`${origin}${path}`, init),
  decisions,
});

/**
 * Signs `login` in on `app` without a browser: /auth/login as a navigation, the provider's
 * pages with the cookie jar `jar` (its provider session), the callback. The session's
 * cookies as a Cookie header.
 */
async function signIn(app, login, jar = new Map()) {
  const start = await app.send("/auth/login?returnTo=%2Fdashboard", { headers: NAVIGATE });
  assert.equal(start.status, 307, `GET /auth/login: ${short(await start.text())}`);
  const tx = setCookies(start).map((c) => c.split(";")[0]).find((c) => /^(__Host-)?edgegate-tx-/.test(c));
  assert.ok(tx, `a transaction cookie: ${setCookies(start)}`);
  const callback = new URL(await authorizeAtProvider(start.headers.get("location"), { login, jar }));
  assert.equal(callback.origin, app.origin, `the provider sent ${login} back to ${callback.origin}`);
  const done = await app.send(`${callback.pathname}${callback.search}`, { headers: { ...NAVIGATE, "sec-fetch-site": "cross-site", cookie: tx } });
  assert.equal(done.status, 303, `the callback: ${short(await done.text())}`);
  const cookie = parseSetCookies(setCookies(done))
    .filter(([name, value, attributes]) => value && !/max-age=0\b/i.test(attributes) && !name.includes("edgegate-tx-"))
    .map(([name, value]) => `${name}=${value}`)
    .join("; ");
  for (const name of SESSION_COOKIES) assert.match(cookie, new RegExp(`(^|; )${name}=`), `${name} set: ${cookie.replace(/=[^;]+/g, "=…")}`);
  return cookie;
}

/** /dashboard (a page rule) and /api/stocks (an API rule, to the backend) with `cookie`. */
async function probe(app, cookie) {
  const page = await app.send("/dashboard", { headers: { ...NAVIGATE, "sec-fetch-site": "same-origin", cookie } });
  const pageText = await page.text();
  const api = await app.send("/api/stocks", { headers: { "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", "sec-fetch-dest": "empty", cookie } });
  const apiText = await api.text();
  let json;
  try {
    json = JSON.parse(apiText);
  } catch {}
  return { page, pageText, api, apiText, json };
}

/** The session works on `app`: the page, and the backend's data for `login` through the API. */
async function assertAlive(app, cookie, login, what) {
  const r = await probe(app, cookie);
  assert.equal(r.page.status, 200, `${what}: /dashboard answered ${r.page.status} ${r.page.headers.get("location") ?? ""} on ${app.origin}`);
  assert.equal(r.api.status, 200, `${what}: /api/stocks answered ${r.api.status} ${short(r.apiText)} on ${app.origin}`);
  assert.equal(r.json?.seenBy, login, `${what}: the backend saw ${r.json?.seenBy}`);
  assert.deepEqual(cleared(r.page), [], `${what}: no session cookie cleared`);
}

/**
 * The session is refused on `app`: the page with a 307 to /auth/login?returnTo=/dashboard
 * clearing the session cookies, the API with a 401; and, when the instance's log is at
 * hand, both with ERR_SESSION_ENDED.
 */
async function assertEnded(app, cookie, what) {
  const logged = app.decisions?.().length ?? 0;
  const r = await probe(app, cookie);
  assert.equal(r.page.status, 307, `${what}: /dashboard answered ${r.page.status} on ${app.origin}`);
  const to = new URL(r.page.headers.get("location"), app.origin);
  assert.equal(to.pathname, "/auth/login", `${what}: redirected to ${to.href}`);
  assert.equal(to.searchParams.get("returnTo"), "/dashboard");
  assert.deepEqual(cleared(r.page), [...SESSION_COOKIES].sort(), `${what}: the session cookies are cleared: ${setCookies(r.page).join(" | ")}`);
  assert.equal(r.api.status, 401, `${what}: /api/stocks answered ${r.api.status} ${short(r.apiText)}`);
  if (app.decisions) {
    const codes = await codesOf(app, logged, ["/dashboard", "/api/stocks"]);
    assert.deepEqual(codes, ["ERR_SESSION_ENDED", "ERR_SESSION_ENDED"], `${what}: the gate's codes on ${app.origin}`);
  }
}

/**
 * The codes the gate logged on `app` after its `since`-th entry for `paths` (one each, in
 * order), waiting a little for the lines to arrive.
 */
async function codesOf(app, since, paths, method) {
  for (let i = 0; i < 40; i++) {
    const entries = app.decisions().slice(since).filter((d) => paths.includes(d.path) && (!method || d.method === method));
    if (entries.length >= paths.length) return paths.map((p) => entries.find((d) => d.path === p).edgegate);
    await sleep(50);
  }
  return app.decisions().slice(since).map((d) => `${d.method} ${d.path} ${d.edgegate}`);
}

/**
 * Polls `app` until the session of `cookie` is refused there. `recordedAt` is when the
 * instance that received the logout token had answered it: every request started
 * recheckDuration after that must be refused (one started earlier may still pass, on a
 * "not ended" the instance learned before the logout). The ms from `recordedAt` to the
 * start of the first refused request.
 */
async function waitUntilRefused(app, cookie, recordedAt) {
  for (;;) {
    const started = Date.now();
    const api = await app.send("/api/stocks", { headers: { cookie } });
    await api.arrayBuffer();
    if (api.status === 401) return started - recordedAt;
    assert.equal(api.status, 200, `while waiting: /api/stocks answered ${api.status} on ${app.origin}`);
    const late = started - recordedAt;
    if (late > RECHECK_MS + TIMER_SLACK_MS) {
      assert.fail(`a request started ${late} ms after the logout was recorded still passed on ${app.origin} (recheckDuration ${RECHECK})`);
    }
    await sleep(50);
  }
}

/** POSTs `token` to the instance's back-channel logout route: { status, text, json, code, answeredAt }. */
async function postLogout(app, token, { body = new URLSearchParams({ logout_token: token }), method = "POST" } = {}) {
  const logged = app.decisions?.().length ?? 0;
  const res = await app.send(BACKCHANNEL_PATH, {
    method,
    headers: method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {},
    body: method === "POST" ? String(body) : undefined,
  });
  const text = await res.text();
  const answeredAt = Date.now();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  const code = app.decisions ? (await codesOf(app, logged, [BACKCHANNEL_PATH], method))[0] : undefined;
  return { status: res.status, text, json, code, headers: res.headers, answeredAt };
}

/**
 * A refused logout token: 400 with the spec's JSON error and nothing more (the reason is
 * the gate's log line's, not the provider's), `code` in the gate's log.
 */
function assertRefusedToken(answer, code, what) {
  assert.equal(answer.status, 400, `${what}: ${answer.status} ${short(answer.text)}`);
  assert.deepEqual(answer.json, { error: "invalid_request" }, `${what}: ${short(answer.text)}`);
  if (answer.code !== undefined) assert.equal(answer.code, code, `${what}: the gate's code`);
}

// ---------------------------------------------------------------------------------------

test("back-channel logout across two next start processes (proxy.ts) sharing Redis", { timeout: 300_000 }, async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const ports = { a: await freePort(), b: await freePort(), down: await freePort() };
  const origins = Object.fromEntries(Object.entries(ports).map(([k, p]) => [k, `http://127.0.0.1:${p}`]));
  const op = await startLoginProvider({ appOrigins: Object.values(origins), backchannelLogout: origins.a });
  t.after(() => op.stop());
  const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
  t.after(() => backend.stop());

  const { dir, seconds } = buildTemplate("login", "login-backchannel", {
    env: {
      UPSTREAM_URL: backend.url, LOGIN_ISSUER: op.issuer, LOGIN_CLIENT_ID: op.clientId, LOGIN_CLIENT_SECRET: op.clientSecret,
      LOGIN_SECRET: SECRET, LOGIN_RESOURCE: RESOURCES.rs, APP_ORIGIN: Object.values(origins).join(","), LOGIN_PUSH: "0",
      LOGIN_BACKCHANNEL: RECHECK,
    },
    files: { "proxy.ts": readFileSync(new URL("./login/variants/proxy-backchannel.ts", import.meta.url), "utf8") },
  });
  console.log(`next build of the login app with back-channel logout: ${seconds.toFixed(1)} s`);
  const [serverA, serverB] = await Promise.all(["a", "b"].map((k) => startNext(dir, { port: ports[k], env: { REDIS_URL: redis.url } })));
  t.after(() => (serverA.stop(), serverB.stop()));
  const A = viaHttp(origins.a, () => gateDecisions(serverA));
  const B = viaHttp(origins.b, () => gateDecisions(serverB));
  const printLogs = () => {
    for (const [name, s] of [["A", serverA], ["B", serverB]]) {
      console.log(`process ${name}'s last decisions:\n${gateDecisions(s).slice(-25).map((d) => JSON.stringify(d)).join("\n")}\n${s.output().split("\n").filter((l) => !l.startsWith('{"edgegate"')).slice(-20).join("\n")}`);
    }
  };
  const step = (name, fn) =>
    t.test(name, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        printLogs();
        throw e;
      }
    });

  await step("discovery: the provider offers back-channel logout with sessions", async () => {
    const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.backchannel_logout_supported, true);
    assert.equal(discovery.backchannel_logout_session_supported, true);
  });

  await step("Chromium: signed in on A, the session works on A and B; the provider ends it through A; B refuses it within recheckDuration; a new sign-in works", async (st) => {
    const browser = await launchChromium(st);
    if (!browser) return;
    const context = await browser.newContext();
    await loopbackOnly(context);
    const page = await context.newPage();
    const dashboardShows = async (origin, login) => {
      assert.equal(page.url(), `${origin}/dashboard`);
      await page.waitForSelector("#seen-by", { timeout: 15_000 });
      assert.equal(await page.textContent("#seen-by"), `Backend says you are ${login}`);
      await page.waitForSelector("#profile", { timeout: 15_000 });
      assert.equal(await page.textContent("#profile"), `User ${login} <${login}@users.edgegate.test>`);
    };

    // Signed in on A through the provider's own pages.
    await page.goto(`${A.origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer);
    await signInAtProvider(page, op.issuer, { login: "alice" });
    await dashboardShows(A.origin, "alice");
    const idToken = op.seen.idTokens.findLast((e) => e.claims.sub === "alice");
    const sid = idToken?.claims.sid;
    assert.match(sid ?? "", /^[\w-]{20,}$/, "the ID token carries the provider session's sid");
    const cookieHeader = async () => (await context.cookies(A.origin)).map((c) => `${c.name}=${c.value}`).join("; ");
    const cookie = await cookieHeader();
    assert.equal(claimsOf(/(?:^|; )token=([^;]+)/.exec(cookie)[1]).sid, undefined, "no sid in the access token: the gate finds it in its sealed ID token");

    // The same cookies (one host, two ports) on B: the session works there too.
    await page.goto(`${B.origin}/dashboard`);
    await dashboardShows(B.origin, "alice");
    await assertAlive(A, cookie, "alice", "before the logout, on A");
    await assertAlive(B, cookie, "alice", "before the logout, on B");

    // The user signs out at the provider (its own sign-out page): the provider POSTs a
    // logout token to A's /auth/backchannel-logout, and ends its session.
    const sent = op.seen.backchannel.length;
    const logged = A.decisions().length;
    const atProvider = await context.newPage();
    await atProvider.goto(`${op.issuer}/session/end`);
    await confirmLogoutAtProvider(atProvider);
    const posts = op.seen.backchannel.slice(sent);
    assert.equal(posts.length, 1, `one logout token sent: ${JSON.stringify(posts)}`);
    const [post] = posts;
    assert.equal(post.url, `${A.origin}${BACKCHANNEL_PATH}`);
    assert.equal(post.status, 200, `A answered ${post.status} ${short(post.body)} ${post.error ?? ""}`);
    assert.deepEqual(JSON.parse(post.body), {});
    assert.equal(post.header.typ, "logout+jwt");
    assert.deepEqual([post.claims.sub, post.claims.sid, post.claims.aud, post.claims.iss], ["alice", sid, op.clientId, op.issuer]);
    assert.deepEqual(post.claims.events, { [BACKCHANNEL_EVENT]: {} });
    const [recorded] = await codesOf(A, logged, [BACKCHANNEL_PATH], "POST");
    assert.match(recorded, /^OK_/, "A logged the logout as taken");
    console.log(`the provider's logout token: header ${JSON.stringify(post.header)}, claims ${Object.keys(post.claims).join(", ")}; A logged ${recorded}`);

    // A, which received it, refuses the session at once; B within recheckDuration.
    await assertEnded(A, cookie, "on A, right after the logout token");
    const tookB = await waitUntilRefused(B, cookie, post.doneAt);
    await assertEnded(B, cookie, "on B");
    console.log(`B refused the session from a request started ${tookB} ms after A had answered the provider's logout token (recheckDuration ${RECHECK})`);

    // In the browser: B's dashboard sends the user to sign in again; the provider asks.
    await page.goto(`${B.origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer, `B sent the browser to ${page.url()}`);
    assert.deepEqual((await context.cookies(B.origin)).filter((c) => SESSION_COOKIES.includes(c.name)).map((c) => c.name), [], "the browser's session cookies are gone");
    await page.locator('input[name="login"]').waitFor({ timeout: 15_000 });

    // Signing in again gives a new session (a new sid), which works on both.
    await signInAtProvider(page, op.issuer, { login: "alice" });
    await dashboardShows(B.origin, "alice");
    const again = await cookieHeader();
    const newSid = op.seen.idTokens.findLast((e) => e.claims.sub === "alice").claims.sid;
    assert.notEqual(newSid, sid, "a new provider session");
    await assertAlive(A, again, "alice", "signed in again, on A");
    await assertAlive(B, again, "alice", "signed in again, on B");
    await page.goto(`${A.origin}/dashboard`);
    await dashboardShows(A.origin, "alice");
    // And the old cookies, replayed by whoever kept them, stay refused.
    await assertEnded(A, cookie, "the old cookies, on A");
    await context.close();
  });

  await step("a logout token with only sub ends that user's sessions from before its iat on both, not a later sign-in", async () => {
    const jar = new Map();
    const cookie = await signIn(A, "sam", jar);
    const other = await signIn(B, "sue");
    await assertAlive(B, cookie, "sam", "before");
    // A second on, so sam's sign-in is strictly before the token's iat (whole seconds).
    await sleep(1100);
    // The provider's key, no sid (as a provider ending every session of a user sends it).
    const answer = await postLogout(A, op.logoutToken({ sub: "sam" }));
    assert.equal(answer.status, 200, short(answer.text));
    assert.deepEqual(answer.json, {});
    await assertEnded(A, cookie, "sam on A");
    const took = await waitUntilRefused(B, cookie, answer.answeredAt);
    await assertEnded(B, cookie, "sam on B");
    console.log(`sub-only logout: B refused sam's session from a request started ${took} ms after A had answered`);
    await assertAlive(A, other, "sue", "another user");
    await assertAlive(B, other, "sue", "another user");
    // Signed in after the token's iat (a second later): that session lives.
    await sleep(1100);
    const again = await signIn(A, "sam", jar);
    await assertAlive(A, again, "sam", "signed in again, on A");
    await sleep(RECHECK_MS + 200);
    await assertAlive(B, again, "sam", "signed in again, on B");
  });

  await step("forged and misdirected logout tokens: 400 ERR_LOGOUT_TOKEN, the live session untouched on A and B", async () => {
    const jar = new Map();
    const cookie = await signIn(A, "victor", jar);
    const sid = op.seen.idTokens.findLast((e) => e.claims.sub === "victor").claims.sid;
    const sub = "victor";
    const token = /(?:^|; )token=([^;]+)/.exec(cookie)[1];
    await assertAlive(B, cookie, sub, "before");
    const foreign = privateJwk("rsa", { modulusLength: 2048 }, "RS256");
    const now = Math.floor(Date.now() / 1000);
    const attacks = {
      "signed with a foreign key under the provider's kid": op.logoutToken({ sub, sid, key: { ...foreign, kid: op.signingKey.kid } }),
      "signed with a foreign key under its own kid": op.logoutToken({ sub, sid, key: foreign }),
      "unsigned (alg none)": op.logoutToken({ sub, sid, header: { alg: "none" } }),
      "the signature of another token": `${op.logoutToken({ sub, sid }).split(".").slice(0, 2).join(".")}.${op.logoutToken({ sub: "other", sid }).split(".")[2]}`,
      "for another client (aud other-app)": op.logoutToken({ sub, sid, clientId: CLIENTS.other.client_id }),
      "from another issuer": op.logoutToken({ sub, sid, claims: { iss: "http://localhost:1" } }),
      "expired": op.logoutToken({ sub, sid, claims: { iat: now - 600, exp: now - 480 } }),
      "issued an hour ago (exp still ahead)": op.logoutToken({ sub, sid, claims: { iat: now - 3600, exp: now + 60 } }),
      "with a nonce (an ID token's claim)": op.logoutToken({ sub, sid, claims: { nonce: "n-0123456789abcdef" } }),
      "without the events claim": op.logoutToken({ sub, sid, claims: { events: undefined } }),
      "with events but not the back-channel logout event": op.logoutToken({ sub, sid, claims: { events: { "http://schemas.openid.net/event/other": {} } } }),
      "with neither sid nor sub": op.logoutToken({}),
      "typ at+jwt": op.logoutToken({ sub, sid, header: { typ: "at+jwt" } }),
      "without jti": op.logoutToken({ sub, sid, claims: { jti: undefined } }),
      "the user's own access token": token,
    };
    const refused = [];
    for (const [what, logoutToken] of Object.entries(attacks)) {
      const answer = await postLogout(A, logoutToken);
      try {
        assertRefusedToken(answer, "ERR_LOGOUT_TOKEN", what);
        refused.push(what);
      } catch (e) {
        refused.push(`NOT REFUSED AS EXPECTED: ${what}: ${answer.status} ${answer.code} ${short(answer.text)}`);
      }
    }
    const wrong = refused.filter((r) => r.startsWith("NOT"));
    assert.deepEqual(wrong, [], wrong.join("\n"));
    // Each refusal ended nothing: the session lives on A now, and on B after a recheck.
    await assertAlive(A, cookie, sub, "after the attack tokens, on A");
    await sleep(RECHECK_MS + 200);
    await assertAlive(B, cookie, sub, "after the attack tokens, on B");

    // Not a logout token at all, and the other methods.
    const empty = await postLogout(A, undefined, { body: new URLSearchParams() });
    assert.equal(empty.status, 400, `no logout_token: ${empty.status} ${short(empty.text)}`);
    const garbage = await postLogout(A, "not.a.jwt");
    assertRefusedToken(garbage, "ERR_LOGOUT_TOKEN", "not a JWT");
    const get = await postLogout(A, undefined, { method: "GET" });
    assert.equal(get.status, 405, `GET: ${get.status} ${short(get.text)}`);

    // The control: a good token for another session of the same user is taken, and ends
    // only that one.
    const control = await postLogout(A, op.logoutToken({ sub, sid: "another-session-of-victor" }));
    assert.equal(control.status, 200, `a good token: ${control.status} ${short(control.text)}`);
    await assertAlive(A, cookie, sub, "after a logout of another sid, on A");
    await assertAlive(B, cookie, sub, "after a logout of another sid, on B");
  });

  await step("a replayed logout token: 400 ERR_LOGOUT_REPLAYED on A and on B, the new session untouched", async () => {
    const jar = new Map();
    const first = await signIn(A, "rita", jar);
    const [post] = await op.endSession(jar);
    assert.ok(post, "the provider sent a logout token");
    assert.equal(post.status, 200, `${post.status} ${short(post.body)} ${post.error ?? ""}`);
    await assertEnded(A, first, "rita's first session");
    const second = await signIn(A, "rita", jar);
    await assertAlive(A, second, "rita", "rita's second session");
    for (const app of [A, B]) {
      const answer = await postLogout(app, post.logoutToken);
      assertRefusedToken(answer, "ERR_LOGOUT_REPLAYED", `the same token again, on ${app === A ? "A" : "B"}`);
    }
    await assertAlive(A, second, "rita", "after the replays, on A");
    await sleep(RECHECK_MS + 200);
    await assertAlive(B, second, "rita", "after the replays, on B");
    await assertEnded(B, first, "rita's first session, on B");
  });

  await step("Redis unreachable (onStoreError deny): 503 ERR_SESSION_UNCHECKED, the session kept; logout tokens 503", async () => {
    const jar = new Map();
    const cookie = await signIn(A, "dora", jar);
    const closed = await freePort();
    const down = await startNext(dir, { port: ports.down, env: { REDIS_URL: `redis://127.0.0.1:${closed}` } });
    t.after(() => down.stop());
    const D = viaHttp(origins.down, () => gateDecisions(down));
    const logged = D.decisions().length;
    const r = await probe(D, cookie);
    assert.equal(r.api.status, 503, `/api/stocks: ${r.api.status} ${short(r.apiText)}`);
    assert.equal(r.page.status, 503, `/dashboard: ${r.page.status}`);
    assert.deepEqual(cleared(r.page), [], "the session cookies are kept");
    assert.deepEqual(await codesOf(D, logged, ["/dashboard", "/api/stocks"]), ["ERR_SESSION_UNCHECKED", "ERR_SESSION_UNCHECKED"]);
    const answer = await postLogout(D, op.logoutToken({ sub: "dora", sid: "some-sid" }));
    assert.equal(answer.status, 503, `a good logout token with the store down: ${answer.status} ${short(answer.text)}`);
    // The session itself is fine where the store answers.
    await assertAlive(A, cookie, "dora", "on A");
    down.stop();
  });
});

// ---------------------------------------------------------------------------------------

test("back-channel logout across two workerd isolates sharing a Durable Object namespace", { timeout: 180_000 }, async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  // The sid in the JWT access token this time.
  const op = await startLoginProvider({ appOrigins: [origin], backchannelLogout: origin, accessTokenSid: true });
  t.after(() => op.stop());
  const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
  t.after(() => backend.stop());
  const bundle = await bundleWorker(new URL("./worker/backchannel.ts", import.meta.url).pathname, "worker-backchannel");
  const bindings = {
    ISSUER: op.issuer, CLIENT_ID: op.clientId, CLIENT_SECRET: op.clientSecret, LOGIN_SECRET: SECRET, RESOURCE: RESOURCES.rs,
    UPSTREAM: backend.url, RECHECK,
  };
  // The workers' console: one JSON line per decision, tagged with the worker's name.
  let stdout = "";
  const mf = new Miniflare({
    cf: false,
    host: "127.0.0.1",
    port,
    handleRuntimeStdio(out, err) {
      out.on("data", (d) => (stdout += d));
      err.on("data", (d) => (stdout += d));
    },
    workers: [
      // a is served on `origin` (the provider's back-channel logout URI); b is another isolate.
      { ...bundle, name: "a", bindings: { ...bindings, NAME: "a" }, durableObjects: { REFRESH: "RefreshCoordinator" } },
      { ...bundle, name: "b", bindings: { ...bindings, NAME: "b" }, durableObjects: { REFRESH: { className: "RefreshCoordinator", scriptName: "a" } } },
    ],
  });
  t.after(() => mf.dispose());
  assert.equal((await mf.ready).origin, origin);
  const decisionsOf = (name) => () =>
    stdout.split("\n").map((line) => line.slice(line.indexOf('{"edgegate"'))).filter((line) => line.startsWith('{"edgegate"'))
      .map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          return null;
        }
      })
      .filter((d) => d?.worker === name);
  const A = viaHttp(origin, decisionsOf("a"));
  const workerB = await mf.getWorker("b");
  const B = {
    origin,
    send: (path, { headers = {}, ...init } = {}) => workerB.fetch(`${origin}${path}`, { ...init, headers, redirect: "manual" }),
    decisions: decisionsOf("b"),
  };
  const step = (name, fn) =>
    t.test(name, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        console.log(`the workers' last output:\n${stdout.split("\n").slice(-40).join("\n")}`);
        throw e;
      }
    });

  await step("signed in on a, the session works on a and b; the provider ends it through a; b refuses it within recheckDuration; a new sign-in works", async () => {
    const jar = new Map();
    const cookie = await signIn(A, "wanda", jar);
    const access = claimsOf(/(?:^|; )token=([^;]+)/.exec(cookie)[1]);
    assert.match(access.sid ?? "", /^[\w-]{20,}$/, "the access token carries the sid");
    await assertAlive(A, cookie, "wanda", "before, on a");
    await assertAlive(B, cookie, "wanda", "before, on b");

    const [post, ...more] = await op.endSession(jar);
    assert.equal(more.length, 0);
    assert.equal(post?.url, `${origin}${BACKCHANNEL_PATH}`);
    assert.equal(post.status, 200, `a answered ${post.status} ${short(post.body)} ${post.error ?? ""}`);
    assert.equal(post.claims.sid, access.sid);
    await assertEnded(A, cookie, "on a, right after the logout token");
    const took = await waitUntilRefused(B, cookie, post.doneAt);
    await assertEnded(B, cookie, "on b");
    console.log(`workerd: b refused the session from a request started ${took} ms after a had answered the provider's logout token (recheckDuration ${RECHECK})`);

    const again = await signIn(A, "wanda", jar);
    assert.notEqual(claimsOf(/(?:^|; )token=([^;]+)/.exec(again)[1]).sid, access.sid, "a new provider session");
    await assertAlive(A, again, "wanda", "signed in again, on a");
    await assertAlive(B, again, "wanda", "signed in again, on b");
    // The replayed token, on the isolate that did not receive it: the Durable Object knows.
    const replay = await postLogout(B, post.logoutToken);
    assertRefusedToken(replay, "ERR_LOGOUT_REPLAYED", "the provider's token again, on b");
    await assertAlive(B, again, "wanda", "after the replay, on b");
  });
});
