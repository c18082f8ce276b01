// Browsers, Deno and other hosts with fetch: load the wasm from beside this module.
export async function loadWasm() {
  const response = await fetch(new URL("../wasm/edgegate_bg.wasm", import.meta.url));
  if (!response.ok) throw new Error(`edgegate: could not load its wasm (${response.status})`);
  return response.arrayBuffer();
}
