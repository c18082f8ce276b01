// The chaos run (`scripts/chaos`; `--long` for a longer one): the hosted-login app (proxy.ts)
// in two `next start` processes behind nginx terminating TLS, refresh coordinated through a
// real redis-server, oidc-provider with refresh-token rotation and reuse detection issuing
// access tokens that expire during the run. Signed-in users keep requesting (three requests
// in flight each, as a browser's tabs do) while the run restarts Redis, makes the token
// endpoint slow and then unreachable, rotates the provider's signing key and restarts one
// Next process. It asserts what a user would notice: only documented answers (a 503 only
// while the provider is unreachable), nobody logged out whose refresh token was still good,
// at most one token-endpoint call per refresh token, recovery within seconds of each fault,
// and servers whose memory stays flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { execFileSync } from "node:child_process";
import { buildTemplate, freePort, startNext, startTlsProxy, startUpstream } from "./helpers.mjs";
import { RESOURCES, authorizeAtProvider, startLoginProvider } from "./login-provider.mjs";
import { privateJwk } from "./oidc.mjs";
import { startRedis } from "../node/stores.mjs";

const LONG = process.env.CHAOS_LONG === "1";
/** Seconds between fault events; the long run spaces them five times wider. */
const STEP = LONG ? 25 : 5;
const USERS = LONG ? 24 : 12;
const IN_FLIGHT = 3;
/** Access tokens live this long (s); the gate refreshes within `WINDOW` of expiry. */
const TTL = 12;
const WINDOW = "4s";
/** After a fault ends, every user must be answered 200 again within this many seconds. */
const RECOVERY = 5;
const SLOW_MS = 2500;
const NAVIGATE = { "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-dest": "document" };
const STORE_SECRET = "chaos-coordination-secret-of-32-bytes-or-more";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The login template's options (tests/e2e/login/gate.ts), with refresh coordinated.
const GATE = `import type { Options } from "edgegate";
import { gateOptions as login } from "./gate";

export const gateOptions: Options = {
  ...login,
  refresh: { window: ${JSON.stringify(WINDOW)}, coordination: { secret: ${JSON.stringify(STORE_SECRET)} } },
};
`;
const PROXY = `import { edgeGate } from "edgegate/next";
import { redisRefreshStore } from "edgegate";
import { createClient } from "redis";
import { gateOptions } from "./chaos-gate";

export const proxy = edgeGate(gateOptions, { refreshStore: redisRefreshStore(createClient({ url: process.env.REDIS_URL })), log: true });
export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
`;

/** Resident memory of a process group (`next start` and the server it runs), in MB. */
function rssMb(pgid) {
  const kb = execFileSync("ps", ["-o", "rss=", "-g", String(pgid)], { encoding: "utf8" });
  return kb.split("\n").filter(Boolean).reduce((sum, line) => sum + Number(line), 0) / 1024;
}

