import { useState } from "react";
import type { Valuation } from "../api/types";
import { Leaderboard } from "../components/Leaderboard";
import { type PnlMetric, PnlChart } from "../components/PnlChart";
import { Segmented } from "../components/Segmented";
import { StatusBlock } from "../components/StatusBlock";
import { useLive } from "../live/useLive";
import { ago, stamp } from "../lib/format";
import { DecisionFeed } from "./DecisionFeed";

export function ArenaView() {
  const [valuation, setValuation] = useState<Valuation>("market");
  const [metric, setMetric] = useState<PnlMetric>("return_pct");
  const stats = useLive("model-stats", (live, signal) => live.modelStats(signal));
  const pnl = useLive(`pnl-${valuation}`, (live, signal) => live.pnlSeries(valuation, signal));

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h2>Leaderboard</h2>
          <span className="meta" data-testid="lb-updated">
            Updated {stamp(stats.data?.updated_at)}
            {stats.updatedAt !== null && <> · fetched {ago(stats.updatedAt)}</>}
          </span>
        </header>
        <StatusBlock
          state={stats}
          what="leaderboard"
          isEmpty={(d) => d.data.length === 0}
          emptyText="No agent has records yet. Start a run from the Jobs tab."
        >
          {(d) => <Leaderboard stats={d} />}
        </StatusBlock>
      </section>

      <section className="panel">
        <header className="panel-head">
          <h2>Performance</h2>
          <div className="controls">
            <Segmented
              label="Metric"
              value={metric}
              onChange={setMetric}
              options={[
                { value: "return_pct", label: "Return %" },
                { value: "equity", label: "Equity" },
              ]}
            />
            <Segmented
              label="Valuation"
              value={valuation}
              onChange={setValuation}
              options={[
                { value: "market", label: "Market" },
                { value: "cost", label: "Cost" },
              ]}
            />
          </div>
        </header>
        <StatusBlock
          state={pnl}
          what="PnL series"
          isEmpty={(d) => d.series.every((s) => s.points.length === 0)}
          emptyText="No decision windows recorded yet."
        >
          {(d) => <PnlChart data={d} metric={metric} />}
        </StatusBlock>
        <p className="footnote">
          One point per decision window. Market valuation prices holdings at the window's snapshot
          price; cost valuation at their average cost.
        </p>
      </section>

      <section className="panel">
        <header className="panel-head">
          <h2>Latest decisions</h2>
        </header>
        <DecisionFeed />
      </section>
    </div>
  );
}
