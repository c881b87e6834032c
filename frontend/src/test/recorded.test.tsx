// The views rendering responses recorded from the real API server (after a 3-day demo replay
// with the four baseline agents), so the UI is checked against what the server really sends.
import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import type { ModelStatsResponse } from "../api/types";
import { money, pct } from "../lib/format";
import configs from "./fixtures/recorded/configs.json";
import positions from "./fixtures/recorded/current_positions.json";
import stats from "./fixtures/recorded/model_stats.json";
import models from "./fixtures/recorded/models.json";
import pnl from "./fixtures/recorded/pnl_series.json";
import decisions from "./fixtures/recorded/recent_decisions.json";
import stock from "./fixtures/recorded/stock_detail.json";
import status from "./fixtures/status.json";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/current-positions": positions,
  "GET /api/live/recent-decisions": decisions,
  "GET /api/live/stock-detail": stock,
  "GET /api/live/symbols": { data: ["SH688008", "SH688981"], count: 2 },
  "GET /api/live/news": { data: [], count: 0 },
  "GET /api/configs": configs,
  "GET /api/models": models,
  "GET /api/jobs": { data: [], count: 0 },
};

describe("recorded API responses", () => {
  it("arena: leaderboard rows and chart lines for every agent and the benchmark", async () => {
    mockApi(ROUTES);
    render(<App />);
    const table = await screen.findByRole("table", { name: "Leaderboard" });
    const resp = stats as ModelStatsResponse;
    expect(within(table).getAllByRole("row")).toHaveLength(resp.data.length + 2);
    for (const s of resp.data) {
      const row = screen.getByTestId(`lb-row-${s.signature}`);
      expect(row.querySelector('[data-col="total_return_pct"]')?.textContent).toBe(
        pct(s.total_return_pct, 2, true),
      );
      expect(row.querySelector('[data-col="equity"]')?.textContent).toBe(money(s.equity));
    }
    const chart = await screen.findByRole("img", { name: /Return of every agent/ });
    expect(chart.querySelectorAll("path[data-series]")).toHaveLength(resp.data.length + 1);
  });

  it("agent: holdings and a timeline with tool calls and trades", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/agent/baseline-momentum";
    render(<App />);
    const holdings = await screen.findByRole("table", { name: "Holdings" });
    expect(within(holdings).getAllByRole("row")).toHaveLength(positions.holdings.length + 1);
    const cards = await screen.findAllByTestId("decision");
    expect(cards).toHaveLength(decisions.data.length);
    const traded = cards.find((c) => within(c).queryByText("traded")) as HTMLElement;
    const call = within(traded).getAllByText("execute_trade")[0] as HTMLElement;
    fireEvent.click(call);
    expect(call.closest("details")).toHaveTextContent('"status": "filled"');
  });

  it("stock: one marker per agent trade", async () => {
    mockApi(ROUTES);
    window.location.hash = `#/stock/${stock.symbol}`;
    render(<App />);
    const chart = await screen.findByRole("img", { name: /price per decision window/ });
    expect(chart.querySelectorAll("path.marker")).toHaveLength(stock.trades.length);
  });

  it("jobs: every config in settings/ can be chosen", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/jobs";
    render(<App />);
    const select = await screen.findByRole("combobox", { name: "Config" });
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(
      configs.data.map((c) => c.config_path),
    );
  });
});
