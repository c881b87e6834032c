// Dividends and bonus shares on the dashboard. Fixtures under fixtures/corporate/ were recorded
// from the real API (tests/test_live_corporate.py's scenario: buy 1000 SH688008 @ 10.00,
// ex-date 2025-11-05 with 0.50/share cash and 10-for-3 bonus shares, sell 1300 @ 8.00).
import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import type { CorporateAction } from "../api/types";
import { corporateActionText } from "../components/CorporateActions";
import corporate from "./fixtures/corporate/corporate_actions.json";
import decisions from "./fixtures/corporate/recent_decisions.json";
import trades from "./fixtures/corporate/trades.json";
import stats from "./fixtures/model_stats.json";
import pnl from "./fixtures/pnl_series_market.json";
import status from "./fixtures/status.json";
import { mockApi } from "./mockApi";

const NONE = {
  ex_date: "2025-10-22",
  shares: null,
  cash_per_share: null,
  gross: null,
  tax: null,
  net: null,
  bonus_per_share: null,
  new_shares: null,
  shares_after: null,
  sellable_from: null,
};

const ROUTES = {
  "GET /": status,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/current-positions": {
    signature: "ca",
    as_of: "2025-11-06 10:30:00",
    cash: 1000779.5,
    equity: 1000779.5,
    holdings: [],
  },
  "GET /api/live/recent-decisions": decisions,
  "GET /api/live/corporate-actions": corporate,
  "GET /api/live/trades": trades,
};

describe("corporate action lines", () => {
  it("says what a dividend and a bonus did, with exact amounts", () => {
    const dividend: CorporateAction = {
      ...NONE,
      kind: "dividend",
      symbol: "SH688008",
      shares: 200,
      cash_per_share: 0.2,
      gross: 40,
      tax: 8,
      net: 32,
    };
    expect(corporateActionText(dividend)).toBe(
      "Dividend SH688008 0.20/share × 200: +32.00 (tax 8.00)",
    );
    const bonus: CorporateAction = {
      ...NONE,
      kind: "bonus",
      symbol: "SZ000001",
      ex_date: "2025-06-13",
      shares: 1055,
      bonus_per_share: 0.45,
      new_shares: 474,
      shares_after: 1529,
      sellable_from: "2025-06-16",
    };
    expect(corporateActionText(bonus)).toBe(
      "Bonus shares SZ000001 +474 (4.5 for 10 on 1,055 shares; sellable from 2025-06-16)",
    );
    expect(corporateActionText({ ...dividend, cash_per_share: 0.125 })).toBe(
      "Dividend SH688008 0.125/share × 200: +32.00 (tax 8.00)",
    );
  });
});

describe("Agent view with corporate actions", () => {
  it("shows the ex-date window's dividend and bonus lines in the decision timeline", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/agent/ca";
    render(<App />);
    const cards = await screen.findAllByTestId("decision");
    expect(cards.map((c) => c.dataset.window)).toEqual([
      "2025-11-06T10:30",
      "2025-11-05T10:30",
      "2025-11-03T10:30",
    ]);
    const lines = within(cards[1] as HTMLElement).getAllByTestId("corporate-action");
    expect(lines.map((l) => l.textContent)).toEqual([
      "Dividend SH688008 0.50/share × 1,000: +400.00 (tax 100.00)",
      "Bonus shares SH688008 +300 (3 for 10 on 1,000 shares; sellable from 2025-11-06)",
    ]);
    expect(within(cards[0] as HTMLElement).queryAllByTestId("corporate-action")).toHaveLength(0);
  });

  it("lists the agent's dividends and bonus shares in a table", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/agent/ca";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Dividends and bonus shares" });
    const rows = within(table).getAllByTestId("corporate-row");
    const cells = rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent));
    expect(cells).toEqual([
      ["2025-11-05", "SH688008", "dividend", "1,000", "0.50", "500.00", "100.00", "+400.00", "—",
        "990,394.90"],
      ["2025-11-05", "SH688008", "bonus shares", "1,000", "3 / 10", "—", "—", "+300", "2025-11-06",
        "990,394.90"],
    ]);
    expect(screen.getByTestId("dividends-net").textContent).toBe(
      "Dividends received (net of tax): 400.00",
    );
    const call = api.callsTo("GET /api/live/corporate-actions")[0];
    expect(call?.url.searchParams.get("signature")).toBe("ca");
  });

  it("shows the dividends of a completed trade", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/agent/ca";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Completed trades" });
    const [row] = within(table).getAllByTestId("completed-trade");
    expect(row?.querySelector('[data-col="dividends"]')?.textContent).toBe("400.00");
    expect(row?.querySelector('[data-col="realized_pnl_net"]')?.textContent).toBe("784.60");
    expect(row).toHaveTextContent("7.692");
  });

  it("says so when the agent has no corporate actions", async () => {
    mockApi({
      ...ROUTES,
      "GET /api/live/corporate-actions": { signature: "ca", data: [], count: 0, dividends_net: 0 },
    });
    window.location.hash = "#/agent/ca";
    render(<App />);
    expect(await screen.findByText("No dividend or bonus shares received yet.")).toBeVisible();
  });
});
