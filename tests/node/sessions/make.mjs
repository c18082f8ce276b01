// Builds session cookies exactly as five auth libraries write them, with the libraries' own
// code (see FORMATS.md for the facts and where they are in each package):
//
//   authjs     @auth/core 0.41.3 (= next-auth 5.0.0-beta.32)   encode() + SessionStore.chunk()
//   nextAuth4  next-auth 4.24.15                               encode() + SessionStore.chunk()
//   auth0v4    @auth0/nextjs-auth0 4.30.0                      StatelessSessionStore.set()
//   auth0v3    @auth0/nextjs-auth0 3.8.0                       StatelessSession.save()
//   kinde      @kinde-oss/kinde-auth-nextjs 2.13.1             getSplitCookies() (its middleware's writer)
//
// None of these imports `next`: the modules are loaded by file path where the package's
// `exports` map hides them (they are Next-free; the packages' entry points are not).
//
// Every function returns the cookies a browser would then hold, as [[name, value], ...].
// Time: the libraries read the wall clock; `atTime(seconds, fn)` runs fn with the clock set.
import { createRequire } from "node:module";

const here = new URL("./", import.meta.url);
const mod = (path) => new URL(`../node_modules/${path}`, here).href;
const require = createRequire(import.meta.url);

const authjsJwt = await import("@auth/core/jwt");
const authjsCookie = await import(mod("@auth/core/lib/utils/cookie.js"));
const nextAuth4Jwt = require("next-auth/jwt");
const nextAuth4Cookie = require(new URL(mod("next-auth/core/lib/cookie.js")).pathname);
const auth0v4Cookies = await import(mod("nextjs-auth0-v4/dist/server/cookies.js"));
const { StatelessSessionStore } = await import(
  mod("nextjs-auth0-v4/dist/server/session/stateless-session-store.js")
);
const { StatelessSession } = require(
  new URL(mod("nextjs-auth0-v3/dist/auth0-session/session/stateless-session.js")).pathname
);
const { getSplitCookies } = await import(
  mod("@kinde-oss/kinde-auth-nextjs/dist/src/utils/cookies/getSplitSerializedCookies.es.js")
);

/** What the gate needs to know per format. `chunk` describes how a long value is split. */
export const FORMATS = {
  authjs: {
    library: "@auth/core@0.41.3 (next-auth@5.0.0-beta.32 re-exports it)",
    cookie: { http: "authjs.session-token", https: "__Secure-authjs.session-token" },
    chunk: { names: "<name>.0, <name>.1, ...", single: "<name> (no suffix)", size: 3936 },
    encryption: {
      alg: "dir",
      enc: "A256CBC-HS512",
      decodeAlsoAccepts: ["A256GCM"],
      hkdf: "HKDF-SHA256(ikm=secret, salt=<cookie name>, info='Auth.js Generated Encryption Key (<cookie name>)', L=64 for A256CBC-HS512 | 32 for A256GCM)",
      kid: "RFC 7638 thumbprint of {kty:'oct',k:b64url(key)} with sha512 (64-byte key) / sha256 (32-byte key)",
      clockTolerance: 15,
    },
    tokenPath: ["accessToken"], // a convention (docs); the library stores whatever the jwt callback returns
    expClaim: "exp (payload)",
  },
  nextAuth4: {
    library: "next-auth@4.24.15",
    cookie: { http: "next-auth.session-token", https: "__Secure-next-auth.session-token" },
    chunk: { names: "<name>.0, <name>.1, ...", single: "<name> (no suffix)", size: 3933 },
    encryption: {
      alg: "dir",
      enc: "A256GCM",
      hkdf: "HKDF-SHA256(ikm=secret, salt='', info='NextAuth.js Generated Encryption Key', L=32)",
      kid: "none",
      clockTolerance: 15,
    },
    tokenPath: ["accessToken"],
    expClaim: "exp (payload)",
  },
  auth0v4: {
    library: "@auth0/nextjs-auth0@4.30.0",
    cookie: { http: "__session", https: "__session" },
    legacyCookie: "appSession (v3 format, chunks appSession.N; read with the same key)",
    chunk: { names: "<name>__0, <name>__1, ...", single: "<name> (no suffix)", size: 3500 },
    encryption: {
      alg: "dir",
      enc: "A256GCM",
      hkdf: "HKDF-SHA256(ikm=secret, salt='', info='JWE CEK', L=32)",
      kid: "none",
      clockTolerance: 15,
    },
    tokenPath: ["tokenSet", "accessToken"],
    expClaim: "exp (payload); also internal.sessionExpiresAt (30 s early) when present",
  },
  auth0v3: {
    library: "@auth0/nextjs-auth0@3.8.0",
    cookie: { http: "appSession", https: "appSession" },
    chunk: {
      names: "<name>.0, <name>.1, ...",
      single: "<name> (no suffix)",
      size: "4096 - length of the serialized empty '<name>.0' cookie with its attributes (4012 with the SDK's default attributes over http, 4004 with Secure)",
    },
    encryption: {
      alg: "dir",
      enc: "A256GCM",
      hkdf: "HKDF-SHA256(ikm=secret, salt='', info='JWE CEK', L=32)",
      kid: "none",
      clockTolerance: 0,
    },
    tokenPath: ["accessToken"],
    expClaim: "exp, iat, uat in the JWE protected header (not the payload)",
  },
  kinde: {
    library: "@kinde-oss/kinde-auth-nextjs@2.13.1",
    cookie: { http: "access_token", https: "access_token" },
    chunk: { names: "<name>, <name>1, <name>2, ...", single: "<name>", size: 3000 },
    encryption: null, // the cookie is the raw access token (a JWT signed by Kinde)
    tokenPath: [],
    expClaim: "exp of the access token itself",
  },
};

