// Browser checks of issue 12 against the real server's arenas, event stream and trades:
// the Trades view, a fill pushed by the stream (no poll), and a second config's arena started
// from the Jobs view and followed live. Registered from dashboard.e2e.ts before the server stops.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, inject, it } from "vitest";
import type { CurrentPositions, Job, ModelStatsResponse, TradesResponse } from "../src/api/types";
import { int, money } from "../src/lib/format";
import { LIVE_INTERVAL_MS } from "../src/lib/intervals";
import { ROOT, baselineConfig } from "./globalSetup";
import type { E2eContext } from "./issue12";

/** Records, in the page, when each data event of the stream arrived (epoch ms). */
const RECORD_STREAM = `
  window.__sse = [];
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      for (const type of ["fill", "window_end", "decision", "reset"]) {
        this.addEventListener(type, () => window.__sse.push({ type, at: Date.now() }));
      }
    }
  };
`;

const cents = (x: number) => Math.round(x * 100) / 100;

/** A SELL of a whole holding, appended to the agent's ledger as the broker writes it. */
function appendSell(dataRoot: string, signature: string, symbol: string, price: number): void {
  const ledger = join(dataRoot, "agent_data", signature, "position", "position.jsonl");
  const lines = readFileSync(ledger, "utf8").trim().split("\n");
  const last = JSON.parse(lines[lines.length - 1] ?? "{}") as {
    id: number;
    positions: Record<string, unknown> & { CASH: number };
  };
  const { [symbol]: held, ...rest } = last.positions;
  const shares = (held as { shares: number }).shares;
  const notional = shares * price;
  const commission = cents(Math.max(notional * 0.0003, 5));
  const stampDuty = cents(notional * 0.0005);
  const transferFee = cents(notional * 0.00001);
  const record = {
    ...last,
    id: last.id + 1,
    date: "2025-11-06",
    decision_time: "2025-11-06 10:30:00",
    decision_count: 1,
    window_id: "2025-11-06T10:30",
    positions: { ...rest, CASH: cents(last.positions.CASH + notional - commission - stampDuty - transferFee) },
    this_action: {
      action: "SELL",
      symbol,
      amount: shares,
      price,
      notional,
      commission,
      stamp_duty: stampDuty,
      transfer_fee: transferFee,
    },
    tool_call_id: "e2e-appended-sell",
  };
  appendFileSync(ledger, `${JSON.stringify(record)}\n`);
}

