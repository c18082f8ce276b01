// Back-channel logout through the package: the body the engine asks for, read from a
// WHATWG Request (createGate) and from Node's request stream (edgegate/node in Express),
// never more of it than the engine's limit; the session the logout token ends refused on
// the next request; a replay refused; an app route's own POST body left unread. The
// provider is in-process (discovery and JWKS through the `fetch` host option); the whole
// flow against oidc-provider, next start and workerd is tests/e2e/backchannel.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { generateKeyPairSync } from "node:crypto";
import express from "express";
import { createGate } from "edgegate";
import { edgeGate } from "edgegate/node";
import { jwt } from "./sign.mjs";

const ISSUER = "https://id.example";
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };

// The provider's discovery and keys, served without a network.
async function providerFetch(url) {
  const body =
    String(url) === `${ISSUER}/.well-known/openid-configuration`
      ? { issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/token`, jwks_uri: `${ISSUER}/jwks` }
      : String(url) === `${ISSUER}/jwks`
        ? { keys: [jwk] }
        : null;
  return body ? Response.json(body) : new Response("not found", { status: 404 });
}

const options = {
  rules: [{ match: "/api/:path*", kind: "api" }],
  verify: { algorithms: ["RS256"], issuer: ISSUER, audience: "https://api.example" },
  login: {
    issuer: ISSUER,
    clientId: "app",
    clientSecret: "client-secret",
    secret: "a-login-secret-of-at-least-32-bytes!!!",
    appBaseUrl: "http://127.0.0.1",
    backchannelLogout: { store: "memory" },
  },
};

const now = () => Math.floor(Date.now() / 1000);
const sign = (claims, header = { alg: "RS256", kid: "k1", typ: "JWT" }) => jwt("RS256", privateKey, claims, header);
const access = (sub) => sign({ iss: ISSUER, aud: "https://api.example", sub, iat: now(), exp: now() + 300 });
const logoutToken = (claims) =>
  sign(
    { iss: ISSUER, aud: "app", iat: now() + 1, exp: now() + 120, jti: crypto.randomUUID(), events: { "http://schemas.openid.net/event/backchannel-logout": {} }, ...claims },
    { alg: "RS256", kid: "k1", typ: "logout+jwt" },
  );
const form = { "content-type": "application/x-www-form-urlencoded" };

test("createGate: the logout token read from the Request's body ends the session", async () => {
  const gate = await createGate(options, { fetch: providerFetch });
  const base = "http://127.0.0.1:3000";
  const api = (token) => gate.decide(new Request(`${base}/api/x`, { headers: { authorization: `Bearer ${token}` } }));
  const post = (body) => gate.decide(new Request(`${base}/auth/backchannel-logout`, { method: "POST", headers: form, body }));

  const token = access("ada");
  assert.equal((await api(token)).code, "OK_AUTHENTICATED");
  const logout = `logout_token=${logoutToken({ sub: "ada" })}`;
  const recorded = await post(logout);
  assert.deepEqual([recorded.code, recorded.status], ["OK_LOGOUT_RECORDED", 200]);
  const ended = await api(token);
  assert.deepEqual([ended.code, ended.status], ["ERR_SESSION_ENDED", 401]);
  assert.equal((await api(access("grace"))).code, "OK_AUTHENTICATED", "another user is untouched");

  const replay = await post(logout);
  assert.deepEqual([replay.code, replay.status], ["ERR_LOGOUT_REPLAYED", 400]);
  // Another signature's bytes in the middle of it.
  const genuine = logoutToken({ sub: "grace" });
  const at = genuine.lastIndexOf(".") + 20;
  const flipped = `${genuine.slice(0, at)}${genuine[at] === "A" ? "B" : "A"}${genuine.slice(at + 1)}`;
  const forged = await post(`logout_token=${flipped}`);
  assert.deepEqual([forged.code, forged.status], ["ERR_LOGOUT_TOKEN", 400]);
  assert.equal((await api(access("grace"))).code, "OK_AUTHENTICATED", "a forged token ends nothing");

  // A body of a megabyte: refused, and no more of it read than the limit and a chunk.
  let pulled = 0;
  const chunk = new Uint8Array(1024).fill(0x61);
  const huge = new ReadableStream({
    pull(controller) {
      pulled += chunk.byteLength;
      if (pulled > 1024 * 1024) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const big = await gate.decide(new Request(`${base}/auth/backchannel-logout`, { method: "POST", headers: form, body: huge, duplex: "half" }));
  assert.deepEqual([big.code, big.status], ["ERR_LOGOUT_TOKEN", 400]);
  assert.ok(pulled <= 32 * 1024, `read ${pulled} bytes of the body`);
});

test("edgegate/node in Express: the body from the request stream, and the app's own left unread", async () => {
  const app = express();
  app.use(edgeGate(options, { fetch: providerFetch }));
  app.post("/api/echo", express.text({ type: "*/*" }), (req, res) => res.json({ body: req.body, sub: req.auth?.sub }));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    const token = access("ada");
    const echo = () => fetch(`${base}/api/echo`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "the app's own body" });
    const first = await echo();
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { body: "the app's own body", sub: "ada" });

    const logout = await fetch(`${base}/auth/backchannel-logout`, { method: "POST", headers: form, body: `logout_token=${logoutToken({ sub: "ada" })}` });
    assert.equal(logout.status, 200);
    assert.equal(logout.headers.get("cache-control"), "private, no-store");
    const after = await echo();
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error, "invalid_token");

    // A megabyte, chunked: the provider gets its 400, not a reset connection.
    const chunk = "a".repeat(64 * 1024);
    let sent = 0;
    const big = new ReadableStream({
      pull(controller) {
        if ((sent += chunk.length) > 1024 * 1024) controller.close();
        else controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const refused = await fetch(`${base}/auth/backchannel-logout`, { method: "POST", headers: form, body: big, duplex: "half" });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: "invalid_request" });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
