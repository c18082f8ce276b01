// edgegate/node: `app.use(edgeGate(options))`, first, in Express or Connect (any server
// whose `next(error)` stops the request). The same decisions as edgegate/worker: a refusal
// is the response, a rule's upstream answers the requests it routes, and the rest go on
// with exactly the headers and the path the gate judged.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { EdgeGateError, createGate } from "./index.js";
import { nodeUrl } from "./node-url.js";
import { applyCookies, drawRefusal, fetchUpstream, toResponse, withCookies } from "./respond.js";

export { EdgeGateError, createGate, setSession, clearSession } from "./index.js";

export function edgeGate(options, host) {
  let gate;
  return function edgegate(req, res, next) {
    gate ??= createGate(options, host);
    gate.then((gate) => decide(gate, req, res, next, host?.render)).catch(next);
  };
}

// `req.auth`: the verified token's claims, as express-jwt names them. A getter on the
// prototype Express gives its requests (`app.request`), defined once: a request whose
// handlers never read it decodes nothing. Elsewhere (Connect, plain http) on the request.
const auth = {
  configurable: true,
  get() {
    return this.edgegate?.claims;
  },
};
function exposeAuth(req) {
  const target = req.app ? Object.getPrototypeOf(req) : req;
  if (!Object.hasOwn(target, "auth")) Object.defineProperty(target, "auth", auth);
}

// How the app is wired around the gate, wrongly: an error with a code for the app's own
// error handler (`next(error)`), which decides what the client sees.
const miswired = (why) => new EdgeGateError(`edgegate/node: ${why}`, "ERR_CONFIG_INVALID");

async function decide(gate, req, res, next, render) {
  // Under a mount path Express hides its prefix from req.url: the gate would judge another path.
  if (req.baseUrl) {
    throw miswired(`mounted under ${JSON.stringify(req.baseUrl)}, where the gate would judge the path without it: use it at the root, app.use(edgeGate(options))`);
  }
  const url = nodeUrl(req);
  // Headers as sent, repeats and all: two Authorization headers are refused, not one taken.
  const headers = pairs(req.rawHeaders);
  // The body stays unread unless the engine asks for it (a back-channel logout).
  const decision = await gate.decide({ method: req.method, url: url.href, headers, body: req });
  if (decision.action !== "continue") {
    // `render` sees the request as a WHATWG Request (made only when there is a `render`).
    const drawn = render && (await drawRefusal(decision, new Request(url, { method: req.method, headers }), render));
    return send(res, drawn ? withCookies(drawn, decision) : toResponse(decision));
  }
  req.edgegate = decision;
  exposeAuth(req);
  if (decision.passThrough) return next(); // on into the app as it came
  if (decision.destination) {
    const body = req.method === "GET" || req.method === "HEAD" ? null : req;
    // A body parser before the gate has read the body it would forward.
    if (body && (req.readableEnded || req.readableDidRead || req.body !== undefined)) {
      throw miswired("the request body was read before the gate (a body parser ahead of it?): use the gate first, before any body parser");
    }
    return send(res, withCookies(await fetchUpstream(decision, { method: req.method, body }), decision));
  }
  // On into the app with exactly the gate's headers, at the path it judged.
  // Shaped as Node shapes them: repeats joined (cookies with "; "), and each one apart.
  const judged = {};
  const distinct = Object.create(null);
  for (const [name, value] of decision.requestHeaders) {
    const key = name.toLowerCase();
    (distinct[key] ??= []).push(value);
    judged[key] = Object.hasOwn(judged, key) ? `${judged[key]}${key === "cookie" ? "; " : ", "}${value}` : value;
  }
  req.headers = judged;
  req.headersDistinct = distinct;
  req.rawHeaders = decision.requestHeaders.flat();
  req.url = decision.rewrite ?? url.pathname + url.search;
  if (decision.setCookies?.length) cookiesLast(res, decision.setCookies);
  next();
}

// A refreshed (or cleared) session reaches the browser whatever the app answers: the
// cookies join the headers as they go out, after the app's own, so that no setHeader or
// writeHead of the app's replaces them (as the on-headers package does).
function cookiesLast(res, cookies) {
  const writeHead = res.writeHead;
  res.writeHead = function (status, reason, headers) {
    res.writeHead = writeHead;
    if (typeof reason !== "string") [reason, headers] = [undefined, headers ?? reason];
    const given = Array.isArray(headers) ? pairs(headers) : Object.entries(headers ?? {});
    for (const [name, value] of given) this.setHeader(name, value);
    applyCookies({ append: (n, v) => this.appendHeader(n, v), set: (n, v) => this.setHeader(n, v) }, cookies);
    return reason === undefined ? writeHead.call(this, status) : writeHead.call(this, status, reason);
  };
}

// [name, value] pairs of a flat list, as in rawHeaders.
function pairs(flat) {
  const list = [];
  for (let i = 0; i < flat.length; i += 2) list.push([flat[i], flat[i + 1]]);
  return list;
}

// Writes a WHATWG response onto `res`; its headers replace same-named ones set before.
async function send(res, response) {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
  if (response.body) await pipeline(Readable.fromWeb(response.body), res);
  else res.end();
}
