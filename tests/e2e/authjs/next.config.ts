import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// Built in target/next-authjs/, with node_modules linked to examples/nextjs/node_modules and
// edgegate linked from js/: Turbopack must see the whole repository.
const config: NextConfig = {
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  // The backend (the test's recorder in front of it), fixed at build time.
  env: { UPSTREAM_URL: process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000" },
};

export default config;
