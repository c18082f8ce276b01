// edgegate/redis: a Redis connection for the refresh store on Node (a Next 16 proxy.ts, an
// Express or Hono server), over node:net (or node:tls for rediss://). Just what the store
// sends — SET, GET, DEL, with AUTH and SELECT from the URL — in RESP2, pipelined on one
// socket: a few dozen lines instead of a client library and its dependencies in every
// proxy.ts bundle. Bring your own client through `redisRefreshStore(command)` otherwise.
import net from "node:net";
import tls from "node:tls";

export { redisRefreshStore } from "./store.js";

/** A reply that is no RESP (a server that is not Redis): the connection is dropped. */
class Garbage extends Error {}

// One RESP reply parsed from `buffer` at `at`: [value, next offset], or undefined when the
// buffer does not hold all of it yet. Errors are returned as Error values.
function parse(buffer, at) {
  const end = buffer.indexOf("\r\n", at);
  if (end < 0) return undefined;
  const line = buffer.toString("utf8", at + 1, end);
  const next = end + 2;
  switch (buffer[at]) {
    case 0x2b: // +simple
      return [line, next];
    case 0x2d: // -error
      return [new Error(`redis: ${line}`), next];
    case 0x3a: // :integer
      return [Number(line), next];
    case 0x24: {
      // $bulk
      const length = Number(line);
      if (length === -1) return [null, next];
      if (!(length >= 0)) throw new Garbage();
      if (buffer.length < next + length + 2) return undefined;
      return [buffer.toString("utf8", next, next + length), next + length + 2];
    }
    case 0x2a: {
      // *array
      const count = Number(line);
      if (count === -1) return [null, next];
      if (!(count >= 0)) throw new Garbage();
      const items = [];
      let offset = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, offset);
        if (!item) return undefined;
        items.push(item[0]);
        offset = item[1];
      }
      return [items, offset];
    }
    default:
      throw new Garbage();
  }
}

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/**
 * A function sending one Redis command (`["SET", key, value, "NX", "PX", "10000"]`) on a
 * shared connection to `url` (`redis://[user:password@]host:port[/db]`, `rediss://` for
 * TLS) and resolving with its reply; for `redisRefreshStore`. It connects on first use,
 * reconnects after a failure, and rejects every command in flight when the connection
 * drops, stalls for `idleTimeoutMs` with commands pending, or answers something that is
 * not RESP. `close()` ends the connection.
 */
export function redisCommand(url = "redis://127.0.0.1:6379", { idleTimeoutMs = 5000 } = {}) {
  const target = new URL(url);
  if (target.protocol !== "redis:" && target.protocol !== "rediss:") {
    throw new TypeError("redisCommand(url): expected redis:// or rediss://");
  }
  const prelude = [];
  if (target.password) {
    const user = decodeURIComponent(target.username);
    prelude.push(user ? ["AUTH", user, decodeURIComponent(target.password)] : ["AUTH", decodeURIComponent(target.password)]);
  }
  const db = target.pathname.slice(1);
  if (db) prelude.push(["SELECT", db]);

  let socket;
  let pending = []; // [resolve, reject] per command sent, in order
  let buffer = Buffer.alloc(0);

  const drop = (error) => {
    socket?.destroy();
    socket = undefined;
    buffer = Buffer.alloc(0);
    const failed = pending;
    pending = [];
    for (const [, reject] of failed) reject(error);
  };

  const connect = () => {
    const options = { host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 6379) };
    const s = target.protocol === "rediss:" ? tls.connect({ ...options, servername: options.host }) : net.connect(options);
    s.setNoDelay(true);
    // Idle, the connection keeps no process alive; with commands in flight it does.
    s.unref();
    s.setTimeout(idleTimeoutMs, () => {
      if (pending.length > 0) drop(new Error("redis: no answer"));
    });
    s.on("data", (chunk) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      let at = 0;
      try {
        for (let reply; pending.length > 0 && (reply = parse(buffer, at)); ) {
          at = reply[1];
          const [resolve, reject] = pending.shift();
          if (reply[0] instanceof Error) reject(reply[0]);
          else resolve(reply[0]);
        }
      } catch {
        return drop(new Error("redis: the server answered something that is not RESP"));
      }
      if (at > 0) buffer = buffer.subarray(at);
      if (pending.length === 0 && buffer.length > 0) drop(new Error("redis: an answer nobody asked for"));
      else if (pending.length === 0) s.unref();
    });
    s.on("error", (error) => drop(error));
    s.on("close", () => {
      if (socket === s) drop(new Error("redis: connection closed"));
    });
    socket = s;
    // AUTH and SELECT go first on every connection; a failure fails the command after them.
    for (const args of prelude) send(args).catch(() => {});
  };

  function send(args) {
    return new Promise((resolve, reject) => {
      if (pending.push([resolve, reject]) === 1) socket.ref();
      socket.write(encode(args));
    });
  }

  function command(args) {
    if (!socket) connect();
    return send(args.map(String));
  }
  command.close = () => drop(new Error("redis: closed"));
  return command;
}
