// OAuth 2.0 Form Post Response Mode (`login.responseMode: "form_post"`) end to end, against
// the real oidc-provider 9 (login-provider.mjs: addressed as http://localhost:<port>, so
// cross-site to the apps on http://127.0.0.1:<port>) and the Express backend verifying the
// provider's access token: the provider answers the authorization request with a page
// whose script POSTs code, state and iss to <origin>/auth/callback, a cross-site POST that
// only a SameSite=None transaction cookie survives.
//
// The hosts: the login app (login/, built with LOGIN_RESPONSE_MODE=form_post) under `next
// start` with proxy.ts (Node runtime) and with middleware.ts (Edge runtime, pushing its
// authorization requests), each reading the body from the Request stream Next hands it;
// Express with edgegate/node (Node's IncomingMessage); a Worker in workerd (Miniflare,
// worker/form-post.ts), also addressed as http://localhost:<port>. Each passes the same
// scenarios: a user signing in through the provider's pages in headless Chromium, the
// answer never in a URL; then what an attacker or a confused client sends to the callback:
// the answer in a GET's query, a JSON, text/plain or multipart body, the query of a POST,
// a replay of the form after it signed in, another user's answer posted into the victim's
// browser from a cross-site page, a body over the limit.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";
import { browserRequest, buildTemplate, bundleWorker, freePort, gateDecisions, launchChromium, startNext, startUpstream } from "./helpers.mjs";
import { dashboard, home } from "./login-pages.mjs";
import { RESOURCES, authorizeAtProvider, loopbackOnly, providerForm, startLoginProvider, submitProviderForm } from "./login-provider.mjs";

// One port per app, chosen before the provider starts: each origin is registered there.
const PORTS = { proxy: await freePort(), middleware: await freePort(), express: await freePort(), worker: await freePort() };
const ORIGIN = Object.fromEntries(Object.entries(PORTS).map(([name, port]) => [name, `http://127.0.0.1:${port}`]));
const SECRET = randomBytes(32).toString("base64url");

const op = await startLoginProvider({ appOrigins: Object.values(ORIGIN) });
const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
after(() => Promise.all([op.stop(), backend.stop()]));

const NAVIGATE = { "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-dest": "document", "sec-fetch-user": "?1" };
/** The headers of the provider page's form POST arriving at the app, as Chromium sends them. */
const CROSS_SITE_POST = { ...NAVIGATE, "sec-fetch-site": "cross-site", "sec-fetch-user": undefined, origin: op.issuer };
const FORM = "application/x-www-form-urlencoded";
const SESSION_COOKIES = ["token", "refreshToken", "idToken"];
const TX = /^edgegate-tx-/;

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));
const jwtClaims = (token) => b64json(token.split(".")[1]);
const byName = (cookies) => Object.fromEntries(cookies.map((c) => [c.name, c]));
/** `[name, value, attributes]` of each Set-Cookie line. */
const parseSetCookies = (lines) =>
  lines.map((line) => {
    const [pair, ...attributes] = line.split(";").map((s) => s.trim());
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1), attributes.join("; ")];
  });
const removed = (attributes) => /max-age=0\b/i.test(attributes);
/** The session cookies `lines` set (not clear), by name without a chunk suffix. */
const sessionSet = (lines) =>
  parseSetCookies(lines).filter(([name, value, attributes]) => SESSION_COOKIES.includes(name.replace(/\.\d+$/, "")) && value && !removed(attributes));
/** A Cookie header of what `lines` set. */
const cookieHeader = (lines) =>
  parseSetCookies(lines).filter(([, value, attributes]) => value && !removed(attributes)).map(([n, v]) => `${n}=${v}`).join("; ");
