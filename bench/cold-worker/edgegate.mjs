// Cold start inside workerd (bench/cold-workerd.mjs): the Worker a user writes with
// edgegate/worker, its options from a JSON binding. The first request builds the gate.
import { gateWorker } from "edgegate/worker";

export default gateWorker((env) => env.OPTIONS, () => new Response("ok"));
