// The example app under `next build && next start`, gated by middleware.ts (Edge runtime)
// and by proxy.ts (Node runtime), in front of the real Express + express-jwt upstream; and a
// real browser signing in through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { buildNext, startNext, startUpstream } from "./helpers.mjs";
import { gateScenarios } from "./scenarios.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

for (const variant of ["middleware", "proxy"]) {
  test(`Next.js ${variant}.ts under next start`, { timeout: 240_000 }, async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.stop());
    const dir = buildNext(variant, upstream.url);
    const next = await startNext(dir);
    t.after(() => next.stop());

    await gateScenarios(t, next.url, upstream.url);

    if (variant !== "middleware") return;
    await t.test("browser: sign in, land on /dashboard, see data fetched through the gate", async (t) => {
      if (!existsSync(CHROMIUM)) {
        console.log(`SKIPPED browser test: no Chromium at ${CHROMIUM}`);
        return t.skip(`no Chromium at ${CHROMIUM}`);
      }
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      t.after(() => browser.close());
      const page = await browser.newPage();
      await page.goto(`${next.url}/dashboard`);
      const login = new URL(page.url());
      assert.equal(login.pathname, "/login");
      assert.equal(login.searchParams.get("returnTo"), "/dashboard");

      await page.fill('input[name="name"]', "carol");
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${next.url}/dashboard`);
      await page.waitForSelector("#seen-by", { timeout: 15_000 });
      assert.equal(await page.textContent("#seen-by"), "Backend says you are carol");
      assert.equal(await page.locator("#stocks li").count(), 2);

      const [session] = (await page.context().cookies()).filter((c) => c.name === "token");
      assert.ok(session?.httpOnly, "the session cookie is httpOnly");
      assert.equal(session.sameSite, "Lax");
      assert.equal(await page.evaluate(() => document.cookie.includes("token=")), false);

      await page.click('nav button[type="submit"]'); // sign out
      await page.waitForURL(`${next.url}/`);
      await page.goto(`${next.url}/dashboard`);
      assert.equal(new URL(page.url()).pathname, "/login");
    });
  });
}
