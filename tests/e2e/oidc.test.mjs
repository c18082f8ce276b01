// Remote keys for real: a real OIDC provider (oidc-provider) on 127.0.0.1 issuing RS256,
// ES256, ES384 and ES512 JWT access tokens; edgegate finding its keys by discovery in the example app under
// `next start` (Edge middleware) and in workerd (Miniflare); and the Express upstream
// verifying the forwarded bearer itself with express-jwt + jwks-rsa.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createGate } from "edgegate";
import { buildNext, startNext, startUpstream, startWorker } from "./helpers.mjs";
import { RESOURCES, startOidc } from "./oidc.mjs";

const AUDIENCE = [RESOURCES.rs, RESOURCES.es, RESOURCES.es384, RESOURCES.es512];
const ALGORITHMS = ["RS256", "ES256", "ES384", "ES512"];

/** The outcomes every host must show with the same provider and upstream. */
async function oidcScenarios(t, base, op, stranger) {
  const whoami = (headers) => fetch(`${base}/api/whoami`, { headers, redirect: "manual" });
  for (const [name, resource] of [["RS256", RESOURCES.rs], ["ES256", RESOURCES.es], ["ES384", RESOURCES.es384], ["ES512", RESOURCES.es512]]) {
    await t.test(`${name} access token: accepted at the edge and by express-jwt + jwks-rsa`, async () => {
      const token = await op.token(resource);
      assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).alg, name);
      for (const headers of [{ cookie: `theme=dark; token=${token}` }, { authorization: `Bearer ${token}` }]) {
        const res = await whoami(headers);
        assert.equal(res.status, 200, await res.clone().text());
        const seen = await res.json();
        assert.equal(seen.sub, op.clientId);
        assert.equal(seen.authorization, `Bearer ${token}`);
        assert.ok(!seen.cookie?.includes("token="), "the auth cookie is not forwarded");
      }
    });
  }
  const refusals = [
    ["a token for another audience", () => op.token(RESOURCES.other)],
    ["a token from another issuer", () => stranger.token(RESOURCES.rs)],
    ["a tampered token", async () => {
      const [h, p, s] = (await op.token(RESOURCES.rs)).split(".");
      const claims = JSON.parse(Buffer.from(p, "base64url"));
      return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${s}`;
    }],
  ];
  for (const [name, make] of refusals) {
    await t.test(`${name}: refused at the edge`, async () => {
      const res = await whoami({ cookie: `token=${await make()}` });
      assert.equal(res.status, 401);
      // The edge's RFC 6750 answer, not the upstream's: the request never left the gate.
      assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
    });
  }
}

test("OIDC provider: discovery and JWKS at the edge, jwks-rsa upstream", { timeout: 300_000 }, async (t) => {
  const op = await startOidc();
  t.after(() => op.stop());
  const stranger = await startOidc({ clientId: "someone-else" });
  t.after(() => stranger.stop());
  const upstream = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: AUDIENCE.join(",") });
  t.after(() => upstream.stop());

  await t.test("Next.js middleware.ts under next start", async (t) => {
    const gateSource = `import type { Options } from "edgegate";
export const gateOptions: Options = {
  rules: [{ match: "/dashboard/:path*", kind: "page" }, { match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL }],
  verify: { algorithms: ${JSON.stringify(ALGORITHMS)}, issuer: ${JSON.stringify(op.issuer)}, audience: ${JSON.stringify(AUDIENCE)}, typ: "at+jwt" },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};
`;
    const dir = buildNext("middleware", upstream.url, { gateSource, name: "oidc" });
    const next = await startNext(dir);
    t.after(() => next.stop());
    const before = op.counts.jwksByAgent.edgegate ?? 0;
    await oidcScenarios(t, next.url, op, stranger);
    const page = await fetch(`${next.url}/dashboard`, { headers: { cookie: `token=${await op.token()}` }, redirect: "manual" });
    assert.equal(page.status, 200);
    const fetched = (op.counts.jwksByAgent.edgegate ?? 0) - before;
    assert.equal(fetched, 1, "one JWKS fetch for every request of the run");
    console.log(`next start: ${fetched} JWKS fetch by edgegate; provider counts ${JSON.stringify(op.counts)}`);
  });

  await t.test("Cloudflare Worker (Miniflare / workerd)", async (t) => {
    const mf = await startWorker(new URL("./worker/oidc.ts", import.meta.url).pathname, "worker-oidc", {
      ISSUER: op.issuer,
      AUDIENCE: AUDIENCE.join(","),
      UPSTREAM: upstream.url,
      CLIENT_ID: op.clientId,
      CLIENT_SECRET: op.clientSecret,
    });
    t.after(() => mf.dispose());
    const url = await mf.ready;
    const before = op.counts.jwksByAgent.edgegate ?? 0;
    await oidcScenarios(t, url.origin, op, stranger);
    console.log(`workerd: ${(op.counts.jwksByAgent.edgegate ?? 0) - before} JWKS fetch by edgegate`);

    await t.test("a session refreshed in workerd reaches the upstream and the browser", async () => {
      const refreshToken = await op.refreshToken("worker-user");
      const calls = op.counts.refresh;
      const res = await fetch(`${url.origin}/api/whoami`, { headers: { cookie: `refreshToken=${refreshToken}` } });
      assert.equal(res.status, 200);
      const seen = await res.json();
      assert.equal(seen.sub, "worker-user");
      const cookies = res.headers.getSetCookie().map((c) => c.split(";")[0]);
      assert.equal(`Bearer ${cookies.find((c) => c.startsWith("token=")).slice(6)}`, seen.authorization);
      assert.ok(cookies.some((c) => c.startsWith("refreshToken=") && c !== `refreshToken=${refreshToken}`));
      assert.equal(op.counts.refresh - calls, 1);
    });
  });
});

test("two providers at once: each accepted, cross-issuer and cross-audience refused", { timeout: 60_000 }, async (t) => {
  const [a, b] = [await startOidc({ clientId: "client-a" }), await startOidc({ clientId: "client-b" })];
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const gate = await createGate({
    rules: [{ match: "/api/:path*", kind: "api" }],
    providers: [
      { issuer: a.issuer, audience: RESOURCES.rs, algorithms: ["RS256", "ES256"], typ: "at+jwt" },
      { issuer: b.issuer, audience: RESOURCES.es, algorithms: ["RS256", "ES256"], typ: "at+jwt" },
    ],
  });
  const decide = async (token) => (await gate.decide({ url: "/api/x", headers: { authorization: `Bearer ${token}` } })).code;
  const forge = (token, iss) => {
    const [h, p, s] = token.split(".");
    const claims = { ...JSON.parse(Buffer.from(p, "base64url")), iss };
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
  };
  const aToken = await a.token(RESOURCES.rs);
  const cases = [
    ["A's token for A's audience", aToken, "OK_AUTHENTICATED"],
    ["B's token for B's audience", await b.token(RESOURCES.es), "OK_AUTHENTICATED"],
    ["A's token for B's audience", await a.token(RESOURCES.es), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["B's token for A's audience", await b.token(RESOURCES.rs), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    // A's token relabelled as B's: routed to B, whose keys do not have A's kid.
    ["A's token claiming B as issuer", forge(aToken, b.issuer), "ERR_JWKS_NO_MATCHING_KEY"],
    ["an unknown issuer", forge(aToken, "http://127.0.0.1:1"), "ERR_JWT_ISSUER_UNKNOWN"],
  ];
  for (const [name, token, code] of cases) assert.equal(await decide(token), code, name);
  assert.deepEqual([a.counts.jwksByAgent.edgegate, b.counts.jwksByAgent.edgegate], [1, 1]);
  console.log(`two providers: ${cases.length} cases as expected; JWKS fetches A=1 B=1`);
});
