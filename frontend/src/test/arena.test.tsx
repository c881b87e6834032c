import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import type { ModelStatsResponse } from "../api/types";
import { fixed, int, money, pct } from "../lib/format";
import { LIVE_INTERVAL_MS } from "../lib/intervals";
import configs from "./fixtures/configs.json";
import stats from "./fixtures/model_stats.json";
import pnlCost from "./fixtures/pnl_series_cost.json";
import pnlMarket from "./fixtures/pnl_series_market.json";
import decisions from "./fixtures/recent_decisions.json";
import status from "./fixtures/status.json";
import { mockApi, reply } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": (url: URL) =>
    url.searchParams.get("valuation") === "cost" ? pnlCost : pnlMarket,
  "GET /api/live/recent-decisions": decisions,
  "GET /api/configs": configs,
};

afterEach(() => {
  vi.useRealTimers();
});

describe("Arena view: leaderboard", () => {
  it("ranks agents by return and shows every number as the API gave it", async () => {
    mockApi(ROUTES);
    render(<App />);
    const table = await screen.findByRole("table", { name: "Leaderboard" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-testid"))).toEqual([
      "lb-row-baseline-momentum",
      "lb-row-benchmark",
      "lb-row-baseline-buy-and-hold",
      "lb-row-gpt-5",
    ]);
    for (const s of (stats as ModelStatsResponse).data) {
      const row = screen.getByTestId(`lb-row-${s.signature}`);
      const cell = (col: string) => row.querySelector(`[data-col="${col}"]`)?.textContent;
      expect(cell("total_return_pct")).toBe(pct(s.total_return_pct, 2, true));
      expect(cell("equity")).toBe(money(s.equity));
      expect(cell("sharpe")).toBe(fixed(s.sharpe));
      expect(cell("max_drawdown_pct")).toBe(pct(s.max_drawdown_pct));
      expect(cell("win_rate_pct")).toBe(pct(s.win_rate_pct, 1));
      expect(cell("trades")).toBe(int(s.trades));
      expect(cell("fees_paid")).toBe(money(s.fees_paid));
      expect(cell("llm_errors")).toBe(int(s.llm_errors));
      expect(row.querySelector('[data-col="tokens_in"]')?.getAttribute("data-value")).toBe(
        String(s.tokens_in),
      );
    }
    const gpt = screen.getByTestId("lb-row-gpt-5");
    expect(within(gpt).getByText("-0.87%")).toHaveClass("neg");
    expect(within(gpt).getByText("1.23M")).toHaveAttribute("title", "1,234,567");
    expect(gpt.querySelector(".rank")?.textContent).toBe("3");
    const bench = screen.getByTestId("lb-row-benchmark");
    const width = (tr: Element) =>
      [...tr.children].reduce((n, td) => n + Number(td.getAttribute("colspan") ?? 1), 0);
    expect(width(bench)).toBe(width(within(table).getAllByRole("row")[0] as HTMLElement));
    expect(within(bench).getByText("benchmark-equal-weight")).toBeInTheDocument();
    expect(bench.querySelector('[data-col="total_return_pct"]')?.textContent).toBe("+0.52%");
    // Missing metrics are shown as missing, not as zero.
    const bh = screen.getByTestId("lb-row-baseline-buy-and-hold");
    expect(bh.querySelector('[data-col="sharpe"]')?.textContent).toBe("—");
    expect(screen.getByTestId("lb-updated").textContent).toContain("2025-11-23 18:40:12");
  });

  it("shows cost, net PnL, latency percentiles and post-cutoff figures", async () => {
    mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const cell = (sig: string, col: string) =>
      screen.getByTestId(`lb-row-${sig}`).querySelector(`[data-col="${col}"]`);
    expect(cell("gpt-5", "tokens_per_decision")?.textContent).toBe("142249");
    expect(cell("gpt-5", "inference_cost_cny")?.textContent).toBe("118.10");
    expect(cell("gpt-5", "inference_cost_cny")).toHaveAttribute("title", "13.1219 per decision");
    expect(cell("gpt-5", "pnl_net_of_cost_cny")?.textContent).toBe("-8,818.10");
    expect(cell("gpt-5", "pnl_net_of_cost_cny")).toHaveClass("neg");
    expect(cell("gpt-5", "latency_p95_ms")?.textContent).toBe("3980 / 9121 ms");
    expect(cell("gpt-5", "post_cutoff_return_pct")?.textContent).toBe("-1.12%");
    expect(cell("gpt-5", "post_cutoff_return_pct")).toHaveAttribute(
      "title",
      "6 windows after the cutoff 2025-11-03",
    );
    // a baseline costs 0; its net PnL is its PnL
    expect(cell("baseline-momentum", "inference_cost_cny")?.textContent).toBe("0.00");
    expect(cell("baseline-momentum", "pnl_net_of_cost_cny")?.textContent).toBe("12,300.12");
    expect(cell("baseline-momentum", "latency_p95_ms")?.textContent).toBe("0.35 / 0.90 ms");
    // an older server without these fields: shown as missing, not as zero
    expect(cell("baseline-buy-and-hold", "inference_cost_cny")?.textContent).toBe("—");
    expect(cell("baseline-buy-and-hold", "post_cutoff_return_pct")?.textContent).toBe("—");
  });

  it("flags a model agent without a knowledge cutoff", async () => {
    const flagged = structuredClone(stats) as ModelStatsResponse;
    const gpt = flagged.data.find((s) => s.signature === "gpt-5");
    if (!gpt) throw new Error("fixture");
    Object.assign(gpt, { knowledge_cutoff: null, knowledge_cutoff_missing: true, post_cutoff: null });
    mockApi({ ...ROUTES, "GET /api/live/model-stats": flagged });
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const c = screen.getByTestId("lb-row-gpt-5").querySelector('[data-col="post_cutoff_return_pct"]');
    expect(c?.textContent).toBe("no cutoff");
    expect(c).toHaveClass("warn");
  });

  it("shows an empty state when no agent has records", async () => {
    mockApi({ ...ROUTES, "GET /api/live/model-stats": { data: [], benchmark: null, updated_at: null } });
    render(<App />);
    expect(await screen.findByText(/No agent has records yet/)).toBeInTheDocument();
  });

  it("shows a loading state first", async () => {
    mockApi(ROUTES);
    render(<App />);
    expect(screen.getByText("Loading leaderboard…")).toBeInTheDocument();
    await screen.findByRole("table", { name: "Leaderboard" });
  });

  it("backs off while the server is down and recovers", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let up = false;
    const api = mockApi({
      ...ROUTES,
      "GET /api/live/model-stats": () => (up ? stats : new Error("down")),
    });
    render(<App />);
    const alert = await screen.findByText(/Could not load leaderboard: API server unreachable/);
    expect(alert.textContent).toContain(`Retrying in ${(2 * LIVE_INTERVAL_MS) / 1000} s`);
    // (the app shell polls model-stats too, every 30 s, for agent colours)
    const before = api.callsTo("GET /api/live/model-stats").length;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2 * LIVE_INTERVAL_MS + 10);
    });
    expect(api.callsTo("GET /api/live/model-stats")).toHaveLength(before + 1);
    await screen.findByText(/Retrying in 40 s/);
    up = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(4 * LIVE_INTERVAL_MS + 10);
    });
    await screen.findByRole("table", { name: "Leaderboard" });
    expect(screen.queryByText(/Could not load leaderboard/)).toBeNull();
  });

  it("keeps the last data visible when a later poll fails", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let up = true;
    mockApi({ ...ROUTES, "GET /api/live/model-stats": () => (up ? stats : new Error("down")) });
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    up = false;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(LIVE_INTERVAL_MS + 10);
    });
    expect(
      await screen.findByText(/Could not load leaderboard.*Showing the last data received/),
    ).toBeInTheDocument();
    expect(screen.getByRole("table", { name: "Leaderboard" })).toBeInTheDocument();
  });

  it("shows the server's error detail", async () => {
    mockApi({ ...ROUTES, "GET /api/live/model-stats": reply(500, { detail: "records unreadable" }) });
    render(<App />);
    expect(await screen.findByRole("alert")).toHaveTextContent("records unreadable");
  });
});