export const DEFAULT_MAX_AGE = 30 * 24 * 60 * 60;

// ---- the clock ------------------------------------------------------------------------

const RealDate = Date;
/** Runs `fn` with Date (new Date(), Date.now()) frozen at `seconds` (unix). Not reentrant. */
export async function atTime(seconds, fn) {
  if (seconds === undefined) return fn();
  const ms = seconds * 1000;
  class FixedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(ms);
      else super(...args);
    }
    static now() {
      return ms;
    }
  }
  globalThis.Date = FixedDate;
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

const quiet = { debug() {}, warn() {}, error() {}, info() {} };
const list = (secret, secrets) => secrets ?? (Array.isArray(secret) ? secret : [secret]);

// ---- Auth.js (@auth/core, next-auth v5) -------------------------------------------------

export function authjsCookieName(secure) {
  return authjsCookie.defaultCookies(!!secure).sessionToken.name;
}

/**
 * Auth.js: `encode({ token, secret, maxAge, salt: cookieName })` then `SessionStore.chunk()`,
 * as @auth/core's session and callback actions do. `secrets[0]` encrypts (as the library).
 * `chunkSize` (optional) replaces the library's fixed 3936 by the same slicing replicated.
 */
export async function authjs({ token, secret, secrets, secure = false, maxAge = DEFAULT_MAX_AGE, chunkSize, cookieName, now }) {
  const name = cookieName ?? authjsCookieName(secure);
  const value = await atTime(now, () =>
    authjsJwt.encode({ token, secret: list(secret, secrets), maxAge, salt: name }),
  );
  return { name, value, cookies: chunkAuthjs(name, value, secure, chunkSize) };
}

export function chunkAuthjs(name, value, secure = false, chunkSize) {
  if (chunkSize !== undefined) return sliceChunks(name, value, chunkSize, ".");
  const store = new authjsCookie.SessionStore({ name, options: { secure } }, {}, quiet);
  return store.chunk(value, {}).map((c) => [c.name, c.value]);
}

// The slicing both SessionStores do, with another size (only used when asked to).
function sliceChunks(name, value, size, sep) {
  const n = Math.ceil(value.length / size);
  if (n === 1) return [[name, value]];
  return Array.from({ length: n }, (_, i) => [`${name}${sep}${i}`, value.substr(i * size, size)]);
}

// ---- next-auth v4 -----------------------------------------------------------------------

export function nextAuth4CookieName(secure) {
  return nextAuth4Cookie.defaultCookies(!!secure).sessionToken.name;
}

/** next-auth 4: `encode({ token, secret, maxAge })` (salt "") then `SessionStore.chunk()`. */
export async function nextAuth4({ token, secret, secure = false, maxAge = DEFAULT_MAX_AGE, chunkSize, cookieName, now }) {
  const name = cookieName ?? nextAuth4CookieName(secure);
  const value = await atTime(now, () => nextAuth4Jwt.encode({ token, secret, maxAge }));
  let cookies;
  if (chunkSize !== undefined) cookies = sliceChunks(name, value, chunkSize, ".");
  else {
    const store = new nextAuth4Cookie.SessionStore({ name, options: { secure } }, { cookies: {}, headers: {} }, quiet);
    cookies = store.chunk(value, {}).map((c) => [c.name, c.value]);
  }
  return { name, value, cookies };
}

// ---- Auth0 v4 ---------------------------------------------------------------------------

