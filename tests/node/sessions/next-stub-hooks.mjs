// Module hooks for read.mjs: Kinde's session manager imports `next/headers` at its top but
// calls it only for App Router requests. The Pages Router path (a plain { cookies } request),
// which read.mjs uses, never touches it, so a stub lets the real module load without Next.
const stub =
  "data:text/javascript," +
  encodeURIComponent(
    'export function cookies() { throw new Error("next/headers is stubbed in tests/node/sessions"); }',
  );

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "next/headers") return { url: stub, shortCircuit: true };
  return nextResolve(specifier, context);
}
