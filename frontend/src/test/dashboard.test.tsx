// Issue-12 dashboard additions against fixtures that follow the API contract.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "../App";
import arenas from "./fixtures/arenas.json";
import positions from "./fixtures/current_positions.json";
import stats from "./fixtures/model_stats.json";
import pnl from "./fixtures/pnl_series_market.json";
import decisions from "./fixtures/recent_decisions.json";
import status from "./fixtures/status.json";
import trades from "./fixtures/trades.json";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/arenas": arenas,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/recent-decisions": decisions,
  "GET /api/live/current-positions": (url: URL) => ({
    ...positions,
    signature: url.searchParams.get("signature"),
  }),
  "GET /api/live/trades": trades,
};

afterEach(() => {
  window.history.replaceState(null, "", "/");
});

const lbOrder = () =>
  within(screen.getByRole("table", { name: "Leaderboard" }))
    .getAllByRole("row")
    .slice(1)
    .map((r) => r.getAttribute("data-testid"));

describe("arena header and switcher", () => {
  it("says what is shown: config, period, synthetic data, data as of the last window", async () => {
    mockApi(ROUTES);
    render(<App />);
    const facts = await screen.findByTestId("arena-facts");
    expect(facts).toHaveTextContent("Configdefault_config.json");
    expect(facts).toHaveTextContent("Period2025-11-03 → 2025-11-28");
    expect(facts).toHaveTextContent("Datasynthetic (demo)");
    expect(screen.getByTestId("arena-as-of")).toHaveTextContent("2025-11-05T14:00");
    expect(screen.getByRole("combobox", { name: "Arena" })).toHaveValue("default_config");
  });

  it("switches arena: the URL and every live request name it", async () => {
    const api = mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    fireEvent.change(screen.getByRole("combobox", { name: "Arena" }), {
      target: { value: "star10_files" },
    });
    expect(window.location.search).toBe("?arena=star10_files");
    const facts = await screen.findByText("real (files)");
    expect(facts).toBeInTheDocument();
    expect(screen.getByTestId("arena-as-of")).toHaveTextContent("no window yet");
    expect(screen.getByRole("link", { name: "job-20251120-1" })).toHaveAttribute(
      "href",
      "#/jobs/job-20251120-1",
    );
    await waitFor(() =>
      expect(
        api.callsTo("GET /api/live/model-stats").some((c) => c.url.searchParams.get("arena") === "star10_files"),
      ).toBe(true),
    );
  });

  it("works without /api/arenas (older server): no switcher, no arena parameter", async () => {
    const { "GET /api/arenas": _unused, ...old } = ROUTES;
    expect(_unused).toBeDefined();
    const api = mockApi(old);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    expect(screen.queryByRole("combobox", { name: "Arena" })).toBeNull();
    expect(api.callsTo("GET /api/live/model-stats")[0]?.url.searchParams.has("arena")).toBe(false);
  });
});

describe("leaderboard columns and sorting", () => {
  it("shows P&L in CNY, volatility, net-of-cost P&L and the benchmark's equity", async () => {
    mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const cell = (row: string, col: string) =>
      screen.getByTestId(row).querySelector(`[data-col="${col}"]`);
    expect(cell("lb-row-baseline-momentum", "pnl_cny")?.textContent).toBe("12,300.12");
    expect(cell("lb-row-baseline-momentum", "pnl_cny")).toHaveClass("pos");
    expect(cell("lb-row-gpt-5", "pnl_cny")?.textContent).toBe("-8,700.00");
    expect(cell("lb-row-gpt-5", "volatility_pct")?.textContent).toBe("22.10%");
    expect(cell("lb-row-baseline-momentum", "volatility_pct")?.textContent).toBe("18.40%");
    expect(cell("lb-row-gpt-5", "pnl_net_of_cost_cny")?.textContent).toBe("-8,818.10");
    expect(cell("lb-row-benchmark", "equity")?.textContent).toBe("1,005,200.00");
    expect(cell("lb-row-benchmark", "volatility_pct")?.textContent).toBe("15.20%");
  });

  it("sorts by any column, again to reverse, missing values last", async () => {
    mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    expect(lbOrder()).toEqual([
      "lb-row-baseline-momentum",
      "lb-row-benchmark",
      "lb-row-baseline-buy-and-hold",
      "lb-row-gpt-5",
    ]);
    fireEvent.click(screen.getByRole("button", { name: /^Sharpe/ }));
    expect(lbOrder()).toEqual([
      "lb-row-baseline-momentum",
      "lb-row-benchmark",
      "lb-row-gpt-5",
      "lb-row-baseline-buy-and-hold",
    ]);
    expect(screen.getByRole("button", { name: /^Sharpe/ }).closest("th")).toHaveAttribute(
      "aria-sort",
      "descending",
    );
    fireEvent.click(screen.getByRole("button", { name: /^Sharpe/ }));
    expect(lbOrder()).toEqual([
      "lb-row-gpt-5",
      "lb-row-benchmark",
      "lb-row-baseline-momentum",
      "lb-row-baseline-buy-and-hold",
    ]);
    fireEvent.click(screen.getByRole("button", { name: /^Agent/ }));
    expect(lbOrder()).toEqual([
      "lb-row-baseline-buy-and-hold",
      "lb-row-baseline-momentum",
      "lb-row-benchmark",
      "lb-row-gpt-5",
    ]);
    // ranks stay the ranks by return
    expect(screen.getByTestId("lb-row-gpt-5").querySelector(".rank")?.textContent).toBe("3");
  });
});

