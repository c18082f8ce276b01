// The absolute URL of a Node request (`http.IncomingMessage`, Express's `req`), whose
// `url` is only the path: the scheme from the socket, the authority from the Host header,
// the path as WHATWG parses it (`\`, dot segments), so that the gate judges what the app
// gets. The Host header sets only the authority: the URL setter stops at its first `/`.
// One function for edgegate/node's decisions and setSession's cookie names, which must agree.
export function nodeUrl(req) {
  const url = new URL(`${req.socket?.encrypted ? "https" : "http"}://localhost${req.url.startsWith("/") ? "" : "/"}${req.url}`);
  url.host = req.headers?.host ?? "";
  return url;
}
