// Next.js Edge runtime (middleware.ts): the bundler compiles the wasm at build time.
import module from "../wasm/edgegate_bg.wasm?module";

export const loadWasm = () => module;
