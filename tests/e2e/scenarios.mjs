// One set of HTTP scenarios every host must pass identically: Next middleware (Edge),
// Next proxy.ts (Node) and a Worker. `base` is the gated app; `upstream` the Express backend.
import assert from "node:assert/strict";
import { dev, token } from "./helpers.mjs";

const get = (url, headers = {}) => fetch(url, { headers, redirect: "manual" });
const cookie = (t, extra = "") => ({ cookie: `${extra}${dev.cookie}=${t}` });

export async function gateScenarios(t, base, upstream) {
  await t.test("no cookie: page redirects to login with returnTo", async () => {
    const r = await get(`${base}/dashboard?tab=2`);
    assert.equal(r.status, 307);
    const location = new URL(r.headers.get("location"), base);
    assert.equal(location.pathname, "/login");
    assert.equal(location.searchParams.get("returnTo"), "/dashboard?tab=2");
  });

  await t.test("no cookie: api answers 401 with WWW-Authenticate", async () => {
    const r = await get(`${base}/api/stocks`);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), "Bearer");
  });

  await t.test("valid cookie: page 200 and the upstream sees the same token as a bearer, without the cookie", async () => {
    const t1 = token({ sub: "alice" });
    assert.equal((await get(`${base}/dashboard`, cookie(t1))).status, 200);
    const r = await get(`${base}/api/whoami`, { ...cookie(t1, "theme=dark; "), "x-auth-sub": "admin" });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.authorization, `Bearer ${t1}`);
    assert.equal(seen.cookie, "theme=dark");
    assert.equal(seen.sub, "alice");
    assert.equal(seen.xAuthSub, "alice", "the client's x-auth-sub was replaced by the gate's");
  });

  await t.test("bearer header works for the api", async () => {
    const t1 = token({ sub: "bob" });
    const r = await get(`${base}/api/stocks`, { authorization: `Bearer ${t1}` });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).seenBy, "bob");
  });

  for (const [name, bad] of [
    ["expired", token({ exp: Math.floor(Date.now() / 1000) - 5 })],
    ["forged", token({}, "a-different-secret-that-is-long-enough")],
    ["alg none", `${Buffer.from('{"alg":"none"}').toString("base64url")}.${token().split(".")[1]}.`],
  ]) {
    await t.test(`${name} token: page 307, api 401 invalid_token`, async () => {
      assert.equal((await get(`${base}/dashboard`, cookie(bad))).status, 307);
      const r = await get(`${base}/api/stocks`, cookie(bad));
      assert.equal(r.status, 401);
      assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/);
    });
  }

  await t.test("x-middleware-subrequest spoof is still gated and never forwarded", async () => {
    for (const value of ["middleware:middleware:middleware:middleware:middleware", "proxy:proxy:proxy:proxy:proxy", "src/middleware"]) {
      assert.equal((await get(`${base}/dashboard`, { "x-middleware-subrequest": value })).status, 307, value);
      assert.equal((await get(`${base}/api/stocks`, { "x-middleware-subrequest": value })).status, 401, value);
    }
    const r = await get(`${base}/api/whoami`, { ...cookie(token()), "x-middleware-subrequest": "middleware" });
    assert.equal((await r.json()).middlewareSubrequest, null);
  });

  await t.test("path tricks are gated or refused", async () => {
    for (const path of ["/Dashboard", "/%64ashboard", "//dashboard", "/public/%2e%2e/dashboard", "/API/stocks"]) {
      let r = await get(`${base}${path}`);
      // Next answers some spellings itself (`//x` → 308 `/x`) before middleware runs; the
      // normalized target must then be gated.
      if (r.status === 308) r = await get(new URL(r.headers.get("location"), base));
      assert.ok([307, 401].includes(r.status), `${path}: ${r.status}`);
    }
    for (const path of ["/dashboard%2Fx", "/dashboard;x", "/dashboard%00"]) {
      const r = await get(`${base}${path}`);
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      assert.notEqual(r.status, 200);
    }
  });

  await t.test("a signed-in visitor is bounced from /login", async () => {
    const r = await get(`${base}/login`, cookie(token()));
    assert.equal(r.status, 307);
    assert.equal(new URL(r.headers.get("location"), base).pathname, "/");
  });

  await t.test("the upstream refuses requests that skip the gate", async () => {
    assert.equal((await get(`${upstream}/api/stocks`)).status, 401);
    assert.equal((await get(`${upstream}/api/stocks`, cookie(token()))).status, 401, "a cookie is not a bearer");
    assert.equal((await get(`${upstream}/api/stocks`, { authorization: `Bearer ${token({}, "wrong-secret-of-sufficient-length!!")}` })).status, 401);
  });
}
