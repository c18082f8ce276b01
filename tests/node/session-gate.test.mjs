// The sessions the real libraries write, read by the engine as users run it (the npm
// package, its wasm in Node): the committed vectors of tests/data/sessions.json and a fresh
// set made now by Auth.js, next-auth 4, nextjs-auth0 4 and 3 and Kinde's SDK
// (sessions/vectors.mjs). tests/sessions.rs runs the same vectors through the Rust core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createGate, setSession } from "edgegate";
import { buildVectors } from "./sessions/vectors.mjs";

const file = JSON.parse(readFileSync(new URL("../data/sessions.json", import.meta.url), "utf8"));
const FORMAT = { authjs: "authjs", nextAuth4: "next-auth", auth0v4: "auth0", auth0v3: "auth0-v3", kinde: "kinde" };
// Where the gate is stricter than the library (the reasons are in tests/sessions.rs).
const STRICTER = {
  "auth0v4/https/base-wins-over-chunks": "ERR_COOKIE_AMBIGUOUS",
  "auth0v3/https/base-wins-over-chunks": "ERR_COOKIE_AMBIGUOUS",
  "auth0v4/https/legacy-appSession": "ERR_NO_TOKEN",
  "auth0v4/https/legacy-appSession-expired": "ERR_NO_TOKEN",
};

function optionsFor(vector) {
  const format = FORMAT[vector.format];
  return {
    rules: [{ match: "/api/:path*", kind: "api", upstream: "https://api.internal" }],
    verify: { algorithms: ["HS256"], keys: file.backend_token_key.secret },
    session: format === "kinde" ? { format } : { format, secrets: vector.secrets },
  };
}

async function check(vector) {
  const gate = await createGate(optionsFor(vector), { now: vector.now });
  const cookie = vector.cookies.map(([name, value]) => `${name}=${value}`).join("; ");
  const decision = await gate.decide({ url: `${vector.scheme ?? (vector.secure ? "https" : "http")}://app.example/api/things`, headers: { cookie } });
  const stricter = STRICTER[vector.name];
  if (vector.expect.token && !stricter) {
    assert.equal(decision.code, "OK_AUTHENTICATED", vector.name);
    const headers = new Headers(decision.requestHeaders);
    assert.equal(headers.get("authorization"), `Bearer ${vector.expect.token}`, vector.name);
    assert.equal(headers.get("cookie"), null, `${vector.name}: the library's cookies stay out of the backend`);
  } else {
    assert.doesNotMatch(decision.code, /^OK_/, `${vector.name}: ${vector.expect.error}`);
    if (stricter) assert.equal(decision.code, stricter, vector.name);
    assert.equal(decision.status, 401, vector.name);
  }
  return decision.code;
}

test("the committed vectors, read by the wasm engine", async () => {
  const codes = {};
  for (const vector of file.vectors) codes[vector.name] = await check(vector);
  assert.equal(Object.keys(codes).length, file.vectors.length);
  console.log(Object.entries(codes).map(([name, code]) => `${name.padEnd(48)} ${code}`).join("\n"));
});

test("sessions made now by the real libraries, read by the wasm engine", async () => {
  const vectors = await buildVectors();
  assert.ok(vectors.length >= 90);
  for (const vector of vectors) await check(vector);
});

test("setSession refuses a gate whose session belongs to an auth library", async () => {
  const options = optionsFor(file.vectors[0]);
  await assert.rejects(
    setSession(new Response(null), { accessToken: "x.y.z" }, { options }),
    (e) => e.code === "ERR_SESSION_INVALID",
  );
});

test("verifyToken false: an opaque token goes upstream on the session's word alone", async () => {
  const make = await import("./sessions/make.mjs");
  const secret = "a-session-secret-of-at-least-32-characters";
  const now = Math.floor(Date.now() / 1000);
  const { cookies } = await make.authjs({ token: { sub: "u-7", accessToken: "opaque-7f3a" }, secret, secure: true });
  const options = {
    rules: [{ match: "/api/:path*", kind: "api" }],
    session: { format: "authjs", secret, verifyToken: false },
    upstream: { claimHeaders: { sub: "x-auth-sub" } },
  };
  const gate = await createGate(options, { now });
  const cookie = cookies.map(([name, value]) => `${name}=${value}`).join("; ");
  const passed = await gate.decide({ url: "https://app.example/api/x", headers: { cookie } });
  assert.equal(passed.code, "OK_AUTHENTICATED");
  const headers = new Headers(passed.requestHeaders);
  assert.equal(headers.get("authorization"), "Bearer opaque-7f3a");
  assert.equal(headers.get("x-auth-sub"), "u-7", "claim headers come from the session");
  // The same cookie sealed under another secret, and a bearer header with no session: refused.
  const other = await make.authjs({ token: { accessToken: "opaque-7f3a" }, secret: `${secret}-other`, secure: true });
  const forged = await gate.decide({ url: "https://app.example/api/x", headers: { cookie: other.cookies.map((c) => c.join("=")).join("; ") } });
  assert.equal(forged.code, "ERR_JWE_DECRYPTION_FAILED");
  const bearer = await gate.decide({ url: "https://app.example/api/x", headers: { authorization: "Bearer opaque-7f3a" } });
  assert.equal(bearer.code, "ERR_NO_TOKEN", "a bearer header has no session to vouch for it");
  // verify beside verifyToken false is a contradiction, refused when the gate is built.
  await assert.rejects(
    createGate({ ...options, verify: { algorithms: ["HS256"], keys: secret } }),
    (e) => e.code === "ERR_CONFIG_INVALID",
  );
});
