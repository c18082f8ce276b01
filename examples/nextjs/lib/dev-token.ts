// DEVELOPMENT ONLY: a stand-in identity provider that signs HS256 tokens with the demo
// secret. A real app receives the token from its backend or IdP.
import dev from "../dev-config.json";

const b64url = (bytes: Uint8Array) =>
  Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export async function signDevToken(sub: string, lifetimeSeconds = 900): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(new TextEncoder().encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const claims = { sub, iss: dev.issuer, aud: dev.audience, iat: now, exp: now + lifetimeSeconds };
  const payload = b64url(new TextEncoder().encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(dev.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${b64url(new Uint8Array(mac))}`;
}

/** A same-origin path to go back to after login, or `/dashboard`. */
export function safeReturnTo(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) && !/[\\\u0000-\u001f]/.test(value)
    ? value
    : "/dashboard";
}
