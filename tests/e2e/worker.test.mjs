// A Worker using edgegate/worker, bundled by esbuild with the `workerd` condition (as
// wrangler does) and run by Miniflare in workerd, against the same scenarios as Next.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { ROOT, startRecorder, startUpstream, startWorker } from "./helpers.mjs";
import { recordCompat, versionOf } from "../compat.mjs";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { gateScenarios } from "./scenarios.mjs";
import { jwt, signParts } from "../node/sign.mjs";

// `entry` (a file in worker/) bundled with esbuild and run in workerd, through the scenarios
// every host passes; its row names `host` and `runtime`.
async function workerScenarios(t, entry, host, runtime) {
  const upstream = await startUpstream();
  t.after(() => upstream.stop());
  const recorder = await startRecorder(upstream.url);
  t.after(() => recorder.stop());
  const name = `worker-${entry}`;
  const mf = await startWorker(new URL(`./worker/${entry}.ts`, import.meta.url).pathname, name, {}, {}, {
    // The example's gate.ts reads its build-time settings as Next inlines them.
    define: {
      "process.env.UPSTREAM_URL": JSON.stringify(recorder.url),
      "process.env.OIDC_ISSUER": '""',
      "process.env.APP_URL": '""',
    },
  });
  t.after(() => mf.dispose());
  const url = await mf.ready;

  await gateScenarios(t, url.origin, upstream.url, recorder);
  const wasm = readdirSync(`${ROOT}target/${name}`).filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `wasm files in the Worker bundle: ${wasm}`);
  recordCompat({ host, bundler: "esbuild", runtime, test: "tests/e2e/worker.test.mjs", bundle: { file: wasm[0] } });
}

const here = new URL(".", import.meta.url);

test("Cloudflare Worker (Miniflare / workerd)", { timeout: 120_000 }, (t) =>
  workerScenarios(t, "worker", `Miniflare ${versionOf("miniflare", here)}`, "worker"));

test("Hono on Cloudflare Workers (edgegate/hono in Miniflare / workerd)", { timeout: 120_000 }, (t) =>
  workerScenarios(t, "hono", `Hono ${versionOf("hono", here)}`, "workerd, `edgegate/hono`"));

// The engine's own RSA, ECDSA and Ed25519 are not in the package (only in the rust-crypto
// build scripts/build makes as pkg/reference): workerd's WebCrypto is held to it in Node.
test("workerd's WebCrypto and the engine agree on RS256, PS256, ES256, ES384, ES512 and EdDSA", { timeout: 120_000 }, async (t) => {
  const { Gate: ReferenceGate } = createRequire(import.meta.url)(new URL("../../pkg/reference/edgegate.js", import.meta.url).pathname);
  const mf = await startWorker(new URL("./worker/decide.ts", import.meta.url).pathname, "worker-decide");
  t.after(() => mf.dispose());
  const families = {
    RS256: ["rsa", { modulusLength: 2048 }],
    PS256: ["rsa", { modulusLength: 2048 }],
    ES256: ["ec", { namedCurve: "P-256" }],
    ES384: ["ec", { namedCurve: "P-384" }],
    ES512: ["ec", { namedCurve: "P-521" }],
    EdDSA: ["ed25519", {}],
  };
  const now = Math.floor(Date.now() / 1000);
  for (const [alg, [type, opts]] of Object.entries(families)) {
    const { publicKey, privateKey } = generateKeyPairSync(type, {
      ...opts,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    const [input, sig] = signParts(alg, privateKey, { alg }, { sub: "w", exp: now + 300 });
    const forged = Buffer.from(sig);
    forged[0] ^= 1;
    const half = sig.length / 2;
    for (const [name, token, want] of [
      ["valid", `${input}.${sig.toString("base64url")}`, "OK_AUTHENTICATED"],
      ["forged", `${input}.${forged.toString("base64url")}`, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
      ["truncated", `${input}.${sig.subarray(1).toString("base64url")}`, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
      ...(alg.startsWith("ES")
        ? [["r and s swapped", `${input}.${Buffer.concat([sig.subarray(half), sig.subarray(0, half)]).toString("base64url")}`, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"]]
        : []),
    ]) {
      const options = (webCrypto) => ({ verify: { algorithms: [alg], keys: publicKey, webCrypto, cacheSize: 0 }, rules: [{ match: "/api/:path*", kind: "api" }] });
      const r = await mf.dispatchFetch("http://w.example/", { method: "POST", body: JSON.stringify({ options: options(true), token }) });
      const reference = new ReferenceGate(options(false), now).decide({ url: "https://w.example/api/x", headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual([(await r.json()).code, reference.code], [want, want], `${alg} ${name}`);
    }
  }
});

test("a JWKS persisted in Workers KV spares a fresh isolate the fetch", { timeout: 120_000 }, async (t) => {
  const http = await import("node:http");
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };
  let fetches = 0;
  const server = http.createServer((req, res) => {
    fetches += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const token = jwt("RS256", privateKey, { sub: "kv", exp: Math.floor(Date.now() / 1000) + 300 }, { alg: "RS256", kid: "k1" });
  const persist = mkdtempSync(`${tmpdir()}/edgegate-kv-`);
  const isolate = async () => {
    const mf = await startWorker(new URL("./worker/stored.ts", import.meta.url).pathname, "worker-stored",
      { JWKS_URI: `http://127.0.0.1:${server.address().port}/jwks` },
      { kvNamespaces: ["KEYS"], kvPersist: persist });
    const url = await mf.ready;
    const res = await fetch(`${url.origin}/api/x`, { headers: { authorization: `Bearer ${token}` } });
    await mf.dispose();
    return res.status;
  };
  assert.equal(await isolate(), 200);
  assert.equal(fetches, 1);
  assert.equal(await isolate(), 200, "a fresh isolate, the same KV");
  assert.equal(fetches, 1, "served from the persisted copy");
  console.log(`Workers KV store: 2 isolates, ${fetches} JWKS fetch`);
});
