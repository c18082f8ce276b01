// A Cloudflare Worker gated by edgegate with the example app's own options: its rules send
// /api/* to the backend (UPSTREAM_URL, fixed at build time as Next fixes it); everything
// else the gate lets through is answered here.
import { gateWorker } from "edgegate/worker";
import { gateOptions } from "../../../examples/nextjs/gate";

export default gateWorker(gateOptions, (request: Request) => {
  const page = new URL(request.url).pathname.replace(/[<>&"]/g, "");
  return new Response(`<h1>${page}</h1>`, { headers: { "content-type": "text/html" } });
});
