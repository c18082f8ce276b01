// Signatures checked by the host's WebCrypto must get exactly the verdicts of the engine's
// own jwt-compact path, which is the reference: the same gate options with `webCrypto` on
// and off must decide every token alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, sign as nodeSign, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createGate } from "edgegate";

const NOW = 1_700_000_000;
const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

const families = {
  RS256: ["rsa", { modulusLength: 2048 }, "sha256", {}],
  RS384: ["rsa", { modulusLength: 2048 }, "sha384", {}],
  RS512: ["rsa", { modulusLength: 2048 }, "sha512", {}],
  PS256: ["rsa", { modulusLength: 2048 }, "sha256", { padding: 6, saltLength: 32 }],
  PS384: ["rsa", { modulusLength: 2048 }, "sha384", { padding: 6, saltLength: 48 }],
  PS512: ["rsa", { modulusLength: 2048 }, "sha512", { padding: 6, saltLength: 64 }],
  ES256: ["ec", { namedCurve: "P-256" }, "sha256", { dsaEncoding: "ieee-p1363" }],
  EdDSA: ["ed25519", {}, null, {}],
};

function keypair(alg) {
  const [type, opts] = families[alg];
  return generateKeyPairSync(type, {
    ...opts,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

function signRaw(alg, privateKey, header, claims) {
  const [, , hash, extra] = families[alg];
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = nodeSign(hash, Buffer.from(input), { key: createPrivateKey(privateKey), ...extra });
  return [input, sig];
}

const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

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
  if (alg === "ES256") {
    const r = sig.subarray(0, 32);
    const s = BigInt(`0x${sig.subarray(32).toString("hex")}`);
    const high = Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex");
    out["high S (malleated)"] = t(Buffer.concat([r, high]));
    out["s = n"] = t(Buffer.concat([r, Buffer.from(P256_N.toString(16), "hex")]));
  }
  return out;
}

async function gates(alg, keys) {
  const options = (webCrypto) => ({
    verify: { algorithms: [alg], keys, webCrypto, cacheSize: 0 },
    rules: [{ match: "/api/:path*", kind: "api" }],
  });
  return [await createGate(options(true), { now: NOW }), await createGate(options(false), { now: NOW })];
}

const decideBoth = async ([host, engine], token) => {
  const req = { url: "/api/x", headers: { authorization: `Bearer ${token}` } };
  return [(await host.decide(req)).code, (await engine.decide(req)).code];
};

test("every algorithm: WebCrypto and the engine agree on every mutation", async () => {
  let cases = 0;
  for (const alg of Object.keys(families)) {
    const { publicKey, privateKey } = keypair(alg);
    const claims = { sub: "u", exp: NOW + 60 };
    const [input, sig] = signRaw(alg, privateKey, { alg }, claims);
    const [otherInput, otherSig] = signRaw(alg, keypair(alg).privateKey, { alg }, claims);
    const both = await gates(alg, publicKey);
    for (const [name, token] of Object.entries(mutations(alg, input, sig, `${otherInput}.${otherSig.toString("base64url")}`))) {
      const [host, engine] = await decideBoth(both, token);
      assert.equal(host, engine, `${alg} ${name}: WebCrypto ${host} vs engine ${engine}`);
      if (name === "valid") assert.equal(host, "OK_AUTHENTICATED", alg);
      cases += 1;
    }
  }
  console.log(`webcrypto: ${cases} token mutations over 8 algorithms, identical verdicts`);
});

test("Wycheproof JWS vectors: WebCrypto and the engine agree", async (t) => {
  const file = new URL("../../../shared/vectors/wycheproof/json_web_signature_test.json", import.meta.url);
  if (!existsSync(file)) {
    console.log(`SKIPPED: ${file.pathname} is absent (it lives beside the repository)`);
    return t.skip("shared vectors absent");
  }
  const doc = JSON.parse(readFileSync(file, "utf8"));
  let cases = 0;
  for (const group of doc.testGroups) {
    const jwk = group.public ?? group.private;
    const alg = jwk.alg;
    if (!(alg in families) || jwk.use === "enc") continue;
    let both;
    try {
      both = await gates(alg, jwk);
    } catch {
      continue; // keys the engine refuses at construction are refused on both paths
    }
    for (const v of group.tests) {
      const [host, engine] = await decideBoth(both, v.jws);
      assert.equal(host, engine, `tcId ${v.tcId} (${v.comment}): WebCrypto ${host} vs engine ${engine}`);
      cases += 1;
    }
  }
  console.log(`webcrypto: ${cases} Wycheproof JWS vectors, identical verdicts`);
  assert.ok(cases > 300);
});
