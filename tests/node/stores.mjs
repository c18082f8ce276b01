// For the refresh-store tests in tests/node and tests/e2e (imported by relative path): a
// real redis-server (Debian's `redis-server` package, installed by scripts/setup) on a free
// 127.0.0.1 port, an in-memory store, and the check that nothing a store holds is a
// usable token.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { freePort } from "./net.mjs";

const BINARY = process.env.REDIS_SERVER ?? "redis-server";

/**
 * Starts redis-server for the test `t` (on `port`, else a free one) and resolves
 * `{ url, port, stop }`; or null, with the skip
 * printed and recorded, when the binary is not installed.
 */
export async function startRedis(t, { port } = {}) {
  if (spawnSync(BINARY, ["--version"]).error) {
    console.log(`SKIPPED Redis test: no ${BINARY} (Debian package redis-server; scripts/setup installs it)`);
    t.skip(`no ${BINARY}`);
    return null;
  }
  port ??= await freePort();
  const child = spawn(BINARY, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = () => child.exitCode === null && child.kill("SIGKILL");
  process.on("exit", stop);
  t.after(stop);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.end(() => resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, port, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error(`redis-server did not come up on ${port}:\n${output}`);
}

/** A shared store in memory, with expiry: what Redis or a Durable Object keeps. */
export function memoryStore() {
  const entries = new Map();
  const live = (key) => {
    const e = entries.get(key);
    if (e && e.expires <= Date.now()) entries.delete(key);
    return entries.get(key)?.value ?? null;
  };
  return {
    entries,
    async claim(key, value, ttlMs) {
      const current = live(key);
      if (current === null) entries.set(key, { value, expires: Date.now() + ttlMs });
      return current;
    },
    async publish(key, value, ttlMs) {
      entries.set(key, { value, expires: Date.now() + ttlMs });
    },
    read: async (key) => live(key),
    async release(key) {
      entries.delete(key);
    },
  };
}

/**
 * Asserts that a store's `[key, value]` entries hold none of `tokens` (access and refresh
 * tokens, old and new), nor a 24-character piece of one; that keys are the keyed hashes the
 * engine names; and that every value but the claim marker is sealed: base64url that is no
 * JWT, and no JSON once decoded.
 */
export function assertNoTokens(entries, tokens) {
  assert.ok(entries.length > 0, "the store holds something to check");
  for (const [key, value] of entries) {
    assert.match(key, /^edgegate:refresh:[\w-]{43}$/);
    for (const token of tokens.filter(Boolean)) {
      for (const text of [key, value]) {
        assert.ok(!text.includes(token), `a token in the store: ${text.slice(0, 40)}…`);
        assert.ok(token.length < 24 || !text.includes(token.slice(0, 24)), "a piece of a token in the store");
      }
    }
    if (value === "claimed") continue;
    assert.match(value, /^[\w-]+$/, "base64url, sealed");
    assert.notEqual(value.split(".").length, 3, "does not parse as a JWT");
    assert.throws(() => JSON.parse(Buffer.from(value, "base64url").toString()), "no JSON inside either");
  }
}
