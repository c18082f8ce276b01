// A Worker using edgegate/worker, bundled by esbuild with the `workerd` condition (as
// wrangler does) and run by Miniflare in workerd, against the same scenarios as Next.
import { test } from "node:test";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { ROOT, startUpstream } from "./helpers.mjs";
import { gateScenarios } from "./scenarios.mjs";

test("Cloudflare Worker (Miniflare / workerd)", { timeout: 120_000 }, async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.stop());

  const outdir = `${ROOT}target/worker`;
  await build({
    entryPoints: [new URL("./worker/worker.ts", import.meta.url).pathname],
    outdir,
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    loader: { ".wasm": "copy" },
    logLevel: "error",
  });

  const mf = new Miniflare({
    modules: true,
    scriptPath: `${outdir}/worker.js`,
    modulesRoot: outdir, // module names are relative to this, not to the cwd
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    cf: false,
    bindings: { UPSTREAM: upstream.url },
  });
  t.after(() => mf.dispose());
  const url = await mf.ready;

  await gateScenarios(t, url.origin, upstream.url);
});
