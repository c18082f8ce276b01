export default function Home() {
  return (
    <main>
      <h1>edgegate + Auth.js</h1>
      <p><a href="/dashboard">Open the dashboard</a></p>
    </main>
  );
}
