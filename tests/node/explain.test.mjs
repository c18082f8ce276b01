// explain() through the npm package: the decision's own steps, so its code is the code
// decide() answers, and the step that failed carries it. Includes the case explain once got
// wrong (a cross-site POST carrying only the refresh cookie: decide refused it for CSRF,
// explain never checked).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createGate } from "edgegate";
import { jwt } from "./sign.mjs";

const NOW = 1_700_000_000;
const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
const options = {
  verify: { algorithms: ["HS256"], keys: SECRET, issuer: "iss", audience: "aud" },
  refresh: { tokenEndpoint: "https://id.example/oauth/token", clientId: "app" },
  rules: [
    { match: "/login", kind: "guest" },
    { match: "/api/:path*", kind: "api", scopes: ["read"] },
    { match: "/:path*", kind: "page" },
  ],
};
const token = (claims) => jwt("HS256", SECRET, { sub: "u1", iss: "iss", aud: "aud", exp: NOW + 600, scope: "read", ...claims });

test("explain ends with decide's code, and the failing step carries it", async () => {
  const gate = await createGate(options, { now: NOW });
  const requests = [
    { url: "https://app.example/api/x", headers: { authorization: `Bearer ${token({})}` } },
    { url: "https://app.example/api/x", headers: { authorization: `Bearer ${token({ scope: "none" })}` } },
    { url: "https://app.example/api/x", headers: { authorization: `Bearer ${token({ exp: NOW - 1 })}` } },
    { url: "https://app.example/api/x", headers: { cookie: `__Host-token=${token({ aud: "other" })}` } },
    { url: "https://app.example/dash", headers: {} },
    { url: "https://app.example/login", headers: {} },
    { url: "https://app.example/a%2Fb", headers: {} },
    { method: "POST", url: "https://app.example/api/x", headers: { cookie: "__Host-refreshToken=r", "sec-fetch-site": "cross-site" } },
  ];
  for (const request of requests) {
    const [trace, decision] = [await gate.explain(request), await gate.decide(request)];
    assert.equal(trace.code, decision.code, request.url);
    const failed = trace.steps.find((s) => s.code !== undefined);
    if (decision.code.startsWith("ERR_")) assert.equal(failed?.code, decision.code, JSON.stringify(trace));
    else assert.ok(decision.code === "OK_GUEST" || failed === undefined, JSON.stringify(trace));
  }
  const csrf = await gate.explain(requests.at(-1));
  assert.deepEqual(csrf.steps.at(-1), {
    step: "csrf",
    ok: false,
    code: "ERR_CSRF",
    detail: "ERR_CSRF: cross-site request refused: no same-origin Sec-Fetch-Site and no single Origin",
  });
});

test("explain does not refresh: a refresh the decision would make leaves the code open", async () => {
  const fetched = [];
  const gate = await createGate(options, { now: NOW, fetch: (url) => (fetched.push(url), Promise.reject(new Error("offline"))) });
  const trace = await gate.explain({ url: "https://app.example/api/x", headers: { cookie: "__Host-refreshToken=r" } });
  assert.equal(trace.code, null);
  assert.deepEqual(trace.steps.map((s) => [s.step, s.ok]).slice(-3), [["token", false], ["csrf", true], ["refresh", false]]);
  assert.deepEqual(fetched, [], "explaining called no token endpoint");
});

test("a session cookie under its plain name over https: the reason says the __Host- name is read", async () => {
  const gate = await createGate(options, { now: NOW });
  const request = { url: "https://app.example/api/x", headers: { cookie: `token=${token({})}` } };
  const d = await gate.decide(request);
  assert.equal(d.code, "ERR_NO_TOKEN");
  assert.match(d.message, /plain name over https.*__Host-/);
  const step = (await gate.explain(request)).steps.find((s) => s.step === "token");
  assert.match(step.detail, /looked for cookie "__Host-token"/);
  // Read as it is on plain http on localhost.
  const local = await gate.decide({ url: "http://localhost:3000/api/x", headers: { cookie: `token=${token({})}` } });
  assert.equal(local.code, "OK_AUTHENTICATED");
});
