// One judged path on every host. The example's rules (examples/nextjs/gate.ts: public
// /api/login and /api/logout, page /dashboard, api /api/* to the backend, guest /login) on
// Next middleware.ts (Edge) and proxy.ts (Node) under `next build && next start`, a Worker in
// workerd (Miniflare), Hono on @hono/node-server and Express, all in front of one recording
// upstream. One list of spellings goes to every host without and with a valid token; for
// each, what the upstream saw (path and query, bearer, the gate's headers) or that it saw
// nothing, and the status. The hosts must agree, except where a host routes a spelling
// itself before any middleware runs (HOST_ROUTING, each entry with its reason and the answer
// it must give), and the upstream never sees a path the gate did not judge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import http from "node:http";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { EXAMPLE, ROOT, buildNext, dev, startNext, startRecorder, startUpstream, startWorker, token, verifiedBearer } from "./helpers.mjs";

/** Stands for a build id in `/_next/data/<build>/…`: Next's own on Next, `b1` elsewhere. */
const BUILD = "<build>";
const QUERY = "?q=a%20b&n=1";

/**
 * Spellings of `path` a client might send for it: as is, with a query, the transport forms
 * Next routes to its page, case, percent-encoding, dot segments, `//` and `\`.
 */
function spellings(path) {
  if (path === "/") {
    return ["/", `/${QUERY}`, `/_next/data/${BUILD}/index.json`, "/index", "/index.rsc", "/.", "//", "/%2e/"];
  }
  const [, dir, first, rest] = /^(.*)\/(.)(.*)$/.exec(path);
  const hex = first.charCodeAt(0).toString(16);
  const last = `${first}${rest}`;
  return [
    path,
    `${path}${QUERY}`,
    `${path}/`,
    `${dir}/${first.toUpperCase()}${rest}`,
    path.toUpperCase(),
    `${dir}/%${hex}${rest}`,
    `${dir}/%${hex.toUpperCase()}${rest}`,
    `/_next/data/${BUILD}${path}.json`,
    `/_next/data/${BUILD}${path}.json${QUERY}`,
    `/_next/data/not-the-build${path}.json`,
    `${path}.json`,
    `${path}.rsc`,
    `${path}.rsc${QUERY}`,
    `${path}.segments/_tree.segment.rsc`,
    `${path}.segments${path}/__PAGE__.segment.rsc`,
    `/${path}`,
    `${dir}//${last}`,
    `/x/..${path}`,
    `${dir}/./${last}`,
    `${dir}/%2e/${last}`,
    `${dir}/x/%2E%2E/${last}`,
    `${dir}\\${last}`,
  ];
}

const PATHS = ["/", "/about", "/dashboard", "/dashboard/settings", "/login", "/api/login", "/api/logout", "/api/stocks", "/api/orders/7"];
const EXTRA = [
  "/api", "/api.json", "/api.rsc", `/_next/data/${BUILD}/api.json`, `/_next/data/${BUILD}/api/index.json`,
  `/_next/data/${BUILD}/dashboard/index.json`, "/api/stocks.json.rsc", `/_next/data/${BUILD}/api/stocks.rsc.json`,
  `/_next/data/not-the-build/api/stocks.rsc.json`, `/_next/data/${BUILD}/api/login.rsc.json`, "/api/stocks.rsc.rsc",
  "/api/_next/data/b/stocks.json", "/api/a%2Fb", "/api/x;y", "/api/x%00", "/api/%2e%2e/login", "/api/stocks/..",
  "/api/login?q=a%26admin%3D1.rsc", "/api/stocks?x=a.rsc", "/api/login.rsc?x=1", "/api/caf%C3%A9", "/api/caf%c3%a9",
  "/_next/static/x/../../api/stocks",
];

/** The exceptions' own pages (public, guest): a transport spelling of one is not theirs. */
const EXCEPTIONS = ["/api/login", "/api/logout", "/login"];

/**
 * The URL Next 16 hands its middleware for `path` (when its router did not answer it
 * first): `/_next/data/<own build>/<page>.json` unwrapped (router), a trailing `.rsc`
 * stripped off the path, else off the query (the adapter's `normalizeRscURL`), a data route
 * of any build unwrapped (`NextURL`), and the query re-serialized by `URLSearchParams`.
 */
