// The benchmark inside workerd: one warm isolate holds both gates; each request runs a batch
// of decisions with one of them and answers how many continued.
import { createGate } from "edgegate";
import { importSPKI } from "jose";
import { benchRequest, referenceGate, rules } from "./reference.mjs";

// The forwarded header list is read, as the reference builds it (compare.mjs).
const forwarded = (decision) => (decision.requestHeaders, decision);

const gates = new Map();

async function setup({ alg, key, issuer, audience }) {
  const id = `${alg}:${key}`;
  if (!gates.has(id)) {
    const gate = await createGate({ rules, verify: { algorithms: [alg], keys: key, issuer, audience }, upstream: { claimHeaders: { sub: "x-auth-sub" } } });
    const joseKey = alg.startsWith("HS") ? new TextEncoder().encode(key) : await importSPKI(key, alg);
    gates.set(id, { edgegate: (r) => gate.decide(r).then(forwarded), jose: referenceGate({ alg, key: joseKey, issuer, audience }) });
  }
  return gates.get(id);
}

export default {
  async fetch(request) {
    const job = await request.json();
    if (job.mode === "noop") return new Response("0");
    const decide = (await setup(job))[job.mode];
    let ok = 0;
    for (const token of job.tokens) {
      if ((await decide(benchRequest(token))).action === "continue") ok += 1;
    }
    return new Response(String(ok));
  },
};
