// The pages of the hosted-login test apps that are not Next (the Worker in worker/login.ts,
// the reference relying party in login-rp.mjs), with the same element ids as the Next
// app's: #profile (from /auth/session), #seen-by and #stocks (the backend's data through
// /api/stocks), #sign-out (a form POSTing to /auth/logout), #login-error.

/** A whole HTML document: the navigation (with the sign-out form) and `body`. */
export const page = (body) =>
  `<!doctype html><html><body><nav><a href="/">Home</a> <a href="/dashboard">Dashboard</a>` +
  `<form action="/auth/logout" method="post"><button id="sign-out" type="submit">Sign out</button></form></nav>${body}</body></html>`;

export const home = page("<main><h1>Home</h1></main>");

export const dashboard = page(`<main><h1>Dashboard</h1><p id="profile" hidden></p><p id="seen-by" hidden></p><ul id="stocks"></ul></main>
<script>
fetch("/auth/session").then((r) => r.json()).then((p) => {
  if (!p.authenticated) return;
  const el = document.getElementById("profile");
  el.textContent = p.name + " <" + p.email + ">";
  el.hidden = false;
});
fetch("/api/stocks").then((r) => r.json()).then((d) => {
  const el = document.getElementById("seen-by");
  el.textContent = "Backend says you are " + d.seenBy;
  el.hidden = false;
  for (const s of d.stocks) {
    const li = document.createElement("li");
    li.textContent = s.symbol + ": " + s.price;
    document.getElementById("stocks").append(li);
  }
});
</script>`);

/** The errorUrl page: the code from ?error= (only A–Z and _ are shown). */
export const loginError = (code) =>
  page(`<main><h1>Sign-in failed</h1><p id="login-error">${String(code ?? "").replace(/[^A-Z_]/g, "")}</p></main>`);
