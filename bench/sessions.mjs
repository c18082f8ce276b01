// What reading a library's session costs per decision: the same HS256 token as a raw cookie
// (a verified-token cache hit) and sealed in Auth.js and next-auth 4 session cookies (made by
// the libraries, tests/node/sessions/make.mjs), which the gate decrypts on every request.
// The peer is what a hand-written middleware does: Auth.js's own decode (@auth/core/jwt)
// and jose's jwtVerify of the token inside.
// Run: node bench/sessions.mjs (after npm install in tests/node).
import { createGate } from "edgegate";
import * as make from "../tests/node/sessions/make.mjs";
import { jwt } from "../tests/node/sign.mjs";
import { decode } from "../tests/node/node_modules/@auth/core/jwt.js";
import * as jose from "../tests/node/node_modules/jose/dist/webapi/index.js";
const key = "backend-secret-of-at-least-32-bytes!!", secret = "a-session-secret-of-at-least-32-characters";
const now = Math.floor(Date.now() / 1000);
const token = jwt("HS256", key, { sub: "u", exp: now + 3600 });
const verify = { algorithms: ["HS256"], keys: key };
const rules = [{ match: "/api/:path*", kind: "api" }];
const raw = await createGate({ rules, verify });
const cases = { raw: [raw, `__Host-token=${token}`] };
for (const [name, fmt, fn] of [["authjs", "authjs", make.authjs], ["next-auth", "next-auth", make.nextAuth4]]) {
  const { cookies } = await fn({ token: { sub: "u", accessToken: token }, secret, secure: true });
  cases[name] = [await createGate({ rules, verify, session: { format: fmt, secret } }), cookies.map((c) => c.join("=")).join("; ")];
}
// The peer, on the Auth.js cookie: decode the session, then verify the token it holds.
const [, authjsCookie] = cases.authjs;
const [name, value] = authjsCookie.split(/=(.*)/s);
const hmac = new TextEncoder().encode(key);
const peer = {
  async decide() {
    const session = await decode({ token: value, secret, salt: name });
    await jose.jwtVerify(session.accessToken, hmac);
    return { code: "OK_AUTHENTICATED" };
  },
};
cases["jose+authjs"] = [peer, authjsCookie];
const url = "https://app.example/api/x";
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < 9; round++) for (const [k, [g, cookie]] of Object.entries(cases)) {
  const req = { url, headers: { cookie } };
  for (let i = 0; i < 200; i++) await g.decide(req);
  const s = performance.now();
  for (let i = 0; i < 2000; i++) { const d = await g.decide(req); if (d.code !== "OK_AUTHENTICATED") throw new Error(k + d.code); }
  times[k].push((performance.now() - s) / 2000 * 1000);
}
const med = (x) => x.sort((a, b) => a - b)[x.length >> 1];
const peerMedian = med(times["jose+authjs"]);
for (const [k, t] of Object.entries(times)) {
  console.log(`${k.padEnd(12)} ${med(t).toFixed(1).padStart(7)} µs per decision  ${(med(t) / peerMedian).toFixed(2)}× the peer (median of 9 rounds of 2000)`);
}
