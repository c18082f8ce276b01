// Session cookies of Auth.js / next-auth 4 / Auth0 v4 and v3 / Kinde (tests/node/sessions/):
// the committed vectors of tests/data/sessions.json still mean what they say with the pinned
// libraries, a fresh build agrees too, and the facts of sessions/FORMATS.md that the gate's
// Rust code relies on (names, chunk sizes, key derivation, headers) hold in the libraries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as jose from "jose";
import * as make from "./sessions/make.mjs";
import { readers } from "./sessions/read.mjs";
import { authjsKid, derive, KDF, reference } from "./sessions/reference.mjs";
import { buildVectors, judge, NOW, TOKEN } from "./sessions/vectors.mjs";

const file = JSON.parse(readFileSync(new URL("../data/sessions.json", import.meta.url), "utf8"));
const S = "a-session-secret-of-at-least-32-characters";
const header = (jwe) => JSON.parse(Buffer.from(jwe.split(".")[0], "base64url").toString());
const formats = ["authjs", "nextAuth4", "auth0v4", "auth0v3", "kinde"];

test("tests/data/sessions.json: every vector, judged by the library and the reference model", async (t) => {
  assert.equal(file.now, NOW);
  for (const f of formats) assert.ok(file.vectors.some((v) => v.format === f), f);
  for (const v of file.vectors) {
    await t.test(v.name, async () => {
      const { problems } = await judge(v);
      assert.deepEqual(problems, []);
    });
  }
});

test("a fresh build of the vectors agrees with the libraries and the reference model", async () => {
  const vectors = await buildVectors();
  assert.equal(vectors.length, file.vectors.length);
  assert.deepEqual(vectors.map((v) => v.name), file.vectors.map((v) => v.name));
  for (const v of vectors) assert.deepEqual((await judge(v)).problems, [], v.name);
});

test("Auth.js: names, chunks of 3936, salt = cookie name, A256CBC-HS512 with an sha512 kid; next-auth 5 is @auth/core", async () => {
  const v5 = await import("next-auth-v5/jwt");
  const core = await import("@auth/core/jwt");
  assert.equal(v5.encode, core.encode);
  assert.equal(v5.decode, core.decode);
  assert.equal(make.authjsCookieName(false), "authjs.session-token");
  assert.equal(make.authjsCookieName(true), "__Secure-authjs.session-token");
  const value = "v".repeat(3936 * 2 + 1);
  assert.deepEqual(make.chunkAuthjs("n", value).map(([n, v]) => [n, v.length]), [["n.0", 3936], ["n.1", 3936], ["n.2", 1]]);
  assert.deepEqual(make.chunkAuthjs("n", "v".repeat(3936)).map(([n]) => n), ["n"]);
  const { value: jwe } = await make.authjs({ token: { accessToken: TOKEN }, secret: S, secure: true, now: NOW });
  const key = derive(S, KDF.authjs(S, "__Secure-authjs.session-token", "A256CBC-HS512"));
  assert.deepEqual(header(jwe), { alg: "dir", enc: "A256CBC-HS512", kid: await authjsKid(key) });
  const { payload } = await jose.jwtDecrypt(jwe, key, { currentDate: new Date(NOW * 1000) });
  assert.equal(payload.accessToken, TOKEN);
  assert.equal(payload.iat, NOW);
  assert.equal(payload.exp, NOW + 30 * 24 * 60 * 60);
  assert.match(payload.jti, /^[0-9a-f-]{36}$/);
});

test("next-auth 4: names, chunks of 3933, salt \"\", A256GCM without kid", async () => {
  assert.equal(make.nextAuth4CookieName(false), "next-auth.session-token");
  assert.equal(make.nextAuth4CookieName(true), "__Secure-next-auth.session-token");
  const long = await make.nextAuth4({ token: { accessToken: TOKEN, pad: "p".repeat(6000) }, secret: S, secure: true, now: NOW });
  assert.deepEqual(long.cookies.map(([n, v]) => [n, v.length]).slice(0, 1), [["__Secure-next-auth.session-token.0", 3933]]);
  assert.deepEqual(header(long.value), { alg: "dir", enc: "A256GCM" });
  const { payload } = await jose.jwtDecrypt(long.value, derive(S, KDF.nextAuth4()), { currentDate: new Date(NOW * 1000) });
  assert.equal(payload.accessToken, TOKEN);
});

