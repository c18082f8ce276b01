// What the benches inside workerd share (workerd.mjs, cold-workerd.mjs): Worker bundles built
// as wrangler builds them, a Miniflare on one of them, keys and tokens signed for a run.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { build } from "esbuild";
import { SignJWT, importPKCS8 } from "jose";
import { Miniflare } from "miniflare";

export const ISS = "https://issuer.example";
export const AUD = "api://bench";
const here = (p) => new URL(p, import.meta.url).pathname;

/** Bundles `entries` (paths under bench/) into target/<outdir>/ with the workerd condition. */
export async function bundleWorkers(entries, outdir) {
  await build({
    entryPoints: entries.map((e) => here(e)),
    outdir: here(`../target/${outdir}`),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"], // path-to-regexp 6 has no exports map
    loader: { ".wasm": "copy" },
    logLevel: "error",
  });
}

/** A workerd running target/<outdir>/<script>.js; `extra` adds Miniflare options (bindings). */
export function workerd(outdir, script, extra = {}) {
  return new Miniflare({
    modules: true,
    scriptPath: here(`../target/${outdir}/${script}.js`),
    modulesRoot: here(`../target/${outdir}`), // module names must not climb out of the cwd
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    cf: false,
    ...extra,
  });
}

/** A key for `alg`: `{ key, sign }` (HS256 secret) or `{ key: SPKI PEM, privateKey }`. */
export function keys(alg) {
  if (alg === "HS256") {
    const secret = randomBytes(32).toString("base64url");
    return { key: secret, sign: new TextEncoder().encode(secret) };
  }
  const type = { RS256: ["rsa", { modulusLength: 2048 }], ES256: ["ec", { namedCurve: "P-256" }], EdDSA: ["ed25519", {}] }[alg];
  const { publicKey, privateKey } = generateKeyPairSync(type[0], {
    ...type[1],
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { key: publicKey, privateKey };
}

/** `n` tokens for `alg` signed with `k`, valid for an hour, each with its own `jti`. */
export async function tokens(alg, k, n, prefix = "t") {
  const sign = k.sign ?? (await importPKCS8(k.privateKey, alg));
  const now = Math.floor(Date.now() / 1000);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(await new SignJWT({ jti: `${prefix}${i}` }).setProtectedHeader({ alg }).setSubject("u").setIssuer(ISS)
      .setAudience(AUD).setIssuedAt(now).setExpirationTime(now + 3600).sign(sign));
  }
  return out;
}
