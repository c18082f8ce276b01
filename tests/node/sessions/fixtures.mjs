// Writes tests/data/sessions.json: session-cookie vectors for the gate's Rust tests, built
// with the real libraries (make.mjs, vectors.mjs). For every vector it also records what the
// library's own read path does with it (read.mjs → `library`) and checks that a reference
// model written from FORMATS.md (reference.mjs) gives `expect`; it stops on any disagreement
// that is not explained by the vector's `library_differs`.
//
//   cd tests/node && node sessions/fixtures.mjs            (writes ../data/sessions.json)
//   cd tests/node && node sessions/fixtures.mjs --check    (re-judges the committed file)
//
// The libraries use random IVs and jti, so each run writes different bytes: the file is
// generated once and committed; --check re-judges the committed vectors.
import { readFileSync, writeFileSync } from "node:fs";
import * as make from "./make.mjs";
import { BACKEND_KEY, buildVectors, judge, judged, kdfTable, NOW, TOKEN, TOKEN_EXPIRED, TOKEN_LONG, versions } from "./vectors.mjs";

const OUT = new URL("../../data/sessions.json", import.meta.url);

if (process.argv.includes("--check")) {
  const file = JSON.parse(readFileSync(OUT, "utf8"));
  let bad = 0;
  for (const v of file.vectors) {
    const { problems } = await judge(v);
    if (problems.length) {
      bad++;
      console.error(`✗ ${v.name}\n    ${problems.join("\n    ")}`);
    }
  }
  if (bad) process.exit(1);
  console.log(`${file.vectors.length} vectors in tests/data/sessions.json agree with the libraries and the reference model`);
} else {
  const file = {
    generated_by: "cd tests/node && node sessions/fixtures.mjs (tests/node/sessions/README.md)",
    packages: versions,
    about:
      "Session cookies written by the real libraries (make.mjs). expect = what the gate should do; library = what the library's own read path does (read.mjs); library_differs says why they differ. secure/scheme: the request's scheme, which picks the cookie name where the format has two. secrets: the gate's list, first = current. now: judge at this unix time. session_exp: exp of the session (JWE payload exp; Auth0 v3: protected header exp; Kinde: the token's exp).",
    now: NOW,
    backend_token_key: { alg: "HS256", secret: BACKEND_KEY, note: "signs every embedded access token (stand-in for an issuer's key; Kinde's library checks the token against the issuer's JWKS)" },
    access_tokens: { short: TOKEN, long: TOKEN_LONG, expired: TOKEN_EXPIRED },
    formats: make.FORMATS,
    kdf: await kdfTable(),
    vectors: await judged(await buildVectors()),
  };
  writeFileSync(OUT, JSON.stringify(file, null, 1) + "\n");
  const by = {};
  for (const v of file.vectors) by[v.format] = (by[v.format] ?? 0) + 1;
  console.log(`wrote ${file.vectors.length} vectors to tests/data/sessions.json`, by);
}
