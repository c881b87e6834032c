// Browser check that the dashboard shows the dividend a real run recorded (the run and its
// dataset: dividendData.ts, made in globalSetup). Registered from dashboard.e2e.ts.
import { expect, inject, it } from "vitest";
import type { CorporateActionList } from "../src/api/types";
import { int, money } from "../src/lib/format";
import { DIVIDEND_AGENT, EX_DATE } from "./dividendData";
import type { E2eContext } from "./issue12";

export function dividendTests(ctx: E2eContext): void {
  it("shows the dividend a real run recorded in the decision timeline and the agent's table", async () => {
    const arena = inject("dividendArena");
    const list = await ctx.api<CorporateActionList>(
      `/api/live/corporate-actions?arena=${arena}&signature=${DIVIDEND_AGENT}`,
    );
    expect(list.data.map((a) => [a.kind, a.symbol, a.ex_date, a.cash_per_share])).toEqual([
      ["dividend", "SH688008", EX_DATE, 0.2],
    ]);
    const [d] = list.data;
    // held one day: 20 % tax
    expect(d?.tax).toBe(Math.round((d?.gross ?? 0) * 20) / 100);
    const page = ctx.page();
    await page.goto(`${ctx.base}/app/?arena=${arena}#/agent/${DIVIDEND_AGENT}`);
    const line = page.locator(`[data-window="${EX_DATE}T10:30"] [data-testid="corporate-action"]`);
    await line.waitFor();
    expect(await line.innerText()).toBe(
      `Dividend SH688008 0.20/share × ${int(d?.shares)}: +${money(d?.net)} (tax ${money(d?.tax)})`,
    );
    const row = page.getByRole("table", { name: "Dividends and bonus shares" }).getByTestId("corporate-row");
    expect(await row.count()).toBe(1);
    expect(await row.innerText()).toContain(`+${money(d?.net)}`);
    await ctx.shot("agent-dividend.png");
    await page.goto(`${ctx.base}/app/#/`); // the default arena again
  });
}