describe("completed trades", () => {
  it("lists every agent's round trips with holding time, net P&L, biggest win and loss", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/trades";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Completed trades" });
    const rows = within(table).getAllByTestId("completed-trade");
    expect(rows).toHaveLength(3);
    // newest exit first
    expect(rows[0]).toHaveTextContent("baseline-momentum");
    expect(rows[0]).toHaveTextContent("18.1 d");
    expect(rows[1]).toHaveTextContent("SH688981 中芯国际");
    expect(rows[1]).toHaveTextContent("2025-11-04 10:30:00");
    expect(rows[1]).toHaveTextContent("2025-11-05 14:00:00");
    expect(rows[1]).toHaveTextContent("27.5 h");
    expect(rows[1]?.querySelector('[data-col="realized_pnl_net"]')).toHaveTextContent("4,661.59");
    expect(rows[2]?.querySelector('[data-col="realized_pnl_net"]')).toHaveClass("neg");
    const gpt = screen.getByTestId("trade-summary-gpt-5");
    expect(gpt.querySelector('[data-col="biggest_win"]')?.textContent).toBe("4,661.59");
    expect(gpt.querySelector('[data-col="biggest_loss"]')?.textContent).toBe("-1,496.05");
    expect(gpt.querySelector('[data-col="realized_pnl_net"]')?.textContent).toBe("3,165.54");
    expect(
      screen.getByTestId("trade-summary-baseline-momentum").querySelector('[data-col="biggest_loss"]')
        ?.textContent,
    ).toBe("—");
    const call = api.callsTo("GET /api/live/trades")[0];
    expect(call?.url.searchParams.has("signature")).toBe(false);
    expect(call?.url.searchParams.get("arena")).toBe("default_config");
  });

  it("exports CSV of trades and equity series for the arena (and agent)", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/agent/gpt-5";
    render(<App />);
    const links = await screen.findByTestId("exports");
    const hrefs = () =>
      within(links)
        .getAllByRole("link")
        .map((a) => a.getAttribute("href"));
    // the links name the arena once the arena list has loaded (a busy machine may render first)
    await waitFor(() =>
      expect(hrefs()).toEqual([
        "/api/live/trades.csv?arena=default_config&signature=gpt-5",
        "/api/live/pnl-series.csv?arena=default_config&valuation=market&signature=gpt-5",
        "/api/live/pnl-series.csv?arena=default_config&valuation=cost&signature=gpt-5",
      ]),
    );
  });
});

describe("positions side by side", () => {
  it("shows one holdings card per agent with names next to codes", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/positions";
    render(<App />);
    for (const sig of ["baseline-momentum", "gpt-5", "baseline-buy-and-hold"]) {
      const card = await screen.findByTestId(`positions-${sig}`);
      expect(await within(card).findByTestId("holding-SH688981")).toHaveTextContent("SH688981 中芯国际");
    }
    const asked = api.callsTo("GET /api/live/current-positions").map((c) => c.url.searchParams.get("signature"));
    expect(new Set(asked)).toEqual(new Set(["baseline-momentum", "gpt-5", "baseline-buy-and-hold"]));
  });
});

describe("model chat feed", () => {
  it("expands reasoning, shows the error of an llm_error window and links the exact decision", async () => {
    mockApi(ROUTES);
    render(<App />);
    const items = await screen.findAllByTestId("feed-item");
    const first = items[0] as HTMLElement;
    const reasoning = first.querySelector("details.feed-reason") as HTMLDetailsElement;
    expect(reasoning.open).toBe(false);
    fireEvent.click(reasoning.querySelector("summary") as HTMLElement);
    expect(reasoning.open).toBe(true);
    expect(within(first).getByTestId("decision-link")).toHaveAttribute(
      "href",
      "#/agent/gpt-5/2025-11-05T14%3A00",
    );
    expect(within(items[1] as HTMLElement).getByTestId("decision-error")).toHaveTextContent(
      "Error: APITimeoutError: Request timed out after 60 s",
    );
  });

  it("following the link highlights that decision in the agent's timeline", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/agent/gpt-5/2025-11-05T11%3A30";
    render(<App />);
    const cards = await screen.findAllByTestId("decision");
    const linked = cards.filter((c) => c.getAttribute("aria-current") === "true");
    expect(linked.map((c) => c.getAttribute("data-window"))).toEqual(["2025-11-05T11:30"]);
    expect(linked[0]).toHaveTextContent("Error: APITimeoutError");
    expect(linked[0]).toHaveTextContent("60.0 s");
    expect(cards[0]).toHaveTextContent("(truncated)");
  });
});
