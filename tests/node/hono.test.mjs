// edgegate/hono in a real Hono app on @hono/node-server: the adapter scenarios
// (adapters.mjs), and what is Hono's own: bindings-built options, one gate per middleware.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { edgeGate } from "edgegate/hono";
import { NOW, OWN_COOKIE, SECRET, adapterScenarios, echo } from "./adapters.mjs";
import { jwt } from "./sign.mjs";
import { recordCompat, versionOf } from "../compat.mjs";

async function start(options, host) {
  const reached = [];
  const app = new Hono();
  app.use("*", edgeGate(options, host));
  const report = (route, c) => {
    const { pathname, search } = new URL(c.req.url);
    const decision = c.get("edgegate");
    const seen = echo(route, { method: c.req.method, url: pathname + search, headers: c.req.header() }, decision.code, decision.claims);
    reached.push(seen);
    return seen;
  };
  app.all("/api/public", (c) => c.json(report("public", c)));
  // A plain Response with its own Set-Cookie, as a handler returning fetch() results has.
  app.all("/api/own-cookie", (c) =>
    new Response(JSON.stringify(report("api", c)), { headers: { "content-type": "application/json", "set-cookie": OWN_COOKIE } }));
  app.all("/api/*", (c) => c.json(report("api", c)));
  app.all("/dashboard", (c) => c.json(report("dashboard", c)));
  app.all("/dashboard/*", (c) => c.json(report("dashboard", c)));
  app.all("*", (c) => c.json(report("other", c)));
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    reached,
    close: () => new Promise((r) => server.close(r)),
  };
}

test("edgegate/hono on @hono/node-server", { timeout: 60_000 }, async (t) => {
  await adapterScenarios(t, start, { decisionCode: true });
  const at = new URL(".", import.meta.url);
  const host = `Hono ${versionOf("hono", at)}, @hono/node-server ${versionOf("@hono/node-server", at)}`;
  recordCompat({ host, bundler: "none (Node ESM)", runtime: "Node, `edgegate/hono`", test: "tests/node/hono.test.mjs" });
});

test("options from the bindings, built into one gate per middleware", async () => {
  const built = [];
  const app = new Hono();
  app.use(
    "*",
    edgeGate((env) => {
      built.push(env.JWT_SECRET);
      return { verify: { algorithms: ["HS256"], keys: env.JWT_SECRET }, rules: [{ match: "/api/:path*", kind: "api" }] };
    }, { now: NOW }),
  );
  app.get("/api/me", (c) => c.json({ code: c.get("edgegate").code, authorization: c.req.header("authorization") }));
  const token = jwt("HS256", SECRET, { sub: "w", exp: NOW + 60 });
  const env = { JWT_SECRET: SECRET };
  for (let i = 0; i < 3; i++) {
    const r = await app.request("/api/me", { headers: { authorization: `Bearer ${token}` } }, env);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { code: "OK_AUTHENTICATED", authorization: `Bearer ${token}` });
  }
  assert.equal((await app.request("/api/me", {}, env)).status, 401);
  assert.deepEqual(built, [SECRET], "options read once");
});

// The README's snippet on @hono/node-server, whose `c.env` is `{ incoming, outgoing }`, not
// bindings: the options read the process environment there (issue 27: every request was 500).
test("on @hono/node-server, options functions read process.env", { timeout: 30_000 }, async (t) => {
  process.env.EDGEGATE_HONO_SECRET = SECRET;
  t.after(() => delete process.env.EDGEGATE_HONO_SECRET);
  const app = new Hono();
  app.use("*", edgeGate((env) => ({
    rules: [{ match: "/dashboard/:path*", kind: "page" }],
    verify: { algorithms: ["HS256"], keys: env.EDGEGATE_HONO_SECRET },
    upstream: { claimHeaders: { sub: "x-auth-sub" } },
  }), { now: NOW }));
  app.get("/dashboard", (c) => c.text(`hello ${c.req.header("x-auth-sub")}`));
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  t.after(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${server.address().port}/dashboard`;
  const token = jwt("HS256", SECRET, { sub: "nora", exp: NOW + 60 });
  const page = await fetch(url, { headers: { cookie: `token=${token}` } });
  assert.deepEqual([page.status, await page.text()], [200, "hello nora"]);
  assert.equal((await fetch(url, { redirect: "manual" })).status, 307);
});

test("a cookie an outer middleware put on c.res does not push out the session's", async (t) => {
  // Hono's c.res setter gives a new response the old one's Set-Cookie in place of its own.
  const refused = http.createServer((req, res) => res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_grant"}'));
  await new Promise((r) => refused.listen(0, "127.0.0.1", r));
  t.after(() => refused.close());
  const app = new Hono();
  app.use("*", async (c, next) => {
    c.res.headers.append("set-cookie", "outer=1");
    await next();
  });
  app.use("*", edgeGate({
    verify: { algorithms: ["HS256"], keys: SECRET },
    rules: [{ match: "/api/:path*", kind: "api" }],
    refresh: { tokenEndpoint: `http://127.0.0.1:${refused.address().port}/token`, clientId: "app" },
  }, { now: NOW }));
  const r = await app.request("http://127.0.0.1/api/x", { headers: { cookie: "refreshToken=revoked" } });
  assert.equal(r.status, 401);
  const removed = (name) => `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
  assert.deepEqual(r.headers.getSetCookie(), [
    "outer=1",
    removed("token"),
    ...Array.from({ length: 10 }, (_, i) => removed(`token.${i}`)),
    removed("refreshToken"),
  ]);
});
