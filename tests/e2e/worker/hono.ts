// A Hono app on Cloudflare Workers gated by edgegate/hono with the example app's own
// options, answering what the gate lets through as worker.ts does.
import { Hono } from "hono";
import { edgeGate } from "edgegate/hono";
import { gateOptions } from "../../../examples/nextjs/gate";

const app = new Hono();
app.use("*", edgeGate(gateOptions));
app.all("*", (c) => {
  const page = new URL(c.req.url).pathname.replace(/[<>&"]/g, "");
  return c.html(`<h1>${page}</h1>`);
});

export default app;
