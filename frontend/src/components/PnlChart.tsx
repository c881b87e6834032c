import type { PnlSeries, PnlSeriesResponse } from "../api/types";
import { colorFor } from "../lib/colors";
import { money, pct, shortTime } from "../lib/format";
import { type ChartSeries, LineChart } from "./LineChart";

export type PnlMetric = "return_pct" | "equity";

/** Align all series on the union of their windows (ordered by decision time). */
export function alignSeries(
  resp: PnlSeriesResponse,
  metric: PnlMetric,
): { categories: string[]; series: ChartSeries[] } {
  const all: PnlSeries[] = [...resp.series];
  if (resp.benchmark && resp.benchmark.points.length) all.push(resp.benchmark);
  const times = new Set<string>();
  for (const s of all) for (const p of s.points) times.add(p.time);
  const categories = [...times].sort();
  const index = new Map(categories.map((t, i) => [t, i]));
  const series = all.map((s): ChartSeries => {
    const values: (number | null)[] = categories.map(() => null);
    for (const p of s.points) {
      const i = index.get(p.time);
      if (i !== undefined) values[i] = p[metric];
    }
    const isBenchmark = s === resp.benchmark;
    return {
      key: s.signature,
      label: s.signature,
      color: colorFor(isBenchmark ? "benchmark" : s.signature),
      dashed: isBenchmark,
      values,
    };
  });
  return { categories, series };
}

export function PnlChart({ data, metric }: { data: PnlSeriesResponse; metric: PnlMetric }) {
  const { categories, series } = alignSeries(data, metric);
  return (
    <LineChart
      categories={categories}
      series={series}
      formatValue={metric === "return_pct" ? (v) => pct(v, 2, true) : (v) => money(v, 0)}
      formatCategory={shortTime}
      baseline={metric === "return_pct" ? 0 : undefined}
      ariaLabel={`${metric === "return_pct" ? "Return" : "Equity"} of every agent per window (${data.valuation} valuation)`}
    />
  );
}
