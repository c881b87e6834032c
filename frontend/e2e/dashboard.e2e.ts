// End-to-end: the built dashboard served by the real API server, in headless Chromium.
// Every number checked here is compared with what the API itself returns.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type {
  CurrentPositions,
  DecisionList,
  Job,
  ModelStatsResponse,
  PnlSeriesResponse,
  StockDetail,
} from "../src/api/types";
import { fixed, int, money, parseShown, pct } from "../src/lib/format";
import { dividendTests } from "./dividendArena";
import { issue12Tests } from "./issue12";
import { liveTests } from "./live";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Flags for Debian's Chromium as root on a machine without outside network (see API_NOTES).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const base = inject("baseUrl");
const shots = inject("screenshotDir");
const jobConfig = inject("jobConfig");

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function shot(name: string, on: Page = page): Promise<void> {
  await on.evaluate(() => window.scrollTo(0, 0));
  await on.screenshot({ path: join(shots, name), fullPage: true });
}

function watch(p: Page): void {
  p.on("pageerror", (err) => pageErrors.push(String(err)));
  p.on("console", (msg) => {
    if (msg.type() !== "error") return;
    pageErrors.push(`${msg.text()} (${msg.location().url})`);
  });
}

/** Poll `check` until it returns true (or fail with `what` after `ms`). */
async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  watch(page);
});

afterAll(async () => {
  await browser?.close();
});

