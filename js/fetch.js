// edgegate: the host's fetch I/O for the engine. The engine decides what to fetch, when,
// and what the answer means; this only performs a ticket and reports what happened.

/** Thrown inside the shim when a response body passes the engine's size cap. */
class TooLarge extends Error {}

// Reads at most `max` bytes of the body; more is a failure, and the rest is never read.
async function readCapped(response, max) {
  const declared = Number(response.headers.get("content-length"));
  if (declared > max) {
    await response.body?.cancel();
    throw new TooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLarge();
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

// private_key_jwt: the imported signing keys, by JWK (one per gate's options), not
// extractable.
const signingKeys = new Map();

/**
 * The engine's client assertion (`{ signingInput, jwk, webCrypto }`), signed with the host's
 * WebCrypto by the parameters the engine chose: the compact JWS the body ends with.
 */
async function signAssertion({ signingInput, jwk, webCrypto }) {
  const subtle = globalThis.crypto.subtle;
  const id = JSON.stringify(jwk);
  let key = signingKeys.get(id);
  if (!key) {
    key = subtle.importKey("jwk", jwk, webCrypto.import, false, ["sign"]);
    key.catch(() => signingKeys.delete(id));
    signingKeys.set(id, key);
  }
  let signature;
  try {
    signature = new Uint8Array(await subtle.sign(webCrypto.verify, await key, new TextEncoder().encode(signingInput)));
  } catch (error) {
    // Reported as the call's failure: nothing was sent, and the login fails closed.
    throw new Error(`this host could not sign the client assertion (private_key_jwt): ${error?.name ?? "Error"}`);
  }
  let binary = "";
  for (const byte of signature) binary += String.fromCharCode(byte);
  return `${signingInput}.${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * Performs the engine's fetch `ticket` (`{ id, method, url, headers, body, timeoutMs,
 * maxBytes, mayUseStored, assertion? }`: src/wasm/wire.rs `fetch_json`) and reports to `engine()` with `fetchedStored`, `fetched` or
 * `fetchFailed`. `engine` returns the instance that issued the ticket, and throws when a
 * trap replaced it while the fetch was in flight: the report is then never made, and the
 * promise rejects with what it threw. `fetch` replaces `globalThis.fetch`; `store`
 * ({ get(key), put(key, value) }) keeps a copy.
 */
export async function runFetch(ticket, engine, { fetch: hostFetch, store }) {
  const key = `edgegate:${ticket.url}`;
  if (ticket.mayUseStored && store && ticket.method === "GET") {
    try {
      const saved = JSON.parse((await store.get(key)) ?? "null");
      if (saved && engine().fetchedStored(ticket.id, saved.body, saved.fetchedAt)) return;
    } catch {
      // An unreadable store is just a cold start.
    }
  }
  const fetch = hostFetch ?? globalThis.fetch;
  try {
    const sent = ticket.assertion ? ticket.body + (await signAssertion(ticket.assertion)) : ticket.body;
    const response = await fetch(ticket.url, {
      method: ticket.method,
      headers: ticket.headers,
      body: sent,
      redirect: "manual",
      signal: AbortSignal.timeout(ticket.timeoutMs),
    });
    // Every answer's body goes to the engine, which alone judges it (a push answers 201, a
    // refusal names its error); an error page past the cap is still its status. (A body
    // that breaks off mid-read is a network failure, whatever the status.)
    let body = "";
    try {
      body = await readCapped(response, ticket.maxBytes);
    } catch (error) {
      if (!(error instanceof TooLarge) || response.ok) throw error;
    }
    const fetchedAt = engine().fetched(ticket.id, response.status, body);
    if (fetchedAt !== undefined && store && ticket.method === "GET") {
      try {
        await store.put(key, JSON.stringify({ fetchedAt, body }));
      } catch {
        // Persisting is an optimisation; the keys are already in use.
      }
    }
  } catch (error) {
    const reason =
      error instanceof TooLarge
        ? "too_large"
        : error?.name === "TimeoutError" || error?.name === "AbortError"
          ? "timeout"
          : "network";
    engine().fetchFailed(ticket.id, reason, String(error?.message ?? error));
  }
}
