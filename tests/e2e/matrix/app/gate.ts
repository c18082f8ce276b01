// The README's quick start, as a user pastes it: /dashboard needs a session, /api/* is the
// backend's and gets the bearer.
import type { Options } from "edgegate";

export const options: Options = {
  rules: [
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", upstream: process.env.UPSTREAM_URL },
  ],
  verify: { algorithms: ["HS256"], keys: process.env.JWT_SECRET! },
};
