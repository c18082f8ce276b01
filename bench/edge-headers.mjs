// What reading a request's headers costs inside Next's Edge sandbox, whose Headers is the
// edge-runtime polyfill: every header through forEach (what the shim's flatRequest does for
// each decision) against the few a decision that stops the request reads (get). Runs in
// Next's own EdgeRuntime, the realm middleware.ts runs in. µs per request, median of ROUNDS
// (default 11) rounds of 20,000, alternating. Run: node bench/edge-headers.mjs
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(fileURLToPath(new URL("../examples/nextjs/package.json", import.meta.url)));
const { EdgeRuntime } = require("next/dist/compiled/edge-runtime");
const ROUNDS = Number(process.env.ROUNDS ?? 11);

const runtime = new EdgeRuntime();
// The same browser headers as bench/app.mjs's redirect scenario, plus what Next adds.
const make = runtime.evaluate(`(() => {
  const init = {
    host: "127.0.0.1:3000",
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "x-forwarded-for": "127.0.0.1", "x-forwarded-host": "127.0.0.1:3000", "x-forwarded-port": "3000", "x-forwarded-proto": "http",
  };
  return () => new Request("http://localhost:3000/dashboard", { headers: init });
})()`);
const all = runtime.evaluate(`(request) => {
  let text = request.method + "\\0" + request.url;
  request.headers.forEach((value, name) => { text += "\\0" + name + "\\0" + value; });
  return text.length;
}`);
const few = runtime.evaluate(`(request) => {
  let text = request.method + "\\0" + request.url;
  for (const name of ["authorization", "cookie", "origin", "sec-fetch-site"]) {
    const value = request.headers.get(name);
    if (value !== null) text += "\\0" + name + "\\0" + value;
  }
  return text.length;
}`);

const requests = Array.from({ length: 20000 }, make);
const time = (f) => {
  const t0 = performance.now();
  for (const r of requests) f(r);
  return ((performance.now() - t0) * 1000) / requests.length;
};
for (let i = 0; i < 3; i++) time(all), time(few);
const runs = { all: [], few: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const k of round % 2 ? ["few", "all"] : ["all", "few"]) runs[k].push(time(k === "all" ? all : few));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`every header through forEach (flatRequest): ${median(runs.all).toFixed(2)} µs`);
console.log(`four headers through get:                   ${median(runs.few).toFixed(2)} µs`);
