"use client";

import { useEffect, useState } from "react";

type Stocks = { seenBy: string; stocks: { symbol: string; price: number }[] };

export default function Dashboard() {
  const [data, setData] = useState<Stocks | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch("/api/stocks")
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setData, (e) => setError(String(e)));
  }, []);
  return (
    <main>
      <h1>Dashboard</h1>
      {error && <p role="alert">Could not load stocks: {error}</p>}
      {!data && !error && <p>Loading…</p>}
      {data && (
        <>
          <p id="seen-by">Backend says you are {data.seenBy}</p>
          <ul id="stocks">
            {data.stocks.map((s) => (
              <li key={s.symbol}>
                {s.symbol}: {s.price}
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
