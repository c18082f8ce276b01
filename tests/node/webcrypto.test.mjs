// Signatures checked by the host's crypto — node:crypto, or WebCrypto — must get exactly
// the verdicts of the engine's own jwt-compact path, which is the reference: the package's
// gates (host crypto) and the reference build's (`rust-crypto` feature, `webCrypto: false`,
// built by scripts/build into pkg/reference) must decide every token alike. The package
// itself has no engine path for RSA, ECDSA and Ed25519. Counters on both host APIs prove
// which one each gate really used.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createGate } from "edgegate";
import * as jose from "jose";
import { signParts } from "./sign.mjs";

const reference = new URL("../../pkg/reference/edgegate.js", import.meta.url);
assert.ok(existsSync(reference), "pkg/reference is missing: run scripts/build (it builds the rust-crypto reference)");
const { Gate: ReferenceGate } = createRequire(import.meta.url)(reference.pathname);

const calls = { node: 0, web: 0 };
const nodeCrypto = process.getBuiltinModule?.("node:crypto");
if (nodeCrypto) {
  const verify = nodeCrypto.verify;
  nodeCrypto.verify = (...args) => (calls.node++, verify(...args));
}
const subtleVerify = crypto.subtle.verify.bind(crypto.subtle);
crypto.subtle.verify = (...args) => (calls.web++, subtleVerify(...args));
const HOSTS = nodeCrypto ? ["node", "webcrypto"] : ["webcrypto"];

const NOW = 1_700_000_000;
// The algorithms checked on the host, and their key types (signing: ./sign.mjs).
const families = {
  RS256: ["rsa", { modulusLength: 2048 }],
  RS384: ["rsa", { modulusLength: 2048 }],
  RS512: ["rsa", { modulusLength: 2048 }],
  PS256: ["rsa", { modulusLength: 2048 }],
  PS384: ["rsa", { modulusLength: 2048 }],
  PS512: ["rsa", { modulusLength: 2048 }],
  ES256: ["ec", { namedCurve: "P-256" }],
  ES384: ["ec", { namedCurve: "P-384" }],
  ES512: ["ec", { namedCurve: "P-521" }],
  EdDSA: ["ed25519", {}],
};

