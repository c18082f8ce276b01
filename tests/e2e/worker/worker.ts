// A Cloudflare Worker gated by edgegate with the example app's own options: pages answer
// here, /api/* is proxied to the upstream named by the UPSTREAM binding.
import { gateWorker } from "edgegate/worker";
import { gateOptions } from "../../../examples/nextjs/gate";

interface Env {
  UPSTREAM: string;
}

export default gateWorker<Env>(gateOptions, {
  async fetch(request: Request, env: Env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/")) {
      return fetch(new Request(`${env.UPSTREAM}${url.pathname}${url.search}`, request));
    }
    return new Response(`<h1>${url.pathname}</h1>`, { headers: { "content-type": "text/html" } });
  },
});
