// A Worker that builds a gate from the options it is sent (cached per options) and returns
// the decision for one bearer token: lets the tests compare verdicts inside workerd.
import { createGate, type Gate } from "edgegate";

const gates = new Map<string, Promise<Gate>>();

export default {
  async fetch(request: Request): Promise<Response> {
    const { options, token } = (await request.json()) as { options: any; token: string };
    const id = JSON.stringify(options);
    if (!gates.has(id)) gates.set(id, createGate(options));
    const gate = await gates.get(id)!;
    const decision = await gate.decide({ url: "https://w.example/api/x", headers: { authorization: `Bearer ${token}` } });
    return Response.json(decision);
  },
};
