// After a trap the shim drops the engine instance and starts a fresh one. Requests that
// were waiting on the old instance (for a token refresh, a key fetch, a host signature
// check) must never report to the new one: its tickets are its own, and a late answer
// for the old instance's ticket must not become another request's session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createGate } from "edgegate";
import { jwt } from "./sign.mjs";

const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
const NOW = Math.floor(Date.now() / 1000);

// Throws the error a wasm trap raises, from inside the engine's call (it iterates headers).
const trapping = () => ({
  *[Symbol.iterator]() {
    throw new WebAssembly.RuntimeError("unreachable");
  },
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
const subject = (d) => {
  const bearer = d.requestHeaders?.find(([name]) => name === "authorization")?.[1];
  return bearer && JSON.parse(Buffer.from(bearer.split(".")[1], "base64url")).sub;
};

test("a refresh answered after a trap reaches only the request that asked for it", async () => {
  // A token endpoint the test answers by hand, in the order it chooses.
  const calls = [];
  const fetch = (url, init) => new Promise((resolve) => calls.push({ body: String(init.body), resolve }));
  const answer = (i, sub) =>
    calls[i].resolve(
      Response.json({ access_token: jwt("HS256", SECRET, { sub, exp: NOW + 300 }), token_type: "Bearer", refresh_token: `${sub}-rt-2` }),
    );
  const gate = await createGate(
    {
      verify: { algorithms: ["HS256"], keys: SECRET },
      rules: [{ match: "/api/:path*", kind: "api" }],
      refresh: { tokenEndpoint: "https://id.example/token", clientId: "app" },
    },
    { fetch },
  );
  const request = (refresh) => ({ url: "http://localhost:3000/api/me", headers: { cookie: `refreshToken=${refresh}` } });

  // The victim's refresh is in flight on the first instance.
  const victim = gate.decide(request("victim-rt"));
  await tick();
  assert.equal(calls.length, 1);
  // Something traps the instance; the shim replaces it and goes on deciding.
  await assert.rejects(gate.decide({ url: "/api/x", headers: trapping() }), WebAssembly.RuntimeError);
  // The attacker refreshes on the new instance.
  const attacker = gate.decide(request("attacker-rt"));
  await tick();
  assert.equal(calls.length, 2);

  // The provider answers the victim's (old-instance) call first.
  answer(0, "victim");
  await tick();
  answer(1, "attacker");
  const a = await attacker;
  assert.equal(a.code, "OK_REFRESHED");
  assert.equal(subject(a), "attacker");
  assert.ok(a.setCookies.every((c) => !c.includes("victim")), a.setCookies.join("\n"));

  // The victim's request starts over on the new instance, with a call of its own.
  await tick();
  assert.equal(calls.length, 3);
  assert.match(calls[2].body, /refresh_token=victim-rt/);
  answer(2, "victim");
  const v = await victim;
  assert.equal(v.code, "OK_REFRESHED");
  assert.equal(subject(v), "victim");
});