describe("dashboard against the real API", () => {
  it("leaderboard shows exactly the API's numbers, ranked by return", async () => {
    await page.goto(`${base}/app/`);
    await page.locator('table[aria-label="Leaderboard"] tbody tr').first().waitFor();
    const stats = await api<ModelStatsResponse>("/api/live/model-stats");
    expect(stats.data.length).toBe(4);

    const order = await page
      .locator('table[aria-label="Leaderboard"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")));
    const expected = [...stats.data]
      .map((s) => ({ id: `lb-row-${s.signature}`, r: s.total_return_pct ?? -Infinity }))
      .concat([{ id: "lb-row-benchmark", r: stats.benchmark?.total_return_pct ?? -Infinity }])
      .sort((a, b) => b.r - a.r)
      .map((x) => x.id);
    expect(order).toEqual(expected);

    for (const s of stats.data) {
      const row = page.locator(`[data-testid="lb-row-${s.signature}"]`);
      const cell = (col: string) => row.locator(`[data-col="${col}"]`).innerText();
      // rendered text is the API value, formatted
      expect(await cell("total_return_pct")).toBe(pct(s.total_return_pct, 2, true));
      expect(await cell("equity")).toBe(money(s.equity));
      expect(await cell("sharpe")).toBe(fixed(s.sharpe));
      expect(await cell("max_drawdown_pct")).toBe(pct(s.max_drawdown_pct));
      expect(await cell("win_rate_pct")).toBe(pct(s.win_rate_pct, 1));
      expect(await cell("trades")).toBe(int(s.trades));
      expect(await cell("fees_paid")).toBe(money(s.fees_paid));
      expect(await cell("llm_errors")).toBe(int(s.llm_errors));
      expect(await cell("windows_done")).toBe(int(s.windows_done));
      // and reads back as the API number (to the shown precision)
      expect(parseShown(await cell("equity"))).toBeCloseTo(s.equity, 2);
      expect(parseShown(await cell("total_return_pct"))).toBeCloseTo(s.total_return_pct ?? NaN, 2);
      expect(parseShown(await cell("fees_paid"))).toBeCloseTo(s.fees_paid, 2);
      expect(await row.locator('[data-col="tokens_in"]').getAttribute("data-value")).toBe(
        String(s.tokens_in),
      );
    }
    const bench = page.locator('[data-testid="lb-row-benchmark"]');
    expect(await bench.locator('[data-col="total_return_pct"]').innerText()).toBe(
      pct(stats.benchmark?.total_return_pct, 2, true),
    );
    expect(await page.getByTestId("lb-updated").innerText()).toContain("Updated 20");
    await shot("arena.png");
  });

  it("PnL chart draws every agent and the benchmark, with hover values and valuation toggle", async () => {
    const market = await api<PnlSeriesResponse>("/api/live/pnl-series?valuation=market");
    const chart = page.locator('svg[aria-label^="Return of every agent"]');
    await chart.waitFor();
    const lines = await chart
      .locator("path[data-series]")
      .evaluateAll((ps) => ps.map((p) => p.getAttribute("data-series")));
    expect(lines).toEqual([
      ...market.series.map((s) => s.signature),
      market.benchmark?.signature,
    ]);
    // every path has one vertex per window
    const first = market.series[0];
    const d = await chart.locator(`path[data-series="${first?.signature}"]`).getAttribute("d");
    expect((d ?? "").split(/[ML]/).filter(Boolean)).toHaveLength(first?.points.length ?? -1);

    // hover the last window: the tooltip lists each agent's return at that window
    await chart.scrollIntoViewIfNeeded();
    const box = await chart.boundingBox();
    if (!box) throw new Error("chart has no box");
    await page.mouse.move(box.x + box.width - 45, box.y + box.height / 2);
    const tip = page.getByRole("tooltip");
    await tip.waitFor();
    const last = first?.points[first.points.length - 1];
    expect(await tip.innerText()).toContain(last?.time ?? "?");
    for (const s of market.series) {
      const p = s.points[s.points.length - 1];
      expect(await tip.innerText()).toContain(pct(p?.return_pct, 2, true));
    }
    await shot("chart-hover.png");

    // cost valuation: the chart refetches and shows the cost series
    const cost = await api<PnlSeriesResponse>("/api/live/pnl-series?valuation=cost");
    await page.getByRole("button", { name: "Cost", exact: true }).click();
    await page.locator('svg[aria-label$="(cost valuation)"]').waitFor();
    await page.getByRole("button", { name: "Equity", exact: true }).click();
    const eqChart = page.locator('svg[aria-label^="Equity of every agent"]');
    await eqChart.waitFor();
    await eqChart.scrollIntoViewIfNeeded();
    const eqBox = await eqChart.boundingBox();
    if (!eqBox) throw new Error("chart has no box");
    await page.mouse.move(eqBox.x + eqBox.width - 45, eqBox.y + eqBox.height / 2);
    await tip.waitFor();
    for (const s of cost.series) {
      const p = s.points[s.points.length - 1];
      expect(await tip.innerText()).toContain(money(p?.equity, 0));
    }
    await shot("chart-cost-equity.png");
  });

  it("agent detail shows holdings and the decision timeline from the records", async () => {
    const stats = await api<ModelStatsResponse>("/api/live/model-stats");
    const leader = [...stats.data].sort(
      (a, b) => (b.total_return_pct ?? 0) - (a.total_return_pct ?? 0),
    )[0];
    if (!leader) throw new Error("no agents");
    const sig = leader.signature;
    await page.goto(`${base}/app/`);
    await page.locator(`[data-testid="lb-row-${sig}"] a.agent-name`).click();
    await page.waitForURL(`**/app/#/agent/${sig}`);

    const decisions = await api<DecisionList>(
      `/api/live/recent-decisions?signature=${sig}&limit=20`,
    );
    const positions = await api<CurrentPositions>(`/api/live/current-positions?signature=${sig}`);
    const cards = page.getByTestId("decision");
    await cards.first().waitFor();
    expect(await cards.count()).toBe(decisions.count);
    expect(await cards.first().getAttribute("data-window")).toBe(decisions.data[0]?.window_id);
    expect(await cards.first().innerText()).toContain(decisions.data[0]?.reasoning ?? "");

    const holdings = page.locator('table[aria-label="Holdings"] tbody tr');
    if (positions.holdings.length > 0) {
      await holdings.first().waitFor();
      expect(await holdings.count()).toBe(positions.holdings.length);
      const h = positions.holdings[0];
      const row = page.getByTestId(`holding-${h?.symbol}`);
      expect(await row.innerText()).toContain(money(h?.unrealized_pnl));
    }

    // a window with a trade: its tool call opens to show the arguments and the result
    const tradedIndex = decisions.data.findIndex((x) => x.trades.length > 0);
    if (tradedIndex >= 0) {
      const dec = decisions.data[tradedIndex];
      const card = cards.nth(tradedIndex);
      const call = dec?.tool_calls[0];
      const summary = card.locator("details summary").first();
      await summary.click();
      const body = card.locator("details .tool-body").first();
      await body.waitFor();
      const args = JSON.parse(String(call?.arguments)) as Record<string, unknown>;
      for (const value of Object.values(args)) expect(await body.innerText()).toContain(String(value));
      const trade = dec?.trades[0];
      expect(await card.locator("table.trades").innerText()).toContain(money(trade?.notional));
    }
    await shot("agent.png");
  });

  it("stock view marks the agents' trades on the price line", async () => {
    const decisions = await api<DecisionList>("/api/live/recent-decisions?limit=200");
    const symbol = decisions.data.flatMap((d) => d.trades.map((t) => t.symbol))[0] ?? "SH688008";
    const detail = await api<StockDetail>(`/api/live/stock-detail?symbol=${symbol}`);
    await page.goto(`${base}/app/#/stock/${symbol}`);
    const chart = page.locator(`svg[aria-label^="${symbol} price per decision window"]`);
    await chart.waitFor();
    expect(await chart.locator("path.marker").count()).toBe(
      detail.trades.filter((t) => t.price !== null).length,
    );
    const rows = page.locator('table[aria-label="Agent trades"] tbody tr');
    expect(await rows.count()).toBe(detail.trades.length);
    await shot("stock.png");
  });

  it("starts a job from the Jobs view, watches it and stops it", async () => {
    await page.goto(`${base}/app/#/jobs`);
    const select = page.getByRole("combobox", { name: "Config" });
    await select.waitFor();
    await select.selectOption(jobConfig);
    await expect.poll(() => page.getByLabel("Start date").inputValue()).toBe("2025-09-01");
    expect(await page.getByLabel("End date").inputValue()).toBe("2025-12-31");
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f]+$/);
    const jobId = decodeURIComponent(new URL(page.url()).hash.split("/").pop() ?? "");

    const detail = page.getByTestId("job-detail");
    const status = detail.getByTestId("job-status");
    await until("the job to run", async () => (await status.innerText()) === "running");
    await until("per-agent progress", async () => {
      const job = await api<Job>(`/api/job/${jobId}`);
      return job.agents.length === 4 && job.agents.some((a) => a.windows_done > 0);
    });
    await until("agent rows", async () => (await detail.locator('[data-testid^="job-agent-"]').count()) === 4);
    await until("progress in the UI", async () => {
      const now = await detail.getByRole("progressbar").first().getAttribute("aria-valuenow");
      return Number(now) > 0;
    });
    const listRow = page.locator(`[data-testid="job-row-${jobId}"]`);
    await until("the job's progress in the list", async () => {
      if ((await listRow.count()) !== 1) return false;
      return Number(await listRow.getByRole("progressbar").getAttribute("aria-valuenow")) > 0;
    });
    await shot("jobs-running.png");

    const before = await api<Job>(`/api/job/${jobId}`);
    expect(before.status).toBe("running");
    await detail.getByRole("button", { name: "Stop" }).click();
    await until("the job to stop", async () => (await status.innerText()) === "stopped");
    const job = await api<Job>(`/api/job/${jobId}`);
    expect(job.status).toBe("stopped");
    expect(job.log_tail.length).toBeGreaterThan(0);
    await until("the log tail", async () =>
      (await detail.getByTestId("job-log").innerText()).includes(job.log_tail[0] ?? "\u0000"),
    );
    expect(await detail.getByRole("button", { name: "Stop" }).count()).toBe(0);
    await shot("jobs-stopped.png");
  });

  const ctx = { base, browser: () => browser, page: () => page, api, shot, watch };
  issue12Tests(ctx);
  liveTests(ctx);
  dividendTests(ctx);

  it("raised no errors in the page", () => {
    expect(pageErrors).toEqual([]);
  });

  // Last: takes the server down for good (teardown copes with an exited server).
  it("shows the server as down, keeps the last data and backs off", async () => {
    await page.goto(`${base}/app/`);
    const table = page.locator('table[aria-label="Leaderboard"]');
    await table.waitFor();
    await until("the API badge", async () => (await page.locator(".server").innerText()).includes("API 0."));
    process.kill(inject("serverPid"), "SIGTERM");
    await until(
      "the unreachable badge",
      async () => (await page.locator(".server").innerText()).includes("API unreachable"),
      20_000,
    );
    await until(
      "the stale-data banner",
      async () =>
        (await page.getByRole("alert").allInnerTexts()).some((t) =>
          /Could not load leaderboard: API server unreachable\. Showing the last data received\. Retrying in \d+ s/.test(t),
        ),
      20_000,
    );
    expect(await table.isVisible()).toBe(true);
    await shot("server-down.png");
  });
});
