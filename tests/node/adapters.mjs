// One set of HTTP scenarios for the framework adapters (edgegate/hono, edgegate/node), run
// against a real server on 127.0.0.1 with a recording upstream and a token endpoint beside
// it. The app under test routes as `adapterScenarios` says and answers with `echo`.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { gzipSync } from "node:zlib";
import { jwt } from "./sign.mjs";

export const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
export const NOW = 1_700_000_000;
const sign = (claims) => jwt("HS256", SECRET, { iss: "iss", aud: "aud", exp: NOW + 300, ...claims });

/** The cookie the app's `/api/own-cookie` handler sets itself, with a plain Set-Cookie header. */
export const OWN_COOKIE = "theme=light; Path=/";

/**
 * What a handler answers (and keeps in `reached`): the request as it reached the app, and
 * the verified claims as the framework's handlers get them.
 */
export function echo(route, { method, url, headers }, code = null, claims = null) {
  return { route, method, url, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), code, claims: claims ?? null };
}

/** Is `authorization` a bearer this gate verified (HS256 with SECRET, unexpired at NOW)? */
function verifiedBearer(authorization) {
  const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? "")?.[1];
  if (!token) return false;
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", SECRET).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected) && JSON.parse(Buffer.from(payload, "base64url")).exp > NOW;
}

async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => resolve(body));
  });
}

