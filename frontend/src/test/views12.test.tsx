// Issue-12: candles and volume, agent colours, the experiments view, following an old decision.
import { render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { assignColors, colorFor, PALETTE } from "../lib/colors";
import experiment from "./fixtures/experiments/baselines_demo.json";
import experiments from "./fixtures/experiments/list.json";
import news from "./fixtures/news.json";
import stats from "./fixtures/model_stats.json";
import decisions from "./fixtures/recent_decisions.json";
import status from "./fixtures/status.json";
import ohlc from "./fixtures/stock_detail_ohlc.json";
import { mockApi } from "./mockApi";

describe("stock view: candles and volume", () => {
  it("draws a candle per bar with open/high/low, a close line elsewhere, volume bars and the name", async () => {
    mockApi({
      "GET /": status,
      "GET /api/live/symbols": { data: ["SH688008"], count: 1 },
      "GET /api/live/news": news,
      "GET /api/live/stock-detail": ohlc,
    });
    window.location.hash = "#/stock/SH688008";
    render(<App />);
    const chart = await screen.findByRole("img", { name: /SH688008 .*\(candles\) and volume/ });
    const candles = chart.querySelectorAll("[data-candle]");
    expect([...candles].map((c) => c.getAttribute("data-candle"))).toEqual(["0", "1", "2"]);
    expect(candles[0]).toHaveClass("candle-up"); // 99.5 → 100.0
    expect(chart.querySelectorAll("[data-volume]")).toHaveLength(4);
    // the last bar has no open/high/low: a close line (one point) there
    expect(chart.querySelector('path[data-series="price"]')).not.toBeNull();
    const titles = screen.getAllByRole("heading").map((h) => h.textContent);
    expect(titles).toContain("SH688008 华润微 price per window");
  });
});

/** CIE76 colour difference, for the palette check. */
function deltaE(a: string, b: string): number {
  const lab = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92;
    }) as [number, number, number];
    const f = (v: number) => (v > 0.008856 ? Math.cbrt(v) : 7.787 * v + 16 / 116);
    const x = f((r * 0.4124 + g * 0.3576 + bl * 0.1805) / 0.95047);
    const y = f(r * 0.2126 + g * 0.7152 + bl * 0.0722);
    const z = f((r * 0.0193 + g * 0.1192 + bl * 0.9505) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const [p, q] = [lab(a), lab(b)];
  return Math.hypot(...p.map((v, i) => v - (q[i] ?? 0)));
}

describe("agent colours", () => {
  it("keeps 12 agents distinct from each other and from the background", () => {
    expect(PALETTE).toHaveLength(12);
    for (let i = 0; i < PALETTE.length; i += 1) {
      expect(deltaE(PALETTE[i] ?? "", "#0d1117")).toBeGreaterThan(60);
      for (let j = i + 1; j < PALETTE.length; j += 1) {
        expect(deltaE(PALETTE[i] ?? "", PALETTE[j] ?? "")).toBeGreaterThan(25);
      }
    }
    const sigs = Array.from({ length: 12 }, (_, i) => `model-${i}`);
    assignColors(sigs);
    expect(new Set(sigs.map(colorFor)).size).toBe(12);
    const before = sigs.map(colorFor);
    assignColors([...sigs].reverse());
    expect(sigs.map(colorFor)).toEqual(before);
  });

  it("gives an agent the same colour in the leaderboard, the chart and the feed", async () => {
    mockApi({
      "GET /": status,
      "GET /api/live/model-stats": stats,
      "GET /api/live/pnl-series": (await import("./fixtures/pnl_series_market.json")).default,
      "GET /api/live/recent-decisions": decisions,
    });
    render(<App />);
    const chart = await screen.findByRole("img", { name: /Return of every agent/ });
    const lineColor = chart.querySelector('path[data-series="gpt-5"]')?.getAttribute("stroke");
    const swatch = (el: Element) => (el.querySelector(".swatch") as HTMLElement).style.background;
    const rgb = swatch(screen.getByTestId("lb-row-gpt-5"));
    const feed = (await screen.findAllByTestId("feed-item"))[0] as HTMLElement;
    expect(swatch(feed)).toBe(rgb);
    const hex = lineColor ?? "";
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    expect(rgb).toBe(`rgb(${r}, ${g}, ${b})`);
  });
});

