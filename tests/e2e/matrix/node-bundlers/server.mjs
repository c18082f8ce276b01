// A Hono server for Node, gated by edgegate/hono: bundled whole by esbuild or Vite, then run
// from a folder with no node_modules, the engine's .wasm copied beside the bundle.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { edgeGate } from "edgegate/hono";

const app = new Hono();
app.use(
  "*",
  edgeGate({
    rules: [
      { match: "/dashboard/:path*", kind: "page" },
      { match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL },
    ],
    verify: { algorithms: ["HS256"], keys: process.env.JWT_SECRET },
  }),
);
app.get("*", (c) => c.text("home"));

serve({ fetch: app.fetch, hostname: "127.0.0.1", port: Number(process.env.PORT) });
