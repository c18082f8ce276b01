// The whole app: the example (examples/nextjs) under `next build && next start`, in front of
// its Express backend, once gated by edgegate (its middleware.ts) and once by the hand-written
// jose middleware in bench/app/middleware.ts; for the hosted-login session, the same two built
// with OIDC_ISSUER (jose's in bench/app/middleware-login.ts) against the bench's own
// provider (bench/app/issuer.mjs). autocannon at 50 connections per scenario, alternating
// between its two servers (and which goes first) round by round; req/s, p50/p99
// latency, and the CPU the Next server spent per 1,000 requests (its whole process group,
// from /proc: less noisy than req/s on a machine where autocannon and the backend share
// the cores). Writes bench/results-app.json. Run: scripts/bench, or node bench/app.mjs
// [--long] (ROUNDS, DURATION, WARMUP in seconds, CONNECTIONS, ONLY=<text> to pick scenarios
// without writing results; APP_PROF=<dir> runs the servers under --cpu-prof into
// <dir>/<gate>/, with the number of requests each served in <dir>/<gate>/requests; NAMES=1
// serves builds made with `next build --no-mangling`, whose profiles name functions).
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { SignJWT } from "jose";
import { buildApp, ISSUER_URL, UPSTREAM_URL as upstreamUrl } from "./app/build.mjs";
import { startIssuer } from "./app/issuer.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const EXAMPLE = `${ROOT}examples/nextjs/`;
const long = process.argv.includes("--long");
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const DURATION = Number(process.env.DURATION ?? (long ? 30 : 10));
const WARMUP = Number(process.env.WARMUP ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const PROF = process.env.APP_PROF;
const NAMES = Boolean(process.env.NAMES);
const LOAD_BEFORE = loadavg()[0];
const dev = JSON.parse(readFileSync(`${EXAMPLE}dev-config.json`, "utf8"));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// --- servers -------------------------------------------------------------------------------
const children = new Set();
const killAll = () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
};
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (killAll(), process.exit(1)));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `command` in its own process group and resolves once `url` answers. */
async function start(command, args, { cwd, env, url }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = async () => {
    if (!children.delete(child)) return;
    // SIGTERM, so a server under --cpu-prof writes its profile on the way out.
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(-child.pid, "SIGKILL"); // next start can outlive SIGTERM
    } catch {}
  };
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && child.exitCode === null; ) {
    try {
      await fetch(url, { redirect: "manual" });
      return { child, stop, output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await stop();
  throw new Error(`${command} ${args.join(" ")} did not come up at ${url}:\n${output}`);
}

/** CPU time (ms) used so far by every process in the group led by `pid`. */
function groupCpuMs(pid) {
  const tick = 1000 / 100; // USER_HZ
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15), numbered from 1.
    if (Number(fields[2]) === pid) total += (Number(fields[11]) + Number(fields[12])) * tick;
  }
  return total;
}

// --- scenarios -----------------------------------------------------------------------------
const now = Math.floor(Date.now() / 1000);
const sign = (secret) =>
  new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject("bench-user").setIssuer(dev.issuer)
    .setAudience(dev.audience).setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(secret));
const valid = await sign(dev.secret);
const forged = await sign("a-different-secret-that-is-long-enough!!");
// What a hosted login leaves in the gate's session cookie (`token` on plain-http loopback,
// `__Host-token` over https): the provider's access token for the backend.
const issuer = await startIssuer(ISSUER_URL);
const session = await issuer.sign({ sub: "bench-user", audience: dev.login.resource, clientId: dev.login.clientId, expiresAt: now + 86_400 });
// What a browser sends besides the session: a few headers and another cookie.
const browser = {
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "accept-language": "en-US,en;q=0.9",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
};
const scenarios = [
  { name: "valid token → upstream", path: "/api/stocks", headers: { ...browser, cookie: `theme=dark; ${dev.cookie}=${valid}` }, status: 200 },
  { name: "/dashboard without a session → 307", path: "/dashboard", headers: browser, status: 307 },
  { name: "forged token → 401", path: "/api/stocks", headers: { ...browser, cookie: `theme=dark; ${dev.cookie}=${forged}` }, status: 401 },
  { name: "guest page (/login, no session)", path: "/login", headers: browser, status: 200 },
  { name: "public page no rule matches (/)", path: "/", headers: browser, status: 200 },
  { name: "hosted-login session's page (/dashboard)", path: "/dashboard", headers: { ...browser, cookie: `theme=dark; token=${session}` }, status: 200, apps: ["edgegate-login", "jose-login"] },
]
  .map((s) => ({ apps: ["edgegate", "jose"], ...s })) // the edgegate app, then its reference
  .filter(({ name }) => name.includes(process.env.ONLY ?? ""));
const apps = [...new Set(scenarios.flatMap((s) => s.apps))];

// --- the apps ------------------------------------------------------------------------------
const dirs = Object.fromEntries(apps.map((name) => [name, buildApp(name, upstreamUrl, { names: NAMES })]));

