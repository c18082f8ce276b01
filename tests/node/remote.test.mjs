// Remote keys through the built package and the real `fetch`: a JWKS server on 127.0.0.1
// that the test makes slow, failing, huge or rotated, counting every request it serves.
// The policy itself is unit-tested in tests/remote.rs with a clock the test moves; here
// the clock is real, so the durations are short.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { createGate } from "edgegate";
import { jwt } from "./sign.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rsaKey(kid) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" } };
}

function token(key, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { sub: "u1", iss: "https://id.example", aud: "api", iat: now, exp: now + 3600, ...claims };
  return jwt("RS256", key.privateKey, body, { alg: "RS256", typ: "JWT", kid: key.kid });
}

/** A JWKS endpoint whose behaviour the test sets: ok, slow, status, garbage, huge. */
async function jwksServer(keys) {
  const state = { mode: "ok", keys, requests: 0, userAgents: [] };
  const server = http.createServer(async (req, res) => {
    state.requests += 1;
    state.userAgents.push(req.headers["user-agent"]);
    switch (state.mode) {
      case "slow":
        await sleep(3000);
        break;
      case "500":
        res.writeHead(500).end("upstream error");
        return;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" }).end("{\"keys\": [oops");
        return;
      case "huge": {
        // 5 MB, streamed without Content-Length: the cap must stop the read.
        res.writeHead(200, { "content-type": "application/json" });
        res.write("{\"keys\":[],\"pad\":\"");
        const chunk = "x".repeat(64 * 1024);
        const closed = new Promise((r) => res.once("close", r));
        for (let i = 0; i < 80 && !res.destroyed; i++) {
          if (!res.write(chunk)) await Promise.race([new Promise((r) => res.once("drain", r)), closed]);
        }
        res.end("\"}");
        return;
      }
    }
    if (!res.destroyed) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/jwks`;
  return { state, url, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

function options(jwksUri, remote = {}) {
  return {
    verify: { algorithms: ["RS256"], jwksUri, issuer: "https://id.example", audience: "api", remote },
    rules: [{ match: "/api/:path*", kind: "api" }, { match: "/dashboard/:path*", kind: "page" }],
  };
}

const api = (gate, t) => gate.decide({ url: "/api/stocks", headers: { cookie: `token=${t}` } });

test("200 concurrent cold requests make exactly one JWKS fetch", async () => {
  const key = rsaKey("k1");
  const jwks = await jwksServer([key]);
  try {
    const gate = await createGate(options(jwks.url));
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api(gate, token(key, { sub: `user-${i}` }))),
    );
    assert.deepEqual(new Set(decisions.map((d) => d.code)), new Set(["OK_AUTHENTICATED"]));
    assert.equal(jwks.state.requests, 1);
    assert.match(jwks.state.userAgents[0], /^edgegate\//);
    console.log(`200 concurrent cold requests: ${jwks.state.requests} JWKS fetch, all 200 authenticated`);
  } finally {
    await jwks.close();
  }
});

test("faults at cold start fail closed with their code", async () => {
  const key = rsaKey("k1");
  const jwks = await jwksServer([key]);
  const observed = [];
  try {
    for (const [mode, code] of [
      ["slow", "ERR_JWKS_TIMEOUT"],
      ["500", "ERR_JWKS_UNAVAILABLE"],
      ["garbage", "ERR_JWKS_INVALID"],
      ["huge", "ERR_JWKS_INVALID"],
    ]) {
      jwks.state.mode = mode;
      const gate = await createGate(options(jwks.url, { timeoutDuration: 0.3 }));
      const started = performance.now();
      const d = await api(gate, token(key));
      const ms = Math.round(performance.now() - started);
      assert.deepEqual([d.status, d.code], [503, code], `${mode}: ${d.message}`);
      assert.equal(d.body, '{"error":"temporarily_unavailable"}');
      if (mode === "slow") assert.ok(ms < 2000, `timed out after ${ms} ms`);
      observed.push(`${mode}: ${d.status} ${d.code} in ${ms} ms`);
      // The cooldown holds: a second request does not refetch.
      const before = jwks.state.requests;
      assert.equal((await api(gate, token(key))).code, code);
      assert.equal(jwks.state.requests, before);
    }
    // Nothing listening at all.
    const closed = jwks.url.replace(/:\d+\//, ":9/");
    const gate = await createGate(options(closed));
    const d = await api(gate, token(key));
    assert.deepEqual([d.status, d.code], [503, "ERR_JWKS_UNAVAILABLE"]);
    observed.push(`down (connection refused): ${d.status} ${d.code}`);
    const page = await gate.decide({ url: "/dashboard", headers: { cookie: `token=${token(key)}` } });
    assert.deepEqual([page.status, page.code], [503, "ERR_JWKS_UNAVAILABLE"]);
    const strict = await createGate({ ...options(closed), keysUnavailableStatus: 401 });
    const denied = await api(strict, token(key));
    assert.deepEqual([denied.status, denied.code], [401, "ERR_JWKS_UNAVAILABLE"]);
    console.log(`cold-start faults:\n  ${observed.join("\n  ")}`);
  } finally {
    await jwks.close();
  }
});

test("down after warm-up: stale keys within staleIfError, then refused", async () => {
  const key = rsaKey("k1");
  const jwks = await jwksServer([key]);
  try {
    const gate = await createGate(
      options(jwks.url, { cacheMaxAge: 0.5, cooldownDuration: 0.2, staleIfError: 1, timeoutDuration: 0.3 }),
    );
    const t = token(key);
    assert.equal((await api(gate, t)).code, "OK_AUTHENTICATED");
    jwks.state.mode = "500";
    await sleep(700); // past max age: the refresh fails, the stale keys serve
    assert.equal((await api(gate, t)).code, "OK_AUTHENTICATED");
    assert.equal((await api(gate, token(key, { sub: "new" }))).code, "OK_AUTHENTICATED");
    const during = jwks.state.requests;
    await sleep(1000); // past max age + staleIfError
    const d = await api(gate, t);
    assert.deepEqual([d.status, d.code], [503, "ERR_JWKS_UNAVAILABLE"]);
    // The provider recovers: after the cooldown, keys come back.
    jwks.state.mode = "ok";
    await sleep(250);
    assert.equal((await api(gate, t)).code, "OK_AUTHENTICATED");
    console.log(`warm then down: stale keys served (${during} fetches), refused after the bound, recovered`);
  } finally {
    await jwks.close();
  }
});

test("rotation: a new kid is fetched, a removed key's tokens are refused", async () => {
  const [k1, k2] = [rsaKey("k1"), rsaKey("k2")];
  const jwks = await jwksServer([k1]);
  try {
    const gate = await createGate(options(jwks.url, { cooldownDuration: 0.2, cacheMaxAge: 60 }));
    const old = token(k1);
    assert.equal((await api(gate, old)).code, "OK_AUTHENTICATED");
    jwks.state.keys = [k2];
    await sleep(250);
    assert.equal((await api(gate, token(k2))).code, "OK_AUTHENTICATED");
    assert.equal(jwks.state.requests, 2);
    const d = await api(gate, old); // cached before, but its key has left
    assert.deepEqual([d.status, d.code], [401, "ERR_JWKS_NO_MATCHING_KEY"]);
    console.log(`rotation: ${jwks.state.requests} fetches; old key's token ${d.status} ${d.code}`);
  } finally {
    await jwks.close();
  }
});

