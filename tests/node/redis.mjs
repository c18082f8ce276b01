// A real redis-server (Debian's `redis-server` package, installed by scripts/setup) for the
// refresh-store tests: its own process on a free 127.0.0.1 port, no persistence, killed when
// the test ends. Shared by tests/node and tests/e2e (imported by relative path).
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";

const BINARY = process.env.REDIS_SERVER ?? "redis-server";

/** A free port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server for the test `t` and resolves `{ url, port }`; or null, with the skip
 * printed and recorded, when the binary is not installed.
 */
export async function startRedis(t) {
  if (spawnSync(BINARY, ["--version"]).error) {
    console.log(`SKIPPED Redis test: no ${BINARY} (Debian package redis-server; scripts/setup installs it)`);
    t.skip(`no ${BINARY}`);
    return null;
  }
  const port = await freePort();
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
