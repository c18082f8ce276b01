// Refresh across instances, for real: oidc-provider with refresh-token rotation and reuse
// detection; one expired access token and one refresh token; 100 concurrent requests spread
// over two `next start` processes (proxy.ts, Node runtime) sharing a real redis-server, and
// over two workerd isolates sharing one Durable Object namespace. With the store: exactly one
// token-endpoint call, 100 x 200, the grant still good. Without it: more than one call and a
// revoked grant — the logout the store prevents. A store that is down still lets requests
// through; what the stores hold is read back raw and holds no usable token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, hkdfSync } from "node:crypto";
import { Miniflare } from "miniflare";
import { buildNext, bundleWorker, freePort, startNext, startUpstream } from "./helpers.mjs";
import { RESOURCES, startOidc } from "./oidc.mjs";
import { assertNoTokens, startRedis } from "../node/stores.mjs";
import { createClient } from "redis";

const STORE_SECRET = "e2e-coordination-secret-of-32-bytes-or-more";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cookieValue = (response, name) =>
  response.headers.getSetCookie().map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** The store key the engine uses for `refreshToken`: HMAC-SHA-256 under the HKDF key of the secret. */
function storeKey(refreshToken) {
  const key = Buffer.from(hkdfSync("sha256", STORE_SECRET, "edgegate seal", "refresh store key", 32));
  return `edgegate:refresh:${createHmac("sha256", key).update(refreshToken).digest("base64url")}`;
}

