import type { MetricName, MetricSummary, ModelReport } from "../../api/experimentTypes";
import { colorFor } from "../../lib/colors";
import { fixed } from "../../lib/format";

const METRICS: { key: MetricName; label: string; unit: string }[] = [
  { key: "total_return_pct", label: "Total return", unit: "%" },
  { key: "excess_return_pct", label: "Excess return", unit: "%" },
  { key: "sharpe", label: "Sharpe", unit: "" },
  { key: "max_drawdown_pct", label: "Max drawdown", unit: "%" },
  { key: "win_rate_pct", label: "Win rate", unit: "%" },
];

/** "1.23% [0.50, 2.10]"; "—" without a value; no interval when the report has none. */
export function ciText(m: MetricSummary | undefined, unit: string): string {
  if (!m || m.mean === null) return "—";
  const ci = m.mean_ci ? ` [${fixed(m.mean_ci[0])}, ${fixed(m.mean_ci[1])}]` : "";
  return `${fixed(m.mean)}${unit}${ci}`;
}

/** Mean of each metric per model with its confidence interval. */
export function CiTable({ models, level }: { models: ModelReport[]; level: number }) {
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Confidence intervals">
        <thead>
          <tr>
            <th>Model</th>
            <th className="num">Runs</th>
            {METRICS.map((m) => (
              <th key={m.key} className="num" title={`mean [${Math.round(level * 100)} % interval]`}>
                {m.label}
              </th>
            ))}
            <th className="num">Mean rank</th>
          </tr>
        </thead>
        <tbody>
          {models.map((r) => (
            <tr key={r.signature} data-testid={`ci-${r.signature}`}>
              <td>
                <span className="agent-name">
                  <span className="swatch" style={{ background: colorFor(r.signature) }} />
                  {r.signature}
                </span>
              </td>
              <td className="num">{r.runs}</td>
              {METRICS.map((m) => (
                <td
                  key={m.key}
                  className="num"
                  data-col={m.key}
                  title={r.metrics[m.key]?.method ?? undefined}
                >
                  {ciText(r.metrics[m.key], m.unit)}
                </td>
              ))}
              <td className="num">{fixed(r.rank.mean)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
