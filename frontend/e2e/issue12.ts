// Browser checks of the issue-12 dashboard additions (sorting, positions, chat feed, experiments,
// fonts, phone width); the arenas, the event stream and the trades view are in live.ts.
// Registered from dashboard.e2e.ts, before its last test takes the server down.
import type { Browser, Page } from "playwright-core";
import { expect, it } from "vitest";
import type { CurrentPositions, DecisionList, ModelStatsResponse } from "../src/api/types";
import type { ExperimentDetail, ExperimentList } from "../src/api/experimentTypes";
import { money } from "../src/lib/format";

export interface E2eContext {
  base: string;
  browser: () => Browser;
  page: () => Page;
  api: <T>(path: string) => Promise<T>;
  shot: (name: string, page?: Page) => Promise<void>;
  watch: (page: Page) => void;
}

export const PHONE = { width: 390, height: 844 };

export function issue12Tests(ctx: E2eContext): void {
  it("sorts the leaderboard by a clicked column", async () => {
    const page = ctx.page();
    await page.goto(`${ctx.base}/app/`);
    const rows = page.locator('table[aria-label="Leaderboard"] tbody tr');
    await rows.first().waitFor();
    const stats = await ctx.api<ModelStatsResponse>("/api/live/model-stats");
    await page.getByRole("button", { name: /^Trades/ }).click();
    const byTrades = [...stats.data].sort((a, b) => b.trades - a.trades || a.signature.localeCompare(b.signature));
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-testid")));
    expect(shown.filter((t) => t !== "lb-row-benchmark")).toEqual(byTrades.map((s) => `lb-row-${s.signature}`));
    await page.getByRole("button", { name: /^Trades/ }).click();
    const reversed = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-testid")));
    const agents = reversed.filter((t) => t !== "lb-row-benchmark");
    const counts = agents.map((t) => stats.data.find((s) => `lb-row-${s.signature}` === t)?.trades ?? -1);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("shows every agent's positions side by side", async () => {
    const page = ctx.page();
    const stats = await ctx.api<ModelStatsResponse>("/api/live/model-stats");
    await page.goto(`${ctx.base}/app/#/positions`);
    for (const s of stats.data) {
      const card = page.getByTestId(`positions-${s.signature}`);
      await card.getByText(/As of/).waitFor();
      const pos = await ctx.api<CurrentPositions>(`/api/live/current-positions?signature=${s.signature}`);
      expect(await card.innerText()).toContain(`equity ${money(pos.equity)}`);
      expect(await card.locator('[data-testid^="holding-"]').count()).toBe(pos.holdings.length);
    }
    const boxes = await Promise.all(
      stats.data.slice(0, 2).map((s) => page.getByTestId(`positions-${s.signature}`).boundingBox()),
    );
    // at desktop width the first two cards sit next to each other
    expect(boxes[0]?.y).toBe(boxes[1]?.y);
    await ctx.shot("positions.png");
  });

  it("opens a decision from the model-chat feed", async () => {
    const page = ctx.page();
    const feed = await ctx.api<DecisionList>("/api/live/recent-decisions?limit=12");
    const first = feed.data[0];
    if (!first) throw new Error("no decisions");
    await page.goto(`${ctx.base}/app/`);
    const item = page.getByTestId("feed-item").first();
    await item.waitFor();
    if (first.reasoning) {
      await item.locator("details.feed-reason summary").click();
      expect(await item.locator("details.feed-reason").getAttribute("open")).toBe("");
    }
    await item.getByTestId("decision-link").click();
    const linked = page.locator('[data-testid="decision"][aria-current="true"]');
    await linked.waitFor();
    expect(await linked.getAttribute("data-window")).toBe(first.window_id);
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/agent/${first.signature}/${first.window_id}`);
  });

  it("lists the experiments and shows a report when there is one", async () => {
    const page = ctx.page();
    const list = await ctx.api<ExperimentList>("/api/experiments");
    const name = list.data.find((e) => e.report_available)?.name ?? list.data[0]?.name;
    if (!name) throw new Error("no experiment files in settings/experiments/");
    const detail = await ctx.api<ExperimentDetail>(`/api/experiments/${name}`);
    await page.goto(`${ctx.base}/app/#/experiments/${name}`);
    if (detail.report) {
      const table = page.locator('table[aria-label="Confidence intervals"]');
      await table.waitFor();
      expect(await table.locator("tbody tr").count()).toBe(detail.report.models.length);
      expect(await page.locator("svg.fan-svg path[data-band]").count()).toBeGreaterThan(0);
    } else {
      await page.getByText(`No report for ${name} yet`).waitFor();
    }
    await ctx.shot("experiments.png");
  });

  it("renders Chinese text with the shipped font", async () => {
    const page = ctx.page();
    await page.goto(`${ctx.base}/app/`);
    await page.locator('table[aria-label="Leaderboard"]').waitFor();
    const loaded = await page.evaluate(async () => {
      const p = document.createElement("p");
      p.textContent = "中芯国际 华润微";
      document.body.append(p);
      const faces = await document.fonts.load('16px "Noto Sans SC"', "中芯国际 华润微");
      return faces.map((f) => `${f.family.replace(/["']/g, "")}:${f.status}`);
    });
    expect(loaded.length).toBeGreaterThan(0);
    expect(new Set(loaded)).toEqual(new Set(["Noto Sans SC:loaded"]));
  });

  it("fits a 390 px phone screen in every view", async () => {
    const context = await ctx.browser().newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    ctx.watch(page);
    try {
      const stats = await ctx.api<ModelStatsResponse>("/api/live/model-stats");
      const sig = stats.data[0]?.signature ?? "";
      for (const [hash, ready] of [
        ["#/", 'table[aria-label="Leaderboard"]'],
        [`#/agent/${sig}`, '[data-testid="decision"]'],
        ["#/positions", '[data-testid^="positions-"]'],
        ["#/trades", '[data-testid="completed-trade"]'],
        ["#/stock", 'svg[aria-label*="price per decision window"]'],
        ["#/experiments", ".chips"],
        ["#/jobs", 'select[aria-label="Config"]'],
      ] as const) {
        await page.goto(`${ctx.base}/app/${hash}`);
        await page.locator(ready).first().waitFor();
        // charts size themselves to their box once laid out (a ResizeObserver callback)
        await expect
          .poll(() => page.evaluate(() => document.documentElement.scrollWidth), {
            message: `page width at ${hash}`,
            timeout: 5_000,
          })
          .toBeLessThanOrEqual(PHONE.width);
        await ctx.shot(`phone-${hash.replace(/[#/]+/g, "-").replace(/^-|-$/g, "") || "arena"}.png`, page);
      }
      // the tabs stay reachable: the last one scrolls into view and works
      await page.getByRole("link", { name: "Jobs" }).click();
      await page.waitForURL(/#\/jobs$/);
    } finally {
      await context.close();
    }
  });
}