describe("experiments view (recorded report of baselines_demo)", () => {
  it("shows intervals, rank distribution, pairwise matrix and fan chart", async () => {
    mockApi({
      "GET /": status,
      "GET /api/experiments": experiments,
      "GET /api/experiments/baselines_demo": experiment,
    });
    window.location.hash = "#/experiments";
    render(<App />);
    const ci = await screen.findByRole("table", { name: "Confidence intervals" });
    const report = experiment.report;
    const random = report.models.find((m) => m.signature === "baseline-random");
    if (!random) throw new Error("fixture");
    const row = within(ci).getByTestId("ci-baseline-random");
    const tr = random.metrics.total_return_pct;
    expect(row.querySelector('[data-col="total_return_pct"]')?.textContent).toBe(
      `${tr.mean.toFixed(2)}% [${tr.mean_ci[0]?.toFixed(2)}, ${tr.mean_ci[1]?.toFixed(2)}]`,
    );
    // buy-and-hold never closed a round trip: no win rate
    expect(
      within(ci).getByTestId("ci-baseline-buy-and-hold").querySelector('[data-col="win_rate_pct"]')?.textContent,
    ).toBe("—");
    expect(screen.getByTestId("experiment-cells")).toHaveTextContent("20 of 20 cells completed");
    const ranks = screen.getByTestId("rank-baseline-random");
    expect([...ranks.querySelectorAll(".rank-count")].map((c) => c.textContent)).toEqual(
      random.rank.distribution.map(String),
    );
    const { signatures, p_beats } = report.pairwise;
    const [a, b] = [signatures[3] ?? "", signatures[0] ?? ""];
    expect(screen.getByTestId(`pair-${a}-${b}`).textContent).toBe(
      `${Math.round((p_beats[3]?.[0] ?? 0) * 100)}%`,
    );
    expect(screen.getByTestId(`pair-${a}-${a}`).textContent).toBe("—");
    const fan = screen.getByRole("img", { name: /nov-2025-w1-2: median and 95 % band/ });
    expect(fan.querySelectorAll("path[data-band]")).toHaveLength(4);
    expect(fan.querySelector('path[data-series="benchmark"]')).not.toBeNull();
    for (const w of report.warnings) expect(screen.getByText(w)).toBeInTheDocument();
  });
});

describe("link to an old decision", () => {
  it("loads further pages until the linked decision is shown", async () => {
    const base = decisions.data[2] as (typeof decisions.data)[number];
    const page = (limit: number) =>
      Array.from({ length: limit }, (_, i) => ({ ...base, signature: "gpt-5", window_id: `w-${i}` }));
    const api = mockApi({
      "GET /": status,
      "GET /api/live/model-stats": stats,
      "GET /api/live/pnl-series": { valuation: "market", series: [], benchmark: null },
      "GET /api/live/current-positions": { signature: "gpt-5", as_of: null, cash: 0, equity: 0, holdings: [] },
      "GET /api/live/recent-decisions": (url: URL) => {
        const limit = Number(url.searchParams.get("limit"));
        return { data: page(limit), count: limit };
      },
    });
    window.location.hash = "#/agent/gpt-5/w-45";
    render(<App />);
    await waitFor(
      () => {
        const linked = screen
          .getAllByTestId("decision")
          .filter((c) => c.getAttribute("aria-current") === "true");
        expect(linked.map((c) => c.getAttribute("data-window"))).toEqual(["w-45"]);
      },
      { timeout: 3000 },
    );
    const limits = api.callsTo("GET /api/live/recent-decisions").map((c) => c.url.searchParams.get("limit"));
    expect(limits).toEqual(expect.arrayContaining(["20", "40", "60"]));
  });
});
