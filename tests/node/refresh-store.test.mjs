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

/**
 * Upstash's REST API (upstash.com/docs/redis/features/restapi) in front of `command`, as
 * @upstash/redis speaks it: a bearer token; POST / with one command as a JSON array, or
 * /pipeline with an array of them; `{ result }` or `{ error }` per command, strings in
 * base64 when the client asks with `Upstash-Encoding: base64`.
 */
async function upstashFront(t, command, token) {
  const encode = (v) => (typeof v === "string" ? Buffer.from(v).toString("base64") : Array.isArray(v) ? v.map(encode) : v);
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.headers.authorization !== `Bearer ${token}`) return res.writeHead(401).end('{"error":"Unauthorized"}');
    const base64 = req.headers["upstash-encoding"] === "base64";
    const one = (args) =>
      command(args.map(String)).then(
        (result) => ({ result: base64 ? encode(result) : result }),
        (e) => ({ error: e.message }),
      );
    const parsed = JSON.parse(body);
    const answer = req.url === "/pipeline" ? await Promise.all(parsed.map(one)) : await one(parsed);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => (server.closeAllConnections(), server.close()));
  return `http://127.0.0.1:${server.address().port}`;
}

test("Redis: the adapters on a real redis-server", { timeout: 90_000 }, async (t) => {
  const redis = await startRedis(t);
  if (!redis) return;
  const { createClient } = await import("redis");
  const { Redis: IORedis } = await import("ioredis");
  const { Redis: Upstash } = await import("@upstash/redis");
  // The test's own connection, to read the store back raw and to serve the HTTP front.
  const raw = await createClient({ url: redis.url }).connect();
  t.after(() => raw.destroy());
  const command = (args) => raw.sendCommand(args);
  const upstashUrl = await upstashFront(t, command, "rest-token");
  const op = await provider();
  t.after(op.close);

  const closers = [];
  t.after(() => closers.forEach((close) => close()));
  // As the README has them, "Refresh across instances": the client the app already has.
  const clients = {
    "node-redis": (url = redis.url) => {
      const client = createClient({ url }); // not connected: the adapter connects it
      closers.push(() => client.destroy());
      return client;
    },
    ioredis: (url = redis.url) => {
      const client = new IORedis(url);
      closers.push(() => client.disconnect());
      return client;
    },
    "@upstash/redis": (url = upstashUrl) => new Upstash({ url, token: "rest-token" }),
    "a command function": () => command,
  };

  await t.test("each client: claim, publish, read, release and expiry as the engine expects", async () => {
    for (const [name, client] of Object.entries(clients)) {
      const store = redisRefreshStore(client());
      const k = (n) => `${name}:${n}`;
      assert.equal(await store.claim(k(1), "claimed", 200), null, `${name}: set, the claim is ours`);
      assert.equal(await store.claim(k(1), "claimed", 200), "claimed", `${name}: taken`);
      await store.publish(k(1), "sealed", 10_000);
      assert.equal(await store.claim(k(1), "claimed", 200), "sealed", `${name}: an outcome is there`);
      assert.equal(await store.read(k(1)), "sealed", name);
      const ttl = await command(["PTTL", k(1)]);
      assert.ok(ttl > 9_000 && ttl <= 10_000, `${name}: published for its ttl (${ttl} ms)`);
      await store.release(k(1));
      assert.equal(await store.read(k(1)), null, `${name}: released`);
      await store.claim(k(2), "claimed", 100);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await store.read(k(2)), null, `${name}: a dead owner's claim expires`);
    }
  });

  await t.test("anything else is refused when the store is made", () => {
    for (const bad of [undefined, null, "redis://127.0.0.1:6379", {}, { get() {} }]) {
      assert.throws(() => redisRefreshStore(bad), /expected a node-redis, ioredis or @upstash\/redis client/, String(bad));
    }
  });

  await t.test("two gates on one Redis, each its own client: one call for 100 requests; the store holds no token", async () => {
    for (const [name, client] of Object.entries(clients)) {
      await command(["FLUSHDB"]);
      const before = op.counts.calls;
      const [a, b] = [redisRefreshStore(client()), redisRefreshStore(client())];
      // The HTTP front's first fetches take longer than the tests' 0.3 s store timeout.
      const slow = name === "@upstash/redis" ? { timeoutDuration: "1s" } : {};
      const gates = [await createGate(options(op, slow), { refreshStore: a }), await createGate(options(op, slow), { refreshStore: b })];
      const rt = op.grant();
      const decisions = await burst(gates, rt);
      assert.equal(op.counts.calls - before, 1, `${name}: one token-endpoint call`);
      assert.deepEqual([...new Set(decisions.map((d) => `${d.code} ${d.message}`))], ["OK_REFRESHED undefined"], name);
      assert.equal(op.valid(cookie(decisions[0], "refreshToken")), true, `${name}: the grant is still good`);
      const keys = await command(["KEYS", "*"]);
      const values = await Promise.all(keys.map((k) => command(["GET", k])));
      assert.deepEqual(keys.map((k) => k.replace(/[^:]+$/, "…")), ["edgegate:refresh:…"], name);
      assertNoTokens(keys.map((k, i) => [k, values[i]]), tokensOf(decisions, [rt]));
      const ttl = await command(["PTTL", keys[0]]);
      assert.ok(ttl > 25_000 && ttl <= 30_000, `${name}: the outcome lives for grace: ${ttl} ms`);
      console.log(`${name}: 2 gates x 50 requests -> 1 token-endpoint call; Redis holds 1 key, a sealed value of ${values[0].length} chars, PTTL ${ttl} ms`);
    }
  });

  await t.test("gates on different clients share one Redis: one call", async () => {
    const before = op.counts.calls;
    const names = ["node-redis", "ioredis", "@upstash/redis"];
    const gates = await Promise.all(names.map((name) => createGate(options(op, { timeoutDuration: "1s" }), { refreshStore: redisRefreshStore(clients[name]()) })));
    const decisions = await burst(gates, op.grant(), 99);
    assert.equal(op.counts.calls - before, 1);
    assert.deepEqual([...new Set(decisions.map((d) => `${d.code} ${d.message}`))], ["OK_REFRESHED undefined"]);
  });

  await t.test("latency: a refreshed request with Redis (claim and publish) and without a store", async () => {
    const fast = await provider({ delayMs: 0 });
    t.after(fast.close);
    const gates = [await createGate(options(fast), { refreshStore: redisRefreshStore(clients["node-redis"]()) }), await createGate(options(fast))];
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
    console.log(`one refreshed decision, median of 100: ${a.toFixed(2)} ms with Redis (node-redis), ${b.toFixed(2)} ms without a store (${(a - b).toFixed(2)} ms added: a claim and a publish on loopback)`);
  });

  await t.test("Redis down, stalled or speaking garbage: requests refresh on their own, the server stays up", async () => {
    const servers = [];
    t.after(() => servers.forEach((s) => (s.closeAllConnections?.(), s.close())));
    const fake = async (onConnection) => {
      const server = net.createServer(onConnection);
      servers.push(server);
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      return server.address().port;
    };
    const closed = await fake(() => {});
    servers.pop().close();
    const cases = {
      "nothing listening": closed,
      "accepts, never answers": await fake((socket) => socket.on("data", () => {})),
      "answers junk bytes": await fake((socket) => socket.on("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"))),
      "answers every command with a bulk string": await fake((socket) => socket.on("data", () => socket.write("$7\r\ngarbage\r\n"))),
    };
    const warned = [];
    const warn = console.warn;
    console.warn = (line) => warned.push(line);
    t.after(() => (console.warn = warn));
    for (const [name, port] of Object.entries(cases)) {
      const urls = {
        "node-redis": `redis://127.0.0.1:${port}`,
        ioredis: `redis://127.0.0.1:${port}`,
        // Only the HTTP failures apply to an HTTP client.
        "@upstash/redis": name === "nothing listening" || name === "accepts, never answers" ? `http://127.0.0.1:${port}` : undefined,
      };
      for (const [client, url] of Object.entries(urls)) {
        if (!url) continue;
        const store = redisRefreshStore(clients[client](url));
        const before = op.counts.calls;
        const started = performance.now();
        const decisions = await burst([await createGate(options(op), { refreshStore: store })], op.grant(), 10);
        const ms = performance.now() - started;
        assert.deepEqual([...new Set(decisions.map((d) => d.code))], ["OK_REFRESHED"], `${client}, ${name}`);
        assert.match(decisions[0].message ?? "", /^refreshed without coordination across instances: /, `${client}, ${name}`);
        assert.equal(op.counts.calls - before, 1, `${client}, ${name}`);
        console.log(`${client}, Redis ${name}: 10 x OK_REFRESHED in ${ms.toFixed(0)} ms (${decisions[0].message})`);
      }
    }
    console.warn = warn;
    // The clients' error events reached the adapter's listener, not an unhandled `error`.
    assert.ok(warned.some((line) => /^edgegate: the refresh store's Redis client: /.test(line)), warned.join("\n"));
  });
});
