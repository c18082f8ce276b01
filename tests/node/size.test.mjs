// The size budget of the built .wasm, gzipped. The target (issue 5) is 120 KB for all
// algorithms; it is not met yet, so this test holds the line where the module is now and
// fails on any regression. Lower CEILING as the module shrinks; never raise it silently
// (it went from 280 to 300 KiB when the release profile moved to opt-level 3 for speed, and
// to 292 KiB when signature parsing stopped linking anyhow's backtrace printing, which
// made room for upstream routing and the route mark; and to 310 KiB for the sealed sessions
// of Auth.js, next-auth and nextjs-auth0: AES-GCM, AES-CBC with HMAC-SHA-512, HKDF, the
// formats and their options measured +19.5 KB gzipped, 295,508 → 315,041; the performance
// issue owes the 300 KiB back, with host WebCrypto for them and for signatures). Down to
// 280 KiB when RSA, ECDSA and Ed25519 left the default build for the host's crypto (the
// engine's own behind the `rust-crypto` feature), keys were read without big integers and
// HMAC became the `hmac` crate's: 356,233 → 285,637 measured here (with hosted login in it,
// which had cost +40 KB gzipped: 316,798 → 356,233). Then 290 KiB for refresh coordination
// across instances (its options, the store protocol, sealing and opening outcomes: +7.6 KB
// gzipped measured on its own, 357,594 → 365,163 before the host-crypto cut): 295,769.
// Then 291 KiB, +1.8 KB gzipped (295,773 → 297,602), for the architecture round: the
// pipeline as named steps (+~1 KB; `rule`, `refreshing`, `guard` and `vouched` kept out of
// line took 0.5 KB of it back), the judged destination of transport spellings on every
// host (~1 KB), hosted login's appBaseUrl check, the cnf refusal, the engine's own
// private mark on answers with cookies, and the durations table. Owed back by the weight
// issue (a lead: cargo's module, before wasm-bindgen, links core::fmt's float formatting,
// dragon and grisu, ~18 KB raw). Meanwhile pass-through decisions and the cold-start split
// took it to 301,172, over that line; then the options read by hand instead of serde's
// derived visitors (src/config/read.rs; the float formatting went with their messages):
// 731,623 → 683,079 raw, 301,172 → 283,493 gzipped: 278 KiB. Then 279 KiB, +1.2 KB, for
// what first contact needed: each session library's routes, sign-in page and return
// parameter, and the refusals of what unset environment variables leave in options (an
// empty clientSecret, `undefined` in a URL): 283,493 → 284,649. Chunked session cookies
// and exceptions matched without a regex (+1.9 KB) were nearly paid for by keeping ASCII
// case-insensitive comparisons out of line (src/http.rs `same_name`, −1.7 KB; not in the
// per-header forwarding check, where the call cost a cache hit 4%): 285,277 → 285,497.
// ES384 and ES512 (host-checked in this build: the curve in the key, the hash in the
// host's parameters) came with EC keys held by curve, not P-256 alone: 284,746; the
// matcher's syntax scan by bytes, not chars: 284,626. The review's mends to chunked
// cookies (every chunk removed at logout, the whole Cookie header in the write budget, a
// floor on chunk size) took it to 284,955: still 279 KiB, 0.3 KB short of 278. Then
// 282 KiB for private_key_jwt (issue 28): the JWK's checks, the assertion written by hand
// (not through serde_json's Value serializer, which would link float formatting) and the
// ticket's new field, +3.4 KB gzipped (284,955 → 288,322), owed back by the weight issue
// (its lever: the cold parts, login among them, in a crate of their own at opt-level "z").
// Then 279 KiB: no slice sort linked at all (two driftsort instances, from collecting
// option maps and a fetch ticket's headers into BTreeMaps, −6.2 KB gzipped), which paid
// for pushed authorization requests (issue 28, +2.2 KB): 288,404 → 284,414 (node's zlib).
// Then 276 KiB: the host's pending signature checks in a list, not a B-tree map of their
// own (−3.5 KB): 280,853. Then 270 KiB: every JSON value written by serde_json::to_string
// (Value's Display linked two more serializers, −1.4 KB), and durations' numbers read by
// hand instead of f64::from_str (−5.0 KB): 275,162, with PAR's review mends. Then 269 KiB:
// the answers' JSON (decisions, fetch tickets, traces) written member by member instead
// of through derived Serialize structs, one serializer instance per field type (−1.5 KB):
// 273,629. Then 267 KiB: provider calls in flight (64 at most) in a list, not two hash
// maps by key and by id (−2.0 KB): 271,610. Then 266 KiB, back-channel logout (issue 28:
// the route, the records, the session check; +9.6 KB gzipped as written, +19 KB of code at
// LLVM's -O3 inlining) paid for by the inliner's threshold at 150 across the LTO'd module
// (.cargo/config.toml, −10 KB; ten hot-path helpers marked #[inline] so the hot path keeps
// them, bench/ab.mjs at parity) and options' JSON errors without serde_json's wording
// (−1.5 KB): 271,771. Then 268 KiB, +2.1 KB, for form_post callbacks (the callback's body,
// the cross-site transaction cookie) and the review's mends to back-channel logout (who
// logged in sealed even for an ID token too large for a cookie, records written before the
// jti and a sub's time only moved later, sessions of another issuer's access tokens):
// 273,891. Owed back by the weight issue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const TARGET = 120 * 1024;
const CEILING = 268 * 1024;

test(`gzipped .wasm stays under ${CEILING} bytes (target ${TARGET})`, () => {
  const wasm = readFileSync(new URL("../../js/wasm/edgegate_bg.wasm", import.meta.url));
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  console.log(`wasm: ${wasm.length} bytes raw, ${gzipped} gzipped; ceiling ${CEILING}, target ${TARGET} (${gzipped <= TARGET ? "met" : "missed"})`);
  assert.ok(gzipped <= CEILING, `${gzipped} bytes gzipped exceeds the ${CEILING}-byte ceiling`);
});
