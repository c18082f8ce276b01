// A hand-rolled OpenID Connect relying party on 127.0.0.1, written the way the gate's hosted
// login is specified (authorization code + PKCE S256, state, nonce, RFC 9207 `iss`, code
// exchange with client_secret_basic, ID-token checks, the backend called with the access
// token as a bearer, logout by RFC 7009 revocation then RP-initiated logout). It proves the
// login harness (provider, backend, browser) works on its own, and is the reference for
// what the gate sends the provider.
import http from "node:http";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));

/** Checks `idToken`'s RS256 signature against the provider's JWKS and its claims; returns them. */
export async function checkIdToken(idToken, { discovery, clientId, nonce }) {
  const [header, payload, signature] = idToken.split(".");
  const { alg, kid } = b64json(header);
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === kid);
  if (alg !== "RS256" || !jwk) throw new Error(`ID token: no key for ${alg} ${kid}`);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  if (!verify("sha256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"))) {
    throw new Error("ID token: bad signature");
  }
  const claims = b64json(payload);
  const now = Date.now() / 1000;
  const aud = [claims.aud].flat();
  if (claims.iss !== discovery.issuer) throw new Error("ID token: iss");
  if (!aud.includes(clientId) || (aud.length > 1 && claims.azp !== clientId)) throw new Error("ID token: aud/azp");
  if (!(claims.exp > now) || !(claims.iat <= now + 60)) throw new Error("ID token: exp/iat");
  if (claims.nonce !== nonce) throw new Error("ID token: nonce");
  return claims;
}

/**
 * Starts the relying party on `port` for the provider `op` and the backend `backend`:
 * GET /login → the provider; GET /auth/callback → the session (kept in memory here, keyed
 * by a `rp` cookie), then a page with the backend's answer and a sign-out form; POST
 * /logout → revocation and the provider's end-session endpoint.
 */
export async function startReferenceRp({ port, op, backend, resource }) {
  const origin = `http://127.0.0.1:${port}`;
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  const basic = `Basic ${Buffer.from(`${op.clientId}:${op.clientSecret}`).toString("base64")}`;
  const transactions = new Map();
  const sessions = new Map();
  /** Each request's path and headers, e.g. the callback's `sec-fetch-site`. */
  const seen = [];
  const post = (url, fields) =>
    fetch(url, { method: "POST", headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });

  async function route(req, res) {
    const url = new URL(req.url, origin);
    seen.push({ method: req.method, path: url.pathname, headers: req.headers });
    const sessionId = /(?:^|; )rp=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    const session = sessions.get(sessionId);
    if (url.pathname === "/login") {
      const state = randomBytes(16).toString("base64url");
      const transaction = { verifier: randomBytes(32).toString("base64url"), nonce: randomBytes(16).toString("base64url") };
      transactions.set(state, transaction);
      const to = new URL(discovery.authorization_endpoint);
      to.search = new URLSearchParams({
        client_id: op.clientId, response_type: "code", redirect_uri: `${origin}/auth/callback`,
        scope: "openid profile email offline_access", prompt: "consent", resource, state, nonce: transaction.nonce,
        code_challenge: createHash("sha256").update(transaction.verifier).digest("base64url"), code_challenge_method: "S256",
      });
      return res.writeHead(303, { location: to.href }).end();
    }
    if (url.pathname === "/auth/callback") {
      const state = url.searchParams.get("state");
      const transaction = transactions.get(state);
      transactions.delete(state);
      if (!transaction || url.searchParams.get("iss") !== discovery.issuer || !url.searchParams.get("code")) {
        return res.writeHead(400).end(`refused: ${url.searchParams.get("error") ?? "state or iss"}`);
      }
      const answer = await post(discovery.token_endpoint, {
        grant_type: "authorization_code", code: url.searchParams.get("code"),
        redirect_uri: `${origin}/auth/callback`, code_verifier: transaction.verifier,
      });
      const tokens = await answer.json();
      if (!answer.ok) return res.writeHead(400).end(`exchange: ${tokens.error}`);
      const claims = await checkIdToken(tokens.id_token, { discovery, clientId: op.clientId, nonce: transaction.nonce });
      const id = randomBytes(16).toString("base64url");
      sessions.set(id, { ...tokens, claims });
      return res.writeHead(303, { location: "/dashboard", "set-cookie": `rp=${id}; Path=/; HttpOnly; SameSite=Lax` }).end();
    }
    if (url.pathname === "/dashboard") {
      if (!session) return res.writeHead(303, { location: "/login" }).end();
      const stocks = await (await fetch(`${backend}/api/stocks`, { headers: { authorization: `Bearer ${session.access_token}` } })).json();
      return res.writeHead(200, { "content-type": "text/html" }).end(
        `<p id="seen-by">Backend says you are ${stocks.seenBy}</p><p id="email">${session.claims.email}</p>` +
          `<form action="/logout" method="post"><button type="submit">Sign out</button></form>`,
      );
    }
    if (url.pathname === "/logout" && req.method === "POST") {
      if (!session) return res.writeHead(303, { location: "/" }).end();
      await post(discovery.revocation_endpoint, { token: session.refresh_token, token_type_hint: "refresh_token" });
      sessions.delete(sessionId);
      const to = new URL(discovery.end_session_endpoint);
      to.search = new URLSearchParams({ id_token_hint: session.id_token, client_id: op.clientId, post_logout_redirect_uri: `${origin}/` });
      return res.writeHead(303, { location: to.href, "set-cookie": "rp=; Path=/; Max-Age=0" }).end();
    }
    res.writeHead(200, { "content-type": "text/html" }).end("<p>home</p>");
  }

  const server = http.createServer((req, res) => route(req, res).catch((e) => res.writeHead(500).end(String(e))));
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin, sessions, seen, stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))) };
}