describe("Arena view: PnL chart", () => {
  it("draws one line per agent plus the benchmark, and shows values on hover", async () => {
    mockApi(ROUTES);
    render(<App />);
    const chart = await screen.findByRole("img", { name: /Return of every agent/ });
    const lines = chart.querySelectorAll("path[data-series]");
    expect([...lines].map((l) => l.getAttribute("data-series"))).toEqual([
      "baseline-momentum",
      "gpt-5",
      "baseline-buy-and-hold",
      "benchmark-equal-weight",
    ]);
    fireEvent.mouseMove(chart, { clientX: 790, clientY: 100 });
    const tip = await screen.findByRole("tooltip");
    expect(tip).toHaveTextContent("2025-11-04 10:30:00");
    expect(tip).toHaveTextContent("baseline-momentum+1.23%");
    expect(tip).toHaveTextContent("gpt-5-0.87%");
  });

  it("switches to cost valuation and to equity", async () => {
    const api = mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("img", { name: /market valuation/ });
    fireEvent.click(screen.getByRole("button", { name: "Cost" }));
    await screen.findByRole("img", { name: /cost valuation/ });
    const valuations = api
      .callsTo("GET /api/live/pnl-series")
      .map((c) => c.url.searchParams.get("valuation"));
    expect(valuations).toContain("cost");
    fireEvent.click(screen.getByRole("button", { name: "Equity" }));
    const chart = await screen.findByRole("img", { name: /Equity of every agent/ });
    fireEvent.mouseMove(chart, { clientX: 790, clientY: 100 });
    expect(await screen.findByRole("tooltip")).toHaveTextContent("baseline-momentum999,700");
  });

  it("toggles a series from the legend", async () => {
    mockApi(ROUTES);
    render(<App />);
    const chart = await screen.findByRole("img", { name: /Return of every agent/ });
    fireEvent.click(screen.getByRole("button", { name: /gpt-5/ }));
    expect(chart.querySelector('path[data-series="gpt-5"]')).toBeNull();
  });
});

describe("Arena view: latest decisions", () => {
  it("lists the newest decisions of all agents", async () => {
    mockApi(ROUTES);
    render(<App />);
    const items = await screen.findAllByTestId("feed-item");
    expect(items).toHaveLength(3);
    expect(items[0]).toHaveTextContent("BUY 5,000 SH688981 @ 114.38");
  });
});
