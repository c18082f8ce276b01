import { NextResponse } from "next/server";
import dev from "../../../dev-config.json";

export async function POST() {
  const response = new NextResponse(null, { status: 303, headers: { location: "/" } });
  response.cookies.delete(dev.cookie);
  return response;
}
