// One set of HTTP scenarios every host must pass identically: Next middleware (Edge),
// Next proxy.ts (Node) and a Worker. `base` is the gated app; `upstream` the Express backend;
// `recorder` the recording proxy in front of it, where the gate's rules send /api/*.
import assert from "node:assert/strict";
import http from "node:http";
import { dev, token } from "./helpers.mjs";

/** Sends `path` exactly as written (fetch would resolve dot segments and `\`). */
function raw(base, path, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/`, { method, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        try {
          noInternalAddress(`${base}${path}`, Object.entries(res.headers));
          resolve({ status: res.statusCode, location: res.headers.location, body });
        } catch (error) {
          reject(error);
        }
      });
    });
    // A host that will not even parse a spelling (workerd resets on `\\`) refuses it too.
    request.on("error", (e) => (e.code === "ECONNRESET" ? resolve({ status: "reset" }) : reject(e)));
    request.end(body);
  });
}

/** The body of the protected `/api/[name]` route handler next.test.mjs adds beside the public ones. */
export const SIBLING = "PROTECTED SIBLING HANDLER";

/** Spellings of an exception's path that Next (or a server behind it) might read as it. */
export function spellings(path) {
  const [, dir, first, rest] = /^(.*)\/(.)(.*)$/.exec(path);
  const hex = first.charCodeAt(0).toString(16);
  return [
    `${dir}/${first.toUpperCase()}${rest}`, path.toUpperCase(), `${dir}/%${hex}${rest}`, `${dir}/%${hex.toUpperCase()}${rest}`,
    `${path}.json`, `${path}.rsc`, `/_next/data/build-1${path}.json`, `${path}.segments/_tree.segment.rsc`,
    `${path}/`, `/${path}`, `${dir}//${first}${rest}`, `/x/..${path}`, `${dir}/./${first}${rest}`,
    `${dir}/%2e/${first}${rest}`, `${dir}/%2E%2E${path}`, `${path}%20`, `${dir}\\${first}${rest}`,
  ];
}

// The addresses only the server may know (the backend's, the recorder in front of it): no
// header of any response the gated app gives the client may name them (issue 26: an
// external rewrite showed them in x-middleware-rewrite). Set by gateScenarios.
let internal = { base: undefined, hosts: [] };
function noInternalAddress(url, headers) {
  if (!String(url).startsWith(internal.base)) return;
  for (const [name, value] of headers) {
    for (const host of internal.hosts) {
      assert.ok(!String(value).includes(host), `${url}: ${name}: ${value} names the internal ${host}`);
    }
  }
}

const get = async (url, headers = {}) => {
  const response = await fetch(url, { headers, redirect: "manual" });
  noInternalAddress(url, response.headers);
  return response;
};
const cookie = (t, extra = "") => ({ cookie: `${extra}${dev.cookie}=${t}` });

export async function gateScenarios(t, base, upstream, recorder) {
  internal = { base, hosts: [new URL(upstream).host, new URL(recorder.url).host] };
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
    const r = await get(`${base}/api/whoami?probe=alice`, {
      ...cookie(t1, "theme=dark; "),
      "x-auth-sub": "admin",
      "x-forwarded-host": "evil.example",
      forwarded: "host=evil.example",
    });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.authorization, `Bearer ${t1}`);
    assert.equal(seen.cookie, "theme=dark");
    assert.equal(seen.sub, "alice");
    assert.equal(seen.xAuthSub, "alice", "the client's x-auth-sub was replaced by the gate's");
    // What reached the backend, as the recorder saw it: the judged path and the query.
    const arrived = recorder.seen.filter((s) => s.url === "/api/whoami?probe=alice");
    assert.equal(arrived.length, 1);
    const headers = arrived[0].headers;
    assert.equal(headers.host, new URL(recorder.url).host, "the backend's own Host");
    assert.doesNotMatch(`${headers["x-forwarded-host"]} ${headers.forwarded}`, /evil/, "no client forwarding header");
    // The gate's own, from the URL the runtime handed over (Next says localhost for 127.0.0.1).
    const port = new URL(base).port;
    assert.match(headers["x-forwarded-host"] ?? "", new RegExp(`^(127\\.0\\.0\\.1|localhost):${port}$`));
    assert.equal(headers["x-forwarded-proto"], "http");
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

  await t.test("no spelling of the public /api/login and /api/logout reaches the backend without the bearer", async () => {
    const before = recorder.violations.length;
    const outcomes = [];
    const extra = ["/api/a%3Fb", "/api/stocks", "/api/login.rsc?x=1", "/api/login?q=a%26admin%3D1.rsc"];
    for (const path of [...spellings("/api/login"), ...spellings("/api/logout"), ...extra]) {
      for (const method of ["GET", "POST"]) {
        const body = method === "POST" ? "name=mallory" : undefined;
        const headers = body ? { "content-type": "application/x-www-form-urlencoded" } : {};
        const { status, body: answer } = await raw(base, path, { method, headers, body });
        // Next strips `.rsc` from the URL the gate sees but routes the raw one: an exception
        // must still open only its own handler, never the protected dynamic sibling.
        assert.ok(!answer.includes(SIBLING), `${method} ${path} reached the protected /api/[name] handler`);
        outcomes.push(`${method} ${path} ${status}`);
        // The recorder refuses (599) and keeps whatever reaches the backend without the bearer.
        // Other answers are the gate's (401, 400), Next's own (308, 404), or the app's public
        // handler where the runtime itself resolved the spelling (`/x/../api/login`).
        assert.notEqual(status, 599, `${method} ${path} reached the backend without a verified bearer`);
      }
    }
    assert.deepEqual(recorder.violations.slice(before), []);
    console.log(`${base}: ${outcomes.length} attack spellings, none reached the backend:\n  ${outcomes.join("\n  ")}`);
  });

  await t.test("a signed-in visitor is bounced from /login", async () => {
    const r = await get(`${base}/login`, cookie(token()));
    assert.equal(r.status, 307);
    assert.equal(new URL(r.headers.get("location"), base).pathname, "/");
  });

  await t.test("every request the backend received carried a verified bearer", () => {
    assert.ok(recorder.seen.length > 0);
    assert.deepEqual(recorder.violations, []);
  });

  await t.test("the upstream refuses requests that skip the gate", async () => {
    assert.equal((await get(`${upstream}/api/stocks`)).status, 401);
    assert.equal((await get(`${upstream}/api/stocks`, cookie(token()))).status, 401, "a cookie is not a bearer");
    assert.equal((await get(`${upstream}/api/stocks`, { authorization: `Bearer ${token({}, "wrong-secret-of-sufficient-length!!")}` })).status, 401);
  });
}
