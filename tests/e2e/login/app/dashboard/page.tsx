"use client";

import { useEffect, useState } from "react";

type Profile = { authenticated: boolean; sub?: string; email?: string; name?: string };
type Stocks = { seenBy: string; stocks: { symbol: string; price: number }[] };

// The profile from the gate's /auth/session (ID-token claims, never tokens) and the
// backend's data through the gate (/api/* with the access token as the bearer).
export default function Dashboard() {
  const [profile, setProfile] = useState<Profile | null>(null);
  const [data, setData] = useState<Stocks | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch("/auth/session").then((r) => r.json()).then(setProfile, (e) => setError(String(e)));
    fetch("/api/stocks")
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setData, (e) => setError(String(e)));
  }, []);
  return (
    <main>
      <h1>Dashboard</h1>
      {error && <p role="alert">Could not load: {error}</p>}
      {profile?.authenticated && <p id="profile">{`${profile.name} <${profile.email}>`}</p>}
      {data && (
        <>
          <p id="seen-by">Backend says you are {data.seenBy}</p>
          <ul id="stocks">
            {data.stocks.map((s) => (
              <li key={s.symbol}>{s.symbol}: {s.price}</li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
