// A Worker whose JWKS cache outlives the isolate: fetched keys are persisted in the KEYS
// KV namespace, so a fresh isolate starts from them instead of the network.
import { gateWorker } from "edgegate/worker";

interface Env {
  JWKS_URI: string;
  KEYS: { get(key: string): Promise<string | null>; put(key: string, value: string): Promise<void> };
}

export default gateWorker<Env>(
  (env) => ({
    rules: [{ match: "/api/:path*", kind: "api" }],
    verify: { algorithms: ["RS256"], jwksUri: env.JWKS_URI },
  }),
  () => new Response("ok"),
  (env) => ({ store: env.KEYS }),
);