function nextView(path) {
  const at = path.indexOf("?");
  let [pathname, search] = at < 0 ? [path, ""] : [path.slice(0, at), path.slice(at)];
  const unwrap = (build) => {
    const m = new RegExp(`^/_next/data/${build}/(.+)\\.json$`).exec(pathname);
    if (m) pathname = m[1] === "index" || m[1].startsWith("index/") ? "/" : `/${m[1]}`;
  };
  unwrap(BUILD);
  if (pathname.endsWith(".rsc")) pathname = pathname.slice(0, -4) || "/";
  else if (search.endsWith(".rsc")) search = search.slice(0, -4);
  unwrap("[^/]+");
  const query = new URLSearchParams(search).toString();
  return `${pathname}${query ? `?${query}` : ""}`;
}

const NEXT = ["next-middleware", "next-proxy"];
const pathOf = (p) => p.split("?")[0];
/** The page of a transport spelling, one layer: `/_next/data/<build>/<page>.json` or `<page>.rsc`. */
const pageOf = (p) => pathOf(p).replace(/^\/_next\/data\/[^/]+\/(.+)\.json$/, "/$1").replace(/\.rsc$/, "");

const reachedUpstream = (cell) => cell?.startsWith("↑");
/** Next re-spells a middleware's redirect of a data request as a data route of its build. */
const undata = (cell) =>
  cell.replace(/^(30\d) \/_next\/data\/[^/]+\/(.+?)\.json(?=\?|$)/, (_, status, page) => `${status} ${page === "index" ? "/" : `/${page}`}`);
/** `cell`'s upstream URL with its query passed through `f`. */
const upstreamQuery = (cell, f) => cell.replace(/^(↑ \S+ [^?\s]*)(\?\S*)?/, (_, head, query = "") => `${head}${f(query)}`);

/**
 * Spellings a host routes itself before any middleware runs, so that its gate never sees
 * them as sent: `[hosts, applies(path), check, why]`. Each listed host must pass `check`:
 * a RegExp its answer must match, or `(mine, same, viewed)`: its answer against the other
 * hosts' (unanimous) answer to the same request and to `nextView(path)`, or undefined where
 * it is compared with them as any host. A host's own rewriting may change which rule judges
 * a spelling, never the path the upstream gets.
 */
const HOST_ROUTING = [
  [[...NEXT, "hono", "express"], (p) => !p.startsWith("/"), /^400$/,
    "Node's HTTP server answers 400 to a request-target that is not origin-form (`\\x`)"],
  [["workerd"], (p) => !p.startsWith("/"), /^500$/,
    "workerd answers 500 to a request-target its URL parser refuses (`\\x`), before the Worker runs"],
  [NEXT, (p) => p.startsWith("/") && /\/\/|\\/.test(pathOf(p)), /^308 /,
    "Next's router answers a path with `//` or `\\` with 308 to the collapsed path"],
  [NEXT, (p) => p.startsWith("/") && /.\/$/.test(new URL(`http://h${p}`).pathname), /^308 /,
    "Next's router answers a trailing `/` (after resolving dot segments) with 308 to the path without it (trailingSlash: false)"],
  [["hono"], (p) => p.startsWith("/") && pathOf(p).includes("\\"), /^400$/,
    "@hono/node-server answers 400 to a `\\` in the request path (RequestError) before the app"],
  [NEXT, (p) => p.startsWith("/") && !pathOf(p).endsWith(".rsc") && p.includes("?") && p.endsWith(".rsc"),
    (mine, same) => same !== null && mine === upstreamQuery(same, (q) => q.replace(/\.rsc$/, "")),
    "Next's normalizeRscURL strips a `.rsc` that ends the query when the path has none: the upstream gets that query without it"],
  // (Next's own proxy re-serialized the query back, `+` as `%20`, while the adapter handed
  // upstreams to it as external rewrites; the adapter now fetches them itself.)
  [NEXT, (p) => p.startsWith("/") && /\?.*%20/.test(p),
    (mine, same) => (reachedUpstream(mine) && same !== null ? mine === upstreamQuery(same, (q) => q.replaceAll("%20", "+")) : undefined),
    "Next hands middleware the query re-serialized as a form (`%20` as `+`): the gate judges that " +
      "query and forwards it, which a form decoder (URLSearchParams, qs) reads as the same"],
  [NEXT, (p) => p.startsWith("/") && nextView(p) !== p,
    (mine, same, viewed) => (reachedUpstream(mine) && reachedUpstream(same) ? undefined : undata(mine) === viewed),
    "Next hands middleware the URL with `.rsc` stripped, `/_next/data/<build>/….json` unwrapped " +
      "and the query re-serialized, and re-spells a data request's redirect as a data route: its gate " +
      "judges that view, so an exception's transport spelling is the exception there (elsewhere the api " +
      "rule protects it) and a returnTo names the view; the upstream path is the same everywhere"],
];

