import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import positions from "./fixtures/current_positions.json";
import stats from "./fixtures/model_stats.json";
import pnl from "./fixtures/pnl_series_market.json";
import decisions from "./fixtures/recent_decisions.json";
import status from "./fixtures/status.json";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/current-positions": positions,
  "GET /api/live/recent-decisions": decisions,
};

describe("Agent view", () => {
  it("shows holdings with unrealized PnL", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/agent/gpt-5";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Holdings" });
    const row = within(table).getByTestId("holding-SH688981");
    expect(row).toHaveTextContent("5,000");
    expect(row).toHaveTextContent("2,000");
    expect(row).toHaveTextContent("112.0000");
    expect(within(row).getByText("11,900.00")).toHaveClass("pos");
    expect(within(row).getByText("+2.13%")).toHaveClass("pos");
    expect(within(table).getByText("-4,303.50")).toHaveClass("neg");
    expect(screen.getByText(/As of 2025-11-05 14:00:00/)).toHaveTextContent("equity 991,300.00");
    expect(
      api.callsTo("GET /api/live/current-positions")[0]?.url.searchParams.get("signature"),
    ).toBe("gpt-5");
    const stat = await screen.findByTestId("agent-stats");
    expect(stat).toHaveTextContent("Return-0.87%");
    expect(stat).toHaveTextContent("LLM errors / invalid calls2 / 1");
  });

  it("shows the decision timeline with reasoning, tool calls, trades and rejections", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/agent/gpt-5";
    render(<App />);
    const cards = await screen.findAllByTestId("decision");
    expect(cards).toHaveLength(3);
    const first = cards[0] as HTMLElement;
    expect(first).toHaveTextContent("2025-11-05 14:00:00");
    expect(first).toHaveTextContent(/broke above its upper Bollinger band/);
    expect(within(first).getByText("traded")).toHaveClass("outcome-traded");
    // trade row with fees = commission + stamp duty + transfer fee
    expect(first).toHaveTextContent("571,900.00");
    expect(first).toHaveTextContent("177.29");
    // rejection
    expect(within(first).getByText("lot_size")).toBeInTheDocument();
    expect(first).toHaveTextContent("sell quantity must be a multiple of 100");
    // tool calls with arguments and results
    expect(within(first).getByText("Tool calls (3)")).toBeInTheDocument();
    const buy = within(first).getByText("buy").closest("details") as HTMLElement;
    fireEvent.click(within(buy).getByText("buy"));
    expect(buy).toHaveTextContent('"amount": 5000');
    expect(buy).toHaveTextContent('"filled": 5000');
    expect(within(first).getByText("rejected_order")).toBeInTheDocument();
    // an LLM error window
    expect(within(cards[1] as HTMLElement).getByText("llm error")).toBeInTheDocument();
    expect(cards[1]).toHaveTextContent("2 LLM errors");
    expect(cards[1]).toHaveTextContent("(no reasoning text)");
    const call = api.callsTo("GET /api/live/recent-decisions")[0];
    expect(call?.url.searchParams.get("signature")).toBe("gpt-5");
    expect(call?.url.searchParams.get("limit")).toBe("20");
  });

  it("defaults to the leading agent and shows empty holdings", async () => {
    mockApi({
      ...ROUTES,
      "GET /api/live/current-positions": {
        signature: "baseline-momentum",
        as_of: null,
        cash: 1000000.0,
        equity: 1000000.0,
        holdings: [],
      },
      "GET /api/live/recent-decisions": { data: [], count: 0 },
    });
    window.location.hash = "#/agent";
    render(<App />);
    expect(await screen.findByText("All cash — no holdings.")).toBeInTheDocument();
    expect(await screen.findByText("No decisions recorded for this agent yet.")).toBeInTheDocument();
    expect(screen.getByRole("combobox", { name: "Agent" })).toHaveValue("baseline-momentum");
  });

  it("loads more decisions without blanking the timeline", async () => {
    const first = decisions.data[2] as (typeof decisions.data)[number];
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...first,
        window_id: `2025-11-${String(30 - Math.floor(i / 3)).padStart(2, "0")}T${["14:00", "11:30", "10:30"][i % 3]}`,
      }));
    let release: () => void = () => undefined;
    const api = mockApi({
      ...ROUTES,
      "GET /api/live/recent-decisions": (url: URL) => {
        const limit = Number(url.searchParams.get("limit"));
        if (limit === 20) return { data: many(20), count: 20 };
        return new Promise((resolve) => {
          release = () => resolve({ data: many(23), count: 23 });
        });
      },
    });
    window.location.hash = "#/agent/baseline-momentum";
    render(<App />);
    await waitFor(() => expect(screen.getAllByTestId("decision")).toHaveLength(20));
    fireEvent.click(screen.getByRole("button", { name: "Load 20 more" }));
    await waitFor(() =>
      expect(
        api.callsTo("GET /api/live/recent-decisions").some((c) => c.url.searchParams.get("limit") === "40"),
      ).toBe(true),
    );
    expect(screen.getAllByTestId("decision")).toHaveLength(20);
    release();
    await waitFor(() => expect(screen.getAllByTestId("decision")).toHaveLength(23));
    expect(screen.queryByRole("button", { name: /Load 20 more/ })).toBeNull();
  });

  it("reports an unknown agent", async () => {
    mockApi({
      ...ROUTES,
      "GET /api/live/current-positions": { status: 404, body: { detail: "unknown signature 'nope'" } },
      "GET /api/live/recent-decisions": { status: 404, body: { detail: "unknown signature 'nope'" } },
    });
    window.location.hash = "#/agent/nope";
    render(<App />);
    expect(await screen.findByText(/Could not load positions: unknown signature 'nope'/)).toBeInTheDocument();
    expect(screen.getByText("No statistics for nope.")).toBeInTheDocument();
  });
});
