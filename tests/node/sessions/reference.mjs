// A reference model of what the gate should do with each format, written from FORMATS.md
// with node:crypto's HKDF and jose's JWE primitives only (no auth library). fixtures.mjs
// checks that it gives every vector's `expect`, so the facts in FORMATS.md (key derivation,
// salts, kid, chunk names, expiry rules) are checked independently of the libraries' code.
//
// It is stricter than the libraries where they accept what they never write (see the
// vectors' `library_differs`): alg must be "dir", enc must be one the format writes,
// chunk sets must be complete, and an access token that is expired or not a Bearer token
// is not forwarded.
import { hkdfSync } from "node:crypto";
import * as jose from "jose";

const te = new TextEncoder();
const b64u = (buf) => Buffer.from(buf).toString("base64url");

export const KDF = {
  authjs: (secret, salt, enc) => ({
    hash: "sha256",
    salt,
    info: `Auth.js Generated Encryption Key (${salt})`,
    length: enc === "A256GCM" ? 32 : 64,
  }),
  nextAuth4: () => ({ hash: "sha256", salt: "", info: "NextAuth.js Generated Encryption Key", length: 32 }),
  auth0: () => ({ hash: "sha256", salt: "", info: "JWE CEK", length: 32 }),
};

export function derive(secret, { hash, salt, info, length }) {
  return new Uint8Array(hkdfSync(hash, te.encode(secret), te.encode(salt), te.encode(info), length));
}

/** Auth.js kid: RFC 7638 thumbprint of { kty: "oct", k } with sha-(8 * key length). */
export function authjsKid(key) {
  return jose.calculateJwkThumbprint({ kty: "oct", k: b64u(key) }, `sha${key.length * 8}`);
}

class Reject extends Error {}
const reject = (msg) => {
  throw new Reject(msg);
};

/** Cookie names → value, keeping the first of duplicates as most servers do. */
function jar(cookies) {
  const m = new Map();
  for (const [n, v] of cookies) if (!m.has(n)) m.set(n, v);
  return m;
}

