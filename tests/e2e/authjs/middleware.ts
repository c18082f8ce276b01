import { edgeGate } from "edgegate/next";
import type { Options } from "edgegate";
import dev from "./dev-config.json";

// The gate reads Auth.js's session cookie and forwards the backend token the jwt callback
// stored in it (token.accessToken) as `Authorization: Bearer`, verified like any token.
// The format is the whole migration: Auth.js's own routes (/api/auth/signin, …) stay open, and pages
// send visitors to its sign-in page with its callbackUrl, with no option for either.
const options: Options = {
  rules: [
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL! },
  ],
  session: { format: "authjs", secret: process.env.AUTH_SECRET! },
  verify: { algorithms: ["HS256"], keys: dev.secret, issuer: dev.issuer, audience: dev.audience },
};

// One JSON line per decision (codes, no tokens): the test reads the codes from the log.
export default edgeGate(options, { log: true });

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
