import { describe, expect, it } from "vitest";
import { alignSeries } from "../components/PnlChart";
import { niceTicks } from "../components/LineChart";
import { rankRows } from "../components/Leaderboard";
import { stockChart } from "../views/StockView";
import { nextDelay, MAX_BACKOFF_MS } from "../hooks/usePolling";
import { compact, money, parseShown, pct, shortTime, stamp } from "../lib/format";
import { hrefFor, parseHash } from "../lib/route";
import { liveApi } from "../api/client";
import { tradeText } from "../components/DecisionTimeline";
import { holdingText } from "../components/TradesTable";
import type { ModelStatsResponse, PnlSeriesResponse, StockDetail } from "../api/types";
import statsFixture from "./fixtures/model_stats.json";
import pnlFixture from "./fixtures/pnl_series_market.json";
import stockFixture from "./fixtures/stock_detail.json";

describe("format", () => {
  it("formats money, percentages and missing values", () => {
    expect(money(1012300.12)).toBe("1,012,300.12");
    expect(money(null)).toBe("—");
    expect(pct(1.23, 2, true)).toBe("+1.23%");
    expect(pct(-0.87, 2, true)).toBe("-0.87%");
    expect(pct(undefined)).toBe("—");
    expect(compact(1234567)).toBe("1.23M");
    expect(compact(45678)).toBe("45.7k");
    expect(compact(812)).toBe("812");
  });
  it("parses shown numbers back", () => {
    expect(parseShown("1,012,300.12")).toBe(1012300.12);
    expect(parseShown("+1.23%")).toBe(1.23);
    expect(parseShown("—")).toBeNull();
  });
  it("shortens times", () => {
    expect(shortTime("2025-11-03 10:30:00")).toBe("11-03 10:30");
    expect(stamp("2025-11-23T18:40:12.123+08:00")).toBe("2025-11-23 18:40:12");
  });
});

describe("polling back-off", () => {
  it("doubles the delay per failure up to a minute", () => {
    expect(nextDelay(10_000, 0)).toBe(10_000);
    expect(nextDelay(10_000, 1)).toBe(20_000);
    expect(nextDelay(10_000, 2)).toBe(40_000);
    expect(nextDelay(10_000, 3)).toBe(MAX_BACKOFF_MS);
    expect(nextDelay(2_000, 10)).toBe(MAX_BACKOFF_MS);
  });
});

describe("routes", () => {
  it("round-trips hashes", () => {
    expect(parseHash("#/agent/gpt-5")).toEqual({ view: "agent", signature: "gpt-5" });
    expect(parseHash("#/jobs")).toEqual({ view: "jobs", jobId: null });
    expect(parseHash("")).toEqual({ view: "arena" });
    expect(parseHash(hrefFor({ view: "stock", symbol: "SH688008" }))).toEqual({
      view: "stock",
      symbol: "SH688008",
    });
  });
});

describe("data shaping", () => {
  it("ranks agents by return with the benchmark in place", () => {
    const rows = rankRows(statsFixture as ModelStatsResponse);
    expect(rows.map((r) => (r.kind === "agent" ? r.stat.signature : "benchmark"))).toEqual([
      "baseline-momentum",
      "benchmark",
      "baseline-buy-and-hold",
      "gpt-5",
    ]);
  });
  it("aligns pnl series on windows", () => {
    const { categories, series } = alignSeries(pnlFixture as PnlSeriesResponse, "equity");
    expect(categories).toHaveLength(4);
    expect(series.map((s) => s.key)).toEqual([
      "baseline-momentum",
      "gpt-5",
      "baseline-buy-and-hold",
      "benchmark-equal-weight",
    ]);
    expect(series[0]?.values[3]).toBe(1012300.12);
    expect(series[3]?.dashed).toBe(true);
  });
  it("places trade markers on their windows", () => {
    const { markers, series } = stockChart(stockFixture as StockDetail);
    expect(markers.map((m) => [m.index, m.kind, m.value])).toEqual([
      [1, "buy", 101.5],
      [3, "sell", 101.2],
    ]);
    expect(series.map((s) => s.key)).toEqual(["price", "bb_upper", "bb_lower"]);
  });
  it("makes nice ticks", () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(-0.87, 1.23, 5)).toEqual([-1, -0.5, 0, 0.5, 1, 1.5]);
  });
});

describe("issue-12 helpers", () => {
  it("routes to positions, trades, experiments and an exact decision", () => {
    expect(parseHash("#/agent/gpt-5/2025-11-05T14%3A00")).toEqual({
      view: "agent",
      signature: "gpt-5",
      decision: "2025-11-05T14:00",
    });
    expect(hrefFor({ view: "agent", signature: "gpt-5", decision: "2025-11-05T14:00" })).toBe(
      "#/agent/gpt-5/2025-11-05T14%3A00",
    );
    expect(parseHash("#/positions")).toEqual({ view: "positions" });
    expect(parseHash("#/trades")).toEqual({ view: "trades" });
    expect(parseHash("#/experiments/baselines_demo")).toEqual({ view: "experiments", name: "baselines_demo" });
    expect(hrefFor({ view: "experiments", name: null })).toBe("#/experiments");
  });

  it("names the stock in trade summaries when the API knows it", () => {
    expect(tradeText({ action: "BUY", symbol: "SH688981", name: "中芯国际", amount: 100, price: 114.38 })).toBe(
      "BUY 100 SH688981 中芯国际 @ 114.38",
    );
    expect(tradeText({ action: "SELL", symbol: "SH688008", amount: 100, price: 99.8 })).toBe(
      "SELL 100 SH688008 @ 99.80",
    );
  });

  it("shows holding times in hours, long ones in days", () => {
    expect(holdingText(27.5)).toBe("27.5 h");
    expect(holdingText(434.5)).toBe("18.1 d");
  });

  it("builds arena-scoped live URLs and leaves the arena out when there is none", () => {
    expect(liveApi("exp:baselines_demo/nov__r0").tradesCsvUrl("gpt-5")).toBe(
      "/api/live/trades.csv?arena=exp%3Abaselines_demo%2Fnov__r0&signature=gpt-5",
    );
    expect(liveApi(null).streamUrl("12")).toBe("/api/live/stream?last_event_id=12");
    expect(liveApi(null).pnlCsvUrl("cost")).toBe("/api/live/pnl-series.csv?valuation=cost");
  });
});