test("Auth0 v4: __session, chunks __session__N of 3500, HKDF 'JWE CEK', exp in the payload; its Next-free testing export agrees", async () => {
  const session = { user: { sub: "u" }, tokenSet: { accessToken: TOKEN, expiresAt: NOW + 3600 }, internal: { sid: "s", createdAt: NOW } };
  const one = await make.auth0v4({ session, secret: S, now: NOW });
  assert.deepEqual(one.cookies.map(([n]) => n), ["__session"]);
  assert.deepEqual(header(one.value), { enc: "A256GCM", alg: "dir" });
  const { payload } = await jose.jwtDecrypt(one.value, derive(S, KDF.auth0()), { currentDate: new Date(NOW * 1000) });
  assert.equal(payload.tokenSet.accessToken, TOKEN);
  assert.equal(payload.exp, NOW + 24 * 60 * 60); // rolling: min(now + 1 day, createdAt + 3 days)
  const big = await make.auth0v4({ session: { ...session, user: { sub: "u", pad: "p".repeat(5000) } }, secret: S, now: NOW });
  assert.deepEqual(big.cookies.map(([n]) => n), ["__session__0", "__session__1", "__session__2"]);
  assert.deepEqual(big.cookies.map(([, v]) => v.length), [3500, 3500, big.value.length - 7000]);
  // @auth0/nextjs-auth0/testing: generateSessionCookie = encrypt(session, secret, now + 1 h)
  const { generateSessionCookie } = await import("nextjs-auth0-v4/testing");
  const cookie = await make.atTime(NOW, () => generateSessionCookie(structuredClone(session), { secret: S }));
  const read = await reference("auth0v4", { cookies: [["__session", cookie]], secrets: [S], now: NOW });
  assert.deepEqual(read, { ok: true, token: TOKEN, session_exp: NOW + 3600 });
});

test("Auth0 v3: appSession, chunks appSession.N, exp/iat/uat in the protected header", async () => {
  const v3 = await make.auth0v3({ session: { user: { sub: "u" }, accessToken: TOKEN, pad: "p".repeat(5000) }, secret: S, now: NOW });
  assert.equal(v3.chunkSize, 4012);
  assert.deepEqual(v3.cookies.map(([n]) => n), ["appSession.0", "appSession.1"]);
  assert.deepEqual(header(v3.value), { alg: "dir", enc: "A256GCM", uat: NOW, iat: NOW, exp: NOW + 24 * 60 * 60 });
  const { payload } = await jose.jwtDecrypt(v3.value, derive(S, KDF.auth0()));
  assert.equal(payload.accessToken, TOKEN);
  assert.equal(payload.exp, undefined);
  const secure = await make.auth0v3({ session: { pad: "p".repeat(5000) }, secret: S, secure: true, now: NOW });
  assert.equal(secure.chunkSize, 4004);
  // @auth0/nextjs-auth0@3 /testing: the same StatelessSession.encrypt
  const { generateSessionCookie } = (await import("node:module")).createRequire(import.meta.url)("nextjs-auth0-v3/testing");
  const cookie = await make.atTime(NOW, () => generateSessionCookie({ user: { sub: "u" }, accessToken: TOKEN }, { secret: S }));
  const read = await readers.auth0v3({ cookies: [["appSession", cookie]], secrets: [S], now: NOW });
  assert.equal(read.token, TOKEN);
});

test("Kinde: the raw token in access_token, access_token1, ... of 3000 characters", async () => {
  const token = "h.".padEnd(7001, "x");
  const k = await make.kinde({ accessToken: token });
  assert.deepEqual(k.cookies.map(([n, v]) => [n, v.length]), [["access_token", 3000], ["access_token1", 3000], ["access_token2", 1001]]);
  assert.equal(k.cookies.map(([, v]) => v).join(""), token);
});
