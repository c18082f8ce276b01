// The built npm package in Node: options in, decisions out, coded errors, every header
// shape hosts pass, and recovery when the instance fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createGate, EdgeGateError } from "edgegate";
import { b64, jwt } from "./sign.mjs";

const SECRET = "an-hmac-secret-of-at-least-32-bytes!!";
const NOW = 1_700_000_000;
const sign = (claims, secret = SECRET) => jwt("HS256", secret, claims);

const options = {
  verify: { algorithms: ["HS256"], keys: SECRET, issuer: "iss", audience: "aud" },
  rules: [
    { match: "/dashboard/:path*", kind: "page" },
    { match: "/api/:path*", kind: "api", scopes: ["read"] },
    { match: "/login", kind: "guest" },
  ],
  upstream: { claimHeaders: { sub: "x-auth-sub" } },
};
const valid = sign({ sub: "u1", iss: "iss", aud: "aud", exp: NOW + 60, scope: "read" });

test("decisions for every rule kind", async () => {
  const gate = await createGate(options, { now: NOW });
  const page = await gate.decide({ url: "https://app.example/dashboard/x?y=1" });
  assert.deepEqual(
    { action: page.action, status: page.status, location: page.location, code: page.code },
    { action: "redirect", status: 307, location: "/login?returnTo=%2Fdashboard%2Fx%3Fy%3D1", code: "ERR_NO_TOKEN" },
  );
  const api = await gate.decide({ url: "/api/stocks" });
  assert.equal(api.status, 401);
  assert.deepEqual(new Headers(api.headers).get("www-authenticate"), "Bearer");
  const ok = await gate.decide(new Request("https://app.example/api/stocks", { headers: { cookie: `a=1; __Host-token=${valid}` } }));
  assert.equal(ok.code, "OK_AUTHENTICATED");
  const forwarded = new Headers(ok.requestHeaders);
  assert.equal(forwarded.get("authorization"), `Bearer ${valid}`);
  assert.equal(forwarded.get("cookie"), "a=1");
  assert.equal(forwarded.get("x-auth-sub"), "u1");
  const guest = await gate.decide({ url: "/login", headers: [["cookie", `token=${valid}`]] });
  assert.deepEqual([guest.action, guest.location], ["redirect", "/"]);
  const noScope = sign({ sub: "u1", iss: "iss", aud: "aud", exp: NOW + 60 });
  const denied = await gate.decide({ url: "/api/stocks", headers: { authorization: `Bearer ${noScope}` } });
  assert.deepEqual([denied.status, denied.code], [403, "ERR_INSUFFICIENT_SCOPE"]);
});

test("a rule's upstream is the decision's destination, at the judged path", async () => {
  const gate = await createGate(
    {
      ...options,
      rules: [
        { match: "/api/login", kind: "public" },
        { match: "/api/:path*", kind: "api", scopes: ["read"], upstream: "backend" },
      ],
      upstreams: { backend: "https://api.internal" },
    },
    { now: NOW },
  );
  const request = (url) => ({ url, headers: { authorization: `Bearer ${valid}` } });
  const routed = await gate.decide(request("https://app.example/api/l%6fgin?next=%2F"));
  assert.deepEqual([routed.code, routed.destination], ["OK_AUTHENTICATED", "https://api.internal/api/login?next=%2F"]);
  assert.equal(new Headers(routed.requestHeaders).get("x-forwarded-host"), "app.example");
  // The public route stays in the app, rewritten to exactly the path the gate judged.
  const open = await gate.decide({ url: "/api/login" });
  assert.deepEqual([open.code, open.destination, open.rewrite], ["OK_PUBLIC", undefined, "/api/login"]);
  const widened = await gate.decide({ url: "/api/Login" });
  assert.deepEqual([widened.status, widened.code, widened.destination], [401, "ERR_NO_TOKEN", undefined]);
  const trace = await gate.explain(request("/api/stocks"));
  assert.deepEqual(trace.steps.at(-1), { step: "route", ok: true, detail: "to https://api.internal/api/stocks" });
  await assert.rejects(
    createGate({ ...options, rules: [{ match: "/api/:path*", kind: "api", upstream: "https://u:p@api.internal" }] }),
    (e) => e instanceof EdgeGateError && e.code === "ERR_CONFIG_URL",
  );
});

test("header shapes: Headers, pairs, Map, objects with arrays", async () => {
  const gate = await createGate(options, { now: NOW });
  const shapes = [
    new Headers({ cookie: `token=${valid}` }),
    [["Cookie", `token=${valid}`]],
    new Map([["cookie", `token=${valid}`]]),
    { cookie: [`token=${valid}`], accept: "text/html" },
  ];
  for (const headers of shapes) {
    const d = await gate.decide({ method: "GET", url: "/api/x", headers });
    assert.equal(d.code, "OK_AUTHENTICATED", JSON.stringify([...(headers.entries?.() ?? Object.entries(headers))]));
  }
});