export function liveTests(ctx: E2eContext): void {
  it("trades view shows the API's completed trades and per-agent summary", async () => {
    const page = ctx.page();
    const body = await ctx.api<TradesResponse>("/api/live/trades");
    expect(body.trades.length).toBeGreaterThan(0);
    await page.goto(`${ctx.base}/app/#/trades`);
    const rows = page.getByTestId("completed-trade");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(body.trades.length);
    const newest = [...body.trades].sort((a, b) => b.exit_time.localeCompare(a.exit_time))[0];
    const first = await rows.first().innerText();
    for (const text of [newest?.signature, newest?.symbol, int(newest?.quantity), money(newest?.fees)]) {
      expect(first).toContain(text ?? "?");
    }
    expect(await rows.first().locator('[data-col="realized_pnl_net"]').innerText()).toBe(
      money(newest?.realized_pnl_net),
    );
    for (const [sig, s] of Object.entries(body.summary)) {
      const row = page.getByTestId(`trade-summary-${sig}`);
      expect(await row.locator("td").nth(1).innerText()).toBe(int(s.count));
      expect(await row.locator("td").nth(2).innerText()).toBe(int(s.wins));
      expect(await row.locator('[data-col="realized_pnl_net"]').innerText()).toBe(money(s.realized_pnl_net));
    }
    // the CSV link serves the same trades
    const href = await page.getByTestId("exports").getByRole("link", { name: "trades" }).getAttribute("href");
    const csv = await (await fetch(new URL(href ?? "", page.url()))).text();
    expect(csv.trim().split("\n")).toHaveLength(body.trades.length + 1);
    await ctx.shot("trades.png");
  });

  it("shows a fill appended to a ledger through the event stream, without a poll", async () => {
    const context = await ctx.browser().newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(RECORD_STREAM);
    const page = await context.newPage();
    ctx.watch(page);
    try {
      const before = await ctx.api<TradesResponse>("/api/live/trades");
      const stats = await ctx.api<ModelStatsResponse>("/api/live/model-stats");
      let target: { sig: string; symbol: string } | null = null;
      for (const s of stats.data) {
        const pos = await ctx.api<CurrentPositions>(`/api/live/current-positions?signature=${s.signature}`);
        const h = pos.holdings[0];
        if (h) {
          target = { sig: s.signature, symbol: h.symbol };
          break;
        }
      }
      if (!target) throw new Error("no agent holds a stock after the replay");

      await page.goto(`${ctx.base}/app/#/trades`);
      const rows = page.getByTestId("completed-trade");
      await expect.poll(() => rows.count()).toBe(before.trades.length);
      await expect.poll(() => page.getByTestId("push-state").innerText()).toBe("live updates");

      const tradeRequests: number[] = [];
      page.on("request", (r) => {
        if (new URL(r.url()).pathname === "/api/live/trades") tradeRequests.push(Date.now());
      });
      const appendedAt = Date.now();
      appendSell(inject("dataRoot"), target.sig, target.symbol, 200);
      await expect
        .poll(() => rows.count(), { timeout: LIVE_INTERVAL_MS, message: "the new round trip" })
        .toBe(before.trades.length + 1);
      const shownAt = Date.now();
      // newest exit first: the appended sell closed the round trip on top
      expect(await rows.first().innerText()).toContain(target.sig);
      expect(await rows.first().innerText()).toContain(target.symbol);
      const after = await ctx.api<TradesResponse>("/api/live/trades");
      const added = after.trades.find((t) => t.exit_time === "2025-11-06 10:30:00");
      expect(added?.signature).toBe(target.sig);
      expect(await rows.first().locator('[data-col="realized_pnl_net"]').innerText()).toBe(
        money(added?.realized_pnl_net),
      );

      // the stream carried the fill, and the only trades request came after it: no poll
      const events = (await page.evaluate("window.__sse")) as { type: string; at: number }[];
      const fill = events.find((e) => e.type === "fill" && e.at >= appendedAt);
      expect(fill).toBeDefined();
      expect(tradeRequests.length).toBeGreaterThan(0);
      expect(tradeRequests.every((t) => t >= (fill?.at ?? Infinity))).toBe(true);
      expect(shownAt - appendedAt).toBeLessThan(LIVE_INTERVAL_MS);
    } finally {
      await context.close();
    }
  });

  it("a job started from the Jobs view for a second config shows as an arena and updates live", async () => {
    const page = ctx.page();
    const name = inject("arenaConfig");
    const arenaId = name.replace(/\.json$/, "");
    // written while the server runs: it lists the new config and its arena without a restart
    writeFileSync(
      join(ROOT, "settings", name),
      JSON.stringify(
        baselineConfig(inject("arenaDataRoot"), "2025-01-02", "2025-12-31", "e2e: second arena"),
        null,
        2,
      ),
    );
    await page.goto(`${ctx.base}/app/#/jobs`);
    await page.reload();
    const select = page.getByRole("combobox", { name: "Config" });
    await expect.poll(() => select.locator(`option[value="${name}"]`).count()).toBe(1);
    await select.selectOption(name);
    await expect.poll(() => page.getByLabel("Start date").inputValue()).toBe("2025-01-02");
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f]+$/);
    const jobId = decodeURIComponent(new URL(page.url()).hash.split("/").pop() ?? "");
    try {
      expect((await ctx.api<Job>(`/api/job/${jobId}`)).arena).toBe(arenaId);

      const arenaSelect = page.getByRole("combobox", { name: "Arena" });
      await expect
        .poll(() => arenaSelect.locator(`option[value="${arenaId}"]`).count(), { timeout: 70_000 })
        .toBe(1);
      await arenaSelect.selectOption(arenaId);
      expect(new URL(page.url()).searchParams.get("arena")).toBe(arenaId);
      await page.getByRole("link", { name: "Arena", exact: true }).click();
      const facts = page.getByTestId("arena-facts");
      await expect.poll(() => facts.innerText()).toContain(name);
      await expect.poll(() => page.getByTestId("push-state").innerText()).toBe("live updates");

      // its agents' rows, and their window counts moving on while the job runs (no reload)
      const sigs = ["baseline-buy-and-hold", "baseline-momentum", "baseline-mean-reversion", "baseline-random"];
      const cell = page.locator(`[data-testid="lb-row-${sigs[0]}"] [data-col="windows_done"]`);
      await cell.waitFor({ timeout: 60_000 });
      for (const sig of sigs) await page.getByTestId(`lb-row-${sig}`).waitFor();
      const seen = new Set<string>();
      await expect
        .poll(
          async () => {
            seen.add(await cell.innerText());
            return seen.size;
          },
          { timeout: 60_000, message: "windows_done of the new arena moving on" },
        )
        .toBeGreaterThanOrEqual(3);
      const shown = Number((await cell.innerText()).replace(/,/g, ""));
      const stats = await ctx.api<ModelStatsResponse>(`/api/live/model-stats?arena=${arenaId}`);
      const api = stats.data.find((s) => s.signature === sigs[0]);
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThanOrEqual(api?.windows_done ?? -1);
      await ctx.shot("arena-second.png");
    } finally {
      await fetch(`${ctx.base}/api/stop/${jobId}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      await page.goto(`${ctx.base}/app/#/`); // the default arena again (no ?arena=)
    }
  });
}
