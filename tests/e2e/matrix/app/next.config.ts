import type { NextConfig } from "next";
import { check } from "edgegate";
import { options } from "./gate";

// Bad gate options (a missing or short secret, a malformed rule) fail `next build` and
// `next start` with their ERR_CONFIG_* code, instead of every request after deploy.
export default async function config(): Promise<NextConfig> {
  await check(options);
  return {};
}
