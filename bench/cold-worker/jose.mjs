// Cold start inside workerd (bench/cold-workerd.mjs): the same Worker written by hand with
// jose, the key imported on the first request as edgegate builds its gate on it.
import { importSPKI, jwtVerify } from "jose";

let key;
const isProtected = (path) => /^\/(dashboard|api)(\/|$)/.test(path);

export default {
  async fetch(request, env) {
    const { verify } = env.OPTIONS;
    const alg = verify.algorithms[0];
    key ??= alg.startsWith("HS") ? new TextEncoder().encode(verify.keys) : importSPKI(verify.keys, alg);
    const url = new URL(request.url);
    if (!isProtected(url.pathname)) return new Response("ok");
    const cookie = request.headers.get("cookie") ?? "";
    const token = /(?:^|;\s*)__Host-token=([^;]*)/.exec(cookie)?.[1];
    if (!token) return new Response(null, { status: 307, headers: { location: "/login" } });
    try {
      const { payload } = await jwtVerify(token, await key, { algorithms: [alg], issuer: verify.issuer, audience: verify.audience });
      const headers = new Headers(request.headers);
      headers.set("authorization", `Bearer ${token}`);
      headers.set("x-auth-sub", String(payload.sub));
      return new Response("ok", { headers: { "x-seen": headers.get("x-auth-sub") } });
    } catch {
      return new Response(null, { status: 401 });
    }
  },
};
