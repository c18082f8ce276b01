export default function Home() {
  return (
    <main>
      <h1>edgegate demo</h1>
      <p>
        <code>/dashboard</code> and <code>/api/*</code> are gated by edgegate in{" "}
        <code>middleware.ts</code>. Pages without a valid token redirect to <code>/login</code>;
        the API answers 401. Signed-in requests reach the Express backend with{" "}
        <code>Authorization: Bearer</code>, which it verifies again with express-jwt.
      </p>
      <p><a href="/dashboard">Open the dashboard</a></p>
    </main>
  );
}
