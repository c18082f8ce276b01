// Cold start inside workerd (bench/cold-workerd.mjs): edgegate's first two steps, the wasm
// instantiated and the gate built from the options on the first request, and no decision.
import module from "../../js/wasm/edgegate_bg.wasm";
import { Gate, initSync } from "../../js/wasm/edgegate.js";

let gate;
export default {
  fetch(request, env) {
    if (!gate) {
      initSync({ module });
      gate = new Gate(env.OPTIONS);
    }
    return new Response("ok");
  },
};
