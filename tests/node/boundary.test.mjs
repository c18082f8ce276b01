// The shim's fast path (the request encoded into the engine's buffer, the decision read back
// from its wire form) against the engine's object path (`Gate.decide(object)`, JSON out):
// every request of a corpus must get the same decision both ways, so the wire form can
// neither lose nor invent a header, a code or a field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createGate } from "edgegate";
import { readFileSync } from "node:fs";
import { Gate as EngineGate, initSync } from "../../js/wasm/edgegate.js";
import { jwt } from "./sign.mjs";

const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
const NOW = 1_700_000_000;
const sign = (claims) => jwt("HS256", SECRET, claims);

const options = {
  verify: { algorithms: ["HS256"], keys: SECRET, issuer: "iss", audience: "aud" },
  rules: [
    { match: "/api/login", kind: "public" },
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/admin/:path*", kind: "api", scopes: ["admin"] },
    { match: "/api/:path*", kind: "api", scopes: ["read"], upstream: "https://api.internal/v1" },
    { match: "/login", kind: "guest" },
  ],
  upstream: { claimHeaders: { sub: "x-auth-sub", name: "x-auth-name", scope: "x-auth-scope" } },
};

const valid = sign({ sub: "u1", name: "Zoë 日本", iss: "iss", aud: "aud", exp: NOW + 60, scope: "read" });
const expired = sign({ sub: "u1", iss: "iss", aud: "aud", exp: NOW - 1, scope: "read" });
const paths = [
  "/", "/about", "/dashboard", "/dashboard/x?y=1&z=%20", "/Dashboard/X", "/api/login", "/api/x", "/api/x/",
  "/API/X", "/api/admin/users", "/login", "/%2e%2e/api/x", "/api;x", "/dashboard%2Fx", "/_next/data/b/dashboard.json",
  "/caf%C3%A9", "https://app.example/api/x?q=1", "/api/l%6fgin?x=%2F", "/api/caf%c3%a9", "/api/Login",
];
const headerSets = [
  undefined,
  {},
  { cookie: `__Host-token=${valid}` },
  { cookie: `token=${valid}` },
  { cookie: `theme=dark; token=${valid}; lang=fr` },
  { cookie: `token=${expired}` },
  { cookie: "token=not.a.jwt" },
  { authorization: `Bearer ${valid}` },
  { authorization: `Basic dXNlcjpwYXNz` },
  { cookie: `token=${valid}`, "x-middleware-subrequest": "middleware", "X-Auth-Sub": "admin", x_auth_sub: "admin" },
  { cookie: `token=${valid}`, "x-label": "Zoë 日本 🙂", "x-empty": "", accept: "text/html" },
  [["Cookie", `token=${valid}`], ["cookie", "a=1"], ["Accept", "*/*"]],
  [["cookie", `token=${valid}`], ["cookie", `token=${valid}`]],
  new Map([["cookie", `token=${valid}`], ["sec-fetch-site", "cross-site"], ["origin", "https://evil.example"]]),
  new Headers({ cookie: `token=${valid}`, origin: "https://app.example", "user-agent": "Mozilla/5.0" }),
  { cookie: [`token=${valid}`, "b=2"], "x-forwarded-user": ["admin", "root"] },
];

const unmark = (list) => list.map(([n, v]) => [n, n === "x-edgegate-route" ? "(mark)" : v]);

// The decision as plain data (the fast path computes `requestHeaders` from the request and
// the header changes on first read), route marks blanked.
function unmarked(decision) {
  if (decision.action !== "continue") return decision;
  const { removed, added } = decision.headerChanges;
  return { ...decision, requestHeaders: unmark(decision.requestHeaders), headerChanges: { removed, added: unmark(added) } };
}

test("the fast path and the object path decide every request alike", async () => {
  const gate = await createGate(options, { now: NOW });
  const engine = new EngineGate(options, NOW);
  let compared = 0;
  for (const method of ["GET", "POST", undefined]) {
    for (const url of paths) {
      for (const headers of headerSets) {
        const request = { method, url, headers };
        // Two gates, two random route-mark keys: the marks are compared by presence only.
        const fast = unmarked(await gate.decide(request));
        const object = unmarked(engine.decide(request, 0));
        assert.deepEqual(fast, object, `${method} ${url} ${JSON.stringify(headers instanceof Map || headers instanceof Headers ? [...headers] : headers)}`);
        compared += 1;
      }
    }
  }
  // The corpus reaches every kind of answer, so the comparison covers each wire form.
  const codes = new Set();
  for (const url of paths) for (const headers of headerSets) codes.add((await gate.decide({ url, headers })).action);
  assert.deepEqual([...codes].sort(), ["continue", "redirect", "respond"]);
  // And each positional form: on as it came, changed headers, a rewrite, a redirect, a
  // refusal with its body.
  const forms = new Set();
  for (const url of paths) {
    for (const headers of headerSets) {
      const d = await gate.decide({ url, headers });
      forms.add(d.passThrough ? "pass" : d.rewrite ? "rewrite" : d.destination ? "upstream" : d.action);
    }
  }
  assert.deepEqual([...forms].sort(), ["continue", "pass", "redirect", "respond", "rewrite", "upstream"]);
  const routed = await gate.decide({ url: "/api/l%6fgin?x=%2F", headers: { cookie: `token=${valid}` } });
  assert.equal(routed.destination, "https://api.internal/v1/api/login?x=%2F");
  console.log(`boundary: ${compared} requests decided alike through the wire form and as objects`);
});

test("the time comes in with the request: a decision reads the clock the shim passed", async () => {
  await createGate(options); // loads the engine
  const { memory } = initSync({ module: readFileSync(new URL("../../js/wasm/edgegate_bg.wasm", import.meta.url)) });
  const engine = new EngineGate(options); // the host's clock, not a fixed one
  const exp = Math.floor(Date.now() / 1000) + 600;
  const token = sign({ sub: "u1", iss: "iss", aud: "aud", exp, scope: "read" });
  const text = `GET\0https://app.example/api/x\0cookie\0__Host-token=${token}`;
  const decideAt = (ms) => {
    const ptr = engine.inputBuffer(4096);
    const written = new TextEncoder().encodeInto(text, new Uint8Array(memory.buffer, ptr, 4096)).written;
    const length = engine.decideInput(written, 4, 0, ms);
    const at = engine.outputPtr();
    return new TextDecoder().decode(new Uint8Array(memory.buffer, at, length)).slice(1).split("\0")[0];
  };
  assert.equal(decideAt(Date.now()), "OK_AUTHENTICATED");
  // Past the token's expiry (and its clock tolerance) by the shim's clock: expired.
  assert.equal(decideAt((exp + 3600) * 1000), "ERR_JWT_EXPIRED");
  // No usable time passed: the engine reads Date.now() itself.
  assert.equal(decideAt(Number.NaN), "OK_AUTHENTICATED");
});
