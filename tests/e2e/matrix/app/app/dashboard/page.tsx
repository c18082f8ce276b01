export const dynamic = "force-dynamic";
export default function Dashboard() {
  return <p>dashboard</p>;
}
