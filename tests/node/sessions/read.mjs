// Reads session cookies back with each library's own read path, at a chosen time, to judge
// what the library itself does with a vector (fixtures.mjs records it as `library`).
//
//   authjs     @auth/core getToken({ req, secureCookie, secret })       (SessionStore + decode)
//   nextAuth4  next-auth/jwt getToken({ req, secureCookie, secret })     (one secret per call)
//   auth0v4    StatelessSessionStore.get(RequestCookies) + isSessionCeilingReached()
//   auth0v3    StatelessSession.read(req)                              (header exp/uat/iat rules)
//   kinde      the Pages Router session manager's getSessionItem("access_token"); the library
//              then validates that JWT against the issuer's JWKS — here jose.jwtVerify with the
//              test backend key stands in for it.
//
// Each returns { ok: true, token, payload } or { ok: false, error }.
import { createRequire, register } from "node:module";
import * as jose from "jose";
import { atTime, auth0v3Config, FORMATS } from "./make.mjs";

register("./next-stub-hooks.mjs", import.meta.url);

const here = new URL("./", import.meta.url);
const mod = (path) => new URL(`../node_modules/${path}`, here).href;
const require = createRequire(import.meta.url);

const authjsJwt = await import("@auth/core/jwt");
const nextAuth4Jwt = require("next-auth/jwt");
const { RequestCookies } = await import(mod("nextjs-auth0-v4/dist/server/cookies.js"));
const { StatelessSessionStore } = await import(
  mod("nextjs-auth0-v4/dist/server/session/stateless-session-store.js")
);
const { isSessionCeilingReached } = await import(mod("nextjs-auth0-v4/dist/utils/session-helpers.js"));
const { StatelessSession } = require(
  new URL(mod("nextjs-auth0-v3/dist/auth0-session/session/stateless-session.js")).pathname
);
const { pageRouterSessionManager } = await import(
  mod("@kinde-oss/kinde-auth-nextjs/dist/src/session/sessionManager.es.js")
);

const quiet = { debug() {}, warn() {}, error() {}, info() {} };
const header = (cookies) => cookies.map(([n, v]) => `${n}=${v}`).join("; ");
const asObject = (cookies) => Object.fromEntries(cookies);
const at = (obj, path) => path.reduce((o, k) => (o == null ? undefined : o[k]), obj);

async function silently(fn) {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

export async function readAuthjs({ cookies, secure, secrets, now }) {
  let error;
  const decode = async (params) => {
    try {
      return await authjsJwt.decode(params);
    } catch (e) {
      error = e;
      throw e;
    }
  };
  const payload = await atTime(now, () =>
    authjsJwt.getToken({ req: { headers: { cookie: header(cookies) } }, secureCookie: secure, secret: secrets, decode, logger: quiet }),
  );
  if (!payload) return { ok: false, error: error ? `${error.code ?? error.name}: ${error.message}` : "no session cookie" };
  return { ok: true, token: at(payload, FORMATS.authjs.tokenPath), payload };
}

// next-auth 4 takes one secret: the secrets are tried one after the other (what a gate with
// a rotation list would do; the library has no such list).
export async function readNextAuth4({ cookies, secure, secrets, now }) {
  let error;
  for (const secret of secrets) {
    const decode = async (params) => {
      try {
        return await nextAuth4Jwt.decode(params);
      } catch (e) {
        error = e;
        throw e;
      }
    };
    const payload = await atTime(now, () =>
      nextAuth4Jwt.getToken({ req: { cookies: asObject(cookies), headers: {} }, secureCookie: secure, secret, decode, logger: quiet }),
    );
    if (payload) return { ok: true, token: at(payload, FORMATS.nextAuth4.tokenPath), payload };
  }
  return { ok: false, error: error ? `${error.code ?? error.name}: ${error.message}` : "no session cookie" };
}

// Auth0 v4 takes one secret (AUTH0_SECRET): tried one after the other, as above.
export async function readAuth0v4({ cookies, secrets, now }) {
  for (const secret of secrets) {
    const session = await atTime(now, () =>
      silently(() => new StatelessSessionStore({ secret }).get(new RequestCookies(new Headers({ cookie: header(cookies) })))),
    );
    if (!session) continue;
    if (await atTime(now, () => isSessionCeilingReached(session.internal?.sessionExpiresAt)))
      return { ok: false, error: "internal.sessionExpiresAt reached" };
    return { ok: true, token: at(session, FORMATS.auth0v4.tokenPath), payload: session };
  }
  return { ok: false, error: "no session (missing, incomplete, undecryptable or expired cookie)" };
}

export async function readAuth0v3({ cookies, secure, secrets, now }) {
  const store = new StatelessSession(auth0v3Config({ secrets, secure }));
  const [data] = await atTime(now, () => store.read({ getCookies: () => asObject(cookies) }));
  if (!data) return { ok: false, error: "no session (missing, undecryptable or expired by exp/uat/iat)" };
  return { ok: true, token: at(data, FORMATS.auth0v3.tokenPath), payload: data };
}

export async function readKinde({ cookies, now, backendKey }) {
  const value = await pageRouterSessionManager({ cookies: asObject(cookies) }, null).getSessionItem("access_token");
  if (!value || typeof value !== "string") return { ok: false, error: "no access_token cookie" };
  try {
    const { payload } = await jose.jwtVerify(value, new TextEncoder().encode(backendKey), {
      algorithms: ["HS256"],
      currentDate: new Date(now * 1000),
    });
    return { ok: true, token: value, payload };
  } catch (e) {
    return { ok: false, error: `${e.code ?? e.name}: ${e.message}` };
  }
}

export const readers = {
  authjs: readAuthjs,
  nextAuth4: readNextAuth4,
  auth0v4: readAuth0v4,
  auth0v3: readAuth0v3,
  kinde: readKinde,
};
