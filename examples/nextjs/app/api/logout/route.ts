import { NextRequest, NextResponse } from "next/server";
import { clearSession } from "edgegate/next";
import { gateOptions } from "../../../gate";

export async function POST(request: NextRequest) {
  const response = new NextResponse(null, { status: 303, headers: { location: "/" } });
  return clearSession(response, { options: gateOptions, request });
}