const withoutUndefined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const exchanges = () => (op.counts.token.authorization_code ?? 0) + (op.counts.tokenErrors.authorization_code ?? 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// The provider without a browser: its sign-in and consent pages, then its form_post page.

/**
 * `login` at the provider for `authorizeUrl`, without a browser: through its sign-in and
 * consent pages to the page that would post its answer. Resolves that form: `{ action,
 * fields }` (code, state, iss). Fails if the provider redirects off its origin instead (the
 * answer in a URL).
 */
async function formPostAtProvider(authorizeUrl, { login = "nora", jar = new Map() } = {}) {
  const answer = await authorizeAtProvider(authorizeUrl, { login, jar });
  if (typeof answer === "string") throw new Error(`the provider redirected to ${answer} instead of posting its answer`);
  return answer;
}

/**
 * In a Chromium `page` at the provider (`provider`, its origin): signs in as `login` and
 * consents (each when asked) until the page has left the provider (its form_post page
 * submits itself). Unlike login-provider.mjs's signInAtProvider, it does not expect to see
 * a page of the provider's after consent: the form page leaves on its own.
 */
async function signInPostingBack(page, provider, login) {
  const gone = page.waitForURL((u) => u.origin !== provider, { timeout: 30_000 }).then(() => "gone");
  for (let step = 0; step < 6; step++) {
    const shown = providerForm(page).waitFor({ timeout: 15_000 }).then(() => "form", (e) => e);
    const next = await Promise.race([gone, shown]);
    if (next === "gone") break;
    if (next instanceof Error) throw new Error(`no sign-in or consent form at ${page.url()}`, { cause: next });
    await submitProviderForm(page, login);
  }
  await gone;
  await page.waitForLoadState();
}

/** A cross-site page (another host than the app's) that auto-submits a form of `fields` to `target`. */
async function startAttacker() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://attacker");
    const target = JSON.stringify(url.searchParams.get("target") ?? "/");
    const fields = JSON.stringify(JSON.parse(url.searchParams.get("fields") ?? "{}"));
    const script = `const f = document.createElement("form"); f.method = "post"; f.action = ${target};
for (const [n, v] of Object.entries(${fields})) { const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.append(i); }
document.body.append(f); f.submit();`.replaceAll("<", "\\u003c");
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><body><script>${script}</script></body>`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://localhost:${server.address().port}`,
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}

// ---------------------------------------------------------------------------------------
// What every host must show. `host`: { name, origin, decisions() (the gate's log entries so
// far), output() (the host's last output, printed when a step fails), pushed (it pushes its
// authorization requests), localhost (it also serves as http://localhost:<port>) }.

/** The gate's log entry for the `since`-th request on, of `method path`: waits a little for the line. */
async function loggedDecision(host, since, method, path) {
  for (let i = 0; i < 40; i++) {
    const entry = host.decisions().slice(since).find((d) => d.method === method && d.path === path);
    if (entry) return entry;
    await sleep(50);
  }
  return undefined;
}

