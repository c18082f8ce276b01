// The session-cookie vectors of tests/data/sessions.json: how each is made (with the real
// libraries, make.mjs) and how it is judged (the library's read path, read.mjs, and the
// reference model, reference.mjs). fixtures.mjs writes or checks the file; sessions.test.mjs
// checks the committed file and a fresh build.
import { readFileSync } from "node:fs";
import * as jose from "jose";
import * as make from "./make.mjs";
import { readers } from "./read.mjs";
import { authjsKid, derive, KDF, reference } from "./reference.mjs";

export const NOW = 1767225600; // 2026-01-01T00:00:00Z
const Y2001 = 978307200; // 2001-01-01T00:00:00Z
const Y2100 = 4102444800; // 2100-01-01T00:00:00Z
export const BACKEND_KEY = "backend-secret-of-at-least-32-bytes!!";
const A = "edgegate-session-secret-A-0123456789abcdef"; // current
const B = "edgegate-session-secret-B-0123456789abcdef"; // previous (rotation)
const X = "edgegate-session-secret-X-not-the-right-one";

const te = new TextEncoder();
export const versions = Object.fromEntries(
  ["@auth/core", "next-auth", "next-auth-v5", "nextjs-auth0-v4", "nextjs-auth0-v3", "@kinde-oss/kinde-auth-nextjs", "jose"].map(
    (p) => [p, JSON.parse(readFileSync(new URL(`../node_modules/${p}/package.json`, import.meta.url))).version],
  ),
);

const sign = (claims, exp = Y2100) =>
  new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(NOW).setExpirationTime(exp).sign(te.encode(BACKEND_KEY));

export const TOKEN = await sign({ iss: "https://issuer.example/", sub: "user-123", aud: "https://api.example/", scope: "read:things" });
// long enough for three Kinde chunks (3000 characters each)
export const TOKEN_LONG = await sign({
  iss: "https://issuer.example/",
  sub: "user-123",
  aud: "https://api.example/",
  permissions: Array.from({ length: 260 }, (_, i) => `permission:number-${String(i).padStart(3, "0")}`),
});
export const TOKEN_EXPIRED = await sign({ iss: "https://issuer.example/", sub: "user-123" }, Y2001);
// an ID token large enough to push any session cookie into three chunks
const ID_TOKEN_LONG = await sign({
  iss: "https://issuer.example/",
  sub: "user-123",
  groups: Array.from({ length: 140 }, (_, i) => `group-with-a-longish-name-${String(i).padStart(3, "0")}`),
});

// ---- small tools --------------------------------------------------------------------------

const parts = (jwe) => jwe.split(".");
/** Flip one character in the middle of the JWE's authentication tag (5th part). */
function tamperTag(jwe) {
  const p = parts(jwe);
  const t = p[4];
  const i = Math.floor(t.length / 2);
  p[4] = t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
  return p.join(".");
}
function tamperCiphertext(jwe) {
  const p = parts(jwe);
  const c = p[3];
  const i = Math.floor(c.length / 2);
  p[3] = c.slice(0, i) + (c[i] === "A" ? "B" : "A") + c.slice(i + 1);
  return p.join(".");
}
function withHeader(jwe, edit) {
  const p = parts(jwe);
  const h = JSON.parse(Buffer.from(p[0], "base64url").toString());
  p[0] = Buffer.from(JSON.stringify(edit(h))).toString("base64url");
  return p.join(".");
}
async function encryptJwt(payload, key, protectedHeader) {
  return new jose.EncryptJWT(payload).setProtectedHeader(protectedHeader).encrypt(key);
}
const chunkNames = (cookies) => cookies.map((c) => c[0]);

// ---- the vectors ----------------------------------------------------------------------------

