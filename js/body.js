// edgegate: the request body, read only when the engine asks for it (a back-channel
// logout's form), and never more of it than the engine's limit and one byte: a longer body
// reaches the engine as a string over the limit, which it refuses.
const decoder = () => new TextDecoder("utf-8", { fatal: false });

// How much of a Node request past the limit is read and dropped so that the client gets
// the answer; beyond it the connection is closed.
const DRAIN = 1024 * 1024;

/**
 * The body of `request` as UTF-8, at most `maxBytes + 1` bytes of it: a WHATWG `Request`
 * (its `body` stream), or any object whose `body` is a string, bytes, a web
 * `ReadableStream` or an async iterable of chunks (Node's `IncomingMessage`). No body: "".
 */
export async function readBody(request, maxBytes) {
  const body = request.body;
  if (body == null) return "";
  if (typeof body === "string") return body.slice(0, maxBytes + 1);
  if (body instanceof Uint8Array) return decoder().decode(body.subarray(0, maxBytes + 1));
  const chunks = [];
  let size = 0;
  const take = (chunk) => {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk.buffer ?? chunk, chunk.byteOffset ?? 0, chunk.byteLength);
    chunks.push(bytes.subarray(0, maxBytes + 1 - size));
    size += bytes.byteLength;
    return size > maxBytes;
  };
  if (typeof body.getReader === "function") {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || take(value)) break;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  } else if (typeof body[Symbol.asyncIterator] === "function") {
    // Leaving `for await` destroys a Node request, and its socket with it, before the
    // answer (400) is written: the rest is read and dropped, up to a megabyte.
    let over = false;
    let dropped = 0;
    for await (const chunk of body) {
      if (!over) over = take(chunk);
      else if ((dropped += chunk.byteLength ?? chunk.length) > DRAIN) break;
    }
  } else {
    throw new TypeError("edgegate: the request body is neither a string, bytes nor a stream");
  }
  const all = new Uint8Array(Math.min(size, maxBytes + 1));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return decoder().decode(all);
}
