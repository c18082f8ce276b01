// A hand-rolled relying party on 127.0.0.1 that answers the hosted-login routes the way the
// gate is specified to (issue 15): /auth/login (navigations only) → the provider with code
// + PKCE S256, state, nonce and a sealed `edgegate-tx-<state>` cookie; /auth/callback →
// state, RFC 9207 `iss`, code exchange (client_secret_basic), ID-token checks, the cookies
// `token`, `refreshToken` and a sealed `idToken`, 303 to a same-origin returnTo;
// /auth/logout (same-origin only) → RFC 7009 revocation, then the provider's end-session;
// /auth/session → the profile. /dashboard needs the session; /api/* goes to the backend
// with the access token as the bearer. It proves the login harness and the browser
// scenarios of login.test.mjs on their own, and shows what the tests expect of the gate.
// It is test code: no clock skew, key rotation or refresh.
import http from "node:http";
import { createCipheriv, createDecipheriv, createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { dashboard, home, loginError } from "./login-pages.mjs";

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));

/** Checks `idToken`'s RS256 signature against the provider's JWKS and its claims; returns them. */
async function checkIdToken(idToken, { discovery, clientId, nonce }) {
  const [header, payload, signature] = idToken.split(".");
  const { alg, kid } = b64json(header);
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === kid);
  if (alg !== "RS256" || !jwk) throw new Error(`no key for ${alg} ${kid}`);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  if (!verify("sha256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"))) {
    throw new Error("bad signature");
  }
  const claims = b64json(payload);
  const now = Date.now() / 1000;
  const aud = [claims.aud].flat();
  if (claims.iss !== discovery.issuer) throw new Error("iss");
  if (!aud.includes(clientId) || (aud.length > 1 && claims.azp !== clientId)) throw new Error("aud/azp");
  if (!(claims.exp > now) || !(claims.iat <= now + 60)) throw new Error("exp/iat");
  if (claims.nonce !== nonce) throw new Error("nonce");
  return claims;
}

/** AES-256-GCM under a key from `secret`: the transaction and ID-token cookies. */
function sealer(secret) {
  const key = createHash("sha256").update(secret).digest();
  return {
    seal(value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(text) {
      try {
        const bytes = Buffer.from(text ?? "", "base64url");
        const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
        decipher.setAuthTag(bytes.subarray(-16));
        return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(12, -16)), decipher.final()]));
      } catch {
        return undefined;
      }
    },
  };
}

/** `value` if it is a path on this origin that no browser could read as another host, else "/". */
export function safeReturnTo(value) {
  if (typeof value !== "string" || !value.startsWith("/") || /[\x00-\x20\x7f\\]|%(?:2f|5c|0[0-9a-f]|1[0-9a-f])/i.test(value)) return "/";
  const url = new URL(value, "http://x.invalid");
  return url.origin === "http://x.invalid" && !url.pathname.startsWith("//") ? `${url.pathname}${url.search}` : "/";
}

/**
 * Starts the relying party on `port` for the provider `op` (its client edgegate-app) and
 * the backend at `backend`; `errorUrl` as the gate's option. `tokens` is the last token
 * response it received, for the tests to inspect.
 */