test("attacks refused through the package", async () => {
  const gate = await createGate(options, { now: NOW });
  const cases = [
    [sign({ sub: "u", iss: "iss", aud: "aud", exp: NOW + 60, scope: "read" }, "another-secret-of-32-bytes-length!!"), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    [sign({ sub: "u", iss: "iss", aud: "aud", exp: NOW, scope: "read" }), "ERR_JWT_EXPIRED"],
    [`${b64({ alg: "none" })}.${b64({ sub: "admin", exp: NOW + 60 })}.`, "ERR_JOSE_ALG_NOT_ALLOWED"],
  ];
  for (const [token, code] of cases) {
    const d = await gate.decide({ url: "/api/x", headers: { cookie: `token=${token}` } });
    assert.deepEqual([d.status, d.code], [401, code]);
  }
  const spoofed = await gate.decide({
    url: "/api/x",
    headers: { cookie: `token=${valid}`, "x-middleware-subrequest": "middleware", "x-auth-sub": "admin" },
  });
  const forwarded = new Headers(spoofed.requestHeaders);
  assert.equal(forwarded.get("x-middleware-subrequest"), null);
  assert.equal(forwarded.get("x-auth-sub"), "u1");
  for (const url of ["/dashboard%2Fx", "/dashboard;x", "/%2564ashboard"]) {
    assert.equal((await gate.decide({ url })).status, 400, url);
  }
  // Fields cross the boundary NUL-separated: a NUL in a header could smuggle one in. No HTTP
  // header holds one, and like `new Headers()` the gate refuses it, in a value or a name.
  for (const headers of [
    { cookie: `token=${valid}`, accept: "a\0x-auth-sub\0admin" },
    [["cookie", `token=${valid}`], ["x-a\0x-auth-sub", "admin"]],
  ]) {
    await assert.rejects(gate.decide({ url: "/api/x", headers }), (e) => e instanceof TypeError && /NUL/.test(e.message));
  }
});

test("bad options throw EdgeGateError with a code", async () => {
  const cases = [
    [{ verify: { algorithms: ["none"], keys: SECRET } }, "ERR_CONFIG_ALGORITHMS"],
    [{ verify: { algorithms: ["HS256"], keys: "short" } }, "ERR_CONFIG_WEAK_KEY"],
    [{ verify: { algorithms: ["HS256"], keys: SECRET, audiance: "x" } }, "ERR_CONFIG_INVALID"],
    [{ ...options, loginUrl: "https://evil.example" }, "ERR_CONFIG_URL"],
    [{ ...options, rules: [{ match: "/(", kind: "page" }] }, "ERR_CONFIG_PATTERN"],
  ];
  for (const [opts, code] of cases) {
    await assert.rejects(createGate(opts), (e) => e instanceof EdgeGateError && e instanceof Error && e.code === code);
  }
  // An option written as `undefined` is an unset environment variable: left to its
  // default it would route a rule's requests into the app (upstream), drop a check (issuer)
  // or make a confidential client public (clientSecret). Refused, naming the option.
  for (const [opts, path] of [
    [{ verify: { algorithms: ["HS256"], keys: SECRET, issuer: undefined } }, "verify.issuer"],
    [{ ...options, rules: [{ match: "/api/:path*", kind: "api", upstream: undefined }] }, "rules[0].upstream"],
    [{ ...options, refresh: { tokenEndpoint: "https://id.example/token", clientId: "app", clientSecret: undefined } }, "refresh.clientSecret"],
  ]) {
    await assert.rejects(createGate(opts), (e) => e.code === "ERR_CONFIG_INVALID" && e.message.startsWith(`${path} is undefined`), path);
  }
  // The messages name the option's path, never a JSON line and column.
  await assert.rejects(createGate({ ...options, rules: [{ match: "/a", kind: "page" }, { match: "/b", kind: "admin" }] }),
    (e) => e.code === "ERR_CONFIG_INVALID" && /^rules\[1\]\.kind is "admin", not one of page, api, guest, public/.test(e.message));
  await assert.rejects(createGate({ ...options, refresh: { tokenEndpoint: "https://id.example/token", clientId: "app", clientSecret: "" } }),
    (e) => e.code === "ERR_CONFIG_INVALID" && /refresh\.clientSecret is empty/.test(e.message));
  await assert.rejects(createGate({ ...options, rules: [{ match: "/api/:path*", kind: "api", upstream: "https://api.internal/undefined" }] }),
    (e) => e.code === "ERR_CONFIG_URL" && /unset environment variable/.test(e.message));
});

test("a RuntimeError drops the instance and the gate keeps deciding", async () => {
  const gate = await createGate(options, { now: NOW });
  const other = await createGate(options, { now: NOW });
  // A header iterator that fails once with the error a wasm trap raises: the shim must start
  // a fresh instance, rebuild the gate and retry.
  let thrown = 0;
  const headers = {
    *[Symbol.iterator]() {
      if (thrown++ === 0) throw new WebAssembly.RuntimeError("unreachable");
      yield ["cookie", `token=${valid}`];
    },
  };
  const d = await gate.decide({ url: "/api/x", headers });
  assert.equal(thrown, 2);
  assert.equal(d.code, "OK_AUTHENTICATED");
  // Gates built on the old instance are rebuilt on the new one and still decide.
  assert.equal((await other.decide({ url: "/api/x", headers: { cookie: `token=${valid}` } })).code, "OK_AUTHENTICATED");
  assert.equal((await gate.decide({ url: "/dashboard" })).status, 307);
});

test("real clock by default", async () => {
  const gate = await createGate(options);
  const now = Math.floor(Date.now() / 1000);
  const fresh = sign({ sub: "u", iss: "iss", aud: "aud", exp: now + 60, scope: "read" });
  assert.equal((await gate.decide({ url: "/api/x", headers: { cookie: `token=${fresh}` } })).code, "OK_AUTHENTICATED");
  assert.equal((await gate.decide({ url: "/api/x", headers: { cookie: `token=${valid}` } })).code, "ERR_JWT_EXPIRED");
});

test("setSession / clearSession write the cookies the gate reads", async () => {
  const { setSession, clearSession } = await import("edgegate");
  const access = sign({ sub: "u1", iss: "iss", aud: "aud", exp: Math.floor(Date.now() / 1000) + 600, scope: "read" });
  const prod = await setSession(new Response(null), { accessToken: access, refreshToken: "r1" }, {
    options,
    request: new Request("https://app.example/api/login", { method: "POST" }),
  });
  const cookies = prod.headers.getSetCookie();
  assert.equal(cookies.length, 2);
  assert.match(cookies[0], /^__Host-token=[\w.-]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=(599|600)$/);
  assert.equal(cookies[1], "__Host-refreshToken=r1; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=2592000");
  // A response carrying a session is never for a shared cache, even one the app marked so.
  assert.equal(prod.headers.get("cache-control"), "private, no-store");
  const marked = new Response(null, { headers: { "cache-control": "public, s-maxage=60" } });
  assert.equal((await setSession(marked, { accessToken: access }, { options })).headers.get("cache-control"), "private, no-store");
  const dev = await setSession(new Response(null), { accessToken: access }, {
    options,
    request: { url: "http://localhost:3000/api/login" },
  });
  assert.doesNotMatch(dev.headers.get("set-cookie"), /Secure|__Host-/);
  // Without the request the scheme is unknown: Secure.
  const unknown = await setSession(new Response(null), { accessToken: access }, { options });
  assert.match(unknown.headers.getSetCookie().find((c) => c.startsWith("__Host-token=")), /^__Host-token=\w.*; Secure/);
  const gate = await createGate(options);
  const back = await gate.decide({ url: "https://app.example/api/x", headers: { cookie: cookies[0].split(";")[0] } });
  assert.equal(back.code, "OK_AUTHENTICATED");
  // Logout removes the cookie, every chunk name the gate could join (whatever the request
  // shows: one whose cookies were lost on the way must not leave a chunked session) and the
  // refresh cookie.
  const removed = (name) => `${name}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0`;
  const everything = [removed("__Host-token"), ...Array.from({ length: 10 }, (_, i) => removed(`__Host-token.${i}`)), removed("__Host-refreshToken")];
  const logout = new Request("https://app.example/api/logout", { method: "POST", headers: { cookie: "theme=dark" } });
  const cleared = await clearSession(new Response(null), { options, request: logout });
  assert.deepEqual(cleared.headers.getSetCookie(), everything);
  assert.equal(cleared.headers.get("cache-control"), "private, no-store");
  const blind = await clearSession(new Response(null), { options, request: { url: "https://app.example/api/logout", headers: { Cookie: "x" } } });
  assert.deepEqual(blind.headers.getSetCookie(), everything);
  await assert.rejects(
    setSession(new Response(null), { accessToken: "a;b" }, { options }),
    (e) => e instanceof EdgeGateError && e.code === "ERR_SESSION_INVALID",
  );
});

test("setSession chunks a token one cookie cannot hold; a smaller session and clearSession remove the chunks", async () => {
  const { setSession, clearSession } = await import("edgegate");
  const exp = Math.floor(Date.now() / 1000) + 600;
  const big = sign({ sub: "u1", iss: "iss", aud: "aud", exp, scope: "read", groups: Array.from({ length: 180 }, (_, i) => `group-${i}-0000-4000-8000-000000000000`) });
  assert.ok(big.length > 9000 && big.length < 12_000, `${big.length}`);
  const jar = new Map([["theme", "dark"]]);
  const header = () => [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
  const apply = (response) => {
    for (const line of response.headers.getSetCookie()) {
      assert.ok(line.length <= 4096, `a browser keeps it: ${line.length}`);
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      if (/Max-Age=0$/.test(line)) jar.delete(pair.slice(0, at));
      else jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
  };
  const request = (path) => new Request(`https://app.example${path}`, { method: "POST", headers: { cookie: header() } });
  apply(await setSession(new Response(null), { accessToken: big }, { options, request: request("/api/login") }));
  assert.deepEqual([...jar.keys()].sort(), ["__Host-token.0", "__Host-token.1", "__Host-token.2", "theme"]);
  const gate = await createGate(options);
  const read = await gate.decide({ url: "https://app.example/api/x", headers: { cookie: header() } });
  assert.equal(read.code, "OK_AUTHENTICATED");
  const forwarded = new Headers(read.requestHeaders);
  assert.equal(forwarded.get("authorization"), `Bearer ${big}`);
  assert.equal(forwarded.get("cookie"), "theme=dark");

  const small = sign({ sub: "u1", iss: "iss", aud: "aud", exp, scope: "read" });
  apply(await setSession(new Response(null), { accessToken: small }, { options, request: request("/api/login") }));
  assert.deepEqual([...jar.keys()].sort(), ["__Host-token", "theme"]);
  apply(await setSession(new Response(null), { accessToken: big }, { options, request: request("/api/login") }));
  apply(await clearSession(new Response(null), { options, request: request("/api/logout") }));
  assert.deepEqual([...jar.keys()], ["theme"]);

  const huge = sign({ sub: "u1", exp, groups: "g".repeat(12_000) });
  await assert.rejects(
    setSession(new Response(null), { accessToken: huge }, { options, request: request("/api/login") }),
    (e) => e instanceof EdgeGateError && e.code === "ERR_TOO_LARGE",
  );
});

test("explain traces a decision; log writes one entry per decision", async () => {
  const entries = [];
  const gate = await createGate(options, { now: NOW, log: (e) => entries.push(e) });
  const expired = sign({ sub: "u1", iss: "iss", aud: "aud", exp: NOW - 1, scope: "read" });
  const trace = await gate.explain({ url: "/api/stocks?q=secret", headers: { cookie: `token=${expired}` } });
  const failing = trace.steps.filter((s) => !s.ok);
  assert.deepEqual(failing.map((s) => s.step), ["claim"]);
  assert.match(failing[0].detail, /^exp: ERR_JWT_EXPIRED/);
  assert.equal(entries.length, 0, "explain is not a decision");
  const d = await gate.decide({ method: "GET", url: "/api/stocks?q=secret", headers: { cookie: `token=${expired}` } });
  assert.equal(entries.length, 1);
  const [entry] = entries;
  assert.deepEqual(
    { ...entry, ms: typeof entry.ms },
    { edgegate: "ERR_JWT_EXPIRED", action: "respond", status: 401, method: "GET", path: "/api/stocks", rule: 1,
      kind: "api", tokenSource: "cookie", reason: d.message, ms: "number" },
  );
  assert.ok(!JSON.stringify(entry).includes(expired) && !JSON.stringify(entry).includes("secret"));
});

// A host with no source of randomness (Node 18 without --experimental-global-webcrypto had
// none for wasm): a gate that needs it (hosted login's state, nonce and PKCE) is refused at
// construction with its own code, never built to fail at the first login.
test("no crypto on the host: ERR_RANDOM_UNAVAILABLE when the gate is built", async () => {
  const script = `
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    const { createGate } = await import("edgegate");
    const login = { issuer: "https://id.example", clientId: "app", clientSecret: "s", secret: "a-login-secret-of-at-least-32-bytes!" };
    try {
      await createGate({ rules: [{ match: "/dashboard/:path*", kind: "page" }], verify: { algorithms: ["RS256"], issuer: "https://id.example" }, login });
      console.log("built");
    } catch (error) {
      console.log(JSON.stringify([error.name, error.code, error.message]));
    }`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: new URL(".", import.meta.url), encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), ["EdgeGateError", "ERR_RANDOM_UNAVAILABLE", "the host has no source of randomness"]);
});