test("refresh across instances: one token-endpoint call per refresh token", { timeout: 600_000 }, async (t) => {
  const op = await startOidc();
  t.after(() => op.stop());
  const upstream = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
  t.after(() => upstream.stop());
  // Calls of the refresh grant at the token endpoint, refused ones included.
  const calls = () => op.counts.refresh + op.counts.refreshErrors;
  let expired;

  /**
   * 100 concurrent requests with the expired access token and a fresh grant's refresh
   * token, request i sent by `senders[i % senders.length]`; what came back, and the calls.
   */
  async function burst(senders, n = 100) {
    expired ??= await op.token(RESOURCES.short).then(async (token) => (await sleep(1500), token));
    const refreshToken = await op.refreshToken(`user-${Math.random().toString(36).slice(2, 8)}`);
    const before = { calls: calls(), errors: op.counts.refreshErrors };
    const cookie = `token=${expired}; refreshToken=${refreshToken}`;
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: n }, (_, i) => senders[i % senders.length]({ cookie })));
    const ms = performance.now() - started;
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const rotated = responses.map((r) => cookieValue(r, "refreshToken")).find(Boolean);
    return {
      refreshToken,
      rotated,
      statuses: responses.map((r) => r.status),
      bearers: new Set(bodies.filter((b) => b.startsWith("{")).map((b) => JSON.parse(b).authorization).filter(Boolean)),
      accessTokens: responses.map((r) => cookieValue(r, "token")).filter(Boolean),
      calls: calls() - before.calls,
      refused: op.counts.refreshErrors - before.errors,
      ms,
    };
  }
  const count = (list, value) => list.filter((v) => v === value).length;
  /** Whether the grant behind `refreshToken` still refreshes (spends it when it does). */
  const grantValid = async (refreshToken) => Boolean((await op.refresh(refreshToken)).access_token);

  await t.test("two next start processes (proxy.ts) and Redis", async (t) => {
    const redis = await startRedis(t);
    if (!redis) return;
    const gateSource = `import type { Options } from "edgegate";
export const gateOptions: Options = {
  rules: [{ match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL }],
  verify: { algorithms: ["RS256", "ES256"], issuer: ${JSON.stringify(op.issuer)}, audience: ${JSON.stringify(RESOURCES.rs)}, typ: "at+jwt" },
  refresh: {
    tokenEndpoint: ${JSON.stringify(`${op.issuer}/token`)}, clientId: ${JSON.stringify(op.clientId)}, clientSecret: ${JSON.stringify(op.clientSecret)},
    coordination: { secret: ${JSON.stringify(STORE_SECRET)} },
  },
};
`;
    // The store is the host's: Redis when REDIS_URL is set when the server starts, else none.
    const proxy = `import { edgeGate } from "edgegate/next";
import { redisRefreshStore } from "edgegate";
import { createClient } from "redis";
import { gateOptions } from "./gate";

const url = process.env.REDIS_URL;
export const proxy = edgeGate(gateOptions, { refreshStore: url ? redisRefreshStore(createClient({ url })) : undefined, log: true });

export const config = { matcher: ["/api/:path*"] };
`;
    const dir = buildNext("proxy", upstream.url, { gateSource, files: { "proxy.ts": proxy }, name: "coordinate" });
    const servers = async (n, env) => {
      const list = await Promise.all(Array.from({ length: n }, () => startNext(dir, { env })));
      t.after(() => list.forEach((s) => s.stop()));
      return list;
    };
    const senders = (list) => list.map((s) => (headers) => fetch(`${s.url}/api/whoami`, { headers, redirect: "manual" }));
    const client = await createClient({ url: redis.url }).connect();
    t.after(() => client.destroy());
    const command = (args) => client.sendCommand(args);

    const shared = await servers(2, { REDIS_URL: redis.url });
    await t.test("with Redis: 1 call, 100 x 200, the grant still good, nothing usable in Redis", async () => {
      const run = await burst(senders(shared));
      assert.deepEqual([count(run.statuses, 200), run.calls, run.refused], [100, 1, 0]);
      assert.equal(run.bearers.size, 1, "every request forwarded the same new token");
      const keys = await command(["KEYS", "edgegate:*"]);
      assert.deepEqual(keys, [storeKey(run.refreshToken)], "one key: the keyed hash of the refresh token");
      const entries = await Promise.all(keys.map(async (k) => [k, await command(["GET", k])]));
      assertNoTokens(entries, [run.refreshToken, run.rotated, expired, ...run.accessTokens]);
      assert.ok(await grantValid(run.rotated), "the rotated refresh token still refreshes: no reuse was seen");
      console.log(`next start x2 + Redis: 100 requests -> ${run.calls} token-endpoint call, ${count(run.statuses, 200)} x 200, ${run.ms.toFixed(0)} ms for the burst; Redis holds ${keys.length} key, a sealed value of ${entries[0][1].length} chars`);
    });
    shared.forEach((s) => s.stop());

    const alone = await servers(2, {});
    await t.test("without a store: more than one call, and the grant revoked", async () => {
      const run = await burst(senders(alone));
      assert.ok(run.calls > 1, `${run.calls} calls`);
      assert.ok(run.refused >= 1, "the provider saw the refresh token used twice");
      assert.ok(count(run.statuses, 200) < 100, "requests refused: the user is logged out");
      assert.equal(await grantValid(run.rotated), false, "the grant is revoked");
      console.log(`next start x2, no store: 100 requests -> ${run.calls} token-endpoint calls (${run.refused} refused as reuse), ${count(run.statuses, 200)} x 200, ${count(run.statuses, 401)} x 401, grant revoked`);
    });
    alone.forEach((s) => s.stop());

    const closed = await freePort();
    const [down] = await servers(1, { REDIS_URL: `redis://127.0.0.1:${closed}` });
    await t.test("Redis down: requests still pass, refreshed in the process, with the reason logged", async () => {
      const run = await burst(senders([down]));
      assert.deepEqual([count(run.statuses, 200), run.calls], [100, 1]);
      assert.match(down.output(), /"edgegate":"OK_REFRESHED".*"reason":"refreshed without coordination across instances: the store failed or timed out"/);
      console.log(`next start, Redis down: 100 requests -> ${run.calls} token-endpoint call, ${count(run.statuses, 200)} x 200`);
    });
    down.stop();

    await t.test("latency of a refreshed request, with Redis and without a store", async () => {
      const [withRedis, without] = [(await servers(1, { REDIS_URL: redis.url }))[0], (await servers(1, {}))[0]];
      // Interleaved, so drift hits both alike; the first round warms them up.
      const times = [[], []];
      for (let i = 0; i < 41; i++) {
        for (const [j, server] of [withRedis, without].entries()) {
          const run = await burst(senders([server]), 1);
          assert.deepEqual([run.statuses[0], run.calls], [200, 1]);
          if (i > 0) times[j].push(run.ms);
        }
      }
      const [a, b] = times.map(median);
      console.log(`one refreshed request through next start, median of 40: ${a.toFixed(1)} ms with Redis (claim + publish), ${b.toFixed(1)} ms without a store: ${(a - b).toFixed(1)} ms added`);
    });
  });

  await t.test("two workerd isolates and a Durable Object", async (t) => {
    const bundle = await bundleWorker(new URL("./worker/coordinate.ts", import.meta.url).pathname, "worker-coordinate");
    const bindings = {
      ISSUER: op.issuer,
      AUDIENCE: RESOURCES.rs,
      UPSTREAM: upstream.url,
      CLIENT_ID: op.clientId,
      CLIENT_SECRET: op.clientSecret,
      STORE_SECRET,
    };
    // Four workers, four isolates: a and b share a's RefreshCoordinator namespace; c and d
    // have no store.
    const mf = new Miniflare({
      cf: false,
      workers: [
        { ...bundle, name: "a", bindings, durableObjects: { REFRESH: "RefreshCoordinator" } },
        { ...bundle, name: "b", bindings, durableObjects: { REFRESH: { className: "RefreshCoordinator", scriptName: "a" } } },
        { ...bundle, name: "c", bindings },
        { ...bundle, name: "d", bindings },
      ],
    });
    t.after(() => mf.dispose());
    await mf.ready;
    const senders = async (...names) =>
      Promise.all(names.map(async (name) => {
        const worker = await mf.getWorker(name);
        return (headers) => worker.fetch("http://127.0.0.1/api/whoami", { headers, redirect: "manual" });
      }));

    await t.test("with the Durable Object: 1 call, 100 x 200, the grant still good", async () => {
      const run = await burst(await senders("a", "b"));
      assert.deepEqual([count(run.statuses, 200), run.calls, run.refused], [100, 1, 0]);
      assert.equal(run.bearers.size, 1);
      // The object of this refresh token, read back raw: the sealed outcome, no token.
      const namespace = await mf.getDurableObjectNamespace("REFRESH", "a");
      const key = storeKey(run.refreshToken);
      const stub = namespace.get(namespace.idFromName(key));
      const { value } = await (await stub.fetch("http://do/", { method: "POST", body: JSON.stringify({ op: "read" }) })).json();
      assertNoTokens([[key, value]], [run.refreshToken, run.rotated, expired, ...run.accessTokens]);
      assert.ok(await grantValid(run.rotated));
      console.log(`workerd x2 + Durable Object: 100 requests -> ${run.calls} token-endpoint call, ${count(run.statuses, 200)} x 200, ${run.ms.toFixed(0)} ms for the burst`);
    });

    await t.test("without a store: more than one call, and the grant revoked", async () => {
      const run = await burst(await senders("c", "d"));
      assert.ok(run.calls > 1 && run.refused >= 1, `${run.calls} calls, ${run.refused} refused`);
      assert.ok(count(run.statuses, 200) < 100);
      assert.equal(await grantValid(run.rotated), false);
      console.log(`workerd x2, no store: 100 requests -> ${run.calls} token-endpoint calls (${run.refused} refused as reuse), ${count(run.statuses, 200)} x 200, ${count(run.statuses, 401)} x 401, grant revoked`);
    });
  });
});
