// Cloudflare Workers / workerd: wrangler (and Miniflare's CompiledWasm rule) import .wasm
// files as compiled modules.
import module from "../wasm/edgegate_bg.wasm";

export const loadWasm = () => module;
