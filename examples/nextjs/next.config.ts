import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// /api/* is served by the separate backend; edgegate has already verified the token and
// set `Authorization: Bearer` by the time Next proxies the request there.
const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000";

const config: NextConfig = {
  // edgegate is linked from ../../js in this repository; Turbopack must see that far.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  // The login route handler posts credentials to the same backend.
  env: { UPSTREAM_URL: upstream },
  async rewrites() {
    return [{ source: "/api/:path*", destination: `${upstream}/api/:path*` }];
  },
};

export default config;
