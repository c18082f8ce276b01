// Hosted OIDC login (the gate answers /auth/login, /auth/callback, /auth/logout and
// /auth/session itself) against a real provider: oidc-provider on 127.0.0.1 addressed as
// http://localhost:<port> (cross-site to the apps on http://127.0.0.1:<port>, as a hosted
// provider is), its own sign-in and consent pages driven by headless Chromium, the
// Express + express-jwt + jwks-rsa backend verifying the access token the gate forwards.
// First the harness proves itself with a hand-rolled PKCE client (login-rp.mjs); then the
// gate under `next start` (middleware.ts and proxy.ts) and in workerd (Miniflare); then its
// refusals, decided in Node by `createGate(options, { fetch })` with the real provider or a
// malicious one.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { freePort, launchChromium, startUpstream } from "./helpers.mjs";
import { startReferenceRp } from "./login-rp.mjs";
import {
  RESOURCES, authorizeAtProvider, confirmLogoutAtProvider, loopbackOnly, signInAtProvider, startLoginProvider,
} from "./login-provider.mjs";

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));
const jwtParts = (token) => token.split(".").slice(0, 2).map(b64json);

// One port per app, chosen before the provider starts: each origin is registered there
// (redirect and post-logout URIs) and baked into the apps' builds.
const PORTS = {};
for (const name of ["rp", "middleware", "proxy", "worker", "node"]) PORTS[name] = await freePort();
const ORIGIN = Object.fromEntries(Object.entries(PORTS).map(([name, port]) => [name, `http://127.0.0.1:${port}`]));

const op = await startLoginProvider({ appOrigins: Object.values(ORIGIN) });
const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
after(() => Promise.all([op.stop(), backend.stop()]));

test("the login harness: oidc-provider, the backend and Chromium, with a hand-rolled PKCE client", { timeout: 120_000 }, async (t) => {
  const rp = await startReferenceRp({ port: PORTS.rp, op, backend: backend.url, resource: RESOURCES.rs });
  t.after(() => rp.stop());

  await t.test("discovery advertises what the gate relies on", async () => {
    const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.issuer, op.issuer);
    assert.equal(discovery.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
    for (const endpoint of ["authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "end_session_endpoint"]) {
      assert.match(discovery[endpoint], new RegExp(`^${op.issuer}/`), endpoint);
    }
    assert.ok(discovery.token_endpoint_auth_methods_supported.includes("client_secret_post"));
  });

  await t.test("without a browser: code + PKCE, an ID token with the profile, an at+jwt for the backend, rotation and reuse detection", async () => {
    const start = await fetch(`${rp.origin}/login`, { redirect: "manual" });
    const authorize = new URL(start.headers.get("location"));
    const callback = new URL(await authorizeAtProvider(authorize.href, { login: "harness" }));
    assert.equal(callback.origin + callback.pathname, `${rp.origin}/auth/callback`);
    assert.equal(callback.searchParams.get("iss"), op.issuer, "RFC 9207 iss in the authorization response");
    assert.equal(callback.searchParams.get("state"), authorize.searchParams.get("state"));
    const done = await fetch(callback, { redirect: "manual" });
    assert.equal(done.status, 303, await done.clone().text());
    const cookie = done.headers.getSetCookie()[0].split(";")[0];
    const page = await (await fetch(`${rp.origin}/dashboard`, { headers: { cookie } })).text();
    assert.match(page, /Backend says you are harness/);

    const session = rp.sessions.get(cookie.slice(3));
    const [accessHeader, access] = jwtParts(session.access_token);
    assert.equal(accessHeader.typ, "at+jwt");
    assert.equal(access.aud, RESOURCES.rs);
    assert.equal(access.iss, op.issuer);
    const [, id] = jwtParts(session.id_token);
    assert.equal(id.aud, op.clientId);
    assert.equal(id.email, "harness@users.edgegate.test");
    assert.equal(id.name, "User harness");
    assert.equal(id.nonce, authorize.searchParams.get("nonce"));
    assert.ok(session.refresh_token, "offline_access with prompt=consent gives a refresh token");

    const rotated = await op.refresh(session.refresh_token);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refresh_token, session.refresh_token);
    const reused = await op.refresh(session.refresh_token);
    assert.deepEqual([reused.status, reused.body.error], [400, "invalid_grant"]);
    const afterReuse = await op.refresh(rotated.body.refresh_token);
    assert.deepEqual([afterReuse.status, afterReuse.body.error], [400, "invalid_grant"], "reuse revoked the whole grant");
  });

  await t.test("Chromium: sign in on the provider's pages, the backend's data, sign out with revocation and end-session", async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    const context = await browser.newContext();
    await loopbackOnly(context);
    const page = await context.newPage();
    await page.goto(`${rp.origin}/dashboard`);
    assert.equal(new URL(page.url()).origin, op.issuer, "sent to the provider");
    await signInAtProvider(page, rp.origin, { login: "carol" });
    assert.equal(new URL(page.url()).pathname, "/dashboard");
    assert.equal(await page.textContent("#seen-by"), "Backend says you are carol");
    assert.equal(await page.textContent("#email"), "carol@users.edgegate.test");
    const callback = rp.seen.findLast((r) => r.path === "/auth/callback");
    assert.equal(callback.headers["sec-fetch-site"], "cross-site", "the provider is cross-site to the app");
    assert.equal(callback.headers["sec-fetch-mode"], "navigate");

    const [sessionId] = rp.sessions.keys();
    const { refresh_token: refreshToken } = rp.sessions.get(sessionId);
    const before = { ...op.counts };
    await page.click('button[type="submit"]');
    await confirmLogoutAtProvider(page);
    assert.equal(page.url(), `${rp.origin}/`);
    assert.equal(op.counts.revocations - before.revocations, 1);
    assert.equal(op.counts.endSession - before.endSession, 1);
    assert.equal(op.counts.endSessionConfirmed - before.endSessionConfirmed, 1);
    assert.equal((await op.refresh(refreshToken)).body.error, "invalid_grant");

    await page.goto(`${rp.origin}/login`);
    await page.locator('input[name="login"]').waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).origin, op.issuer, "signed out at the provider: its sign-in form again");
  });
});
