// edgegate: signature checks with the host's crypto. The engine chooses the algorithm
// parameters and the candidate keys and makes the decision; the host only runs the
// primitive and hands the verdict back.

// node:crypto where the host is Node (proxy.ts, a Node server): the OpenSSL behind Node's
// WebCrypto, called synchronously, 2-3x faster per check than through its promise queue
// (bench/README.md). Edge sandboxes and Workers have no process.getBuiltinModule and use
// WebCrypto.
const nodeCrypto = (() => {
  try {
    return globalThis.process?.getBuiltinModule?.("node:crypto");
  } catch {
    return undefined;
  }
})();

// A signature the host's crypto cannot even parse for this key is not valid.
function checks(verify) {
  try {
    return verify() === true;
  } catch {
    return false;
  }
}

/** One gate's host crypto: which API it uses, and the keys it imported. */
export class HostCrypto {
  // node:crypto where it is present and not turned off, else WebCrypto.
  #node;
  // Imported keys by algorithm and the engine's key handle (unique per engine instance and
  // stable across JWKS refreshes); cleared with the instance. Bounded: rotations add handles.
  #keys = new Map();

  /** `crypto` is the host option: "node", "webcrypto" or undefined (node:crypto if present). */
  constructor(crypto) {
    if (crypto !== undefined && crypto !== "node" && crypto !== "webcrypto") {
      throw new TypeError('host option crypto must be "node" or "webcrypto"');
    }
    if (crypto === "node" && !nodeCrypto) {
      throw new TypeError('crypto: "node" needs process.getBuiltinModule (Node 20.16+, 22.3+)');
    }
    this.#node = crypto === "webcrypto" ? undefined : nodeCrypto;
  }

  /** Forgets the imported keys: their handles belong to the engine instance being dropped. */
  clear() {
    this.#keys = new Map();
  }

  /**
   * Checks the engine's `verify` answer `check` and returns `read(length)` of the answer
   * the engine then writes: `resume` with the verdict, or `resumeHere` (the engine checks)
   * when the host has no crypto for it or cannot import the key (e.g. no Ed25519). The
   * default build has no engine path for RSA, ECDSA and Ed25519 (only a build with the
   * `rust-crypto` feature has): there `resumeHere` means invalid, never accepted.
   * `engine` returns the instance that asked, and throws once a trap replaced it: a
   * verdict is only ever given to the instance whose check it is.
   */
  async verify(check, engine, read) {
    const { data, signature } = check;
    const subtle = globalThis.crypto?.subtle;
    let valid = false;
    try {
      const node = this.#node;
      if (check.node && node) {
        const { algorithm, options } = check.node;
        for (const handle of check.keys) {
          const key = this.#key(`node ${check.alg} ${handle}`, engine, check, handle, (jwk) =>
            node.createPublicKey({ key: jwk, format: "jwk" }),
          );
          if (checks(() => node.verify(algorithm, data, { ...options, key }, signature))) {
            valid = true;
            break;
          }
        }
      } else if (check.webCrypto && subtle) {
        const { import: params, verify } = check.webCrypto;
        for (const handle of check.keys) {
          const key = await this.#key(`web ${check.alg} ${handle}`, engine, check, handle, (jwk) =>
            subtle.importKey("jwk", jwk, params, false, ["verify"]),
          );
          if (await subtle.verify(verify, key, signature, data).catch(() => false)) {
            valid = true;
            break;
          }
        }
      } else {
        return read(engine().resumeHere(check.id));
      }
    } catch {
      // This host cannot import the key type (e.g. no Ed25519): the engine checks instead
      // (in the default build, without the rust-crypto feature: invalid).
      return read(engine().resumeHere(check.id));
    }
    return read(engine().resume(check.id, valid));
  }

  #key(id, engine, check, handle, load) {
    let key = this.#keys.get(id);
    if (key === undefined) {
      if (this.#keys.size >= 256) this.#keys.clear();
      key = load(engine().candidateKey(check.id, handle));
      this.#keys.set(id, key);
      // A failed import is not remembered: the next request tries again.
      if (key instanceof Promise) key.catch(() => this.#keys.delete(id));
    }
    return key;
  }
}
