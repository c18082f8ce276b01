"use client";

import { useEffect, useState } from "react";

type Profile = { authenticated: boolean; sub?: string; email?: string; name?: string };
type Stocks = { seenBy: string; stocks: { symbol: string; price: number }[] };

/** GETs `url` once: its JSON, or the error. */
function useJson<T>(url: string): { value?: T; error?: string } {
  const [state, setState] = useState<{ value?: T; error?: string }>({});
  useEffect(() => {
    fetch(url)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${url}: HTTP ${r.status}`))))
      .then((value) => setState({ value }), (e) => setState({ error: String(e) }));
  }, [url]);
  return state;
}

// The profile from the gate's /auth/session (ID-token claims, never tokens) and the
// backend's data through the gate (/api/* with the access token as the bearer).
export default function Dashboard() {
  const profile = useJson<Profile>("/auth/session");
  const data = useJson<Stocks>("/api/stocks");
  const error = profile.error ?? data.error;
  return (
    <main>
      <h1>Dashboard</h1>
      {error && <p role="alert">Could not load: {error}</p>}
      {profile.value?.authenticated && <p id="profile">{`${profile.value.name} <${profile.value.email}>`}</p>}
      {data.value && (
        <>
          <p id="seen-by">Backend says you are {data.value.seenBy}</p>
          <ul id="stocks">
            {data.value.stocks.map((s) => (
              <li key={s.symbol}>{s.symbol}: {s.price}</li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
