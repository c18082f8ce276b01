// Node (Next's proxy.ts and Node middleware, Hono and Express servers, tests): the .wasm read
// from disk, the package's one copy of the engine. Where it is depends on who bundled us:
// - nobody, or Turbopack (which emits the file and rewrites this literal URL to it): the
//   first candidate;
// - webpack handles only a literal `new URL(…, import.meta.url)`, into a public-path URL fs
//   cannot open (hence webpackIgnore). The second it leaves alone, with `import.meta.url`
//   fixed to this file where the app was built (`next build && next start` in place); its
//   minifier then folds the name into a literal, which Next's file tracing follows to copy
//   the .wasm into a standalone server;
// - a Next standalone server, moved away from where it was built, chdirs to its folder,
//   whose node_modules holds that traced copy: the last candidates;
// - esbuild and Vite leave both URLs pointing beside the bundle: copy the .wasm there
//   (README, "Bundling a Node server whole"): the third.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { WASM_BYTES } from "../wasm/edgegate.js";

const FILE = "edgegate_bg.wasm";
const HIDDEN = ["..", "wasm", "edgegate_bg.wasm"].join("/");

// Each reads one place; a literal argument to readFileSync is what file tracing follows.
const reads = () => [
  () => readFileSync(new URL(/* webpackIgnore: true */ "../wasm/edgegate_bg.wasm", import.meta.url)),
  () => readFileSync(new URL(HIDDEN, import.meta.url)),
  () => readFileSync(new URL(["."].concat(FILE).join("/"), import.meta.url)),
  ...ancestors(process.cwd()).map((dir) => () => readFileSync(join(dir, "node_modules/edgegate/wasm", FILE))),
];

function ancestors(dir) {
  const all = [dir];
  while (dirname(all.at(-1)) !== all.at(-1)) all.push(dirname(all.at(-1)));
  return all;
}

export function loadWasm() {
  const tried = [];
  for (const read of reads()) {
    let bytes;
    try {
      bytes = read();
    } catch (error) {
      tried.push(error.path ?? error.message);
      continue;
    }
    // Another version's engine (a hoisted copy) would mismatch this glue: keep looking.
    if (bytes.length === WASM_BYTES) return bytes;
    tried.push(`a ${bytes.length}-byte .wasm of another version`);
  }
  const error = new Error(
    `edgegate: its engine (${FILE}, ${WASM_BYTES} bytes) is not where this module can read it. ` +
      `If you bundled a Node server, copy node_modules/edgegate/wasm/${FILE} beside the bundle. ` +
      `Tried: ${[...new Set(tried)].join(", ")}`,
  );
  error.code = "ERR_WASM_NOT_FOUND";
  throw error;
}
