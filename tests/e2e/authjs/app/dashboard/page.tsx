import { headers } from "next/headers";
import { auth } from "../../auth";
import Whoami from "./whoami";

export const dynamic = "force-dynamic";

// Server side, what the page itself receives from the gate: the bearer, and whether Auth.js's
// auth() still finds its session cookie (the gate removes it from a request it authenticated).
export default async function Dashboard() {
  const bearer = (await headers()).get("authorization")?.startsWith("Bearer ") ?? false;
  const session = await auth();
  return (
    <main>
      <h1>Dashboard</h1>
      <p id="server-bearer">{bearer ? "bearer" : "no bearer"}</p>
      <p id="server-session">{session?.user?.name ?? "no session"}</p>
      <Whoami />
    </main>
  );
}
