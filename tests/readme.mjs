// The README's code blocks, for the tests that check or run them (tests/node/docs.test.mjs
// type-checks them all; tests/e2e/authjs.test.mjs runs the next-auth migration as written).
import assert from "node:assert/strict";

/** The ```ts blocks of a Markdown file: `{ file, line, kind, text }`. */
export function blocks(markdown, file) {
  const found = [];
  for (const m of markdown.matchAll(/^```ts([^\n]*)\n([^]*?)^```$/gm)) {
    const kind = m[1].trim() || "file";
    assert.ok(["file", "fragment", "options"].includes(kind), `${file}: an unknown block kind "${kind}"`);
    found.push({ file, line: markdown.slice(0, m.index).split("\n").length, kind, text: m[2] });
  }
  return found;
}

/** Where a block goes: the file its first line names, else snippet.ts. */
export function fileName({ text }) {
  return /^\/\/ ([\w./[\]-]+\.tsx?)\b/.exec(text)?.[1] ?? "snippet.ts";
}