/**
 * Auth0 v4: `StatelessSessionStore.set()` — encrypt (exp = now + rolling max age) and
 * setChunkedCookie (3500-byte chunks named __session__N). `session` is the SessionData:
 * { user, tokenSet: { accessToken, expiresAt, ... }, internal: { sid, createdAt } }.
 */
export async function auth0v4({ session, secret, secure = false, now, rolling, absoluteDuration, inactivityDuration, cookieName }) {
  return atTime(now, async () => {
    const store = new StatelessSessionStore({
      secret,
      rolling,
      absoluteDuration,
      inactivityDuration,
      cookieOptions: { secure, ...(cookieName && { name: cookieName }) },
    });
    const req = new auth0v4Cookies.RequestCookies(new Headers());
    const res = new auth0v4Cookies.ResponseCookies(new Headers());
    const warn = console.warn; // set() warns once per process about sessions over 4096 bytes
    console.warn = () => {};
    try {
      await store.set(req, res, structuredClone(session));
    } finally {
      console.warn = warn;
    }
    // set() also emits deletions (empty value, Max-Age=0) for __session__0..4; drop them.
    const cookies = res.getAll().filter((c) => c.value !== "").map((c) => [c.name, c.value]);
    return { name: store.sessionCookieName, value: cookies.map((c) => c[1]).join(""), cookies };
  });
}

/** Auth0 v4's encrypt(payload, secret, exp), for hand-made vectors. */
export const auth0v4Encrypt = (payload, secret, exp, headers) => auth0v4Cookies.encrypt(payload, secret, exp, headers);

// ---- Auth0 v3 ---------------------------------------------------------------------------

export const AUTH0V3_SESSION_DEFAULTS = {
  name: "appSession",
  rolling: true,
  rollingDuration: 24 * 60 * 60,
  absoluteDuration: 7 * 24 * 60 * 60,
};

export function auth0v3Config({ secret, secrets, secure = false, session = {} }) {
  return {
    secret: list(secret, secrets),
    session: {
      ...AUTH0V3_SESSION_DEFAULTS,
      ...session,
      // the Next SDK's defaults (dist/config.js, auth0-session/get-config.js)
      cookie: { path: "/", transient: false, httpOnly: true, sameSite: "lax", secure, ...session.cookie },
    },
  };
}

/**
 * Auth0 v3: `StatelessSession.save()` — header { alg: dir, enc: A256GCM, uat, iat, exp },
 * payload = the Session ({ user, accessToken, accessTokenExpiresAt, token_type, ... }),
 * chunked into appSession.N when longer than its computed chunk size.
 * `createdAt` (unix s) is the session's iat; uat is `now`.
 */
export async function auth0v3({ session, secret, secrets, secure = false, now, createdAt, config }) {
  const cfg = config ?? auth0v3Config({ secret, secrets, secure });
  return atTime(now, async () => {
    const store = new StatelessSession(cfg);
    const cookies = [];
    const req = { getCookies: () => ({}) };
    const res = {
      setCookie: (name, value) => cookies.push([name, value]),
      clearCookie: () => {},
    };
    await store.save(req, res, { ...session }, createdAt);
    return { name: cfg.session.name, value: cookies.map((c) => c[1]).join(""), cookies, chunkSize: store.chunkSize };
  });
}

/** Auth0 v3's own encrypt with a chosen header (iat/uat/exp), for hand-made vectors. */
export async function auth0v3Encrypt(session, { iat, uat, exp }, secret) {
  const store = new StatelessSession(auth0v3Config({ secret }));
  const [key] = await store.getKeys(store.config);
  return store.encrypt(session, { iat, uat, exp }, key);
}

// ---- Kinde ------------------------------------------------------------------------------

/**
 * Kinde: the raw access token, split by getSplitCookies() into 3000-character pieces
 * named access_token, access_token1, access_token2, ... (as authMiddleware writes them
 * after a refresh; the session manager's setSessionItem splits the same way).
 * idToken is split the same way; refreshToken is one cookie.
 */
export async function kinde({ accessToken, idToken, refreshToken }) {
  const cookies = getSplitCookies("access_token", accessToken).map((c) => [c.name, c.value]);
  if (idToken) cookies.push(...getSplitCookies("id_token", idToken).map((c) => [c.name, c.value]));
  if (refreshToken) cookies.push(["refresh_token", refreshToken]);
  return { name: "access_token", value: accessToken, cookies };
}

// ---- helpers for tests ----------------------------------------------------------------

export const cookieHeader = (cookies) => cookies.map(([n, v]) => `${n}=${v}`).join("; ");