async function formPostScenarios(t, host) {
  const { origin } = host;
  const CALLBACK = `${origin}/auth/callback`;
  const step = (name, fn, options = {}) =>
    t.test(name, options, async (st) => {
      try {
        await fn(st);
      } catch (e) {
        if (!options.todo) console.log(`${name} failed; the gate's last decisions:\n${host.decisions().slice(-20).map((d) => JSON.stringify(d)).join("\n")}\n${host.output().slice(-2000)}`);
        throw e;
      }
    });
  /** GET /auth/login as a navigation: the authorization URL and the transaction cookie. */
  const beginLogin = async () => {
    const res = await browserRequest(`${origin}/auth/login?returnTo=%2Fdashboard`, { headers: NAVIGATE });
    assert.equal(res.status, 307, await res.text());
    const authorize = new URL(res.headers.get("location"));
    const tx = parseSetCookies(res.headers.getSetCookie()).filter(([name]) => TX.test(name));
    assert.equal(tx.length, 1, res.headers.getSetCookie().join("\n"));
    return { authorize, tx: tx[0], txCookie: `${tx[0][0]}=${tx[0][1]}` };
  };
  /** A request to the callback as a browser's cross-site navigation would send it: `{ status, text, json, setCookies, location, logged }`. */
  const toCallback = async ({ method = "POST", query = "", contentType = FORM, body, cookie, headers = {} } = {}) => {
    const since = host.decisions().length;
    const res = await browserRequest(`${CALLBACK}${query}`, {
      method,
      headers: withoutUndefined({ ...(method === "GET" ? { ...NAVIGATE, "sec-fetch-site": "cross-site" } : CROSS_SITE_POST), ...(body !== undefined ? { "content-type": contentType } : {}), ...(cookie ? { cookie } : {}), ...headers }),
      body,
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {}
    const logged = await loggedDecision(host, since, method, "/auth/callback");
    return { status: res.status, text, json, setCookies: res.headers.getSetCookie(), location: res.headers.get("location"), cacheControl: res.headers.get("cache-control"), logged };
  };
  /** A refusal: `status`, the gate's `code` (its log line's, and the body's for a 400), no session cookie, the code not exchanged. */
  const assertRefused = (answer, { status, code }, what, exchangedBefore) => {
    const summary = `${what}: ${answer.status} ${answer.text.slice(0, 200)} ${JSON.stringify(answer.logged)}`;
    assert.equal(answer.status, status, summary);
    assert.equal(answer.logged?.edgegate, code, summary);
    if (status === 400) assert.equal(answer.json?.code, code, summary);
    assert.deepEqual(sessionSet(answer.setCookies).map(([n]) => n), [], `${what}: no session cookie`);
    assert.equal(answer.location, null, `${what}: no redirect`);
    if (exchangedBefore !== undefined) assert.equal(exchanges(), exchangedBefore, `${what}: the code was not exchanged`);
  };

  const browser = await launchChromium(t);
  /** The browser login's form post (its body and the Cookie header it carried), for the replay step. */
  let browserPost;

  await step("Chromium: /dashboard → the provider's pages → its form POSTs the answer → /dashboard signed in; the answer in no URL", async (st) => {
    if (!browser) return st.skip("no Chromium");
    const context = await browser.newContext();
    await loopbackOnly(context);
    const page = await context.newPage();
    // Every URL the tab asked for or showed.
    const requested = [];
    const shown = [];
    page.on("request", (r) => r.isNavigationRequest() && requested.push(`${r.method()} ${r.url()}`));
    page.on("framenavigated", (f) => f === page.mainFrame() && shown.push(f.url()));
    const authorizations = op.seen.authorizations.length;
    const exchangedBefore = exchanges();
    const logged = host.decisions().length;

    await page.goto(`${origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer, "at the provider");
    const sent = op.seen.authorizations.slice(authorizations);
    assert.equal(sent.length, 1, "one authorization request");
    const [q] = sent;
    assert.equal(q.response_mode, "form_post");
    if (host.pushed) {
      // RFC 9126: response_mode went over the back channel with the rest; the browser carried a request_uri.
      assert.equal(q.pushed, true);
      assert.equal(op.seen.pushes.at(-1).params.response_mode, "form_post");
    }
    assert.equal(q.response_type, "code");
    assert.equal(q.redirect_uri, CALLBACK);
    assert.equal(q.code_challenge_method, "S256");

    // Chromium kept the SameSite=None; Secure transaction cookie set over http://127.0.0.1.
    const pending = (await context.cookies(origin)).filter((c) => TX.test(c.name));
    assert.deepEqual(pending.map((c) => c.name), [`edgegate-tx-${q.state}`], "the transaction cookie in Chromium's jar");
    const [tx] = pending;
    assert.deepEqual([tx.sameSite, tx.secure, tx.httpOnly, tx.path], ["None", true, true, "/"]);

    const answered = page.waitForResponse((r) => r.url().startsWith(CALLBACK), { timeout: 30_000 });
    await signInPostingBack(page, op.issuer, "alice");
    const answer = await answered;
    const post = answer.request();
    assert.equal(`${post.method()} ${post.url()}`, `POST ${CALLBACK}`, "the provider's page POSTed to the callback, no query");
    const headers = await post.allHeaders();
    assert.equal(headers["content-type"], FORM);
    assert.equal(headers.origin, op.issuer, "posted by the provider's page: a cross-site POST");
    const form = Object.fromEntries(new URLSearchParams(post.postData()));
    assert.deepEqual(Object.keys(form).sort(), ["code", "iss", "state"], post.postData());
    assert.equal(form.state, q.state);
    assert.equal(form.iss, op.issuer);
    // The SameSite=None cookie rode on the cross-site POST.
    const sentCookies = (headers.cookie ?? "").split(/;\s*/);
    assert.ok(sentCookies.includes(`${tx.name}=${tx.value}`), `the POST carried the transaction cookie: ${headers.cookie}`);
    browserPost = { body: post.postData(), cookie: `${tx.name}=${tx.value}`, state: form.state };

    assert.equal(answer.status(), 303, await answer.text().catch(() => ""));
    assert.equal(new URL(answer.headers().location, origin).href, `${origin}/dashboard`);
    assert.match(answer.headers()["cache-control"] ?? "", /no-store/);
    const entry = await loggedDecision(host, logged, "POST", "/auth/callback");
    assert.equal(entry?.status, 303, JSON.stringify(entry));
    assert.equal(exchanges() - exchangedBefore, 1, "one code exchange");
    const exchange = op.seen.tokenRequests.findLast((r) => r.grantType === "authorization_code");
    assert.deepEqual([exchange.ok, exchange.client, exchange.params.code], [true, op.clientId, form.code]);

    // Signed in on the page returnTo named: the profile from /auth/session, and the backend's
    // data through /api with the provider's access token.
    assert.equal(page.url(), `${origin}/dashboard`);
    await page.waitForSelector("#seen-by:not([hidden])", { timeout: 15_000 });
    assert.equal(await page.textContent("#seen-by"), "Backend says you are alice");
    await page.waitForSelector("#profile:not([hidden])", { timeout: 15_000 });
    assert.equal(await page.textContent("#profile"), "User alice <alice@users.edgegate.test>");
    const cookies = byName(await context.cookies(origin));
    assert.deepEqual(Object.keys(cookies).filter((n) => TX.test(n)), [], "the transaction cookie is cleared");
    for (const name of SESSION_COOKIES) {
      assert.ok(cookies[name], `${name} is set: ${Object.keys(cookies)}`);
      assert.deepEqual([cookies[name].httpOnly, cookies[name].sameSite], [true, "Lax"], name);
    }
    const whoami = await page.evaluate(async () => (await fetch("/api/whoami")).json());
    assert.equal(whoami.sub, "alice");
    assert.equal(whoami.authorization, `Bearer ${cookies.token.value}`, "the backend got the session's access token as the bearer");
    assert.deepEqual([jwtClaims(cookies.token.value).sub, jwtClaims(cookies.token.value).aud], ["alice", RESOURCES.rs]);

    // Neither the code nor the provider's state and issuer in any URL the tab visited.
    const urls = [...requested.map((r) => r.slice(r.indexOf(" ") + 1)), ...shown];
    for (const url of urls) {
      const { searchParams } = new URL(url);
      assert.ok(!searchParams.has("code"), `code in ${url}`);
      assert.ok(!url.includes(form.code), `the code in ${url}`);
      if (url.startsWith(origin)) assert.ok(!searchParams.has("state") && !searchParams.has("iss"), `the answer in ${url}`);
    }
    assert.ok(requested.includes(`POST ${CALLBACK}`), requested.join("\n"));
    console.log(`${host.name}: the tab's navigations:\n  ${requested.join("\n  ")}`);
    await context.close();
  });

  if (host.localhost) {
    await step("Chromium on http://localhost:<port> (the app and provider same-site there): the Secure transaction cookie kept, signed in", async (st) => {
      if (!browser) return st.skip("no Chromium");
      const local = origin.replace("//127.0.0.1:", "//localhost:");
      const context = await browser.newContext();
      await loopbackOnly(context);
      const page = await context.newPage();
      await page.goto(`${local}/dashboard`);
      assert.equal(new URL(page.url()).origin, op.issuer);
      assert.equal(op.seen.authorizations.at(-1).redirect_uri, `${local}/auth/callback`);
      const pending = (await context.cookies(local)).filter((c) => TX.test(c.name));
      assert.deepEqual(pending.map((c) => [c.sameSite, c.secure]), [["None", true]], "Chromium kept it over http://localhost");
      const answered = page.waitForResponse((r) => r.url().startsWith(`${local}/auth/callback`), { timeout: 30_000 });
      await signInPostingBack(page, op.issuer, "lucy");
      const answer = await answered;
      assert.equal(answer.request().method(), "POST");
      assert.equal(answer.status(), 303);
      assert.equal(page.url(), `${local}/dashboard`);
      await page.waitForSelector("#seen-by:not([hidden])", { timeout: 15_000 });
      assert.equal(await page.textContent("#seen-by"), "Backend says you are lucy");
      assert.deepEqual((await context.cookies(local)).filter((c) => TX.test(c.name)), [], "the transaction cookie is cleared");
      await context.close();
    });
  }

  await step("the browser's form replayed after it signed in (its transaction cookie copied, or without it): no session, no second exchange", async (st) => {
    if (!browserPost) return st.skip("needs the browser login");
    const before = exchanges();
    assertRefused(await toCallback({ body: browserPost.body, cookie: browserPost.cookie }), { status: 400, code: "ERR_LOGIN_EXCHANGE" }, "the same form and cookie again", before);
    assertRefused(await toCallback({ body: browserPost.body }), { status: 400, code: "ERR_LOGIN_STATE" }, "the same form, no transaction cookie", before);
  });

  await step("the answer sent otherwise than as a posted form is refused, the code not spent: then the form signs in once", async () => {
    const { authorize, tx, txCookie } = await beginLogin();
    const [, , attributes] = tx;
    for (const attribute of [/HttpOnly/i, /SameSite=None/i, /(^|; )Secure(;|$)/i, /Path=\//i]) assert.match(attributes, attribute, "the transaction cookie");
    const { action, fields } = await formPostAtProvider(authorize.href, { login: "nora" });
    assert.equal(op.seen.authorizations.at(-1).response_mode, "form_post");
    assert.equal(action, CALLBACK);
    assert.deepEqual(Object.keys(fields).sort(), ["code", "iss", "state"]);
    const form = new URLSearchParams(fields).toString();
    const before = exchanges();

    // The query response mode's redirect: the callback takes only the POST.
    assertRefused(await toCallback({ method: "GET", query: `?${form}`, cookie: txCookie }), { status: 405, code: "ERR_LOGIN_METHOD" }, "GET with the answer in the query", before);
    const json = await toCallback({ contentType: "application/json", body: JSON.stringify(fields), cookie: txCookie });
    assertRefused(json, { status: 400, code: "ERR_LOGIN_STATE" }, "POST of a JSON body", before);
    // What an HTML form can also send cross-site: text/plain and multipart/form-data.
    const plain = await toCallback({ contentType: "text/plain", body: form, cookie: txCookie });
    assertRefused(plain, { status: 400, code: "ERR_LOGIN_STATE" }, "POST of text/plain", before);
    const multipart = new Response(Object.entries(fields).reduce((f, [n, v]) => (f.append(n, v), f), new FormData()));
    const multipartBody = Buffer.from(await multipart.arrayBuffer());
    const mp = await toCallback({ contentType: multipart.headers.get("content-type"), body: multipartBody, cookie: txCookie });
    assertRefused(mp, { status: 400, code: "ERR_LOGIN_STATE" }, "POST of multipart/form-data", before);
    // The answer in a POST's query, with an empty form: never the mode the login did not ask for.
    const inQuery = await toCallback({ query: `?${form}`, body: "", cookie: txCookie });
    assertRefused(inQuery, { status: 400, code: "ERR_LOGIN_STATE" }, "POST with the answer in the query", before);

    // The same answer as the provider's form posts it: the login completes.
    const done = await toCallback({ body: form, cookie: txCookie });
    assert.equal(done.status, 303, `${done.text} ${JSON.stringify(done.logged)}`);
    assert.equal(new URL(done.location, origin).href, `${origin}/dashboard`);
    assert.match(done.cacheControl ?? "", /no-store/);
    assert.equal(exchanges() - before, 1);
    const set = parseSetCookies(done.setCookies);
    for (const name of SESSION_COOKIES) {
      const [, value, attrs] = set.find(([n]) => n === name) ?? [];
      assert.ok(value, `${name} set: ${done.setCookies.join(" | ")}`);
      assert.match(attrs, /SameSite=Lax/i, name);
      assert.match(attrs, /HttpOnly/i, name);
    }
    const cleared = set.find(([n]) => n === tx[0]);
    assert.ok(cleared && (!cleared[1] || removed(cleared[2])), `the transaction cookie is cleared: ${done.setCookies.join(" | ")}`);
    assert.match(cleared[2], /SameSite=None/i, "cleared under the attributes it was set with");
    const whoami = await fetch(`${origin}/api/whoami`, { headers: { cookie: cookieHeader(done.setCookies) } });
    assert.equal(whoami.status, 200);
    assert.equal((await whoami.json()).sub, "nora");

    // Posted again, as a captured form would be: nothing more.
    const exchanged = exchanges();
    assertRefused(await toCallback({ body: form, cookie: txCookie }), { status: 400, code: "ERR_LOGIN_EXCHANGE" }, "the form replayed", exchanged);
  });

  await step("Chromium: another user's answer auto-posted into the victim's browser from a cross-site page (login CSRF): refused, no session", async (st) => {
    if (!browser) return st.skip("no Chromium");
    const attacker = await startAttacker();
    st.after(() => attacker.stop());
    // Mallory's own login, up to the provider's answer, which he does not post.
    const mallory = await beginLogin();
    const { fields } = await formPostAtProvider(mallory.authorize.href, { login: "mallory" });
    // The victim has a login of her own pending: a transaction cookie, for another state.
    const context = await browser.newContext();
    await loopbackOnly(context);
    const page = await context.newPage();
    await page.goto(`${origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer);
    assert.equal((await context.cookies(origin)).filter((c) => TX.test(c.name)).length, 1);
    const before = exchanges();
    const since = host.decisions().length;
    const answered = page.waitForResponse((r) => r.url().startsWith(CALLBACK));
    await page.goto(`${attacker.origin}/?target=${encodeURIComponent(CALLBACK)}&fields=${encodeURIComponent(JSON.stringify(fields))}`);
    const answer = await answered;
    assert.equal(answer.request().method(), "POST");
    assert.equal(answer.status(), 400);
    assert.equal((await answer.json()).code, "ERR_LOGIN_STATE");
    assert.equal((await loggedDecision(host, since, "POST", "/auth/callback"))?.edgegate, "ERR_LOGIN_STATE");
    assert.equal(exchanges(), before, "mallory's code was not exchanged");
    const left = (await context.cookies(origin)).map((c) => c.name);
    assert.deepEqual(left.filter((n) => SESSION_COOKIES.includes(n.replace(/\.\d+$/, ""))), [], `no session in the victim's browser: ${left}`);
    // The victim's browser, its cookies and all, asks who it is.
    const session = await context.request.get(`${origin}/auth/session`);
    assert.deepEqual(await session.json(), { authenticated: false });
    await context.close();
  });

  await step("a form body over the limit (64 KB) is answered, signs no one in, and the host keeps serving", async () => {
    const { authorize, txCookie } = await beginLogin();
    const { fields } = await formPostAtProvider(authorize.href, { login: "olga" });
    const before = exchanges();
    // The real answer first, then padding past the gate's 16 KB for a callback's form.
    const body = `${new URLSearchParams(fields)}&pad=${"a".repeat(64 * 1024)}`;
    const big = await toCallback({ body, cookie: txCookie });
    console.log(`${host.name}: a 64 KB form at the callback: ${big.status} ${big.text.slice(0, 200)} ${JSON.stringify(big.logged)}`);
    assert.ok(big.status >= 400 && big.status < 500, `${big.status} ${big.text.slice(0, 200)}`);
    assert.deepEqual(sessionSet(big.setCookies), [], "no session cookie");
    assert.equal(exchanges(), before, "the code was not exchanged");
    const session = await fetch(`${origin}/auth/session`);
    assert.equal(session.status, 200);
  });
}

// ---------------------------------------------------------------------------------------
// The hosts.

for (const [variant, runtime, pushed] of [["proxy", "Node", false], ["middleware", "Edge", true]]) {
  const how = pushed ? "pushed authorization requests" : "the front channel";
  test(`form_post under next start with ${variant}.ts (${runtime} runtime, ${how})`, { timeout: 180_000 }, async (t) => {
    const origin = ORIGIN[variant];
    const { dir, seconds } = buildTemplate("login", `login-form-post-${variant}`, {
      env: {
        UPSTREAM_URL: backend.url, LOGIN_ISSUER: op.issuer, LOGIN_CLIENT_ID: op.clientId, LOGIN_CLIENT_SECRET: op.clientSecret,
        LOGIN_SECRET: SECRET, LOGIN_RESOURCE: RESOURCES.rs, APP_ORIGIN: origin, LOGIN_PUSH: pushed ? "1" : "0", LOGIN_RESPONSE_MODE: "form_post",
      },
      files: { [`${variant}.ts`]: readFileSync(new URL(`./login/variants/${variant}.ts`, import.meta.url), "utf8") },
    });
    console.log(`next build of the login app with ${variant}.ts and responseMode form_post: ${seconds.toFixed(1)} s`);
    const next = await startNext(dir, { port: PORTS[variant] });
    t.after(() => next.stop());
    await formPostScenarios(t, { name: `next start ${variant}.ts`, origin, pushed, decisions: () => gateDecisions(next), output: () => next.output() });
  });
}

// Express comes from the Node adapter tests' dependencies (tests/node), as in conformance.test.mjs.
const nodeTests = createRequire(new URL("../node/package.json", import.meta.url));

test("form_post in Express with edgegate/node (the body read from Node's IncomingMessage)", { timeout: 120_000 }, async (t) => {
  const origin = ORIGIN.express;
  const { default: express } = await import(pathToFileURL(nodeTests.resolve("express")).href);
  const { edgeGate } = await import("edgegate/node");
  const logged = [];
  const app = express();
  app.use(edgeGate({
    rules: [{ match: "/dashboard/:path*", kind: "page" }, { match: "/api/:path*", kind: "api", upstream: backend.url }],
    verify: { algorithms: ["RS256"], issuer: op.issuer, audience: RESOURCES.rs, typ: "at+jwt" },
    login: {
      issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, secret: SECRET, resource: RESOURCES.rs, appBaseUrl: origin,
      responseMode: "form_post", sessionClaims: ["email", "name"], authorizationParams: { prompt: "consent" },
    },
  }, { log: (entry) => logged.push(entry) }));
  app.get("/dashboard", (req, res) => res.type("html").send(dashboard));
  app.get("/", (req, res) => res.type("html").send(home));
  const server = await new Promise((resolve) => {
    const s = app.listen(PORTS.express, "127.0.0.1", () => resolve(s));
  });
  t.after(() => new Promise((r) => (server.closeAllConnections?.(), server.close(r))));
  await formPostScenarios(t, { name: "express", origin, decisions: () => logged, output: () => "" });
});

test("form_post in workerd (Miniflare)", { timeout: 120_000 }, async (t) => {
  const origin = ORIGIN.worker;
  let stdout = "";
  const mf = new Miniflare({
    ...(await bundleWorker(new URL("./worker/form-post.ts", import.meta.url).pathname, "worker-form-post")),
    cf: false,
    host: "127.0.0.1",
    port: PORTS.worker,
    bindings: {
      ISSUER: op.issuer, CLIENT_ID: op.clientId, CLIENT_SECRET: op.clientSecret, LOGIN_SECRET: SECRET, RESOURCE: RESOURCES.rs, UPSTREAM: backend.url,
    },
    handleRuntimeStdio(out, err) {
      out.on("data", (d) => (stdout += d));
      err.on("data", (d) => (stdout += d));
    },
  });
  t.after(() => mf.dispose());
  assert.equal((await mf.ready).origin, origin);
  const decisions = () =>
    stdout.split("\n").map((line) => line.slice(line.indexOf('{"edgegate"'))).filter((line) => line.startsWith('{"edgegate"')).flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
  // No appBaseUrl here: the redirect URI is the request's origin, so the app also works as http://localhost:<port>.
  await formPostScenarios(t, { name: "workerd", origin, localhost: true, decisions, output: () => stdout });
});
