// Reads {cases:[{pattern, paths}]} on stdin; for each pattern answers what the real
// path-to-regexp 6.3.0 does with it, alone and wrapped the way Next 16.4's
// getMiddlewareMatchers wraps a matcher source (no i18n, no basePath).
import { pathToRegexp } from "path-to-regexp";

const TRANSPORT = "\\.rsc|\\.segments/.+\\.segment\\.rsc";
const nextSource = (source) =>
  source === "/"
    ? `/:nextData(_next/data/[^/]{1,})?/(/?index|/?index\\.json|/?index(?:${TRANSPORT}))?`
    : `/:nextData(_next/data/[^/]{1,})?${source}{(\\.json|${TRANSPORT})}?`;

function evaluate(source, paths) {
  try {
    const re = pathToRegexp(source);
    return { error: null, matches: paths.map((p) => re.test(p)) };
  } catch (e) {
    return { error: String(e.message), matches: [] };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { cases } = JSON.parse(input);
const results = cases.map(({ pattern, paths }) => ({
  raw: evaluate(pattern, paths),
  next: evaluate(nextSource(pattern), paths),
}));
process.stdout.write(JSON.stringify({ results }));