/** `<name><sep><i>` chunks, complete from 0; or undefined when there are none. */
function chunks(m, name, sep) {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${sep.replace(".", "\\.")}(\\d+)$`);
  const found = [];
  for (const [n, v] of m) {
    const x = re.exec(n);
    if (x) found.push([Number(x[1]), v]);
  }
  if (!found.length) return undefined;
  found.sort((a, b) => a[0] - b[0]);
  found.forEach(([i], k) => i === k || reject(`chunk ${k} of ${name} missing`));
  return found.map(([, v]) => v).join("");
}

function header(jwe) {
  const parts = jwe.split(".");
  if (parts.length !== 5) reject("not a compact JWE");
  try {
    return JSON.parse(Buffer.from(parts[0], "base64url").toString());
  } catch {
    reject("bad JWE header");
  }
}

async function open(jwe, key) {
  try {
    const { plaintext } = await jose.compactDecrypt(jwe, key, {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM", "A256CBC-HS512"],
    });
    return JSON.parse(new TextDecoder().decode(plaintext));
  } catch (e) {
    return undefined;
  }
}

function checkTimes(claims, now, tolerance) {
  for (const c of ["exp", "iat", "nbf"])
    if (claims[c] !== undefined && typeof claims[c] !== "number") reject(`${c} is not a number`);
  if (claims.exp !== undefined && !(claims.exp > now - tolerance)) reject("session expired (exp)");
  if (claims.nbf !== undefined && claims.nbf > now + tolerance) reject("session not yet valid (nbf)");
}

const str = (t) => (typeof t === "string" && t ? t : reject("no access token in the session"));

// ---- formats ----------------------------------------------------------------------------

async function authjs({ cookies, secure, secrets, now }) {
  const name = secure ? "__Secure-authjs.session-token" : "authjs.session-token";
  const m = jar(cookies);
  const split = chunks(m, name, ".");
  if (m.has(name) && split !== undefined) reject("base cookie mixed with chunks");
  const jwe = m.get(name) ?? split ?? reject(`no ${name} cookie`);
  const h = header(jwe);
  if (h.alg !== "dir") reject(`alg ${h.alg} is not dir`);
  if (h.enc !== "A256CBC-HS512" && h.enc !== "A256GCM") reject(`enc ${h.enc} not allowed`);
  // As @auth/core's decode: with a kid, the secret whose derived key has that thumbprint;
  // without one, the first secret only.
  let key;
  for (const s of secrets) {
    const k = derive(s, KDF.authjs(s, name, h.enc));
    if (h.kid === undefined || (await authjsKid(k)) === h.kid) {
      key = k;
      break;
    }
  }
  if (!key) reject("no secret matches the kid");
  const p = (await open(jwe, key)) ?? reject("decryption failed");
  checkTimes(p, now, 15);
  return { token: str(p.accessToken), session_exp: p.exp };
}

async function nextAuth4({ cookies, secure, secrets, now }) {
  const name = secure ? "__Secure-next-auth.session-token" : "next-auth.session-token";
  const m = jar(cookies);
  const split = chunks(m, name, ".");
  if (m.has(name) && split !== undefined) reject("base cookie mixed with chunks");
  const jwe = m.get(name) ?? split ?? reject(`no ${name} cookie`);
  const h = header(jwe);
  if (h.alg !== "dir" || h.enc !== "A256GCM") reject(`alg/enc ${h.alg}/${h.enc} is not dir/A256GCM`);
  for (const s of secrets) {
    const p = await open(jwe, derive(s, KDF.nextAuth4()));
    if (!p) continue;
    checkTimes(p, now, 15);
    return { token: str(p.accessToken), session_exp: p.exp };
  }
  reject("decryption failed");
}

function bearer(tokenSet, now) {
  if (typeof tokenSet.expiresAt === "number" && tokenSet.expiresAt <= now) reject("access token expired (expiresAt)");
  if (tokenSet.token_type !== undefined && String(tokenSet.token_type).toLowerCase() !== "bearer")
    reject(`token_type ${tokenSet.token_type} is not Bearer`);
  return str(tokenSet.accessToken);
}

async function auth0Open(jwe, secrets) {
  const h = header(jwe);
  if (h.alg !== "dir" || h.enc !== "A256GCM") reject(`alg/enc ${h.alg}/${h.enc} is not dir/A256GCM`);
  for (const s of secrets) {
    const p = await open(jwe, derive(s, KDF.auth0()));
    if (p) return { h, p };
  }
  reject("decryption failed");
}

const V3_DEFAULTS = { rollingDuration: 24 * 60 * 60, absoluteDuration: 7 * 24 * 60 * 60 };

function v3Session({ h, p }, now) {
  for (const c of ["exp", "iat", "uat"]) if (typeof h[c] !== "number") reject(`header ${c} missing`);
  if (!(h.exp > now)) reject("session expired (header exp)");
  if (!(h.uat + V3_DEFAULTS.rollingDuration > now)) reject("session expired (header uat + rollingDuration)");
  if (!(h.iat + V3_DEFAULTS.absoluteDuration > now)) reject("session expired (header iat + absoluteDuration)");
  const token = bearer({ accessToken: p.accessToken, expiresAt: p.accessTokenExpiresAt, token_type: p.token_type }, now);
  return { token, session_exp: h.exp };
}

async function auth0v3({ cookies, secrets, now }) {
  const m = jar(cookies);
  // as the library: the unchunked cookie wins when present
  const jwe = m.get("appSession") ?? chunks(m, "appSession", ".") ?? reject("no appSession cookie");
  return v3Session(await auth0Open(jwe, secrets), now);
}

async function auth0v4({ cookies, secrets, now }) {
  const m = jar(cookies);
  const v4 = m.get("__session") || chunks(m, "__session", "__");
  if (!v4) {
    // a v3 cookie left from before the upgrade: v4 reads it (same key), here with v3's rules
    const legacy = m.get("appSession") || chunks(m, "appSession", ".");
    if (!legacy) reject("no __session cookie");
    return v3Session(await auth0Open(legacy, secrets), now);
  }
  const { h, p } = await auth0Open(v4, secrets);
  if (h.iat !== undefined) return v3Session({ h, p }, now);
  checkTimes(p, now, 15);
  const ceiling = p.internal?.sessionExpiresAt;
  if (typeof ceiling === "number" && now >= ceiling - 30) reject("session ceiling reached (internal.sessionExpiresAt)");
  return { token: bearer(p.tokenSet ?? {}, now), session_exp: p.exp };
}

async function kinde({ cookies, now, backendKey }) {
  const m = jar(cookies);
  if (!m.get("access_token")) reject("no access_token cookie");
  let token = "";
  let i = 0;
  for (; m.has(i ? `access_token${i}` : "access_token"); i++) token += m.get(i ? `access_token${i}` : "access_token");
  for (const n of m.keys()) {
    const x = /^access_token(\d+)$/.exec(n);
    if (x && Number(x[1]) > i) reject(`chunk access_token${i} missing`);
  }
  try {
    const { payload } = await jose.jwtVerify(token, te.encode(backendKey), {
      algorithms: ["HS256"],
      currentDate: new Date(now * 1000),
    });
    return { token, session_exp: payload.exp };
  } catch (e) {
    reject(`access token rejected: ${e.code ?? e.message}`);
  }
}

const formats = { authjs, nextAuth4, auth0v4, auth0v3, kinde };

/** { ok: true, token, session_exp } or { ok: false, error } */
export async function reference(format, vector) {
  try {
    return { ok: true, ...(await formats[format](vector)) };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, error: e.message };
    throw e;
  }
}