/** Sends `path` exactly as written (fetch would resolve dot segments and `\`). */
function raw(base, path, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/`, { method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    request.on("error", reject);
    request.end(body);
  });
}

const cookieValue = (response, name) =>
  response.headers.getSetCookie().map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

/**
 * Runs the scenarios as subtests of `t`. `start(options, host)` starts the app with the
 * adapter and resolves `{ url, reached, close }`; `reached` lists the handlers' echoes. The
 * app's handlers, by the route they report: `/api/public` "public"; `/api/own-cookie` "api",
 * also setting OWN_COOKIE; `/api/*` "api"; `/dashboard`, `/dashboard/*` "dashboard";
 * anything else "other". `decisionCode`: they report the decision's code too (Hono's
 * `c.get("edgegate")`).
 */
export async function adapterScenarios(t, start, { decisionCode = false } = {}) {
  const upstreamSeen = [];
  const upstream = await listen(async (req, res) => {
    const body = await readBody(req);
    upstreamSeen.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.url.startsWith("/base/backend/redirect")) {
      return res.writeHead(302, { location: "/elsewhere", "set-cookie": "upstream=1; Path=/" }).end();
    }
    const answer = JSON.stringify({ upstream: true, url: req.url, body });
    if (req.url.startsWith("/base/backend/gzip") && /gzip/.test(req.headers["accept-encoding"] ?? "")) {
      return res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(answer));
    }
    res.writeHead(200, { "content-type": "application/json" }).end(answer);
  });
  t.after(upstream.close);
  const refreshes = [];
  const tokenEndpoint = await listen(async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    refreshes.push(Object.fromEntries(form));
    const rt = form.get("refresh_token");
    if (form.get("grant_type") !== "refresh_token" || !rt?.startsWith("good-")) {
      return res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_grant"}');
    }
    const answer = { access_token: sign({ sub: `refreshed-${rt}` }), token_type: "Bearer", expires_in: 300, refresh_token: `${rt}-next` };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  });
  t.after(tokenEndpoint.close);

  const options = {
    verify: { algorithms: ["HS256"], keys: SECRET, issuer: "iss", audience: "aud" },
    rules: [
      { match: "/dashboard/:path*", kind: "page" },
      { match: "/api/public", kind: "public" },
      { match: "/api/:path*", kind: "api" },
      { match: "/backend/:path*", kind: "api", upstream: `${upstream.url}/base` },
    ],
    upstream: { claimHeaders: { sub: "x-auth-sub" } },
    refresh: { tokenEndpoint: `${tokenEndpoint.url}/token`, clientId: "app" },
  };
  const app = await start(options, { now: NOW });
  t.after(app.close);
  const base = app.url;
  const get = (path, headers = {}) => fetch(`${base}${path}`, { headers, redirect: "manual" });
  const alice = sign({ sub: "alice" });
  const expired = sign({ sub: "alice", exp: NOW - 10 });

  await t.test("page without a session: 307 to login with returnTo, the handler not reached", async () => {
    const before = app.reached.length;
    const r = await get("/dashboard/x?tab=2");
    assert.equal(r.status, 307);
    assert.equal(r.headers.get("location"), "/login?returnTo=%2Fdashboard%2Fx%3Ftab%3D2");
    assert.equal(app.reached.length, before);
  });

  await t.test("api without a token: 401 JSON with WWW-Authenticate", async () => {
    const r = await get("/api/stocks");
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), "Bearer");
    assert.match(r.headers.get("content-type"), /^application\/json/);
    assert.equal(typeof (await r.json()), "object");
    const forged = await get("/api/stocks", { authorization: `Bearer ${jwt("HS256", "another-secret-that-is-long-enough!!", { exp: NOW + 60 })}` });
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get("www-authenticate"), /error="invalid_token"/);
  });

  await t.test("a valid session: the handler sees the bearer, not the session cookie, and the gate's claim header", async () => {
    const r = await get("/dashboard/x?y=1", { cookie: `theme=dark; token=${alice}`, "x-auth-sub": "admin", x_auth_sub: "admin" });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.route, "dashboard");
    assert.equal(seen.url, "/dashboard/x?y=1");
    assert.equal(seen.headers.authorization, `Bearer ${alice}`);
    assert.equal(seen.headers.cookie, "theme=dark");
    assert.equal(seen.headers["x-auth-sub"], "alice", "the client's copy was replaced");
    assert.equal(seen.headers.x_auth_sub, undefined);
    if (decisionCode) assert.equal(seen.code, "OK_AUTHENTICATED");
    assert.deepEqual(seen.claims, { iss: "iss", aud: "aud", exp: NOW + 300, sub: "alice" }, "the verified claims");
    assert.deepEqual(r.headers.getSetCookie(), [], "nothing to refresh");
    const bearer = await get("/api/stocks", { authorization: `Bearer ${alice}` });
    assert.equal(bearer.status, 200);
    const api = await bearer.json();
    assert.equal(api.headers["x-auth-sub"], "alice");
    assert.equal(api.claims.sub, "alice");
  });

  await t.test("a client's claim headers are dropped where no token is needed", async () => {
    for (const path of ["/api/public", "/elsewhere"]) {
      const r = await get(path, { "x-auth-sub": "admin", "X_Auth_Sub": "admin" });
      assert.equal(r.status, 200, path);
      const seen = await r.json();
      assert.equal(seen.route, path === "/api/public" ? "public" : "other");
      assert.equal(seen.headers["x-auth-sub"], undefined, path);
      assert.equal(seen.headers.x_auth_sub, undefined, path);
      assert.equal(seen.headers.authorization, undefined, path);
      // A bearer the client sends where the gate checks nothing is not the gate's claims.
      const sent = await (await get(path, { authorization: `Bearer ${jwt("HS256", "another-secret-that-is-long-enough!!", { sub: "admin" })}` })).json();
      assert.equal(sent.claims, null, path);
    }
  });

  await t.test("a rule's upstream gets the bearer at the judged path plus query, not the cookie", async () => {
    const before = app.reached.length;
    const r = await get("/backend/%69tems?q=a%20b", { cookie: `theme=dark; token=${alice}`, "x-auth-sub": "admin" });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { upstream: true, url: "/base/backend/items?q=a%20b", body: "" });
    const arrived = upstreamSeen.at(-1);
    assert.equal(arrived.method, "GET");
    assert.equal(arrived.headers.authorization, `Bearer ${alice}`);
    assert.equal(arrived.headers.cookie, "theme=dark");
    assert.equal(arrived.headers["x-auth-sub"], "alice");
    assert.equal(arrived.headers.host, new URL(upstream.url).host, "the upstream's own Host");
    assert.equal(arrived.headers["x-forwarded-host"], new URL(base).host);
    assert.equal(app.reached.length, before, "no app handler ran");
  });

  await t.test("the upstream gets a streamed body; its redirects and cookies come back as they are", async () => {
    const chunks = ["first,", "second"];
    const body = new ReadableStream({ pull: (c) => (chunks.length ? c.enqueue(new TextEncoder().encode(chunks.shift())) : c.close()) });
    const posted = await fetch(`${base}/backend/orders`, { method: "POST", body, duplex: "half", headers: { authorization: `Bearer ${alice}` } });
    assert.equal(posted.status, 200);
    assert.equal((await posted.json()).body, "first,second");
    assert.equal(upstreamSeen.at(-1).method, "POST");
    const moved = await get("/backend/redirect", { authorization: `Bearer ${alice}` });
    assert.equal(moved.status, 302, "not followed");
    assert.equal(moved.headers.get("location"), "/elsewhere");
    assert.deepEqual(moved.headers.getSetCookie(), ["upstream=1; Path=/"]);
    const zipped = await get("/backend/gzip", { authorization: `Bearer ${alice}`, "accept-encoding": "gzip" });
    assert.equal(zipped.status, 200);
    assert.equal((await zipped.json()).url, "/base/backend/gzip", "one decoding, under the right header");
  });

  await t.test("refresh: an expired token and a refresh cookie get through, and the new session is set", async (t) => {
    const refreshed = async (path, rt, status = 200) => {
      const r = await get(path, { cookie: `token=${expired}; refreshToken=${rt}` });
      assert.equal(r.status, status, path);
      const access = cookieValue(r, "token");
      assert.ok(access, `${path}: the new access token is set`);
      assert.equal(JSON.parse(Buffer.from(access.split(".")[1], "base64url")).sub, `refreshed-${rt}`);
      assert.equal(cookieValue(r, "refreshToken"), `${rt}-next`, `${path}: the rotated refresh token is set`);
      assert.match(r.headers.getSetCookie().find((c) => c.startsWith("token=")), /; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
      // Whoever built the response, a shared cache must not keep a session (CVE-2025-48947).
      assert.equal(r.headers.get("cache-control"), "private, no-store", `${path}: private`);
      return [r, access];
    };
    await t.test("through the app's handler", async () => {
      const [r, access] = await refreshed("/dashboard", "good-page");
      const seen = await r.json();
      assert.equal(seen.headers.authorization, `Bearer ${access}`, "the handler got the new token");
      assert.equal(seen.claims.sub, "refreshed-good-page", "and its claims, not the expired one's");
      if (decisionCode) assert.equal(seen.code, "OK_REFRESHED");
    });
    await t.test("through a handler that sets a cookie of its own", async () => {
      const [r] = await refreshed("/api/own-cookie", "good-own");
      assert.ok(r.headers.getSetCookie().includes(OWN_COOKIE), "the app's cookie is kept");
    });
    await t.test("through the upstream", async () => {
      const [r, access] = await refreshed("/backend/me", "good-upstream");
      assert.equal((await r.json()).url, "/base/backend/me");
      assert.equal(upstreamSeen.at(-1).headers.authorization, `Bearer ${access}`);
    });
    await t.test("through an upstream redirect with its own cookie", async () => {
      const [r] = await refreshed("/backend/redirect", "good-redirect", 302);
      assert.ok(r.headers.getSetCookie().includes("upstream=1; Path=/"));
    });
    await t.test("a refused refresh clears the session on the login redirect and the 401", async () => {
      const removed = (name) => `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
      const cleared = [removed("token"), ...Array.from({ length: 10 }, (_, i) => removed(`token.${i}`)), removed("refreshToken")];
      const page = await get("/dashboard", { cookie: `token=${expired}; refreshToken=revoked-page` });
      assert.equal(page.status, 307);
      assert.equal(page.headers.get("location"), "/login?returnTo=%2Fdashboard");
      assert.deepEqual(page.headers.getSetCookie(), cleared);
      assert.equal(page.headers.get("cache-control"), "private, no-store");
      const api = await get("/api/stocks", { cookie: `refreshToken=revoked-api` });
      assert.equal(api.status, 401);
      assert.deepEqual(api.headers.getSetCookie(), cleared);
      assert.equal(api.headers.get("cache-control"), "private, no-store");
    });
    assert.deepEqual(
      refreshes.map((r) => r.refresh_token),
      ["good-page", "good-own", "good-upstream", "good-redirect", "revoked-page", "revoked-api"],
      "one token-endpoint call each",
    );
  });

  await t.test("no spelling of a protected path reaches its handler without a verified bearer", async () => {
    const before = app.reached.length;
    const outcomes = [];
    const paths = [
      "/API/x", "/Api/x", "/%61pi/x", "/api/%78", "/api//x", "/api/./x", "/api/x/", "/api/x.json", "//api/x",
      "/x/../api/x", "/api/%2e%2e/api/x", "/api/%2E%2E/api/x", "/public/%2e%2e/api/x", "/api%2Fx", "/api/x%2F..",
      "/api\\x", "/api/x%00", "/api/x;y", "/api/public/", "/api/PUBLIC", "/api/p%75blic", "/api/public%2F..%2Fx",
      "/api/public/..%2Fx", "/api/public/%2e%2e/x", "/api/public/../x", "/api/public.json", "/api/own-cookie/..",
      "/Dashboard", "/DASHBOARD/x", "/%64ashboard", "/dashboard%2F..", "/dashboard%2Fx", "/dashboard/", "/dashboard.json",
      "/x/../dashboard", "/dashboard/%2e%2e/dashboard", "/backend/%2e%2e/api/x", "/elsewhere/../api/x",
      // Open once resolved: the app must route them as the gate judged them, not as sent.
      "/api/%2e%2e/elsewhere", "/dashboard/%2E%2E/elsewhere", "/api/x/../../elsewhere", "/api/../api/public",
    ];
    for (const path of paths) {
      for (const method of ["GET", "POST"]) {
        const body = method === "POST" ? "name=mallory" : undefined;
        const headers = body ? { "content-type": "application/x-www-form-urlencoded", "x-auth-sub": "admin" } : { "x-auth-sub": "admin" };
        outcomes.push(`${method} ${path} ${await raw(base, path, { method, headers, body })}`);
      }
    }
    const reached = app.reached.slice(before);
    const violations = reached.filter((e) => ["api", "dashboard"].includes(e.route) && !verifiedBearer(e.headers.authorization));
    assert.deepEqual(violations, [], `reached a protected handler without a bearer:\n  ${outcomes.join("\n  ")}`);
    assert.deepEqual(reached.filter((e) => e.headers["x-auth-sub"] !== undefined), [], "a client's claim header got through");
    assert.deepEqual(upstreamSeen.filter((e) => !verifiedBearer(e.headers.authorization)), [], "the upstream got a request without a bearer");
    // The open spellings reached the handlers of the paths the gate judged.
    const open = reached.filter((e) => e.method === "GET").map((e) => `${e.route} ${e.url}`);
    assert.deepEqual(open, ["other /elsewhere", "other /elsewhere", "other /elsewhere", "public /api/public"]);
    console.log(`${base}: ${outcomes.length} spellings, none reached a protected handler without a bearer`);
  });

  await t.test("render draws refusals the app's way, and lets nobody through", async (t) => {
    const drawn = [];
    const render = (refusal, request) => {
      drawn.push([refusal.code, new URL(request.url).pathname]);
      if (refusal.action === "redirect") {
        return new Response(`<h1>Sign in</h1><a href="${refusal.location}">continue</a>`, { status: 401, headers: { "content-type": "text/html" } });
      }
      if (refusal.code === "ERR_JWT_EXPIRED") return undefined; // the gate's own answer
      return Response.json({ message: "please sign in", code: refusal.code }, { status: refusal.status });
    };
    const drawing = await start(options, { now: NOW, render });
    t.after(drawing.close);
    const at = (path, headers = {}) => fetch(`${drawing.url}${path}`, { headers, redirect: "manual" });
    const page = await at("/dashboard/x");
    assert.equal(page.status, 401);
    assert.equal(await page.text(), '<h1>Sign in</h1><a href="/login?returnTo=%2Fdashboard%2Fx">continue</a>');
    const api = await at("/api/stocks");
    assert.deepEqual([api.status, await api.json()], [401, { message: "please sign in", code: "ERR_NO_TOKEN" }]);
    const expiredOne = await at("/api/stocks", { authorization: `Bearer ${expired}` });
    assert.equal(expiredOne.status, 401);
    assert.match(expiredOne.headers.get("www-authenticate"), /error="invalid_token"/, "undefined keeps the gate's answer");
    // A refused refresh: drawn, and the session cleared all the same.
    const revoked = await at("/api/stocks", { cookie: `token=${expired}; refreshToken=revoked` });
    assert.equal((await revoked.json()).code, "ERR_REFRESH_FAILED");
    assert.ok(revoked.headers.getSetCookie().some((c) => /^refreshToken=;.*Max-Age=0/.test(c)), revoked.headers.getSetCookie().join(" | "));
    assert.equal(revoked.headers.get("cache-control"), "private, no-store");
    // Passed requests are not its to draw.
    const passed = await at("/api/stocks", { authorization: `Bearer ${alice}` });
    assert.equal((await passed.json()).route, "api");
    assert.deepEqual(drawn.map(([code]) => code), ["ERR_NO_TOKEN", "ERR_NO_TOKEN", "ERR_JWT_EXPIRED", "ERR_REFRESH_FAILED"]);
    assert.deepEqual(drawing.reached.filter((e) => e.route !== "api" || !verifiedBearer(e.headers.authorization)), [], "no refused request reached a handler");
  });
}