function keypair(alg) {
  const [type, opts] = families[alg];
  return generateKeyPairSync(type, {
    ...opts,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

/** Each curve's group order n, and the bytes of r and of s. */
const ORDER = {
  ES256: [BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"), 32],
  ES384: [BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"), 48],
  ES512: [BigInt("0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"), 66],
};

function mutations(alg, input, sig, other) {
  const t = (s) => `${input}.${Buffer.from(s).toString("base64url")}`;
  const flip = (i) => {
    const s = Buffer.from(sig);
    s[i] ^= 1;
    return s;
  };
  const out = {
    valid: t(sig),
    "flipped first byte": t(flip(0)),
    "flipped last byte": t(flip(sig.length - 1)),
    truncated: t(sig.subarray(0, sig.length - 1)),
    extended: t(Buffer.concat([sig, Buffer.from([0])])),
    empty: `${input}.`,
    "all 0xff": t(Buffer.alloc(sig.length, 0xff)),
    "all zero": t(Buffer.alloc(sig.length)),
    "another key's signature": other,
  };
  if (ORDER[alg]) {
    const [n, len] = ORDER[alg];
    const bytes = (v) => Buffer.from(v.toString(16).padStart(2 * len, "0"), "hex");
    const r = sig.subarray(0, len);
    const s = BigInt(`0x${sig.subarray(len).toString("hex")}`);
    out["high S (malleated)"] = t(Buffer.concat([r, bytes(n - s)]));
    out["s = n"] = t(Buffer.concat([r, bytes(n)]));
    out["r and s swapped"] = t(Buffer.concat([sig.subarray(len), r]));
  }
  return out;
}

async function gates(alg, keys) {
  const options = (webCrypto) => ({
    verify: { algorithms: [alg], keys, webCrypto, cacheSize: 0 },
    rules: [{ match: "/api/:path*", kind: "api" }],
  });
  const hosts = [];
  for (const crypto of HOSTS) hosts.push([crypto, await createGate(options(true), { now: NOW, crypto })]);
  let engine;
  try {
    engine = new ReferenceGate(options(false), NOW);
  } catch {
    // A key only curve arithmetic can refuse (a point off its curve): the package takes it
    // and leaves it to the host's import, so every token must then be refused.
    return { hosts, engine: null };
  }
  return { hosts, engine: { decide: async (req) => engine.decide(req) } };
}

/** The engine's code for `token`, after asserting every host path gives the same. */
async function decideAll({ hosts, engine }, token, label) {
  const req = { url: "/api/x", headers: { authorization: `Bearer ${token}` } };
  if (engine === null) {
    for (const [name, gate] of hosts) {
      const code = (await gate.decide(req)).code;
      assert.notEqual(code, "OK_AUTHENTICATED", `${label}: ${name} accepted a token under a key the reference refuses`);
    }
    return undefined;
  }
  const reference = (await engine.decide(req)).code;
  for (const [name, gate] of hosts) {
    const code = (await gate.decide(req)).code;
    assert.equal(code, reference, `${label}: ${name} ${code} vs engine ${reference}`);
  }
  return reference;
}

/** jose's verdict on `token` under `publicKey` (PEM), as jwtVerify gives it at NOW. */
async function joseAccepts(alg, publicKey, token) {
  const key = await jose.importSPKI(publicKey, alg);
  return jose.jwtVerify(token, key, { algorithms: [alg], currentDate: new Date(NOW * 1000) }).then(() => true, () => false);
}

test("every algorithm: node:crypto, WebCrypto, the engine and jose agree on every mutation", async () => {
  let cases = 0;
  const before = { ...calls };
  for (const alg of Object.keys(families)) {
    const { publicKey, privateKey } = keypair(alg);
    const claims = { sub: "u", exp: NOW + 60 };
    const [input, sig] = signParts(alg, privateKey, { alg }, claims);
    const [otherInput, otherSig] = signParts(alg, keypair(alg).privateKey, { alg }, claims);
    const both = await gates(alg, publicKey);
    for (const [name, token] of Object.entries(mutations(alg, input, sig, `${otherInput}.${otherSig.toString("base64url")}`))) {
      const code = await decideAll(both, token, `${alg} ${name}`);
      if (name === "valid") assert.equal(code, "OK_AUTHENTICATED", alg);
      assert.equal(code === "OK_AUTHENTICATED", await joseAccepts(alg, publicKey, token), `${alg} ${name}: jose's verdict`);
      cases += 1;
    }
  }
  const used = { node: calls.node - before.node, web: calls.web - before.web };
  console.log(`host crypto: ${cases} token mutations over ${Object.keys(families).length} algorithms, identical verdicts on ${HOSTS.join(", ")}, the engine and jose (${used.node} node:crypto checks, ${used.web} WebCrypto checks, jose's among them)`);
  // RSA, ECDSA and Ed25519 go to the host on both paths: every mutation that reaches a
  // signature check is checked by each.
  if (nodeCrypto) assert.ok(used.node >= 70, `node:crypto used ${used.node} times`);
  else console.log("SKIPPED node:crypto path: no process.getBuiltinModule on this node");
  assert.ok(used.web >= 70, `WebCrypto used ${used.web} times`);
});

test("Wycheproof JWS vectors: node:crypto, WebCrypto and the engine agree", async (t) => {
  const file = new URL("../../../shared/vectors/wycheproof/json_web_signature_test.json", import.meta.url);
  if (!existsSync(file)) {
    console.log(`SKIPPED: ${file.pathname} is absent (it lives beside the repository)`);
    return t.skip("shared vectors absent");
  }
  const doc = JSON.parse(readFileSync(file, "utf8"));
  let cases = 0;
  let onlyHost = 0;
  for (const group of doc.testGroups) {
    const jwk = group.public ?? group.private;
    const alg = jwk.alg;
    if (!(alg in families) || jwk.use === "enc") continue;
    let both;
    try {
      both = await gates(alg, jwk);
    } catch {
      continue; // keys the package refuses at construction (the reference refuses them too)
    }
    if (both.engine === null) onlyHost += group.tests.length;
    for (const v of group.tests) {
      await decideAll(both, v.jws, `tcId ${v.tcId} (${v.comment})`);
      cases += 1;
    }
  }
  console.log(`host crypto: ${cases} Wycheproof JWS vectors, identical verdicts on ${HOSTS.join(", ")} and the engine (${onlyHost} under keys only the reference refuses, all refused by the hosts)`);
  assert.ok(cases > 300);
});

test("keys only curve arithmetic refuses: the package takes them, its hosts refuse every token", async () => {
  const ed = Buffer.alloc(32);
  ed[0] = 2; // y = 2: no x on Ed25519
  const offCurve = {
    ES256: { kty: "EC", crv: "P-256", x: Buffer.alloc(32, 1).toString("base64url"), y: Buffer.alloc(32, 1).toString("base64url") },
    ES384: { kty: "EC", crv: "P-384", x: Buffer.alloc(48, 1).toString("base64url"), y: Buffer.alloc(48, 1).toString("base64url") },
    ES512: { kty: "EC", crv: "P-521", x: Buffer.alloc(66, 1).toString("base64url"), y: Buffer.alloc(66, 1).toString("base64url") },
    EdDSA: { kty: "OKP", crv: "Ed25519", x: ed.toString("base64url") },
  };
  let cases = 0;
  for (const [alg, jwk] of Object.entries(offCurve)) {
    const both = await gates(alg, jwk);
    assert.equal(both.engine, null, `${alg}: the reference refuses the key`);
    const { privateKey } = keypair(alg);
    const [input, sig] = signParts(alg, privateKey, { alg }, { sub: "u", exp: NOW + 60 });
    for (const [name, token] of Object.entries(mutations(alg, input, sig, `${input}.${sig.toString("base64url")}`))) {
      await decideAll(both, token, `${alg} off-curve key, ${name}`);
      cases += 1;
    }
  }
  console.log(`host crypto: ${cases} tokens under off-curve keys, all refused on ${HOSTS.join(", ")}`);
});