test("chaos: two next start behind nginx, Redis, a provider that slows, fails and rotates keys", { timeout: LONG ? 900_000 : 300_000 }, async (t) => {
  const tlsPort = await freePort();
  const origin = `https://127.0.0.1:${tlsPort}`;
  const redis = await startRedis(t);
  if (!redis) return;

  // The provider: restartable in place (its grants in a store that outlives an instance),
  // with the faults in front of its token endpoint.
  const adapter = sharedAdapter();
  const fault = { slow: false, down: false, cut: 0 };
  const middleware = async (ctx, next) => {
    if (ctx.path === "/token") {
      if (fault.down) return (fault.cut += 1), ctx.req.socket.destroy();
      if (fault.slow) await sleep(SLOW_MS);
    }
    await next();
  };
  const providerPort = await freePort();
  let keys = [privateJwk("rsa", { modulusLength: 2048 }, "RS256")];
  const providers = [];
  const provider = () => providers.at(-1);
  const startProvider = async () => {
    providers.push(await startLoginProvider({ appOrigins: [origin], port: providerPort, keys, accessTokenTTL: TTL, middleware, adapter }));
  };
  await startProvider();
  t.after(() => provider().stop());
  const op = provider();
  const backend = await startUpstream({ OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: RESOURCES.rs });
  t.after(() => backend.stop());

  const { dir, seconds } = buildTemplate("login", "chaos", {
    env: {
      UPSTREAM_URL: backend.url, LOGIN_ISSUER: op.issuer, LOGIN_CLIENT_ID: op.clientId, LOGIN_CLIENT_SECRET: op.clientSecret,
      LOGIN_SECRET: "chaos-login-secret-of-at-least-32-bytes!", LOGIN_RESOURCE: RESOURCES.rs, APP_ORIGIN: origin,
    },
    files: { "chaos-gate.ts": GATE, "proxy.ts": PROXY },
  });
  console.log(`next build of the chaos app: ${seconds.toFixed(1)} s`);
  const env = { REDIS_URL: redis.url };
  const ports = [await freePort(), await freePort()];
  const phase = (what) => console.log(`chaos: ${what} (${(performance.now() / 1000).toFixed(1)} s)`);
  const servers = await Promise.all(ports.map((port) => startNext(dir, { env, port })));
  phase("two next start up");
  const restarted = [];
  t.after(() => [...servers, ...restarted].forEach((s) => s.stop()));
  const tls = await startTlsProxy(t, servers.map((s) => s.url), { port: tlsPort });
  if (!tls) return;
  const agent = new https.Agent({ ca: tls.ca, keepAlive: true, maxSockets: USERS * IN_FLIGHT });
  t.after(() => agent.destroy());

  /** One request through nginx: `{ status, setCookies, location }`. */
  const send = (path, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = https.request(`${origin}${path}`, { agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, setCookies: res.headers["set-cookie"] ?? [], location: res.headers.location }));
      });
      req.on("error", reject);
      // A request nobody answers is a finding, not a hang of the whole run.
      req.setTimeout(20_000, () => req.destroy(Object.assign(new Error("no answer in 20 s"), { code: "TIMEOUT" })));
      req.end();
    });

  phase("nginx up");
  // Sign the users in through the proxy: the gate's login, the provider's pages, the callback.
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const start = await send("/auth/login?returnTo=%2Fdashboard", NAVIGATE);
    assert.equal(start.status, 307);
    const tx = start.setCookies[0].split(";")[0];
    const callback = new URL(await authorizeAtProvider(start.location, { login: `chaos-${i}` }));
    const done = await send(`${callback.pathname}${callback.search}`, { ...NAVIGATE, cookie: tx });
    assert.equal(done.status, 303);
    const jar = new Map();
    apply(jar, done.setCookies);
    assert.ok(jar.has("__Host-refreshToken"), "signed in with a refresh token");
    users.push({ name: `chaos-${i}`, jar, lost: null });
  }

  phase(`${USERS} users signed in`);
  // The load: each user keeps IN_FLIGHT requests going, sharing its cookies as a browser does.
  const log = []; // { at, status, user, path }
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  let running = true;
  async function loop(user, k) {
    for (let n = 0; running && !user.lost; n++) {
      const path = (n + k) % 4 === 0 ? "/dashboard" : "/api/whoami";
      const cookie = [...user.jar].map(([name, value]) => `${name}=${value}`).join("; ");
      let answer;
      try {
        answer = await send(path, path === "/dashboard" ? { ...NAVIGATE, cookie } : { cookie });
      } catch (e) {
        answer = { status: `error ${e.code ?? e.message}`, setCookies: [] };
      }
      log.push({ at: now(), status: answer.status, user: user.name, path });
      apply(user.jar, answer.setCookies);
      if (!user.jar.has("__Host-refreshToken") || answer.status === 307 || answer.status === 401) {
        user.lost ??= { at: now(), status: answer.status, path };
      }
      await sleep(20);
    }
  }
  const loops = users.flatMap((user) => Array.from({ length: IN_FLIGHT }, (_, k) => loop(user, k)));
  // The memory of the Next process that is never restarted, every second.
  const memory = [];
  const sampler = setInterval(() => memory.push(rssMb(servers[0].pid)), 1000);

  // The faults, on a timetable; each window is when the fault is on: from `step`, until
  // `apply` returns.
  const windows = [];
  const at = (s) => sleep(Math.max(0, s * 1000 - (performance.now() - t0)));
  const inject = async (step, fault, apply, provider = false) => {
    await at(step);
    const w = { fault, from: now(), provider };
    phase(fault);
    await apply();
    windows.push({ ...w, to: now() });
  };
  const toggle = (name, until) => async () => {
    fault[name] = true;
    await at(until);
    fault[name] = false;
  };

  let again;
  await inject(STEP, "Redis restarted", async () => {
    redis.stop();
    await sleep(500);
    again = await startRedis(t, { port: redis.port });
  });
  await inject(2 * STEP, `token endpoint slow (${SLOW_MS} ms)`, toggle("slow", 3 * STEP));
  // Longer than the refresh window: some access tokens expire while it lasts.
  await inject(4 * STEP, "token endpoint unreachable", toggle("down", 6 * STEP), true);
  await inject(7 * STEP, "signing key rotated (provider restarted)", async () => {
    await provider().stop();
    keys = [privateJwk("rsa", { modulusLength: 2048 }, "RS256"), ...keys];
    await startProvider();
  }, true);
  await inject(8 * STEP, "one Next process restarted", async () => {
    servers[1].stop();
    await sleep(1000);
    servers[1] = await startNext(dir, { env, port: ports[1] });
    restarted.push(servers[1]);
  });

  await at(10 * STEP);
  clearInterval(sampler);
  running = false;
  phase("load stopped");
  await Promise.all(loops);
  again.stop();

  // What happened, against what a user must see.
  const tokenCalls = providers.flatMap((p) => p.seen.tokenRequests).filter((r) => r.grantType === "refresh_token");
  const perToken = new Map();
  for (const call of tokenCalls) perToken.set(call.params?.refresh_token, (perToken.get(call.params?.refresh_token) ?? 0) + 1);
  const reused = [...perToken.values()].filter((n) => n > 1).length;
  const refused = tokenCalls.filter((c) => !c.ok);
  const inProviderFault = (s) => windows.some((x) => x.provider && s >= x.from && s <= x.to + RECOVERY);
  const unexpected = log.filter((r) => r.status !== 200 && !(r.status === 503 && inProviderFault(r.at)));
  // Recovery: the last answer other than 200 after a fault ended, before the next began.
  const recovery = windows.map((x, i) => {
    const until = Math.min(x.to + 2 * STEP, windows[i + 1]?.from ?? Infinity);
    const late = log.filter((r) => r.status !== 200 && r.at > x.to && r.at < until);
    return late.length ? Math.max(...late.map((r) => r.at)) - x.to : 0;
  });
  const count = (status) => log.filter((r) => r.status === status).length;
  // Flat once warm: the second half of the run against its own start (V8 grows its heap to
  // a working size first).
  const half = memory.slice(Math.floor(memory.length / 2));
  console.log(`RSS (MB, each second): ${memory.map((m) => m.toFixed(0)).join(" ")}`);
  const rows = [
    ["requests", `${log.length} (${count(200)} × 200, ${count(503)} × 503, ${log.length - count(200) - count(503)} other)`, "only 200, and 503 while the provider is unreachable"],
    ["users logged out", `${users.filter((u) => u.lost).length} of ${USERS}`, "0"],
    ["refresh calls at the token endpoint", `${tokenCalls.length} (${refused.length} refused), for ${perToken.size} refresh tokens`, "—"],
    ["refresh tokens used more than once", String(reused), "0"],
    ["refresh calls cut off while the token endpoint was unreachable", `${fault.cut} (then ${count(503)} answers 503 for expired tokens)`, "> 0: the fault was felt"],
    ...windows.map((x, i) => [`recovery after: ${x.fault}`, `${recovery[i].toFixed(1)} s`, `≤ ${RECOVERY} s`]),
    ["RSS of the Next process kept up, second half of the run", `${half[0].toFixed(0)} → ${Math.max(...half).toFixed(0)} MB`, "≤ 1.2×"],
  ];
  console.log(`\nchaos run (${LONG ? "--long" : "default"}): ${USERS} users × ${IN_FLIGHT} in flight, ${now().toFixed(0)} s, access tokens of ${TTL} s\n`);
  console.log("| measure | result | required |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  console.log("");

  if (refused.length) console.log("refused refresh calls:", refused.slice(0, 5).map((c) => `${c.error}: ${c.description}`));
  if (unexpected.length) {
    const lines = [...servers, ...restarted].flatMap((s) => s.output().split("\n"));
    console.log("the gates' refusals other than 503:", lines.filter((l) => /"status":(401|403|307)/.test(l)).slice(0, 10));
  }
  assert.deepEqual(unexpected.slice(0, 10), [], `${unexpected.length} answers other than the documented ones`);
  assert.deepEqual(users.filter((u) => u.lost).map((u) => ({ user: u.name, ...u.lost })), [], "users logged out");
  assert.equal(reused, 0, "refresh tokens sent to the token endpoint more than once");
  assert.deepEqual(refused.map((c) => c.error), [], "refresh calls the provider refused");
  for (const [i, x] of windows.entries()) assert.ok(recovery[i] <= RECOVERY, `${x.fault}: recovered after ${recovery[i].toFixed(1)} s`);
  assert.ok(Math.max(...half) <= half[0] * 1.2, `RSS over the second half: ${half.map((m) => m.toFixed(0)).join(" ")} MB`);
  assert.ok(tokenCalls.length >= USERS, `tokens expired and were refreshed during the run (${tokenCalls.length} calls)`);
  assert.ok(fault.cut > 0 && count(503) > 0, "the unreachable token endpoint was felt: refreshes cut off, expired tokens answered 503");
});

