// The reference for the whole-app bench's hosted-login scenario (bench/app.mjs): the jose
// middleware people write for the example's rules with OIDC_ISSUER (examples/nextjs/gate.ts)
// once a login has put the provider's access token in the session cookie: jwtVerify against
// the provider's JWKS (fetched and cached by createRemoteJWKSet, made once), issuer and
// audience checked, then a redirect to the login, a 401, or the request on to the page or
// the backend with the bearer and the subject. The login's own routes are not in it.
import { NextRequest, NextResponse } from "next/server";
import { createRemoteJWKSet, jwtVerify } from "jose";
import dev from "./dev-config.json";

const issuer = process.env.OIDC_ISSUER!;
const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000";
// Where Auth0 and others publish their keys (discovery's jwks_uri).
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
const isPage = (path: string) => path === "/dashboard" || path.startsWith("/dashboard/");
const isApi = (path: string) => path === "/api" || path.startsWith("/api/");

async function subject(token: string | undefined): Promise<string | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, jwks, { algorithms: ["RS256"], issuer, audience: dev.login.resource });
    return payload.sub;
  } catch {
    return undefined;
  }
}

export default async function middleware(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const page = isPage(pathname);
  const api = !page && isApi(pathname);
  if (!page && !api) return NextResponse.next();

  // The session cookie as the login set it: `__Host-` over https, plain on http loopback.
  const cookie = request.nextUrl.protocol === "https:" ? "__Host-token" : "token";
  const token = request.cookies.get(cookie)?.value;
  const sub = await subject(token);
  if (sub === undefined) {
    if (api) return NextResponse.json({ error: "unauthorized" }, { status: 401, headers: { "cache-control": "no-store" } });
    const login = new URL("/auth/login", request.url);
    login.searchParams.set("returnTo", pathname + search);
    return NextResponse.redirect(login);
  }

  // On with the bearer and the subject, never the session cookie nor a client's own
  // x-auth-sub or x-middleware-subrequest.
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  headers.set("x-auth-sub", sub);
  headers.delete("x-middleware-subrequest");
  const rest = request.cookies.getAll().filter((c) => c.name !== cookie);
  if (rest.length) headers.set("cookie", rest.map((c) => `${c.name}=${c.value}`).join("; "));
  else headers.delete("cookie");
  if (api) return NextResponse.rewrite(new URL(pathname + search, upstream), { request: { headers } });
  return NextResponse.next({ request: { headers } });
}

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
