// Cold start inside workerd (bench/cold-workerd.mjs): the baseline, a Worker that only answers.
export default { fetch: () => new Response("ok") };
