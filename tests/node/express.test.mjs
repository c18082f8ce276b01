// edgegate/node in a real Express 5 app: the adapter scenarios (adapters.mjs), and what is
// Node's own: a plain handler answering with writeHead, and a gate mounted under a path
// refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import express from "express";
import { edgeGate } from "edgegate/node";
import { NOW, OWN_COOKIE, SECRET, adapterScenarios, echo } from "./adapters.mjs";
import { jwt } from "./sign.mjs";
import { recordCompat, versionOf } from "../compat.mjs";

async function listen(app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

async function start(options, host) {
  const reached = [];
  const app = express();
  app.use(edgeGate(options, host));
  const report = (route) => (req, res) => {
    const seen = echo(route, req, null, req.auth);
    reached.push(seen);
    res.json(seen);
  };
  app.all("/api/public", report("public"));
  app.all("/api/own-cookie", (req, res, next) => {
    res.setHeader("Set-Cookie", OWN_COOKIE); // replaces any Set-Cookie set before
    next();
  }, report("api"));
  app.all("/api/*path", report("api"));
  app.all("/dashboard{/*path}", report("dashboard"));
  app.use(report("other"));
  return { ...(await listen(app)), reached };
}

test("edgegate/node in Express", { timeout: 60_000 }, async (t) => {
  await adapterScenarios(t, start);
  const host = `Express ${versionOf("express", new URL(".", import.meta.url))}`;
  recordCompat({ host, bundler: "none (Node ESM)", runtime: "Node, `edgegate/node`", test: "tests/node/express.test.mjs" });
});

test("a plain Node handler's writeHead headers keep the refreshed session", async (t) => {
  const fresh = jwt("HS256", SECRET, { sub: "x", exp: NOW + 300 });
  const endpoint = http.createServer((req, res) =>
    req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: fresh, token_type: "Bearer", refresh_token: "new" }))));
  await new Promise((r) => endpoint.listen(0, "127.0.0.1", r));
  t.after(() => endpoint.close());
  const gate = edgeGate(
    {
      verify: { algorithms: ["HS256"], keys: SECRET },
      rules: [{ match: "/api/:path*", kind: "api" }],
      refresh: { tokenEndpoint: `http://127.0.0.1:${endpoint.address().port}/token`, clientId: "app" },
    },
    { now: NOW },
  );
  // No framework: `next(error)` is the caller's to honour.
  const server = http.createServer((req, res) =>
    gate(req, res, (error) => {
      if (error) return res.writeHead(500).end();
      res.writeHead(200, { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"] }).end(`${req.url} ${req.headers.authorization}`);
    }),
  );
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  const expired = jwt("HS256", SECRET, { sub: "x", exp: NOW - 10 });
  const r = await fetch(`${url}/api/x?q=1`, { headers: { cookie: `token=${expired}; refreshToken=old` } });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), `/api/x?q=1 Bearer ${fresh}`);
  const cookies = r.headers.getSetCookie();
  assert.deepEqual(cookies.slice(0, 2), ["a=1", "b=2"]);
  assert.match(cookies[2], new RegExp(`^token=${fresh}; Path=/; HttpOnly; SameSite=Lax; Max-Age=\\d+$`));
  assert.match(cookies[3], /^refreshToken=new; /);
});

test("a gate mounted under a path is refused, not run on the shortened path", async (t) => {
  const app = express();
  app.use("/api", edgeGate({ verify: { algorithms: ["HS256"], keys: SECRET }, rules: [{ match: "/api/:path*", kind: "api" }] }, { now: NOW }));
  app.use((req, res) => res.send("reached"));
  app.use((error, req, res, next) => res.status(500).send(`${error.code} ${error.message}`));
  const server = await listen(app);
  t.after(server.close);
  const r = await fetch(`${server.url}/api/x`);
  assert.equal(r.status, 500);
  assert.match(await r.text(), /^ERR_CONFIG_INVALID edgegate\/node: mounted under "\/api".*use it at the root/);
});

// A body parser ahead of the gate leaves nothing to forward: refused with a code and the
// reason, to the app's error handler (issue 27: a TypeError about a disturbed body).
test("a body read before the gate is refused where the gate would forward it", async (t) => {
  const seen = [];
  const upstream = http.createServer((req, res) => {
    seen.push(req.url);
    res.end("upstream");
  });
  await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
  t.after(() => upstream.close());
  const app = express();
  app.use(express.json());
  app.use(edgeGate({
    verify: { algorithms: ["HS256"], keys: SECRET },
    rules: [{ match: "/api/:path*", kind: "api", upstream: `http://127.0.0.1:${upstream.address().port}` }],
  }, { now: NOW }));
  app.use((error, req, res, next) => res.status(500).send(`${error.code} ${error.message}`));
  const server = await listen(app);
  t.after(server.close);
  const token = jwt("HS256", SECRET, { sub: "w", exp: NOW + 60 });
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const r = await fetch(`${server.url}/api/x`, { method: "POST", headers, body: "{}" });
  assert.equal(r.status, 500);
  assert.match(await r.text(), /^ERR_CONFIG_INVALID edgegate\/node: the request body was read before the gate/);
  assert.deepEqual(seen, [], "nothing reached the upstream");
  // A GET has no body to forward: it goes on.
  assert.equal(await (await fetch(`${server.url}/api/x`, { headers })).text(), "upstream");
});

test("setSession given Express's req names cookies as the gate behind it reads them", async (t) => {
  const { setSession } = await import("edgegate/node");
  const options = { verify: { algorithms: ["HS256"], keys: SECRET }, rules: [{ match: "/api/:path*", kind: "api" }] };
  const token = jwt("HS256", SECRET, { sub: "signed-in", exp: Math.floor(Date.now() / 1000) + 300 });
  const app = express();
  // A login route before the gate writes the session; req.url is a path ("/login").
  app.post("/login", async (req, res) => {
    const stored = await setSession(new Response(null), { accessToken: token }, { options, request: req });
    res.setHeader("set-cookie", stored.headers.getSetCookie()).end();
  });
  app.use(edgeGate(options));
  app.get("/api/me", (req, res) => res.json({ sub: req.auth?.sub }));
  const server = await listen(app);
  t.after(server.close);
  // fetch cannot set Host: node:http can, as a proxy terminating TLS passes the public one.
  const send = (method, path, headers) =>
    new Promise((resolve, reject) => {
      const req = http.request(`${server.url}${path}`, { method, headers }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode, cookies: res.headers["set-cookie"] ?? [], body }));
      });
      req.on("error", reject).end();
    });
  for (const [host, name, secure] of [["app.example", "__Host-token", true], [new URL(server.url).host, "token", false]]) {
    const login = await send("POST", "/login", { host });
    const cookie = login.cookies.find((c) => !c.includes("Max-Age=0"));
    assert.ok(cookie?.startsWith(`${name}=${token};`), `${host}: ${cookie}`);
    assert.equal(/; Secure/.test(cookie), secure, `${host}: ${cookie}`);
    const me = await send("GET", "/api/me", { host, cookie: cookie.split(";")[0] });
    assert.equal(me.status, 200, host);
    assert.deepEqual(JSON.parse(me.body), { sub: "signed-in" }, `${host}: the gate reads the session setSession wrote`);
  }
  // A request whose URL has no scheme and no socket to tell: the secure names.
  const written = (await setSession(new Response(null), { accessToken: token }, { options, request: { url: "/login", headers: {} } })).headers.getSetCookie();
  assert.ok(written.find((c) => !c.includes("Max-Age=0"))?.startsWith("__Host-token="), written.join("\n"));
});
