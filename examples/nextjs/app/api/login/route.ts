import { NextRequest, NextResponse } from "next/server";
import { setSession } from "edgegate/next";
import { gateOptions } from "../../../gate";
import { safeReturnTo } from "../../../lib/return-to";

// Posts the credentials to the backend, which answers with tokens; the session is stored
// in HttpOnly cookies that edgegate reads on every later request.
export async function POST(request: NextRequest) {
  const form = await request.formData();
  const backend = await fetch(`${process.env.UPSTREAM_URL}/auth/login`, {
    method: "POST",
    body: new URLSearchParams({ name: String(form.get("name") ?? "") }),
  });
  if (!backend.ok) {
    return NextResponse.redirect(new URL("/login?error=1", request.url), 303);
  }
  const tokens = await backend.json();
  // A relative Location keeps the browser on the host it used (the cookies are host-only).
  const response = new NextResponse(null, { status: 303, headers: { location: safeReturnTo(form.get("returnTo")) } });
  return setSession(
    response,
    { accessToken: tokens.access_token, refreshToken: tokens.refresh_token },
    { options: gateOptions, request },
  );
}
