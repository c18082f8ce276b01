export default async function Login({ searchParams }: { searchParams: Promise<{ returnTo?: string }> }) {
  const { returnTo } = await searchParams;
  return (
    <main>
      <h1>Sign in</h1>
      <p>Demo sign-in: any name works (a stand-in for your identity provider).</p>
      <form action="/api/login" method="post">
        <input type="hidden" name="returnTo" value={returnTo ?? "/dashboard"} />
        <label>
          Name <input name="name" defaultValue="demo-user" />
        </label>{" "}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
