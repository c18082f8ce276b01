// The reference for the whole-app bench (bench/app.mjs): the middleware people write by hand
// for the example's rules (examples/nextjs/gate.ts) with jose: the token from a bearer or the
// session cookie, jwtVerify with the key imported once, then a redirect, a 401, or the
// request on to the backend with the bearer and the subject. It replaces the example's
// middleware.ts in a copy of the app; edgegate's own middleware.ts runs in the other copy.
import { NextRequest, NextResponse } from "next/server";
import { jwtVerify } from "jose";
import dev from "./dev-config.json";

const key = new TextEncoder().encode(dev.secret);
const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:4000";
const isPublic = (path: string) => path === "/api/login" || path === "/api/logout";
const isPage = (path: string) => path === "/dashboard" || path.startsWith("/dashboard/");
const isApi = (path: string) => path === "/api" || path.startsWith("/api/");

function tokenOf(request: NextRequest): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization?.startsWith("Bearer ")) return authorization.slice(7);
  return request.cookies.get(dev.cookie)?.value;
}

async function subject(token: string | undefined): Promise<string | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], issuer: dev.issuer, audience: dev.audience });
    return payload.sub;
  } catch {
    return undefined;
  }
}

function unauthorized(invalid: boolean) {
  return NextResponse.json(
    { error: invalid ? "invalid_token" : "unauthorized" },
    { status: 401, headers: { "cache-control": "no-store", "www-authenticate": invalid ? 'Bearer error="invalid_token"' : "Bearer" } },
  );
}

export default async function middleware(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (isPublic(pathname)) return NextResponse.next();
  const page = isPage(pathname);
  const api = !page && isApi(pathname);
  const guest = pathname === "/login";
  if (!page && !api && !guest) return NextResponse.next();

  const token = tokenOf(request);
  const sub = await subject(token);
  if (guest) return sub ? NextResponse.redirect(new URL("/", request.url)) : NextResponse.next();
  if (sub === undefined) {
    if (api) return unauthorized(token !== undefined);
    const login = new URL("/login", request.url);
    login.searchParams.set("returnTo", pathname + search);
    return NextResponse.redirect(login);
  }

  // On to the app or the backend: the bearer and the subject, never the session cookie nor
  // a client's own x-auth-sub or x-middleware-subrequest.
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  headers.set("x-auth-sub", sub);
  headers.delete("x-middleware-subrequest");
  const rest = request.cookies.getAll().filter((c) => c.name !== dev.cookie);
  if (rest.length) headers.set("cookie", rest.map((c) => `${c.name}=${c.value}`).join("; "));
  else headers.delete("cookie");
  if (api) return NextResponse.rewrite(new URL(pathname + search, upstream), { request: { headers } });
  return NextResponse.next({ request: { headers } });
}

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