export async function startReferenceRp({ port, op, backend, resource, errorUrl }) {
  const origin = `http://127.0.0.1:${port}`;
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  const basic = `Basic ${Buffer.from(`${op.clientId}:${op.clientSecret}`).toString("base64")}`;
  const { seal, open } = sealer(randomBytes(32));
  const state = { tokens: undefined };
  const post = (url, fields) =>
    fetch(url, { method: "POST", headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
  const json = (res, status, body, headers = {}) =>
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  const NO_STORE = { "cache-control": "private, no-store" };
  const cookie = (name, value, maxAge) => `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`;
  const clear = (...names) => names.map((name) => cookie(name, "", 0));
  // A token one cookie cannot hold goes in chunks token.0, token.1, …, as the gate writes it.
  const CHUNKS = ["token.0", "token.1", "token.2", "token.3"];
  const tokenCookies = (value, maxAge) =>
    value.length <= 3800
      ? [cookie("token", value, maxAge), ...clear(...CHUNKS)]
      : [...clear("token"), ...value.match(/.{1,3800}/g).map((piece, i) => cookie(`token.${i}`, piece, maxAge))];
  const tokenOf = (cookies) => cookies.token ?? (cookies["token.0"] && CHUNKS.map((n) => cookies[n] ?? "").join(""));

  async function route(req, res) {
    const url = new URL(req.url, origin);
    const cookies = Object.fromEntries((req.headers.cookie ?? "").split(/;\s*/).filter(Boolean).map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)]));
    const token = tokenOf(cookies);
    const access = token && b64json(token.split(".")[1] ?? "e30");
    const signedIn = access?.exp > Date.now() / 1000;
    const site = req.headers["sec-fetch-site"];
    switch (url.pathname) {
      case "/auth/login": {
        const purpose = `${req.headers["sec-purpose"] ?? ""} ${req.headers.purpose ?? ""}`;
        if (req.headers["sec-fetch-mode"] !== "navigate" || /prefetch/.test(purpose)) {
          return json(res, 401, { error: "login_required" });
        }
        const tx = {
          state: randomBytes(16).toString("base64url"), nonce: randomBytes(16).toString("base64url"),
          verifier: randomBytes(32).toString("base64url"), returnTo: safeReturnTo(url.searchParams.get("returnTo")), at: Date.now(),
        };
        const to = new URL(discovery.authorization_endpoint);
        to.search = new URLSearchParams({
          client_id: op.clientId, response_type: "code", redirect_uri: `${origin}/auth/callback`,
          scope: "openid profile email offline_access", prompt: "consent", resource, state: tx.state, nonce: tx.nonce,
          code_challenge: createHash("sha256").update(tx.verifier).digest("base64url"), code_challenge_method: "S256",
        });
        return res.writeHead(307, { location: to.href, ...NO_STORE, "set-cookie": cookie(`edgegate-tx-${tx.state}`, seal(tx), 600) }).end();
      }
      case "/auth/callback": {
        const q = url.searchParams;
        const name = `edgegate-tx-${q.get("state")}`;
        const tx = open(cookies[name]);
        const refuse = (code) =>
          errorUrl
            ? res.writeHead(303, { location: `${errorUrl}?error=${code}`, ...NO_STORE, "set-cookie": clear(name) }).end()
            : json(res, 400, { error: "invalid_request", code }, { ...NO_STORE, "set-cookie": clear(name) });
        if (!q.get("state") || tx?.state !== q.get("state")) return refuse("ERR_LOGIN_STATE");
        if (Date.now() - tx.at > 600_000) return refuse("ERR_LOGIN_EXPIRED");
        if (q.get("iss") !== discovery.issuer) return refuse("ERR_LOGIN_ISS");
        if (q.get("error") || !q.get("code")) return refuse("ERR_LOGIN_PROVIDER");
        const answer = await post(discovery.token_endpoint, {
          grant_type: "authorization_code", code: q.get("code"), redirect_uri: `${origin}/auth/callback`, code_verifier: tx.verifier,
        });
        const tokens = await answer.json();
        if (!answer.ok) return refuse("ERR_LOGIN_EXCHANGE");
        let claims;
        try {
          claims = await checkIdToken(tokens.id_token, { discovery, clientId: op.clientId, nonce: tx.nonce });
        } catch {
          return refuse("ERR_LOGIN_ID_TOKEN");
        }
        state.tokens = tokens;
        const sessionCookies = [
          ...tokenCookies(tokens.access_token, tokens.expires_in),
          cookie("refreshToken", tokens.refresh_token, 86_400),
          cookie("idToken", seal({ idToken: tokens.id_token, claims }), 86_400),
        ];
        return res.writeHead(303, { location: tx.returnTo, ...NO_STORE, "set-cookie": [...sessionCookies, ...clear(name)] }).end();
      }
      case "/auth/session": {
        const id = open(cookies.idToken);
        if (!signedIn || !id) return json(res, 200, { authenticated: false }, NO_STORE);
        const { sub, email, name } = id.claims;
        return json(res, 200, { authenticated: true, sub, exp: access.exp, email, name }, NO_STORE);
      }
      case "/auth/logout": {
        const sameOrigin = site === "same-origin" || site === "none" || (!site && req.method === "POST" && req.headers.origin === origin);
        if (!sameOrigin || !["GET", "POST"].includes(req.method)) return json(res, 403, { error: "forbidden" });
        if (cookies.refreshToken) await post(discovery.revocation_endpoint, { token: cookies.refreshToken, token_type_hint: "refresh_token" });
        const to = new URL(discovery.end_session_endpoint);
        const hint = open(cookies.idToken)?.idToken;
        to.search = new URLSearchParams({ ...(hint ? { id_token_hint: hint } : {}), client_id: op.clientId, post_logout_redirect_uri: `${origin}/` });
        return res.writeHead(303, { location: to.href, ...NO_STORE, "set-cookie": clear("token", ...CHUNKS, "refreshToken", "idToken") }).end();
      }
      case "/dashboard":
        if (!signedIn) return res.writeHead(307, { location: "/auth/login?returnTo=%2Fdashboard" }).end();
        return res.writeHead(200, { "content-type": "text/html" }).end(dashboard);
      case "/login-error":
        return res.writeHead(200, { "content-type": "text/html" }).end(loginError(url.searchParams.get("error")));
      case "/":
        return res.writeHead(200, { "content-type": "text/html" }).end(home);
    }
    if (url.pathname.startsWith("/api/")) {
      if (!signedIn) return json(res, 401, { error: "invalid_token" }, { "www-authenticate": "Bearer" });
      const answer = await fetch(`${backend}${url.pathname}`, { headers: { authorization: `Bearer ${token}` } });
      return json(res, answer.status, await answer.json());
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  }

  const server = http.createServer((req, res) => route(req, res).catch((e) => res.writeHead(500).end(String(e))));
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    origin,
    get tokens() {
      return state.tokens;
    },
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}
