import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// Built in target/next-login-<variant>/, with node_modules linked to examples/nextjs/node_modules
// and edgegate linked from js/: Turbopack must see the whole repository. The test's
// provider, backend and this app's own origin are fixed at build time (Next inlines
// process.env.* for these keys, in the Edge bundle too).
const config: NextConfig = {
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  env: {
    UPSTREAM_URL: process.env.UPSTREAM_URL ?? "",
    LOGIN_ISSUER: process.env.LOGIN_ISSUER ?? "",
    LOGIN_CLIENT_ID: process.env.LOGIN_CLIENT_ID ?? "",
    LOGIN_CLIENT_SECRET: process.env.LOGIN_CLIENT_SECRET ?? "",
    LOGIN_SECRET: process.env.LOGIN_SECRET ?? "",
    LOGIN_RESOURCE: process.env.LOGIN_RESOURCE ?? "",
    APP_ORIGIN: process.env.APP_ORIGIN ?? "",
    LOGIN_PUSH: process.env.LOGIN_PUSH ?? "",
    LOGIN_BACKCHANNEL: process.env.LOGIN_BACKCHANNEL ?? "",
    LOGIN_RESPONSE_MODE: process.env.LOGIN_RESPONSE_MODE ?? "",
  },
};

export default config;
