// Rows of the README's compatibility table (scripts/compat.mjs renders them): a test that
// ran its host end to end records the row last, so only a passing run leaves it.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const DIR = new URL("../target/compat/", import.meta.url);

/** `{ host, bundler, runtime, test, bundle? }`: `bundle.file` is where the wasm copy is. */
export function recordCompat(row) {
  mkdirSync(DIR, { recursive: true });
  const slug = [row.host, row.bundler, row.runtime].join("-").replace(/[^\w.-]+/g, "_");
  writeFileSync(new URL(`${slug}.json`, DIR), JSON.stringify(row, null, 2));
}

/** The version of package `name` in the node_modules of directory URL `from`. */
export function versionOf(name, from) {
  return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, from), "utf8")).version;
}
