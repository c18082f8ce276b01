// Node (Next 16 proxy.ts, plain servers, tests): read the bytes beside this file.
import { readFile } from "node:fs/promises";

export const loadWasm = () => readFile(new URL("../wasm/edgegate_bg.wasm", import.meta.url));
