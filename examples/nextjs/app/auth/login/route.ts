import { NextResponse } from "next/server";
import dev from "../../../dev-config.json";
import { safeReturnTo, signDevToken } from "../../../lib/dev-token";

// The demo's sign-in: any name is accepted (it is a stand-in for a real backend or IdP).
export async function POST(request: Request) {
  const form = await request.formData();
  const name = String(form.get("name") || "demo-user").slice(0, 64);
  const token = await signDevToken(name);
  // A relative Location keeps the browser on the host it used (the cookie is host-only).
  const response = new NextResponse(null, {
    status: 303,
    headers: { location: safeReturnTo(form.get("returnTo")) },
  });
  response.cookies.set(dev.cookie, token, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure: new URL(request.url).protocol === "https:",
    maxAge: 900,
  });
  return response;
}
