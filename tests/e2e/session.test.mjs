// The session lifecycle under `next start` with the real oidc-provider on 127.0.0.1
// (refresh-token rotation and reuse detection on): refresh at the edge with one
// token-endpoint call for 50 concurrent requests, a revoked refresh token, the CSRF matrix,
// guest redirects, and claim headers, all in front of the express-jwt + jwks-rsa upstream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildNext, startNext, startUpstream } from "./helpers.mjs";
import { RESOURCES, startOidc } from "./oidc.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cookieValue = (setCookies, name) =>
  setCookies.map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

test("session lifecycle at the edge (next start, oidc-provider)", { timeout: 300_000 }, async (t) => {
  const op = await startOidc();
  t.after(() => op.stop());
  const upstream = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
  t.after(() => upstream.stop());
  const gateSource = `import type { Options } from "edgegate";
export const gateOptions: Options = {
  rules: [
    { match: ["/api/login", "/api/logout"], kind: "public" },
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL },
    { match: "/login", kind: "guest" },
  ],
  verify: { algorithms: ["RS256", "ES256"], issuer: ${JSON.stringify(op.issuer)}, audience: ${JSON.stringify(RESOURCES.rs)}, typ: "at+jwt" },
  refresh: { tokenEndpoint: ${JSON.stringify(`${op.issuer}/token`)}, clientId: ${JSON.stringify(op.clientId)}, clientSecret: ${JSON.stringify(op.clientSecret)} },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};
`;
  const dir = buildNext("middleware", upstream.url, { gateSource, name: "session" });
  const next = await startNext(dir);
  t.after(() => next.stop());
  const get = (path, headers = {}) => fetch(`${next.url}${path}`, { headers, redirect: "manual" });

  let rotated;
  await t.test("50 concurrent requests with an expired access token share one refresh", async () => {
    const expired = await op.token(RESOURCES.short);
    await sleep(1500);
    const refreshToken = await op.refreshToken();
    const before = op.counts.refresh;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => get("/api/whoami", { cookie: `token=${expired}; refreshToken=${refreshToken}` })),
    );
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [200]);
    const seen = await Promise.all(responses.map((r) => r.json()));
    const bearers = new Set(seen.map((s) => s.authorization));
    assert.equal(bearers.size, 1, "every request forwarded the same new token");
    const [bearer] = bearers;
    assert.notEqual(bearer, `Bearer ${expired}`);
    assert.equal(seen[0].sub, "e2e-user");
    assert.equal(op.counts.refresh - before, 1, "one token-endpoint call");
    assert.equal(op.counts.refreshErrors, 0, "no reuse of the rotated refresh token");
    const cookies = responses[0].headers.getSetCookie();
    const access = cookieValue(cookies, "token");
    rotated = cookieValue(cookies, "refreshToken");
    assert.equal(`Bearer ${access}`, bearer, "the cookie holds the token sent upstream");
    assert.ok(rotated && rotated !== refreshToken, "the refresh token was rotated");
    assert.match(cookies.find((c) => c.startsWith("token=")), /; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    console.log(`refresh: 50 concurrent requests -> ${op.counts.refresh - before} token-endpoint call, 50 x 200, cookies rotated`);
    // The browser now holds the new cookies: no further refresh.
    const again = await get("/api/whoami", { cookie: `token=${access}; refreshToken=${rotated}` });
    assert.equal(again.status, 200);
    assert.equal(again.headers.getSetCookie().length, 0);
    assert.equal(op.counts.refresh - before, 1);
  });

  await t.test("a revoked refresh token clears the cookies: 401 for /api, login for pages", async () => {
    const refreshToken = await op.refreshToken("revoked-user");
    await op.revoke(refreshToken);
    const errorsBefore = op.counts.refreshErrors;
    const api = await get("/api/whoami", { cookie: `refreshToken=${refreshToken}` });
    assert.equal(api.status, 401);
    // The cookie, every chunk name the gate could join, and the refresh cookie.
    const removed = (name) => `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
    const cleared = [removed("token"), ...Array.from({ length: 10 }, (_, i) => removed(`token.${i}`)), removed("refreshToken")];
    assert.deepEqual(api.headers.getSetCookie(), cleared);
    const refreshed = await get("/dashboard", { cookie: `refreshToken=${refreshToken}` });
    assert.equal(refreshed.status, 307);
    const location = new URL(refreshed.headers.get("location"), next.url);
    assert.equal(`${location.pathname}${location.search}`, "/login?returnTo=%2Fdashboard");
    assert.deepEqual(refreshed.headers.getSetCookie(), cleared);
    console.log(`revoked refresh token: ${op.counts.refreshErrors - errorsBefore} refused call (remembered for the grace window), 401 / 307, cookies cleared`);
  });

  await t.test("CSRF: cookie-authenticated POSTs must be same-origin", async () => {
    const session = `token=${await op.token(RESOURCES.rs)}`;
    const bearer = `Bearer ${await op.token(RESOURCES.rs)}`;
    const post = (headers) => fetch(`${next.url}/api/echo`, { method: "POST", headers, redirect: "manual" });
    const matrix = [
      ["cross-site POST", { cookie: session, "sec-fetch-site": "cross-site", origin: "https://evil.example" }, 403],
      ["same-site POST", { cookie: session, "sec-fetch-site": "same-site", origin: "http://blog.127.0.0.1.nip.io" }, 403],
      ["same-origin POST", { cookie: session, "sec-fetch-site": "same-origin", origin: next.url }, 200],
      ["no Sec-Fetch-Site, foreign Origin", { cookie: session, origin: "https://evil.example" }, 403],
      ["no Sec-Fetch-Site, own Origin", { cookie: session, origin: next.url }, 200],
      ["bearer-header POST, cross-site", { authorization: bearer, "sec-fetch-site": "cross-site", origin: "https://evil.example" }, 200],
    ];
    const observed = [];
    for (const [name, headers, status] of matrix) {
      const res = await post(headers);
      assert.equal(res.status, status, name);
      if (status === 403) assert.deepEqual(await res.json(), { error: "forbidden" });
      observed.push(`${name}: ${res.status}`);
    }
    console.log(`CSRF matrix: ${observed.join("; ")}`);
  });

  await t.test("guest pages bounce a signed-in visitor; claim headers reach upstream, spoofed ones do not", async () => {
    const session = `token=${await op.token(RESOURCES.rs)}`;
    const guest = await get("/login", { cookie: session });
    assert.equal(guest.status, 307);
    assert.equal(new URL(guest.headers.get("location"), next.url).pathname, "/");
    assert.equal((await get("/login")).status, 200);
    const res = await get("/api/whoami", { cookie: session, "x-auth-sub": "admin", "x-middleware-subrequest": "middleware" });
    const seen = await res.json();
    assert.equal(seen.xAuthSub, op.clientId, "the verified sub, not the client's copy");
    assert.equal(seen.middlewareSubrequest, null);
  });
});