const upstream = await start("node", ["upstream/server.mjs"], {
  cwd: EXAMPLE,
  env: { PORT: new URL(upstreamUrl).port },
  url: `${upstreamUrl}/api/stocks`,
});
const servers = {};
for (const [name, dir] of Object.entries(dirs)) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (PROF) mkdirSync(`${PROF}/${name}`, { recursive: true });
  const next = ["start", "-p", String(port), "-H", "127.0.0.1"];
  // node refuses --cpu-prof in NODE_OPTIONS: under APP_PROF, node runs next's bin itself.
  const [command, args] = PROF
    ? [process.execPath, ["--cpu-prof", `--cpu-prof-dir=${PROF}/${name}`, `${dir}/node_modules/next/dist/bin/next`, ...next]]
    : [`${dir}/node_modules/.bin/next`, next];
  servers[name] = { ...(await start(command, args, { cwd: dir, env: { NEXT_TELEMETRY_DISABLED: "1" }, url })), url, served: 0 };
}

// Each server answers each scenario as expected before anything is timed.
for (const s of scenarios) {
  for (const name of s.apps) {
    const server = servers[name];
    const r = await fetch(`${server.url}${s.path}`, { headers: s.headers, redirect: "manual" });
    if (r.status !== s.status) throw new Error(`${name}: ${s.name} answered ${r.status}, not ${s.status}: ${await r.text()}`);
  }
}

async function cannon(server, scenario, seconds) {
  const r = await autocannon({
    url: `${server.url}${scenario.path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: scenario.headers,
  });
  server.served += r.requests.total;
  return r;
}

async function measure(name, scenario) {
  const server = servers[name];
  const cpu0 = groupCpuMs(server.child.pid);
  const r = await cannon(server, scenario, DURATION);
  const cpu = groupCpuMs(server.child.pid) - cpu0;
  // Responses by status (requests.total also counts those still in flight at the end).
  const responses = Object.values(r.statusCodeStats ?? {}).reduce((n, s) => n + s.count, 0);
  const expected = r.statusCodeStats?.[scenario.status]?.count ?? 0;
  // A few 500s from Next's proxy when the backend closes a kept-alive socket as it is
  // reused are counted and shown; more than 1% of anything else stops the bench.
  const unexpected = responses - expected + r.errors + r.timeouts;
  if (unexpected > responses / 100) {
    throw new Error(`${name}: ${scenario.name}: ${r.errors} errors, ${r.timeouts} timeouts, ${expected}/${responses} answered ${scenario.status} (${JSON.stringify(r.statusCodeStats)})\n${server.output().slice(-3000)}`);
  }
  if (unexpected && !server.shown) {
    server.shown = true;
    console.log(`  ${name} server, on its first other answer:\n${server.output().slice(-1500).replace(/^/gm, "    ")}`);
  }
  return { rps: expected / DURATION, p50: r.latency.p50, p99: r.latency.p99, cpuPer1000: (cpu * 1000) / responses, unexpected };
}

const rows = [];
for (const scenario of scenarios) {
  const order = scenario.apps;
  for (const name of order) await cannon(servers[name], scenario, WARMUP);
  const runs = Object.fromEntries(order.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 ? [...order].reverse() : order) {
      const m = await measure(name, scenario);
      runs[name].push(m);
      console.log(`  ${scenario.name}, round ${round + 1}, ${name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, ${m.cpuPer1000.toFixed(0)} ms CPU/1000${m.unexpected ? `, ${m.unexpected} other answers or errors` : ""}`);
    }
  }
  const summary = (name) => {
    const xs = runs[name];
    return {
      rps: median(xs.map((x) => x.rps)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      cpuPer1000: median(xs.map((x) => x.cpuPer1000)),
      runs: xs,
    };
  };
  const [edgegate, jose] = order.map(summary);
  rows.push({ scenario: scenario.name, path: scenario.path, status: scenario.status, apps: order, edgegate, jose, rpsRatio: edgegate.rps / jose.rps, cpuRatio: edgegate.cpuPer1000 / jose.cpuPer1000 });
}
await Promise.all([upstream, ...Object.values(servers)].map((s) => s.stop()));
await issuer.close();
if (apps.some((name) => name.endsWith("-login"))) console.log(`the provider served (both apps, whole run): ${JSON.stringify(issuer.served())}`);
// How many requests each profile covers, for bench/prof-summary.mjs.
if (PROF) for (const [name, s] of Object.entries(servers)) writeFileSync(`${PROF}/${name}/requests`, `${s.served}\n`);

console.log(`\nWhole app under next start, autocannon ${CONNECTIONS} connections, median of ${ROUNDS} × ${DURATION} s alternating runs:\n`);
console.log("| scenario | edgegate req/s | jose req/s | ratio | edgegate p50 / p99 ms | jose p50 / p99 ms | CPU ms per 1,000 (edgegate / jose) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  const { edgegate: e, jose: j } = r;
  console.log(`| ${r.scenario} | ${e.rps.toFixed(0)} | ${j.rps.toFixed(0)} | ${r.rpsRatio.toFixed(2)}× | ${e.p50} / ${e.p99} | ${j.p50} / ${j.p99} | ${e.cpuPer1000.toFixed(0)} / ${j.cpuPer1000.toFixed(0)} (${r.cpuRatio.toFixed(2)}×) |`);
}
if (!process.env.ONLY && !PROF) {
  // The load average before and after: other work on the machine moves req/s the most.
  const meta = { connections: CONNECTIONS, rounds: ROUNDS, durationS: DURATION, warmupS: WARMUP, node: process.version, loadavg: [LOAD_BEFORE, loadavg()[0]], date: new Date().toISOString() };
  writeFileSync(`${ROOT}bench/results-app.json`, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  console.log("wrote bench/results-app.json");
}
