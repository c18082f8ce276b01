// edgegate: what every host adapter (worker.js, hono.js, node.js) does with a decision in
// WHATWG terms: the response a refusal stands for, a rule's upstream fetched, and the
// session cookies a decision carries put on whatever response goes out.

/** The redirect or error response of a decision that stops the request, without its cookies. */
export function answer(decision) {
  return decision.action === "redirect"
    ? new Response(null, { status: decision.status, headers: { location: decision.location } })
    : new Response(decision.body, { status: decision.status, headers: decision.headers });
}

/**
 * A refusal as the host's `render` draws it (`HostOptions.render`: the 401 body, a login
 * page instead of the redirect), without its cookies; undefined when it draws nothing or
 * the decision is no refusal (an ERR_* code): the gate's own login and
 * logout answers are never redrawn. It decides how a refusal looks, never whether: the
 * request reaches neither the app nor an upstream, whatever it returns.
 */
export async function drawRefusal(decision, request, render) {
  if (decision.action === "continue" || !decision.code.startsWith("ERR_")) return undefined;
  return (await render(decision, request)) ?? undefined;
}

/** `answer(decision)` with the decision's `setCookies`. */
export function toResponse(decision) {
  return withCookies(answer(decision), decision);
}

// A refreshed session (or a cleared one) goes back to the browser.
export function withCookies(response, decision) {
  if (!decision.setCookies?.length) return response;
  const copy = new Response(response.body, response); // upstream headers may be immutable
  applyCookies(copy.headers, decision.setCookies);
  return copy;
}

/**
 * The Cache-Control of every response that carries a session cookie, whoever built it (a
 * static page's `s-maxage` too): no shared cache may hand one user's session to another
 * (CVE-2025-48947). The engine marks its own answers so (src/answer.rs, `PRIVATE`).
 */
export const PRIVATE = "private, no-store";

/**
 * The one way cookies go onto a response, on every host: each `Set-Cookie` appended, and
 * the response made private. `headers` is anything with `append` and `set` (WHATWG
 * `Headers`, or an adapter over a framework's own).
 */
export function applyCookies(headers, cookies) {
  if (!cookies?.length) return;
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  headers.set("cache-control", PRIVATE);
}

// Headers about one connection (RFC 9110 §7.6.1), the client's to us or the upstream's to
// us, are not passed on (Node's fetch throws on most of them), nor is the Host that named
// us or an Expect we already answered. Names a client lists in `Connection` are kept:
// dropping them would let it remove the gate's own headers.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect", "host"];
// workerd encodes a body by the Content-Encoding it goes out with; Node, Deno and Bun hand
// over the decoded body under the upstream's header, which the browser would decode again.
const reencodes = globalThis.navigator?.userAgent === "Cloudflare-Workers";

/**
 * The request headers a continuing decision forwards, as WHATWG `Headers`: the request's
 * own with the decision's changes applied (only the changes cross from the engine), or its
 * whole list where the request's headers are no `Headers`.
 */
export function judgedHeaders(decision, request) {
  const changes = decision.headerChanges;
  if (!changes || typeof request?.headers?.forEach !== "function") return new Headers(decision.requestHeaders);
  const headers = new Headers(request.headers);
  for (const name of changes.removed) headers.delete(name);
  for (const [name, value] of changes.added) headers.append(name, value);
  return headers;
}

const parsed = (url, base) => {
  try {
    return new URL(url, base);
  } catch {
    return null;
  }
};

/**
 * The answer of the continuing decision's `destination` (a rule's upstream) to `request`'s
 * `method` and `body` (a stream, or null) with the gate's request headers. Its redirects go back to the
 * browser, as from any reverse proxy.
 */
export async function fetchUpstream(decision, request) {
  const { method, body } = request;
  const headers = judgedHeaders(decision, request);
  for (const name of HOP_BY_HOP) headers.delete(name);
  // Node's fetch wants `duplex` for a streamed body; other hosts ignore it.
  const init = { method, headers, body, redirect: "manual", ...(body && { duplex: "half" }) };
  const response = await fetch(decision.destination, init);
  const out = new Headers(response.headers);
  for (const name of HOP_BY_HOP) out.delete(name);
  // The upstream's own redirects name the app, not the upstream (nginx's proxy_redirect):
  // its address stays with the server.
  const location = out.get("location");
  const to = location === null ? null : parsed(location, decision.destination);
  if (to?.origin === new URL(decision.destination).origin) out.set("location", to.pathname + to.search + to.hash);
  if (!reencodes && out.has("content-encoding")) {
    out.delete("content-encoding");
    out.delete("content-length");
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
}
