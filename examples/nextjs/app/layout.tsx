export const metadata = { title: "edgegate demo" };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "3rem auto", lineHeight: 1.5 }}>
        <nav style={{ display: "flex", gap: "1rem", marginBottom: "2rem" }}>
          <a href="/">Home</a>
          <a href="/dashboard">Dashboard</a>
          <a href="/api/stocks">/api/stocks</a>
          {/* Hosted login's logout ends the provider's session too; else the app's own route. */}
          <form action={process.env.OIDC_ISSUER ? "/auth/logout" : "/api/logout"} method="post" style={{ marginLeft: "auto" }}>
            <button type="submit">Sign out</button>
          </form>
        </nav>
        {children}
      </body>
    </html>
  );
}
