"use client";

import { useEffect, useState } from "react";

type BackendView = { sub: string; authorization: string | null; cookie: string | null };

// From the browser, so the session cookie goes with it: the gate turns it into the bearer
// and sends the request on to the backend's /api/whoami.
export default function Whoami() {
  const [data, setData] = useState<BackendView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch("/api/whoami")
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setData, (e) => setError(String(e)));
  }, []);
  if (error) return <p role="alert">Could not reach the backend: {error}</p>;
  if (!data) return <p>Loading…</p>;
  return (
    <>
      <p id="seen-by">Backend says you are {data.sub}</p>
      <pre id="backend-view">{JSON.stringify(data)}</pre>
    </>
  );
}
