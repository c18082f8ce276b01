// npm's prepack and postpack (package.json "scripts"), around `npm pack` and `npm publish`.
// `copy`: the license texts live once, at the repository root (the crate ships them from
// there); npm packs only files inside js/, so they are copied in for the tarball and
// `clean` removes the copies afterwards (.gitignore keeps a leftover out of git). `copy`
// also refuses to pack without the engine: js/wasm/ is build output (scripts/build).
import { copyFileSync, existsSync, rmSync } from "node:fs";

const js = new URL("../", import.meta.url);
const licenses = ["LICENSE-MIT", "LICENSE-APACHE"];

switch (process.argv[2]) {
  case "copy":
    if (!existsSync(new URL("wasm/edgegate_bg.wasm", js))) {
      console.error("edgegate: js/wasm/edgegate_bg.wasm is missing; run scripts/build before packing");
      process.exit(1);
    }
    for (const name of licenses) copyFileSync(new URL(`../${name}`, js), new URL(name, js));
    break;
  case "clean":
    for (const name of licenses) rmSync(new URL(name, js), { force: true });
    break;
  default:
    console.error("usage: node scripts/pack.mjs copy|clean");
    process.exit(2);
}
