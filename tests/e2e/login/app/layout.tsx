import Link from "next/link";

export const metadata = { title: "edgegate hosted login" };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> <Link href="/dashboard" id="to-dashboard">Dashboard</Link>
          {/* The gate's logout: a POST from this origin (CSRF-checked), then the provider's end-session. */}
          <form action="/auth/logout" method="post">
            <button id="sign-out" type="submit">Sign out</button>
          </form>
        </nav>
        {children}
      </body>
    </html>
  );
}
