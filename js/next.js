// edgegate/next: `export default edgeGate(options)` in middleware.ts (Edge runtime), or
// `export const proxy = edgeGate(options)` in a Next 16 proxy.ts (Node runtime).
// With its extension: next has no "exports" map, so Node's own ESM resolver (next.config.ts,
// a test, a script importing this entry) finds only the file; bundlers read it the same.
import { NextResponse } from "next/server.js";
import { createGate } from "./index.js";
import { applyCookies, drawRefusal, fetchUpstream, judgedHeaders, withCookies } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

/**
 * Maps an engine decision onto Next's middleware responses. One that changes nothing is
 * `NextResponse.next()`. A rule's upstream (`destination`) answers through the gate, as from
 * any reverse proxy: Next's own external rewrite would show the client the upstream's
 * address (in `x-middleware-rewrite`). Into the app, a decision becomes a rewrite to the
 * exact path the gate judged (`rewrite`) when it names one, and carries the gate's headers.
 */
export async function toNextResponse(decision, request) {
  return nextResponse(decision, request);
}

// What toNextResponse answers, without a promise where none is needed: under Next every
// promise runs its async hooks, and only an upstream's answer is awaited.
function nextResponse(decision, request) {
  let response;
  switch (decision.action) {
    case "continue": {
      // Nothing changed: Next's own pass-through, which costs it nothing.
      if (decision.passThrough) return NextResponse.next();
      if (decision.destination) {
        return fetchUpstream(decision, request).then((answer) => withCookies(absoluteLocation(answer, request), decision));
      }
      const forwarded = { request: { headers: judgedHeaders(decision, request) } };
      response = decision.rewrite ? NextResponse.rewrite(inApp(decision.rewrite, request), forwarded) : NextResponse.next(forwarded);
      break;
    }
    case "redirect":
      response = NextResponse.redirect(onClientOrigin(decision.location, request), decision.status);
      break;
    default:
      response = absoluteLocation(new NextResponse(decision.body || null, { status: decision.status, headers: decision.headers }), request);
  }
  // A refreshed session (or a cleared one) goes back to the browser.
  applyCookies(response.headers, decision.setCookies);
  return response;
}

/**
 * `response` with a same-origin `Location` made absolute: Next parses a middleware
 * response's Location as an absolute URL (then serves a same-origin one relative again).
 */
function absoluteLocation(response, request) {
  const location = response.headers.get("location");
  if (location?.startsWith("/")) response.headers.set("location", onClientOrigin(location, request).href);
  return response;
}

// A Host header that is a host and an optional port, nothing else.
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The gate's same-origin `path` as the absolute URL Next wants, on the origin the client
 * connected to: the request URL's scheme (Next applies `X-Forwarded-Proto`) with the `Host`
 * header. The URL's own host is Next's idea of itself, `localhost:<port>`, which Next 14
 * and 15 keep in an absolute Location: behind a reverse proxy, a redirect the client cannot
 * follow and the server's address. Next serves a Location on its own host relative, so
 * without a proxy nothing changes. A client picks its Host, so it can only send itself
 * elsewhere (a 307 has no freshness a shared cache would keep).
 */
function onClientOrigin(path, request) {
  const url = new URL(path, request.url);
  const host = request.headers.get("host");
  if (host && HOST.test(host)) url.host = host;
  return url;
}

/**
 * The URL of an in-app rewrite to `path`. Next keeps a rewrite in-process only when its
 * origin is the one Next's router names itself, but it renames every loopback host
 * `localhost` in the URL middleware sees: under `next start -H 127.0.0.1` (the usual bind
 * behind a reverse proxy) it proxies the rewrite to itself instead (the route mark ends that
 * loop), with the scheme the request URL claims — `https` from a TLS-terminating proxy's
 * `X-Forwarded-Proto`, against its plain-http port, which fails (vercel/next.js#94745). Such
 * a proxy to itself goes over the http Next listens on.
 */
function inApp(path, request) {
  const url = new URL(path, request.url);
  if (url.protocol === "https:" && url.hostname === "localhost") url.protocol = "http:";
  return url;
}

/**
 * The verified claims the gate put in the request's headers (`upstream.claimHeaders`), by
 * claim name; undefined when there are none. The gate strips those headers from every
 * request it decides, so where it runs they are its own.
 */
export function gateClaims(headers, options) {
  let claims;
  for (const [claim, header] of Object.entries(options?.upstream?.claimHeaders ?? {})) {
    const value = headers.get(header);
    if (value !== null) (claims ??= {})[claim] = value;
  }
  return claims;
}

export function edgeGate(options, host = {}) {
  if ("rewrite" in host) {
    // Routing by host code read the raw path, not the one the gate judged: removed.
    throw new TypeError('edgeGate: the "rewrite" host option is gone; name the backend on the rule: { match, kind, upstream }');
  }
  let gate;
  let built; // the gate once built: no await of a settled promise per request
  return async function edgegate(request) {
    if (!built) {
      gate ??= createGate(options, host);
      built = await gate;
    }
    const decision = await built.decide(request);
    if (host.render && decision.action !== "continue") {
      const drawn = await drawRefusal(decision, request, host.render);
      if (drawn) return absoluteLocation(withCookies(drawn, decision), request);
    }
    return nextResponse(decision, request);
  };
}
