// Refresh coordination in the npm package (`refresh.coordination` + a `refreshStore`): two
// gates standing for two servers, one token endpoint with rotation and reuse detection, and
// a shared store — in memory, on a real redis-server, or one that fails, hangs or answers
// garbage. The stores are read back raw: nothing in them is a usable token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { createGate, redisRefreshStore } from "edgegate";
import { redisCommand } from "edgegate/redis";
import { jwt } from "./sign.mjs";
import { assertNoTokens, memoryStore, startRedis } from "./stores.mjs";

const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
const STORE_SECRET = "a-coordination-secret-of-32-bytes-or-more";
const now = () => Math.floor(Date.now() / 1000);

/**
 * A token endpoint with rotation and reuse detection, as Auth0, Okta and oidc-provider
 * have it: each refresh token works once; a second use revokes its whole grant.
 */
async function provider({ delayMs = 50 } = {}) {
  const tokens = new Map(); // refresh token -> { grant, used }
  const revoked = new Set();
  const counts = { calls: 0, refused: 0 };
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    counts.calls += 1;
    await new Promise((r) => setTimeout(r, delayMs));
    const rt = new URLSearchParams(body).get("refresh_token");
    const entry = tokens.get(rt);
    if (!entry || entry.used || revoked.has(entry.grant)) {
      if (entry?.used) revoked.add(entry.grant); // reuse: the grant is presumed stolen
      counts.refused += 1;
      return res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_grant"}');
    }
    entry.used = true;
    const next = randomBytes(24).toString("base64url");
    tokens.set(next, { grant: entry.grant, used: false });
    const access = jwt("HS256", SECRET, { sub: entry.grant, exp: now() + 300 });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: access, token_type: "Bearer", refresh_token: next, expires_in: 300 }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/token`,
    counts,
    /** A fresh grant's first refresh token. */
    grant(name = randomBytes(6).toString("hex")) {
      const rt = randomBytes(24).toString("base64url");
      tokens.set(rt, { grant: name, used: false });
      return rt;
    },
    /** Whether `rt` would still refresh (not used, its grant not revoked). */
    valid: (rt) => tokens.has(rt) && !tokens.get(rt).used && !revoked.has(tokens.get(rt).grant),
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

const options = (op, coordination = {}) => ({
  rules: [{ match: "/api/:path*", kind: "api" }],
  verify: { algorithms: ["HS256"], keys: SECRET },
  refresh: { tokenEndpoint: op.url, clientId: "app", coordination: { secret: STORE_SECRET, timeoutDuration: 0.3, ...coordination } },
});

/** `n` concurrent requests with an expired access token and `rt`, spread over `gates`. */
async function burst(gates, rt, n = 100) {
  const expired = jwt("HS256", SECRET, { sub: "old", exp: now() - 10 });
  const request = { url: "http://127.0.0.1/api/x", headers: { cookie: `token=${expired}; refreshToken=${rt}` } };
  return Promise.all(Array.from({ length: n }, (_, i) => gates[i % gates.length].decide(request)));
}

const cookie = (d, name) => d.setCookies?.map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

/** The access and refresh tokens of `decisions`' cookies, and `rts`. */
const tokensOf = (decisions, rts) => [...rts, ...decisions.flatMap((d) => [cookie(d, "token"), cookie(d, "refreshToken")])];

test("refresh across two gates (two servers) and one store", { timeout: 60_000 }, async (t) => {
  const op = await provider();
  t.after(op.close);

  await t.test("without a store: the grant is spent twice and revoked", async () => {
    const rt = op.grant();
    const gates = [await createGate(options(op)), await createGate(options(op))];
    // No refreshStore: every store operation fails, each gate refreshes on its own.
    const decisions = await burst(gates, rt);
    const calls = op.counts.calls;
    assert.equal(calls, 2, "one call per gate");
    assert.ok(decisions.some((d) => d.code === "ERR_REFRESH_FAILED"), "the second gate's call is a reuse");
    const next = decisions.map((d) => cookie(d, "refreshToken")).find(Boolean);
    assert.equal(op.valid(next), false, "the grant is revoked: the user is logged out");
    assert.match(decisions.find((d) => d.code === "OK_REFRESHED")?.message ?? "", /no refreshStore|failed or timed out/);
    console.log(`no store: 2 gates x 50 requests -> ${calls} token-endpoint calls, ${decisions.filter((d) => d.code !== "OK_REFRESHED").length} refused, grant revoked`);
  });

  await t.test("with a shared store: one call, 100 x refreshed, the grant still good", async () => {
    const before = op.counts.calls;
    const store = memoryStore();
    const gates = [await createGate(options(op), { refreshStore: store }), await createGate(options(op), { refreshStore: store })];
    const rt = op.grant();
    const decisions = await burst(gates, rt);
    assert.equal(op.counts.calls - before, 1);
    assert.deepEqual([...new Set(decisions.map((d) => d.code))], ["OK_REFRESHED"]);
    assert.deepEqual([...new Set(decisions.map((d) => d.message))], [undefined], "no warning");
    const next = new Set(decisions.map((d) => cookie(d, "refreshToken")));
    assert.equal(next.size, 1, "every response carries the same rotated refresh token");
    assert.equal(op.valid([...next][0]), true, "the grant is still good");
    assertNoTokens([...store.entries].map(([key, e]) => [key, e.value]), tokensOf(decisions, [rt]));
    console.log(`memory store: 2 gates x 50 requests -> ${op.counts.calls - before} token-endpoint call, 100 x OK_REFRESHED`);
  });

  const failing = {
    "a store that throws": { claim: async () => { throw new Error("down"); }, publish: async () => {}, read: async () => null, release: async () => {} },
    "a store that never answers": { claim: () => new Promise(() => {}), publish: () => new Promise(() => {}), read: () => new Promise(() => {}), release: () => new Promise(() => {}) },
    "a store that answers numbers": { claim: async () => 42, publish: async () => {}, read: async () => 42, release: async () => {} },
    "a store that answers junk strings": { claim: async () => "junk", publish: async () => {}, read: async () => "junk", release: async () => {} },
    "a store that answers another token's outcome": null, // filled below
  };
  await t.test("a store that fails, hangs or answers garbage: every request still refreshed, with the reason", async () => {
    // Another refresh token's real outcome, replayed for every key.
    const real = memoryStore();
    const [other] = await burst([await createGate(options(op), { refreshStore: real })], op.grant(), 1);
    assert.equal(other.code, "OK_REFRESHED");
    const sealed = [...real.entries.values()][0].value;
    failing["a store that answers another token's outcome"] = { claim: async () => sealed, publish: async () => {}, read: async () => sealed, release: async () => {} };
    for (const [name, store] of Object.entries(failing)) {
      const before = op.counts.calls;
      const started = performance.now();
      const decisions = await burst([await createGate(options(op), { refreshStore: store })], op.grant(), 20);
      const ms = performance.now() - started;
      assert.deepEqual([...new Set(decisions.map((d) => d.code))], ["OK_REFRESHED"], name);
      assert.match(decisions[0].message, /^refreshed without coordination across instances: /, name);
      assert.notEqual(cookie(decisions[0], "token"), cookie(other, "token"), `${name}: only its own outcome`);
      assert.equal(op.counts.calls - before, 1, `${name}: still one call in the gate`);
      console.log(`${name}: 20 x OK_REFRESHED in ${ms.toFixed(0)} ms, "${decisions[0].message}"`);
    }
  });
});

test("Redis: the adapter on a real redis-server", { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const command = redisCommand(redis.url);
  t.after(() => command.close());
  const op = await provider();
  t.after(op.close);

  await t.test("claim, publish, read, release and expiry as the engine expects", async () => {
    const store = redisRefreshStore(command);
    assert.equal(await store.claim("k1", "claimed", 200), null, "set: the claim is ours");
    assert.equal(await store.claim("k1", "claimed", 200), "claimed", "taken");
    await store.publish("k1", "sealed", 10_000);
    assert.equal(await store.claim("k1", "claimed", 200), "sealed", "an outcome is there");
    assert.equal(await store.read("k1"), "sealed");
    await store.release("k1");
    assert.equal(await store.read("k1"), null);
    await store.claim("k2", "claimed", 100);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await store.read("k2"), null, "a dead owner's claim expires");
    assert.equal(await command(["PING"]), "PONG");
    await assert.rejects(command(["NOSUCHCOMMAND"]), /redis: ERR/);
    assert.equal(await command(["PING"]), "PONG", "an error reply leaves the connection usable");
  });

  await t.test("two gates on one Redis: one call for 100 requests; the store holds no token", async () => {
    const before = op.counts.calls;
    const [a, b] = [redisRefreshStore(redisCommand(redis.url)), redisRefreshStore(redisCommand(redis.url))];
    const gates = [await createGate(options(op), { refreshStore: a }), await createGate(options(op), { refreshStore: b })];
    const rt = op.grant();
    const decisions = await burst(gates, rt);
    assert.equal(op.counts.calls - before, 1);
    assert.deepEqual([...new Set(decisions.map((d) => `${d.code} ${d.message}`))], ["OK_REFRESHED undefined"]);
    assert.equal(op.valid(cookie(decisions[0], "refreshToken")), true);
    const keys = await command(["KEYS", "*"]);
    const values = await Promise.all(keys.map((k) => command(["GET", k])));
    assert.equal(keys.filter((k) => k.startsWith("edgegate:refresh:")).length, 1);
    assertNoTokens(keys.map((k, i) => [k, values[i]]), tokensOf(decisions, [rt]));
    const ttl = await command(["PTTL", keys.find((k) => k.startsWith("edgegate:"))]);
    assert.ok(ttl > 25_000 && ttl <= 30_000, `the outcome lives for grace: ${ttl} ms`);
    console.log(`redis: 2 gates x 50 requests -> 1 token-endpoint call; store: ${keys.length} key, sealed value of ${values[0].length} chars, PTTL ${ttl} ms`);
  });

  await t.test("the README's node-redis and ioredis adapters: two gates, each its own client, one call", async (t) => {
    const { createClient } = await import("redis");
    const { Redis: IORedis } = await import("ioredis");
    const { url } = redis;
    // As in the README, "Refresh across instances": one line per client.
    const adapters = {
      "node-redis": async () => {
        const redis = await createClient({ url }).connect();
        t.after(() => redis.destroy());
        return redisRefreshStore((args) => redis.sendCommand(args));
      },
      ioredis: async () => {
        const ioredis = new IORedis(url);
        t.after(() => ioredis.disconnect());
        return redisRefreshStore(([command, ...args]) => ioredis.call(command, ...args));
      },
    };
    for (const [name, adapter] of Object.entries(adapters)) {
      const [a, b] = [await adapter(), await adapter()];
      assert.equal(await a.claim(`${name}-k`, "claimed", 500), null, `${name}: set, the claim is ours`);
      assert.equal(await b.claim(`${name}-k`, "claimed", 500), "claimed", `${name}: taken`);
      const before = op.counts.calls;
      const gates = [await createGate(options(op), { refreshStore: a }), await createGate(options(op), { refreshStore: b })];
      const decisions = await burst(gates, op.grant());
      assert.deepEqual([...new Set(decisions.map((d) => `${d.code} ${d.message}`))], ["OK_REFRESHED undefined"], name);
      assert.equal(op.counts.calls - before, 1, `${name}: one token-endpoint call`);
    }
  });

  await t.test("the README's HTTP store: Upstash's REST shape, in front of the same Redis", async () => {
    // Upstash's REST API: POST a command as a JSON array, bearer token, answer { result } or { error }.
    const front = http.createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      if (req.headers.authorization !== "Bearer rest-token") return res.writeHead(401).end('{"error":"Unauthorized"}');
      const answer = await command(JSON.parse(body)).then((result) => ({ result }), (e) => ({ error: e.message }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
    await new Promise((r) => front.listen(0, "127.0.0.1", r));
    t.after(() => front.close());
    process.env.UPSTASH_REDIS_REST_URL = `http://127.0.0.1:${front.address().port}`;
    process.env.UPSTASH_REDIS_REST_TOKEN = "rest-token";
    // As in the README, "Refresh across instances".
    const upstash = async (args) => {
      const response = await fetch(process.env.UPSTASH_REDIS_REST_URL, {
        method: "POST",
        headers: { authorization: `Bearer ${process.env.UPSTASH_REDIS_REST_TOKEN}` },
        body: JSON.stringify(args),
      });
      const { result, error } = await response.json();
      if (error) throw new Error(error);
      return result;
    };
    const before = op.counts.calls;
    // The default store timeout (1 s): a first HTTPS-less fetch under load took more than 0.3 s.
    const store = { refreshStore: redisRefreshStore(upstash) };
    const gates = [await createGate(options(op, { timeoutDuration: "1s" }), store), await createGate(options(op, { timeoutDuration: "1s" }), store)];
    const decisions = await burst(gates, op.grant());
    assert.deepEqual([...new Set(decisions.map((d) => `${d.code} ${d.message}`))], ["OK_REFRESHED undefined"]);
    assert.equal(op.counts.calls - before, 1);
    console.log(`HTTP store (Upstash REST shape): 2 gates x 50 requests -> ${op.counts.calls - before} token-endpoint call`);
  });

  await t.test("latency: a refreshed request with Redis (claim and publish) and without a store", async () => {
    const fast = await provider({ delayMs: 0 });
    t.after(fast.close);
    const gates = [await createGate(options(fast), { refreshStore: redisRefreshStore(command) }), await createGate(options(fast))];
    const times = [[], []];
    for (let i = 0; i < 101; i++) {
      for (const [j, gate] of gates.entries()) {
        const started = performance.now();
        const [d] = await burst([gate], fast.grant(), 1);
        if (i > 0) times[j].push(performance.now() - started);
        assert.equal(d.code, "OK_REFRESHED");
      }
    }
    const [a, b] = times.map((list) => list.sort((x, y) => x - y)[list.length >> 1]);
    console.log(`one refreshed decision, median of 100: ${a.toFixed(2)} ms with Redis, ${b.toFixed(2)} ms without a store (${(a - b).toFixed(2)} ms added: a claim and a publish on loopback)`);
  });

  await t.test("Redis down, stalled or speaking garbage: requests refresh on their own", async () => {
    const servers = [];
    t.after(() => servers.forEach((s) => s.close()));
    const fake = async (onConnection) => {
      const server = net.createServer(onConnection);
      servers.push(server);
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      return `redis://127.0.0.1:${server.address().port}`;
    };
    const closed = await fake(() => {});
    servers.pop().close();
    const cases = {
      "nothing listening": closed,
      "accepts, never answers": await fake((socket) => socket.on("data", () => {})),
      "answers junk bytes": await fake((socket) => socket.on("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"))),
      "answers every command with a bulk string": await fake((socket) => socket.on("data", () => socket.write("$7\r\ngarbage\r\n"))),
    };
    for (const [name, url] of Object.entries(cases)) {
      const command = redisCommand(url);
      const before = op.counts.calls;
      const started = performance.now();
      const decisions = await burst([await createGate(options(op), { refreshStore: redisRefreshStore(command) })], op.grant(), 10);
      const ms = performance.now() - started;
      command.close();
      assert.deepEqual([...new Set(decisions.map((d) => d.code))], ["OK_REFRESHED"], name);
      assert.equal(op.counts.calls - before, 1, name);
      console.log(`redis ${name}: 10 x OK_REFRESHED in ${ms.toFixed(0)} ms (${decisions[0].message ?? "no warning"})`);
    }
  });
});
