// Profiles the cache-hit decision through the shim, as compare.mjs measures it (fresh
// request objects, same token): node --cpu-prof bench/prof-hit.mjs
import { createGate } from "edgegate";
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, importPKCS8 } from "jose";
import { benchRequest as request, rules } from "./reference.mjs";

const { publicKey, privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ scope: "read" })
  .setProtectedHeader({ alg: "RS256", typ: "JWT" })
  .setSubject("u")
  .setIssuer("i")
  .setAudience("a")
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(await importPKCS8(privateKey, "RS256"));
const gate = await createGate({
  rules,
  verify: { algorithms: ["RS256"], keys: publicKey, issuer: "i", audience: "a" },
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
});
const BATCHES = Number(process.env.BATCHES ?? 40);
for (let b = 0; b < BATCHES; b++) {
  const reqs = Array.from({ length: 3000 }, () => request(token));
  if (process.env.GC) globalThis.gc();
  const t0 = performance.now();
  for (const r of reqs) await gate.decide(r);
  if (process.env.ALL || b % 10 === 9) console.log((((performance.now() - t0) * 1000) / reqs.length).toFixed(2), "µs/decision");
}