test("a persisted copy spares a fresh isolate the fetch", async () => {
  const key = rsaKey("k1");
  const jwks = await jwksServer([key]);
  try {
    const saved = new Map();
    const store = { get: async (k) => saved.get(k), put: async (k, v) => void saved.set(k, v) };
    const first = await createGate(options(jwks.url), { store });
    assert.equal((await api(first, token(key))).code, "OK_AUTHENTICATED");
    assert.equal(jwks.state.requests, 1);
    assert.equal(saved.size, 1);
    const second = await createGate(options(jwks.url), { store });
    assert.equal((await api(second, token(key))).code, "OK_AUTHENTICATED");
    assert.equal(jwks.state.requests, 1, "the second isolate used the stored copy");
    // A store that fails is a cold start, not an outage.
    const broken = { get: async () => { throw new Error("kv down"); }, put: async () => { throw new Error("kv down"); } };
    const third = await createGate(options(jwks.url), { store: broken });
    assert.equal((await api(third, token(key))).code, "OK_AUTHENTICATED");
    assert.equal(jwks.state.requests, 2);
  } finally {
    await jwks.close();
  }
});

test("an injected fetch is used, and redirects are not followed", async () => {
  const key = rsaKey("k1");
  const seen = [];
  const fetch = async (url, init) => {
    seen.push([url, init.redirect, init.headers["user-agent"]]);
    return new Response(null, { status: 302, headers: { location: "http://evil.example/jwks" } });
  };
  const gate = await createGate(options("https://id.example/jwks"), { fetch });
  const d = await api(gate, token(key));
  assert.deepEqual([d.status, d.code], [503, "ERR_JWKS_UNAVAILABLE"]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0][0], "https://id.example/jwks");
  assert.equal(seen[0][1], "manual");
});
