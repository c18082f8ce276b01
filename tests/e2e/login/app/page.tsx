import Link from "next/link";

// Next prefetches both links as soon as they are visible (production): neither prefetch
// may start a login (no transaction cookie, no redirect to the provider).
export default function Home() {
  return (
    <main>
      <h1>Home</h1>
      <p><Link href="/dashboard" prefetch={true} id="open-dashboard">Open the dashboard</Link></p>
      <p><Link href="/auth/login?returnTo=/dashboard" prefetch={true} id="sign-in">Sign in</Link></p>
    </main>
  );
}
