// Cold start inside workerd (bench/cold-workerd.mjs): only the first step of edgegate's, the
// wasm instantiated on the first request (as the shim does) and no gate built.
import module from "../../js/wasm/edgegate_bg.wasm";
import { initSync } from "../../js/wasm/edgegate.js";

let ready = false;
export default {
  fetch() {
    if (!ready) initSync({ module });
    ready = true;
    return new Response("ok");
  },
};