export async function buildVectors() {
  const vectors = [];
  function add(v) {
    vectors.push({ secure: false, secrets: [], now: NOW, ...v });
  }
  const ok = (token) => ({ token });
  const err = (error) => ({ error });

  const authjsClaims = (extra = {}) => ({ name: "Ada Lovelace", email: "ada@example.com", sub: "user-123", accessToken: TOKEN, ...extra });

  // Auth.js -------------------------------------------------------------------------------------
  {
    const F = "authjs";
    for (const secure of [false, true]) {
      const s = secure ? "https" : "http";
      const one = await make.authjs({ token: authjsClaims(), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/single`, format: F, secure, cookies: one.cookies, secrets: [A], expect: ok(TOKEN) });
      const big = await make.authjs({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/chunked`, format: F, secure, cookies: big.cookies, secrets: [A], expect: ok(TOKEN) });
    }
    const secure = true;
    const name = make.authjsCookieName(true);
    const httpName = make.authjsCookieName(false);
    const cur = await make.authjs({ token: authjsClaims(), secrets: [A, B], secure, now: NOW });
    add({ name: `${F}/https/rotation/current`, format: F, secure, cookies: cur.cookies, secrets: [A, B], expect: ok(TOKEN), note: "encode encrypts with secrets[0]" });
    const prev = await make.authjs({ token: authjsClaims(), secret: B, secure, now: NOW });
    add({ name: `${F}/https/rotation/previous`, format: F, secure, cookies: prev.cookies, secrets: [A, B], expect: ok(TOKEN), note: "decode picks the secret whose derived key's thumbprint is the kid" });
    const prevBig = await make.authjs({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: B, secure, now: NOW });
    add({ name: `${F}/https/rotation/previous-chunked`, format: F, secure, cookies: prevBig.cookies, secrets: [A, B], expect: ok(TOKEN) });
    add({ name: `${F}/https/chunked/out-of-order`, format: F, secure, cookies: [...prevBig.cookies].reverse(), secrets: [A, B], expect: ok(TOKEN), note: "chunks are ordered by their index, not by their place in the Cookie header" });

    // hand-made with the library's key derivation
    const claims = { ...authjsClaims(), iat: NOW, exp: NOW + make.DEFAULT_MAX_AGE, jti: "00000000-0000-4000-8000-000000000000" };
    const k64 = derive(A, KDF.authjs(A, name, "A256CBC-HS512"));
    const k32 = derive(A, KDF.authjs(A, name, "A256GCM"));
    const kB64 = derive(B, KDF.authjs(B, name, "A256CBC-HS512"));
    const gcm = await encryptJwt(claims, k32, { alg: "dir", enc: "A256GCM", kid: await authjsKid(k32) });
    add({ name: `${F}/https/enc-A256GCM`, format: F, secure, cookies: [[name, gcm]], secrets: [A], expect: ok(TOKEN), note: "decode allows enc A256GCM too: key = the same HKDF with length 32 (the first 32 bytes of the 64-byte key), kid = sha256 thumbprint" });
    const noKidA = await encryptJwt(claims, k64, { alg: "dir", enc: "A256CBC-HS512" });
    add({ name: `${F}/https/no-kid/first-secret`, format: F, secure, cookies: [[name, noKidA]], secrets: [A, B], expect: ok(TOKEN), note: "without a kid, decode uses the first secret" });
    const noKidB = await encryptJwt(claims, kB64, { alg: "dir", enc: "A256CBC-HS512" });
    add({ name: `${F}/https/no-kid/second-secret`, format: F, secure, cookies: [[name, noKidB]], secrets: [A, B], expect: err("no kid: only the first secret is tried, and it is not the one"), note: "@auth/core decode returns the first secret's key when the header has no kid" });

    // negative
    const good = await make.authjs({ token: authjsClaims(), secret: A, secure, now: NOW });
    add({ name: `${F}/https/tampered-tag`, format: F, secure, cookies: [[name, tamperTag(good.value)]], secrets: [A], expect: err("authentication tag does not verify") });
    add({ name: `${F}/https/tampered-ciphertext`, format: F, secure, cookies: [[name, tamperCiphertext(good.value)]], secrets: [A], expect: err("authentication tag does not verify") });
    add({ name: `${F}/https/wrong-secret`, format: F, secure, cookies: good.cookies, secrets: [X], expect: err("no secret matches the kid") });
    const httpOne = await make.authjs({ token: authjsClaims(), secret: A, secure: false, now: NOW });
    add({ name: `${F}/https/wrong-salt`, format: F, secure: true, cookies: [[name, httpOne.value]], secrets: [A], expect: err("the value was encrypted for authjs.session-token (salt), presented as __Secure-authjs.session-token") });
    add({ name: `${F}/http/wrong-salt`, format: F, secure: false, cookies: [[httpName, good.value]], secrets: [A], expect: err("the value was encrypted for __Secure-authjs.session-token (salt), presented as authjs.session-token") });
    add({ name: `${F}/https/only-http-cookie`, format: F, secure: true, cookies: httpOne.cookies, secrets: [A], expect: err("an https request reads __Secure-authjs.session-token; only authjs.session-token is there") });
    const old = await make.authjs({ token: authjsClaims(), secret: A, secure, now: Y2001 - make.DEFAULT_MAX_AGE });
    add({ name: `${F}/https/expired-2001`, format: F, secure, cookies: old.cookies, secrets: [A], expect: err("exp 2001-01-01 is past") });
    const edge = await make.authjs({ token: authjsClaims(), secret: A, secure, now: NOW, maxAge: -14 });
    add({ name: `${F}/https/exp-within-tolerance`, format: F, secure, cookies: edge.cookies, secrets: [A], expect: ok(TOKEN), note: "exp = now - 14: decode's clockTolerance is 15 s (valid while exp > now - 15)" });
    const past = await make.authjs({ token: authjsClaims(), secret: A, secure, now: NOW, maxAge: -15 });
    add({ name: `${F}/https/exp-past-tolerance`, format: F, secure, cookies: past.cookies, secrets: [A], expect: err("exp = now - 15: past the 15 s tolerance") });
    add({ name: `${F}/https/header-enc-edited`, format: F, secure, cookies: [[name, withHeader(good.value, (h) => ({ ...h, enc: "A256GCM" }))]], secrets: [A], expect: err("header says A256GCM, content is A256CBC-HS512 (the header is also authenticated data)") });
    const a128 = await encryptJwt(claims, k32, { alg: "dir", enc: "A128CBC-HS256", kid: await authjsKid(k32) });
    add({ name: `${F}/https/enc-A128CBC-HS256`, format: F, secure, cookies: [[name, a128]], secrets: [A], expect: err("enc A128CBC-HS256 is not allowed (decode allows A256CBC-HS512 and A256GCM)") });
    const kw = await encryptJwt(claims, k32, { alg: "A256KW", enc: "A256CBC-HS512", kid: await authjsKid(k32) });
    add({ name: `${F}/https/alg-A256KW`, format: F, secure, cookies: [[name, kw]], secrets: [A], expect: err("alg A256KW is not allowed (dir only)") });
    add({ name: `${F}/https/unknown-kid`, format: F, secure, cookies: [[name, withHeader(good.value, (h) => ({ ...h, kid: "not-a-thumbprint" }))]], secrets: [A, B], expect: err("kid matches no secret") });
    const three = await make.authjs({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
    if (three.cookies.length < 3) throw new Error("the chunked Auth.js session needs 3 chunks");
    add({ name: `${F}/https/missing-middle-chunk`, format: F, secure, cookies: three.cookies.filter((_, i) => i !== 1), secrets: [A], expect: err(`${chunkNames(three.cookies)[1]} is missing`) });
    add({ name: `${F}/https/base-mixed-with-chunks`, format: F, secure, cookies: [[name, good.value], ...three.cookies], secrets: [A], expect: err("a base cookie and chunks at once (the library concatenates all of them)") });
    add({ name: `${F}/https/stale-extra-chunk`, format: F, secure, cookies: [...three.cookies, [`${name}.${three.cookies.length}`, three.cookies[1][1]]], secrets: [A], expect: err("a stale chunk past the end (the library appends it)") });
    add({ name: `${F}/https/garbage`, format: F, secure, cookies: [[name, "not-a-jwe"]], secrets: [A], expect: err("not a compact JWE") });
  }

  // next-auth 4 ---------------------------------------------------------------------------------
  {
    const F = "nextAuth4";
    const single = "next-auth 4 takes one secret; the secrets are tried in order (a gate feature)";
    for (const secure of [false, true]) {
      const s = secure ? "https" : "http";
      const one = await make.nextAuth4({ token: authjsClaims(), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/single`, format: F, secure, cookies: one.cookies, secrets: [A], expect: ok(TOKEN) });
      const big = await make.nextAuth4({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/chunked`, format: F, secure, cookies: big.cookies, secrets: [A], expect: ok(TOKEN) });
    }
    const secure = true;
    const name = make.nextAuth4CookieName(true);
    const cur = await make.nextAuth4({ token: authjsClaims(), secret: A, secure, now: NOW });
    add({ name: `${F}/https/rotation/current`, format: F, secure, cookies: cur.cookies, secrets: [A, B], expect: ok(TOKEN), note: single });
    const prev = await make.nextAuth4({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: B, secure, now: NOW });
    add({ name: `${F}/https/rotation/previous-chunked`, format: F, secure, cookies: prev.cookies, secrets: [A, B], expect: ok(TOKEN), note: single });
    const httpOne = await make.nextAuth4({ token: authjsClaims(), secret: A, secure: false, now: NOW });
    add({ name: `${F}/https/http-value-under-https-name`, format: F, secure, cookies: [[name, httpOne.value]], secrets: [A], expect: ok(TOKEN), note: "next-auth 4 derives with salt \"\": the value does not depend on the cookie name" });

    const key = derive(A, KDF.nextAuth4());
    const claims = { ...authjsClaims(), iat: NOW, exp: NOW + make.DEFAULT_MAX_AGE, jti: "00000000-0000-4000-8000-000000000000" };
    add({ name: `${F}/https/tampered-tag`, format: F, secure, cookies: [[name, tamperTag(cur.value)]], secrets: [A], expect: err("authentication tag does not verify") });
    add({ name: `${F}/https/wrong-secret`, format: F, secure, cookies: cur.cookies, secrets: [X], expect: err("wrong secret") });
    const old = await make.nextAuth4({ token: authjsClaims(), secret: A, secure, now: Y2001 - make.DEFAULT_MAX_AGE });
    add({ name: `${F}/https/expired-2001`, format: F, secure, cookies: old.cookies, secrets: [A], expect: err("exp 2001-01-01 is past") });
    const edge = await make.nextAuth4({ token: authjsClaims(), secret: A, secure, now: NOW, maxAge: -14 });
    add({ name: `${F}/https/exp-within-tolerance`, format: F, secure, cookies: edge.cookies, secrets: [A], expect: ok(TOKEN), note: "clockTolerance 15 s" });
    const past = await make.nextAuth4({ token: authjsClaims(), secret: A, secure, now: NOW, maxAge: -15 });
    add({ name: `${F}/https/exp-past-tolerance`, format: F, secure, cookies: past.cookies, secrets: [A], expect: err("exp = now - 15: past the 15 s tolerance") });
    const a128 = await encryptJwt(claims, key, { alg: "dir", enc: "A128CBC-HS256" });
    add({ name: `${F}/https/enc-A128CBC-HS256`, format: F, secure, cookies: [[name, a128]], secrets: [A], expect: err("enc A128CBC-HS256: next-auth 4 writes A256GCM only"), library_differs: "jose 4's jwtDecrypt has no enc allowlist here, so the library accepts any enc whose key is 32 bytes" });
    const kw = await encryptJwt(claims, key, { alg: "A256KW", enc: "A256GCM" });
    add({ name: `${F}/https/alg-A256KW`, format: F, secure, cookies: [[name, kw]], secrets: [A], expect: err("alg A256KW: next-auth 4 writes dir only"), library_differs: "jose 4's jwtDecrypt has no alg allowlist here: the derived key unwraps an A256KW CEK" });
    add({ name: `${F}/https/header-enc-edited`, format: F, secure, cookies: [[name, withHeader(cur.value, (h) => ({ ...h, enc: "A256CBC-HS512" }))]], secrets: [A], expect: err("header says A256CBC-HS512, content is A256GCM") });
    const three = await make.nextAuth4({ token: authjsClaims({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/missing-middle-chunk`, format: F, secure, cookies: three.cookies.filter((_, i) => i !== 1), secrets: [A], expect: err(`${chunkNames(three.cookies)[1]} is missing`) });
    add({ name: `${F}/https/base-mixed-with-chunks`, format: F, secure, cookies: [[name, cur.value], ...three.cookies], secrets: [A], expect: err("a base cookie and chunks at once (the library concatenates all of them)") });
  }

  // Auth0 v4 ------------------------------------------------------------------------------------
  const auth0User = { sub: "auth0|user-123", name: "Ada Lovelace", email: "ada@example.com", sid: "sid-123" };
  const v4Session = (over = {}) => ({
    user: auth0User,
    tokenSet: { accessToken: TOKEN, idToken: "id-token-placeholder", scope: "openid profile email offline_access", refreshToken: "refresh-token-placeholder", expiresAt: NOW + 86400, ...over.tokenSet },
    internal: { sid: "sid-123", createdAt: NOW, ...over.internal },
  });
  {
    const F = "auth0v4";
    const single = "Auth0 v4 takes one secret (AUTH0_SECRET); the secrets are tried in order (a gate feature)";
    for (const secure of [false, true]) {
      const s = secure ? "https" : "http";
      const one = await make.auth0v4({ session: v4Session(), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/single`, format: F, secure, cookies: one.cookies, secrets: [A], expect: ok(TOKEN) });
      const big = await make.auth0v4({ session: v4Session({ tokenSet: { idToken: ID_TOKEN_LONG } }), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/chunked`, format: F, secure, cookies: big.cookies, secrets: [A], expect: ok(TOKEN) });
    }
    const secure = true;
    const cur = await make.auth0v4({ session: v4Session(), secret: A, secure, now: NOW });
    const prev = await make.auth0v4({ session: v4Session({ tokenSet: { idToken: ID_TOKEN_LONG } }), secret: B, secure, now: NOW });
    add({ name: `${F}/https/rotation/current`, format: F, secure, cookies: cur.cookies, secrets: [A, B], expect: ok(TOKEN), note: single });
    add({ name: `${F}/https/rotation/previous-chunked`, format: F, secure, cookies: prev.cookies, secrets: [A, B], expect: ok(TOKEN), note: single });
    const three = await make.auth0v4({ session: v4Session({ tokenSet: { idToken: ID_TOKEN_LONG } }), secret: A, secure, now: NOW });
    if (three.cookies.length < 3) throw new Error("the chunked Auth0 v4 session needs 3 chunks");
    add({ name: `${F}/https/chunked/out-of-order`, format: F, secure, cookies: [...three.cookies].reverse(), secrets: [A], expect: ok(TOKEN) });
    add({ name: `${F}/https/base-wins-over-chunks`, format: F, secure, cookies: [...cur.cookies, ...three.cookies.filter((_, i) => i !== 1)], secrets: [A], expect: ok(TOKEN), note: "getChunkedCookie returns the unchunked __session when it is there and ignores __session__N" });
    add({ name: `${F}/https/bad-base-with-good-chunks`, format: F, secure, cookies: [["__session", tamperTag(cur.value)], ...three.cookies], secrets: [A], expect: err("the unchunked cookie is read and fails; chunks are not tried") });
    add({ name: `${F}/https/missing-middle-chunk`, format: F, secure, cookies: three.cookies.filter((_, i) => i !== 1), secrets: [A], expect: err("__session__1 is missing (the library checks the sequence)") });
    add({ name: `${F}/https/dot-chunks-ignored`, format: F, secure, cookies: three.cookies.map(([n, v]) => [n.replace("__session__", "__session."), v]), secrets: [A], expect: err("__session.N is not a v4 chunk name (only appSession.N is read, as legacy)") });
    add({ name: `${F}/https/tampered-tag`, format: F, secure, cookies: [["__session", tamperTag(cur.value)]], secrets: [A], expect: err("authentication tag does not verify") });
    add({ name: `${F}/https/wrong-secret`, format: F, secure, cookies: cur.cookies, secrets: [X], expect: err("wrong secret") });
    // exp: now + maxAge where maxAge = min(inactivityDuration, createdAt + absoluteDuration - now)
    const old = await make.auth0v4({ session: v4Session({ internal: { createdAt: Y2001 - 86400 }, tokenSet: { expiresAt: Y2001 } }), secret: A, secure, now: Y2001 - 86400 });
    add({ name: `${F}/https/expired-2001`, format: F, secure, cookies: old.cookies, secrets: [A], expect: err("exp 2001-01-01 is past") });
    const session = v4Session();
    const within = await make.auth0v4Encrypt(session, A, NOW - 14);
    add({ name: `${F}/https/exp-within-tolerance`, format: F, secure, cookies: [["__session", within]], secrets: [A], expect: ok(TOKEN), note: "exp = now - 14: decrypt's clockTolerance is 15 s" });
    const beyond = await make.auth0v4Encrypt(session, A, NOW - 15);
    add({ name: `${F}/https/exp-past-tolerance`, format: F, secure, cookies: [["__session", beyond]], secrets: [A], expect: err("exp = now - 15: past the 15 s tolerance") });
    const ceilSoon = await make.auth0v4({ session: v4Session({ internal: { sessionExpiresAt: NOW + 29 } }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/session-ceiling-reached`, format: F, secure, cookies: ceilSoon.cookies, secrets: [A], expect: err("internal.sessionExpiresAt - 30 s <= now"), note: "IPSIE session ceiling: treated as reached 30 s early" });
    const ceilLater = await make.auth0v4({ session: v4Session({ internal: { sessionExpiresAt: NOW + 31 } }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/session-ceiling-not-reached`, format: F, secure, cookies: ceilLater.cookies, secrets: [A], expect: ok(TOKEN) });
    const atExpired = await make.auth0v4({ session: v4Session({ tokenSet: { expiresAt: NOW - 60 } }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/access-token-expired`, format: F, secure, cookies: atExpired.cookies, secrets: [A], expect: err("tokenSet.expiresAt is past: the access token is expired"), library_differs: "the session is valid; the SDK's getAccessToken() would refresh the token (the gate cannot)" });
    const dpop = await make.auth0v4({ session: v4Session({ tokenSet: { token_type: "DPoP" } }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/token-type-dpop`, format: F, secure, cookies: dpop.cookies, secrets: [A], expect: err("token_type DPoP: a DPoP-bound token cannot be forwarded as Bearer"), library_differs: "the session is valid; the SDK would send it with a DPoP proof" });
    const bearer = await make.auth0v4({ session: v4Session({ tokenSet: { token_type: "Bearer" } }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/token-type-bearer`, format: F, secure, cookies: bearer.cookies, secrets: [A], expect: ok(TOKEN) });
    const key = derive(A, KDF.auth0());
    const claims = { ...v4Session(), exp: NOW + 86400 };
    const a128 = await encryptJwt(claims, key, { alg: "dir", enc: "A128CBC-HS256" });
    add({ name: `${F}/https/enc-A128CBC-HS256`, format: F, secure, cookies: [["__session", a128]], secrets: [A], expect: err("enc A128CBC-HS256: the SDK writes A256GCM only"), library_differs: "decrypt() passes no enc allowlist to jose, so any enc with a 32-byte key is accepted" });
    const kw = await encryptJwt(claims, key, { alg: "A256KW", enc: "A256GCM" });
    add({ name: `${F}/https/alg-A256KW`, format: F, secure, cookies: [["__session", kw]], secrets: [A], expect: err("alg A256KW: the SDK writes dir only"), library_differs: "decrypt() passes no alg allowlist to jose: the derived key unwraps an A256KW CEK" });
    // a v3 cookie left from before an upgrade: v4 reads appSession / appSession.N with the same key
    const legacy = await make.auth0v3({ session: { user: auth0User, accessToken: TOKEN, accessTokenScope: "openid", accessTokenExpiresAt: NOW + 86400, token_type: "Bearer" }, secret: A, secure, now: NOW });
    add({ name: `${F}/https/legacy-appSession`, format: F, secure, cookies: legacy.cookies, secrets: [A], expect: ok(TOKEN), note: "v4 falls back to the v3 cookie (appSession, chunks appSession.N) and converts it (normalizeStatelessSession)" });
    const legacyOld = await make.auth0v3Encrypt({ user: auth0User, accessToken: TOKEN, accessTokenExpiresAt: NOW + 86400 }, { iat: NOW - 3600, uat: NOW - 3600, exp: NOW - 60 }, A);
    add({ name: `${F}/https/legacy-appSession-expired`, format: F, secure, cookies: [["appSession", legacyOld]], secrets: [A], expect: err("the v3 header's exp is past"), library_differs: "v4 reads a legacy cookie without looking at the v3 header's exp/uat/iat (the payload has no exp), so it accepts an expired v3 session" });
  }

  // Auth0 v3 ------------------------------------------------------------------------------------
  const v3Session = (over = {}) => ({
    user: auth0User,
    idToken: "id-token-placeholder",
    accessToken: TOKEN,
    accessTokenScope: "openid profile email",
    accessTokenExpiresAt: NOW + 86400,
    refreshToken: "refresh-token-placeholder",
    token_type: "Bearer",
    ...over,
  });
  {
    const F = "auth0v3";
    for (const secure of [false, true]) {
      const s = secure ? "https" : "http";
      const one = await make.auth0v3({ session: v3Session(), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/single`, format: F, secure, cookies: one.cookies, secrets: [A], expect: ok(TOKEN) });
      const big = await make.auth0v3({ session: v3Session({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
      add({ name: `${F}/${s}/chunked`, format: F, secure, cookies: big.cookies, secrets: [A], expect: ok(TOKEN), note: `chunk size ${big.chunkSize}` });
    }
    const secure = true;
    const cur = await make.auth0v3({ session: v3Session(), secrets: [A, B], secure, now: NOW });
    add({ name: `${F}/https/rotation/current`, format: F, secure, cookies: cur.cookies, secrets: [A, B], expect: ok(TOKEN), note: "secret may be an array: the first encrypts, all are tried to decrypt" });
    const prev = await make.auth0v3({ session: v3Session({ idToken: ID_TOKEN_LONG }), secret: B, secure, now: NOW });
    add({ name: `${F}/https/rotation/previous-chunked`, format: F, secure, cookies: prev.cookies, secrets: [A, B], expect: ok(TOKEN) });
    const three = await make.auth0v3({ session: v3Session({ idToken: ID_TOKEN_LONG }), secret: A, secure, now: NOW });
    if (three.cookies.length < 2) throw new Error("the chunked Auth0 v3 session needs 2 chunks");
    add({ name: `${F}/https/base-wins-over-chunks`, format: F, secure, cookies: [...three.cookies, ...cur.cookies], secrets: [A], expect: ok(TOKEN), note: "getSession reads the unchunked appSession when it is there" });
    add({ name: `${F}/https/missing-chunk`, format: F, secure, cookies: three.cookies.filter((_, i) => i !== 1), secrets: [A], expect: err("appSession.1 is missing (the library joins what is there, and decryption fails)") });
    add({ name: `${F}/https/tampered-tag`, format: F, secure, cookies: [["appSession", tamperTag(cur.value)]], secrets: [A], expect: err("authentication tag does not verify") });
    add({ name: `${F}/https/wrong-secret`, format: F, secure, cookies: cur.cookies, secrets: [X], expect: err("wrong secret") });
    const old = await make.auth0v3({ session: v3Session({ accessTokenExpiresAt: Y2001 }), secret: A, secure, now: Y2001 - 86400 });
    add({ name: `${F}/https/expired-2001`, format: F, secure, cookies: old.cookies, secrets: [A], expect: err("header exp 2001-01-01 is past") });
    const s = v3Session();
    const e1 = await make.auth0v3Encrypt(s, { iat: NOW - 3600, uat: NOW - 3600, exp: NOW + 1 }, A);
    add({ name: `${F}/https/header-exp-now-plus-1`, format: F, secure, cookies: [["appSession", e1]], secrets: [A], expect: ok(TOKEN), note: "valid while header exp > now (no clock tolerance)" });
    const e0 = await make.auth0v3Encrypt(s, { iat: NOW - 3600, uat: NOW - 3600, exp: NOW }, A);
    add({ name: `${F}/https/header-exp-now`, format: F, secure, cookies: [["appSession", e0]], secrets: [A], expect: err("header exp = now (no tolerance)") });
    const rolled = await make.auth0v3Encrypt(s, { iat: NOW - 86400, uat: NOW - 86400, exp: NOW + 3600 }, A);
    add({ name: `${F}/https/rolling-duration-past`, format: F, secure, cookies: [["appSession", rolled]], secrets: [A], expect: err("header uat + rollingDuration (default 1 day) <= now") });
    const absolute = await make.auth0v3Encrypt(s, { iat: NOW - 7 * 86400, uat: NOW - 60, exp: NOW + 3600 }, A);
    add({ name: `${F}/https/absolute-duration-past`, format: F, secure, cookies: [["appSession", absolute]], secrets: [A], expect: err("header iat + absoluteDuration (default 7 days) <= now") });
    const noHeaderExp = await encryptJwt(s, derive(A, KDF.auth0()), { alg: "dir", enc: "A256GCM" });
    add({ name: `${F}/https/no-header-times`, format: F, secure, cookies: [["appSession", noHeaderExp]], secrets: [A], expect: err("no exp/iat/uat in the header") });
    const atExpired = await make.auth0v3({ session: v3Session({ accessTokenExpiresAt: NOW - 60 }), secret: A, secure, now: NOW });
    add({ name: `${F}/https/access-token-expired`, format: F, secure, cookies: atExpired.cookies, secrets: [A], expect: err("accessTokenExpiresAt is past: the access token is expired"), library_differs: "the session is valid; getAccessToken() would refresh the token (the gate cannot)" });
    const a128 = await new jose.EncryptJWT({ ...s }).setProtectedHeader({ alg: "dir", enc: "A128CBC-HS256", iat: NOW, uat: NOW, exp: NOW + 3600 }).encrypt(derive(A, KDF.auth0()));
    add({ name: `${F}/https/enc-A128CBC-HS256`, format: F, secure, cookies: [["appSession", a128]], secrets: [A], expect: err("enc A128CBC-HS256: the SDK writes A256GCM only"), library_differs: "jose 4's jwtDecrypt has no enc allowlist here" });
  }

  // Kinde ---------------------------------------------------------------------------------------
  {
    const F = "kinde";
    for (const secure of [false, true]) {
      const s = secure ? "https" : "http";
      const one = await make.kinde({ accessToken: TOKEN, idToken: "id.token.placeholder", refreshToken: "refresh-token-placeholder" });
      add({ name: `${F}/${s}/single`, format: F, secure, cookies: one.cookies, expect: ok(TOKEN), note: "cookie names do not depend on the scheme (Secure is set when NODE_ENV=production)" });
    }
    const secure = true;
    const long = await make.kinde({ accessToken: TOKEN_LONG, idToken: "id.token.placeholder", refreshToken: "refresh-token-placeholder" });
    if (long.cookies.filter(([n]) => n.startsWith("access_token")).length !== 3) throw new Error("the long Kinde token needs 3 chunks");
    add({ name: `${F}/https/chunked`, format: F, secure, cookies: long.cookies, expect: ok(TOKEN_LONG), note: "access_token, access_token1, access_token2: 3000 characters each" });
    add({ name: `${F}/https/chunked/out-of-order`, format: F, secure, cookies: [...long.cookies].reverse(), expect: ok(TOKEN_LONG) });
    add({ name: `${F}/https/with-access_token_payload`, format: F, secure, cookies: [["access_token_payload", "{}"], ...long.cookies], expect: ok(TOKEN_LONG), note: "a cookie whose name only starts with access_token is not a chunk" });
    add({ name: `${F}/https/missing-middle-chunk`, format: F, secure, cookies: long.cookies.filter(([n]) => n !== "access_token1"), expect: err("access_token1 is missing (the library stops there: a truncated token)") });
    add({ name: `${F}/https/chunk-without-base`, format: F, secure, cookies: long.cookies.filter(([n]) => n !== "access_token"), expect: err("no access_token cookie") });
    const short = await make.kinde({ accessToken: TOKEN });
    add({ name: `${F}/https/stale-extra-chunk`, format: F, secure, cookies: [...short.cookies, ["access_token1", long.cookies[1][1]]], expect: err("a stale access_token1 is appended: the signature fails") });
    const expired = await make.kinde({ accessToken: TOKEN_EXPIRED });
    add({ name: `${F}/https/expired-token`, format: F, secure, cookies: expired.cookies, expect: err("the access token's exp (2001) is past") });
    const p = TOKEN.split(".");
    const bad = [p[0], p[1], p[2].slice(0, 10) + (p[2][10] === "A" ? "B" : "A") + p[2].slice(11)].join(".");
    add({ name: `${F}/https/bad-signature`, format: F, secure, cookies: [["access_token", bad]], expect: err("the access token's signature does not verify") });
  }

  return vectors;
}

// ---- judge every vector -----------------------------------------------------------------------

export async function judge(v) {
  const input = { cookies: v.cookies, secure: v.secure, secrets: v.secrets, now: v.now, backendKey: BACKEND_KEY };
  const lib = await readers[v.format](input);
  const ref = await reference(v.format, input);
  const want = v.expect;
  const libAgrees = want.token !== undefined ? lib.ok && lib.token === want.token : !lib.ok;
  const refAgrees = want.token !== undefined ? ref.ok && ref.token === want.token : !ref.ok;
  const problems = [];
  if (!refAgrees) problems.push(`reference model: ${JSON.stringify(ref)}`);
  if (!libAgrees && !v.library_differs) problems.push(`library: ${JSON.stringify(lib.ok ? { ok: true, token: lib.token?.slice(0, 20) } : lib)}`);
  if (libAgrees && v.library_differs) problems.push(`library agrees although library_differs is set`);
  return { lib, ref, problems };
}

const scheme = (secure) => (secure ? "https" : "http");

export async function judged(vectors) {
  const out = [];
  let bad = 0;
  for (const v of vectors) {
    const { lib, ref, problems } = await judge(v);
    if (problems.length) {
      bad++;
      console.error(`✗ ${v.name}\n    ${problems.join("\n    ")}`);
    }
    const { name, format, secure, cookies, secrets, now, expect, ...rest } = v;
    out.push({
      name,
      format,
      secure,
      scheme: scheme(secure),
      cookies,
      secrets,
      now,
      expect,
      ...(ref.ok && { session_exp: ref.session_exp }),
      library: lib.ok ? "accepts" : "rejects",
      ...rest,
    });
  }
  if (bad) throw new Error(`${bad} vector(s) disagree`);
  return out;
}

export async function kdfTable() {
  const rows = [];
  for (const secret of [A, B]) {
    for (const salt of [make.authjsCookieName(false), make.authjsCookieName(true)]) {
      for (const enc of ["A256CBC-HS512", "A256GCM"]) {
        const p = KDF.authjs(secret, salt, enc);
        const key = derive(secret, p);
        rows.push({ format: "authjs", enc, secret, ...p, key_hex: Buffer.from(key).toString("hex"), kid: await authjsKid(key) });
      }
    }
    const n = KDF.nextAuth4();
    rows.push({ format: "nextAuth4", enc: "A256GCM", secret, ...n, key_hex: Buffer.from(derive(secret, n)).toString("hex") });
    const a = KDF.auth0();
    rows.push({ format: "auth0v3, auth0v4", enc: "A256GCM", secret, ...a, key_hex: Buffer.from(derive(secret, a)).toString("hex") });
  }
  return rows;
}
