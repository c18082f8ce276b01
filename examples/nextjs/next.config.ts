import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// /api/* is served by the separate backend: the gate's rules (gate.ts) send the requests
// they let through there, with `Authorization: Bearer` set. The URL is fixed at build time.
const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000";

const config: NextConfig = {
  // edgegate is linked from ../../js in this repository; Turbopack must see that far.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  // With OIDC_ISSUER (scripts/demo), the gate runs the hosted login at that provider, for
  // the app at APP_URL.
  env: { UPSTREAM_URL: upstream, OIDC_ISSUER: process.env.OIDC_ISSUER ?? "", APP_URL: process.env.APP_URL ?? "" },
};

export default config;