/**
 * oidc-provider's storage (its adapter interface) in one Map that outlives a provider
 * instance, as a database would: a restart keeps its grants. No expiry: the run is short.
 */
function sharedAdapter() {
  const store = new Map();
  const grants = new Map();
  return class SharedAdapter {
    constructor(model) {
      this.model = model;
    }
    key(id) {
      return `${this.model}:${id}`;
    }
    async upsert(id, payload) {
      store.set(this.key(id), payload);
      if (payload.grantId) grants.set(payload.grantId, (grants.get(payload.grantId) ?? new Set()).add(this.key(id)));
      if (payload.uid) store.set(`uid:${payload.uid}`, id);
      if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
    }
    async find(id) {
      return store.get(this.key(id));
    }
    async findByUid(uid) {
      const id = store.get(`uid:${uid}`);
      return id && this.find(id);
    }
    async findByUserCode(code) {
      const id = store.get(`userCode:${code}`);
      return id && this.find(id);
    }
    async consume(id) {
      const payload = store.get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}

/** Applies `Set-Cookie` lines to `jar` as a browser would (a cleared cookie is removed). */
function apply(jar, lines) {
  for (const line of lines) {
    const [pair, ...attributes] = line.split(";");
    const name = pair.slice(0, pair.indexOf("="));
    const value = pair.slice(name.length + 1);
    if (!value || attributes.some((a) => /^\s*max-age=0$/i.test(a))) jar.delete(name);
    else jar.set(name, value);
  }
}