/** Sends `path` exactly as written (fetch would resolve dot segments and `\`). */
function raw(base, path, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/`, { path, headers, agent: false }, (res) => {
      res.resume();
      // Next answers a data request's redirect with `x-nextjs-redirect` for its client router.
      res.on("end", () => resolve({ status: res.statusCode, location: res.headers.location ?? res.headers["x-nextjs-redirect"], headers: res.rawHeaders }));
    });
    request.on("error", (e) => (e.code === "ECONNRESET" ? resolve({ status: "reset" }) : reject(e)));
    request.end();
  });
}

const subject = (authorization) =>
  verifiedBearer(authorization) ? JSON.parse(Buffer.from(authorization.split(".")[1], "base64url")).sub : authorization ? "UNVERIFIED" : "none";

/**
 * One request's outcome on a host, as `{ cell, key, arrived }`: `key` compares hosts (an
 * answer from the app behind the gate is `app`, whatever the app is); `cell` also has the
 * app's status.
 */
function outcome(host, { status, location }, arrived) {
  const self = (h) => {
    const url = new URL(`http://${h}`);
    return url.port === host.port && ["127.0.0.1", "localhost"].includes(url.hostname) ? "self" : h;
  };
  const unbuild = (s) => s.replaceAll(host.build, BUILD);
  if (arrived.length) {
    const seen = arrived.map(({ method, url, headers: h }) =>
      `↑ ${method} ${unbuild(url)} bearer:${subject(h.authorization)} x-auth-sub:${h["x-auth-sub"] ?? "-"} xfh:${h["x-forwarded-host"] ? self(h["x-forwarded-host"]) : "-"} xfp:${h["x-forwarded-proto"] ?? "-"}`);
    const cell = `${seen.join(" ; ")} → ${status}`;
    return { cell, key: cell, arrived };
  }
  if (typeof status === "number" && status >= 300 && status < 400 && location) {
    const to = new URL(location, host.url);
    const cell = `${status} ${unbuild(to.port === host.port ? `${to.pathname}${to.search}` : to.href)}`;
    return { cell, key: cell, arrived };
  }
  // The gate's own refusals and errors; anything else came from the app behind it.
  if ([400, 401, 403, 500, "reset"].includes(status)) return { cell: String(status), key: String(status), arrived };
  return { cell: `app ${status}`, key: "app", arrived };
}

/**
 * Is `url` (what the upstream saw) a path the gate judged under the api rule: canonical (no
 * empty or dot segment, `%XX` uppercase and only for a byte that needs it), under /api (as
 * the rule reads it, case-insensitively), and no transport spelling of another page, except
 * of an exception's page: that page is the exception's, so the api rule that protects its
 * spellings judges them as spelled.
 */
