// Test signers: compact JWS tokens signed with node:crypto, for every algorithm the gate
// accepts. Shared by the node tests and the end-to-end tests (tests/e2e), which import it
// by its relative path; it needs nothing but node.
import { createHmac, createPrivateKey, sign as nodeSign } from "node:crypto";

/** base64url of a string as it is, or of anything else as JSON. */
export const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/**
 * How node:crypto signs each JWS algorithm (RFC 7518): [hash, key options]. HMAC keys are
 * secrets (strings); the others are private keys as PEM or KeyObject. Padding 6 is
 * RSA_PKCS1_PSS_PADDING, with a salt as long as the hash.
 */
export const SIGNING = {
  HS256: ["sha256", null],
  HS384: ["sha384", null],
  HS512: ["sha512", null],
  RS256: ["sha256", {}],
  RS384: ["sha384", {}],
  RS512: ["sha512", {}],
  PS256: ["sha256", { padding: 6, saltLength: 32 }],
  PS384: ["sha384", { padding: 6, saltLength: 48 }],
  PS512: ["sha512", { padding: 6, saltLength: 64 }],
  ES256: ["sha256", { dsaEncoding: "ieee-p1363" }],
  ES384: ["sha384", { dsaEncoding: "ieee-p1363" }],
  ES512: ["sha512", { dsaEncoding: "ieee-p1363" }],
  EdDSA: [null, {}],
};

/** The signature of the signing input `input` (a string) with `alg`, as a Buffer. */
export function signature(alg, key, input) {
  const [hash, options] = SIGNING[alg];
  if (options === null) return createHmac(hash, key).update(input).digest();
  const privateKey = typeof key === "string" ? createPrivateKey(key) : key;
  return nodeSign(hash, Buffer.from(input), { key: privateKey, ...options });
}

/** `[signingInput, signature]` of a token with `header` and `claims`, for tests that mangle it. */
export function signParts(alg, key, header, claims) {
  const input = `${b64(header)}.${b64(claims)}`;
  return [input, signature(alg, key, input)];
}

/** A compact JWS of `claims` signed with `alg`; the header defaults to `{ alg, typ: "JWT" }`. */
export function jwt(alg, key, claims, header = { alg, typ: "JWT" }) {
  const [input, sig] = signParts(alg, key, header, claims);
  return `${input}.${sig.toString("base64url")}`;
}
