import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import news from "./fixtures/news.json";
import status from "./fixtures/status.json";
import stock from "./fixtures/stock_detail.json";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/live/symbols": { data: ["SH688008", "SH688981"], count: 2 },
  "GET /api/live/news": news,
  "GET /api/live/stock-detail": stock,
};

describe("Stock view", () => {
  it("draws the price per window with buy and sell markers, trades and news", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/stock/SH688008";
    render(<App />);
    const chart = await screen.findByRole("img", { name: /SH688008 price per decision window/ });
    expect(chart.querySelector('path[data-series="price"]')).not.toBeNull();
    const markers = chart.querySelectorAll("path.marker");
    expect([...markers].map((m) => m.getAttribute("data-kind"))).toEqual(["buy", "sell"]);
    expect(markers[0]?.textContent).toBe("baseline-momentum BUY 1,000 @ 101.50");
    fireEvent.mouseMove(chart, { clientX: 72 + (712 * 1) / 3, clientY: 50 });
    const tip = await screen.findByRole("tooltip");
    expect(tip).toHaveTextContent("2025-11-03 11:30:00");
    expect(tip).toHaveTextContent("baseline-momentum BUY 1,000 @ 101.50");
    const trades = screen.getByRole("table", { name: "Agent trades" });
    const rows = within(trades).getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent("gpt-5SELL500101.20");
    expect(screen.getAllByTestId("news-item")[0]).toHaveTextContent("澜起科技发布新一代内存接口芯片");
    expect(api.callsTo("GET /api/live/stock-detail")[0]?.url.searchParams.get("symbol")).toBe(
      "SH688008",
    );
  });

  it("offers the symbols of the snapshots and validates input", async () => {
    mockApi(ROUTES);
    window.location.hash = "#/stock";
    render(<App />);
    const chip = await screen.findByRole("link", { name: "SH688981" });
    expect(chip).toHaveAttribute("href", "#/stock/SH688981");
    const input = screen.getByRole("combobox", { name: "Symbol" });
    fireEvent.change(input, { target: { value: "688008" } });
    expect(screen.getByRole("button", { name: "Show" })).toBeDisabled();
    fireEvent.change(input, { target: { value: "sh688981" } });
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    expect(window.location.hash).toBe("#/stock/SH688981");
  });

  it("shows empty states for a symbol without data", async () => {
    mockApi({
      ...ROUTES,
      "GET /api/live/stock-detail": { symbol: "SH688047", prices: [], news: [], trades: [] },
    });
    window.location.hash = "#/stock/SH688047";
    render(<App />);
    expect(await screen.findByText("No prices recorded for SH688047 yet.")).toBeInTheDocument();
    expect(screen.getByText("No agent has traded SH688047.")).toBeInTheDocument();
    expect(screen.getByText("No news for SH688047.")).toBeInTheDocument();
  });
});
