import { api } from "../api/client";
import type { ExperimentDetail } from "../api/experimentTypes";
import { CiTable } from "../components/experiments/CiTable";
import { FanChart } from "../components/experiments/FanChart";
import { PairwiseMatrix } from "../components/experiments/PairwiseMatrix";
import { RankDistribution } from "../components/experiments/RankDistribution";
import { StatusBlock } from "../components/StatusBlock";
import { usePolling } from "../hooks/usePolling";
import { STATIC_INTERVAL_MS } from "../lib/intervals";
import { hrefFor } from "../lib/route";

function Report({ d }: { d: ExperimentDetail }) {
  const r = d.report;
  if (!r) {
    return (
      <div className="state state-empty">
        No report for {d.name} yet: run <code>python -m agent_engine.experiment run {d.name}</code>.
      </div>
    );
  }
  const level = r.settings.confidence_level;
  return (
    <>
      <section className="panel">
        <header className="panel-head">
          <h2>{d.name}</h2>
          <span className="meta" data-testid="experiment-cells">
            {r.cells.completed} of {r.cells.total} cells completed · {r.settings.repeats} repeats ·{" "}
            {Math.round(level * 100)} % intervals
          </span>
        </header>
        <p className="meta">{d.description}</p>
        {r.warnings.length > 0 && (
          <ul className="warnings">
            {r.warnings.map((w) => (
              <li key={w} className="warn">
                {w}
              </li>
            ))}
          </ul>
        )}
        <CiTable models={r.models} level={level} />
      </section>
      <div className="two-col">
        <section className="panel">
          <header className="panel-head">
            <h2>Rank distribution</h2>
          </header>
          <RankDistribution models={r.models} />
        </section>
        <section className="panel">
          <header className="panel-head">
            <h2>Pairwise</h2>
          </header>
          <PairwiseMatrix pairwise={r.pairwise} />
        </section>
      </div>
      {Object.entries(r.fan).map(([period, fan]) => (
        <section key={period} className="panel">
          <header className="panel-head">
            <h2>Fan chart · {period}</h2>
          </header>
          <FanChart period={period} fan={fan} level={level} />
        </section>
      ))}
    </>
  );
}

/** Experiments (GET /api/experiments) and one experiment's report. */
export function ExperimentsView({ name }: { name: string | null }) {
  const list = usePolling("experiments", (signal) => api.experiments(signal), STATIC_INTERVAL_MS);
  const items = list.data?.data ?? [];
  const chosen = name ?? items.find((e) => e.report_available)?.name ?? items[0]?.name ?? null;
  const detail = usePolling(
    chosen ? `experiment-${chosen}` : null,
    (signal) => api.experiment(chosen ?? "", signal),
    STATIC_INTERVAL_MS,
  );
  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h2>Experiments</h2>
        </header>
        <StatusBlock
          state={list}
          what="experiments"
          isEmpty={(d) => d.data.length === 0}
          emptyText="No experiment files in settings/experiments/."
        >
          {(d) => (
            <div className="chips">
              {d.data.map((e) => (
                <a
                  key={e.name}
                  className={`chip${e.name === chosen ? " active" : ""}`}
                  href={hrefFor({ view: "experiments", name: e.name })}
                  title={e.valid ? e.description : (e.error ?? "invalid")}
                >
                  {e.name}
                  {!e.valid && " (invalid)"}
                  {e.valid && !e.report_available && " (no report)"}
                </a>
              ))}
            </div>
          )}
        </StatusBlock>
      </section>
      {chosen && (
        <StatusBlock state={detail} what={`experiment ${chosen}`}>
          {(d) => <Report d={d} />}
        </StatusBlock>
      )}
    </div>
  );
}