function judged(url) {
  const path = pathOf(url);
  const segments = path.split("/").slice(1);
  const plain = /[A-Za-z0-9\-._~!$&'()*+,=:@]/;
  const canonical =
    /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/.test(path) &&
    segments.every((s, i) => (s !== "" || i === segments.length - 1) && s !== "." && s !== "..") &&
    (path.match(/%.?.?/g) ?? []).every((e) => /^%[0-9A-F]{2}$/.test(e) && !plain.test(String.fromCharCode(parseInt(e.slice(1), 16))));
  const transport = /^\/_next\/data\/|\.rsc$/.test(path);
  const page = transport ? pageOf(path) : path;
  // `/api` itself spelled with a suffix Next's matcher adds but Next does not strip (no data
  // route): Next's middleware gets it so, and so does every host's gate.
  return canonical && /^\/api(\/|$|\.json$|\.segments\/)/i.test(page) && (!transport || EXCEPTIONS.includes(page));
}

/** The example's gate.ts as a module, with its build-time settings as Next inlines them. */
async function exampleOptions(define) {
  const outfile = `${ROOT}target/conformance/gate.mjs`;
  await build({ entryPoints: [`${EXAMPLE}gate.ts`], outfile, bundle: true, format: "esm", platform: "node", define, logLevel: "error" });
  return (await import(`${pathToFileURL(outfile).href}?${Date.now()}`)).gateOptions;
}

// Express and @hono/node-server are the Node adapter tests' (tests/node).
const nodeTests = createRequire(new URL("../node/package.json", import.meta.url));
const load = (name) => import(pathToFileURL(nodeTests.resolve(name)).href);

async function startExpress(options) {
  const { default: express } = await load("express");
  const { edgeGate } = await import("edgegate/node");
  const app = express();
  app.use(edgeGate(options));
  app.use((req, res) => res.status(200).send("app"));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

async function startHono(options) {
  const { Hono } = await load("hono");
  const { serve } = await load("@hono/node-server");
  const { edgeGate } = await import("edgegate/hono");
  const app = new Hono();
  app.use("*", edgeGate(options));
  app.all("*", (c) => c.text("app"));
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}

test("one judged path on every host", { timeout: 900_000 }, async (t) => {
  const started = performance.now();
  const upstream = await startUpstream();
  t.after(() => upstream.stop());
  const recorder = await startRecorder(upstream.url);
  t.after(() => recorder.stop());

  const hosts = [];
  for (const variant of ["middleware", "proxy"]) {
    const dir = buildNext(variant, recorder.url, { name: `conformance-${variant}` });
    const next = await startNext(dir);
    t.after(() => next.stop());
    hosts.push({ name: `next-${variant}`, url: next.url, build: readFileSync(`${dir}/.next/BUILD_ID`, "utf8").trim() });
  }
  const define = { "process.env.UPSTREAM_URL": JSON.stringify(recorder.url), "process.env.OIDC_ISSUER": '""', "process.env.APP_URL": '""' };
  const mf = await startWorker(new URL("./worker/worker.ts", import.meta.url).pathname, "conformance-worker", {}, {}, { define });
  t.after(() => mf.dispose());
  hosts.push({ name: "workerd", url: (await mf.ready).origin, build: "b1" });
  const options = await exampleOptions(define);
  const hono = await startHono(options);
  t.after(() => hono.stop());
  hosts.push({ name: "hono", url: hono.url, build: "b1" });
  const express = await startExpress(options);
  t.after(() => express.stop());
  hosts.push({ name: "express", url: express.url, build: "b1" });
  const ready = performance.now();

  // Every spelling, and what Next's middleware is handed for it (compared against below).
  const spelled = [...PATHS.flatMap(spellings), ...EXTRA];
  const requests = [...new Set([...spelled, ...spelled.filter((p) => p.startsWith("/")).map(nextView)])];
  const results = new Map(); // `${path} ${token ? "[token]" : "[-]"}` → host → outcome
  // The backend's and the recorder's addresses are the server's: no header of any answer
  // may name them, on any host (issue 26: Next's external rewrite showed them).
  const internal = [new URL(upstream.url).host, new URL(recorder.url).host];
  const leaks = [];
  let answers = 0;
  for (const host of hosts) {
    host.port = new URL(host.url).port;
    const valid = token({ sub: "conformance" });
    for (const path of requests) {
      for (const withToken of [false, true]) {
        const before = recorder.seen.length;
        const answer = await raw(host.url, path.replaceAll(BUILD, host.build), withToken ? { cookie: `${dev.cookie}=${valid}` } : {});
        const label = `${path} ${withToken ? "[token]" : "[-]"}`;
        answers += 1;
        for (let i = 0; i + 1 < (answer.headers?.length ?? 0); i += 2) {
          const [name, value] = [answer.headers[i], answer.headers[i + 1]];
          if (internal.some((h) => value.includes(h))) leaks.push(`${host.name}: ${label}: ${name}: ${value}`);
        }
        if (!results.has(label)) results.set(label, { path, withToken, by: {} });
        results.get(label).by[host.name] = outcome(host, answer, recorder.seen.slice(before));
      }
    }
  }

  const names = hosts.map((h) => h.name);
  const rows = [];
  const differences = [];
  const listed = HOST_ROUTING.map(() => []);
  const problems = [];
  for (const [label, { path, withToken, by }] of results) {
    rows.push([label, ...names.map((n) => by[n].cell)]);
    for (const n of names) {
      for (const { url, headers } of by[n].arrived) {
        if (!judged(url)) problems.push(`${n}: ${label}: the upstream saw ${url}, not a judged path`);
        if (headers["x-auth-sub"] !== subject(headers.authorization)) problems.push(`${n}: ${label}: x-auth-sub is not the bearer's`);
      }
    }
    // Hosts that route this spelling themselves give the listed answer; the rest agree.
    const own = new Set();
    const unanimous = (cells, hosts) => {
      const keys = new Set(hosts.map((m) => cells?.by[m].key));
      return keys.size === 1 ? [...keys][0] : null;
    };
    HOST_ROUTING.forEach(([which, applies, check, why], i) => {
      if (!applies(path)) return;
      const others = names.filter((m) => !which.includes(m));
      for (const n of which.filter((n) => !own.has(n))) {
        own.add(n);
        listed[i].push(`${n} ${label}`);
        const mine = by[n];
        const ok = check instanceof RegExp
          ? check.test(mine.cell)
          : check(mine.key, unanimous(results.get(label), others), unanimous(results.get(`${nextView(path)} ${withToken ? "[token]" : "[-]"}`), others));
        if (ok === undefined) {
          own.delete(n); // not the host's own after all: compared with the others
          listed[i].pop();
        } else if (!ok) problems.push(`${n}: ${label} answered ${mine.cell} (listed: ${why})`);
      }
    });
    const judging = names.filter((n) => !own.has(n));
    if (new Set(judging.map((n) => by[n].key)).size > 1) {
      differences.push([label, ...names.map((n) => (own.has(n) ? `(${by[n].cell})` : by[n].cell))]);
    }
  }

  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`\nconformance: ${requests.length} spellings × 2 × ${hosts.length} hosts, ${recorder.seen.length} requests reached the upstream ` +
    `(hosts up in ${seconds(ready - started)}, requests in ${seconds(performance.now() - ready)})\n`);
  console.log(table(["request", ...names], rows));
  console.log(`\nhost routing (answers listed, not differences):`);
  HOST_ROUTING.forEach(([which, , check, why], i) =>
    console.log(`- ${which.join(", ")}${check instanceof RegExp ? ` ${check}` : ""}: ${why} (${listed[i].length} answers)`));
  console.log(`\ndifferences between hosts (${differences.length}; a host's own routing in parentheses):\n`);
  console.log(differences.length ? table(["request", ...names], differences) : "(none)");
  if (problems.length) console.log(`\nproblems:\n  ${problems.join("\n  ")}`);

  console.log(`\n${answers} answers, ${leaks.length} naming an internal address${leaks.length ? `:\n  ${leaks.slice(0, 20).join("\n  ")}` : ""}`);
  assert.deepEqual(leaks, [], "an answer named the backend's or the recorder's address");
  assert.deepEqual(recorder.violations.map((v) => v.url), [], "the upstream got a request without a verified bearer");
  assert.deepEqual(problems, [], "a host answered other than listed, or the upstream saw a path the gate did not judge");
  assert.deepEqual(differences.map(([label]) => label), [], "the hosts disagree");
});
