// Node (Next's proxy.ts and Node middleware, Hono and Express servers, tests): the bytes are
// a base64 string in a JS module, the one form every bundler copies as is. Reading the file
// beside this module broke under webpack, whose stand-in for `new URL(…, import.meta.url)`
// fs cannot open, and after esbuild, which leaves the URL pointing beside the bundle.
import { Buffer } from "node:buffer";
import bytes from "../wasm/bytes.js";

export const loadWasm = () => Buffer.from(bytes, "base64");
