import { useEffect, useState } from "react";
import type { ModelStat } from "../api/types";
import { CorporateActionsTable } from "../components/CorporateActions";
import { DecisionTimeline } from "../components/DecisionTimeline";
import { HoldingsTable } from "../components/HoldingsTable";
import { OrdersTable } from "../components/OrdersTable";
import { rankRows } from "../components/Leaderboard";
import { PnlChart } from "../components/PnlChart";
import { StatusBlock } from "../components/StatusBlock";
import { useLive } from "../live/useLive";
import { colorFor } from "../lib/colors";
import { compact, fixed, int, money, pct, stamp, tone } from "../lib/format";
import { navigate } from "../lib/route";
import { TradesPanel } from "./TradesView";

const PAGE = 20;
/** Following a link to an old decision loads pages up to this many decisions. */
const MAX_LIMIT = 500;

function Stat({ label, value, className = "" }: { label: string; value: string; className?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className={`stat-value num ${className}`}>{value}</div>
    </div>
  );
}

function StatGrid({ s }: { s: ModelStat }) {
  return (
    <div className="stat-grid" data-testid="agent-stats">
      <Stat
        label="Return"
        value={pct(s.total_return_pct, 2, true)}
        className={tone(s.total_return_pct)}
      />
      <Stat label="Equity" value={money(s.equity)} />
      <Stat label="Cash" value={money(s.cash)} />
      <Stat label="Sharpe" value={fixed(s.sharpe)} />
      <Stat label="Volatility (ann.)" value={pct(s.annualized_volatility_pct)} />
      <Stat label="Max drawdown" value={pct(s.max_drawdown_pct)} />
      <Stat label="Win rate" value={pct(s.win_rate_pct, 1)} />
      <Stat label="Trades / round trips" value={`${int(s.trades)} / ${int(s.round_trips)}`} />
      <Stat label="Fees" value={money(s.fees_paid)} />
      <Stat label="Rejected orders" value={int(s.rejected_orders)} />
      <Stat label="Tokens in / out" value={`${compact(s.tokens_in)} / ${compact(s.tokens_out)}`} />
      <Stat
        label="LLM errors / invalid calls"
        value={`${int(s.llm_errors)} / ${int(s.invalid_tool_calls)}`}
        className={s.llm_errors > 0 ? "warn" : ""}
      />
      <Stat
        label="Mean latency"
        value={s.mean_latency_ms === null ? "—" : `${fixed(s.mean_latency_ms, s.mean_latency_ms < 10 ? 2 : 0)} ms`}
      />
      <Stat label="Windows done" value={int(s.windows_done)} />
    </div>
  );
}

export function AgentView({
  signature,
  decision = null,
}: {
  signature: string | null;
  /** window_id of a decision to show (a link from the model-chat feed). */
  decision?: string | null;
}) {
  const stats = useLive("model-stats", (live, signal) => live.modelStats(signal));
  const ranked = stats.data
    ? rankRows(stats.data).flatMap((r) => (r.kind === "agent" ? [r.stat] : []))
    : [];
  const selected = signature ?? ranked[0]?.signature ?? null;
  const stat = ranked.find((s) => s.signature === selected) ?? null;
  const [limit, setLimit] = useState(PAGE);

  const positions = useLive(selected ? `pos-${selected}` : null, (live, signal) =>
    live.currentPositions(selected ?? "", signal),
  );
  const pnl = useLive(selected ? `pnl-agent-${selected}` : null, (live, signal) =>
    live.pnlSeries("market", signal, selected ?? undefined),
  );
  const decisions = useLive(
    selected ? `dec-${selected}-${limit}` : null,
    (live, signal) => live.recentDecisions(selected ?? undefined, limit, signal),
    { keepPrevious: true },
  );
  const corporate = useLive(selected ? `corp-${selected}` : null, (live, signal) =>
    live.corporateActions(selected ?? "", signal),
  );
  const orders = useLive(selected ? `orders-${selected}` : null, (live, signal) =>
    live.orders(selected ?? "", signal),
  );
  const loaded = decisions.data?.data ?? null;
  const found = decision !== null && loaded?.some((d) => d.window_id === decision) === true;
  const more = decision !== null && loaded !== null && !found && loaded.length >= limit;
  // The linked decision is older than the loaded page: load the next page (during render, so
  // React restarts this render with the larger page instead of committing the old one).
  if (more && limit < MAX_LIMIT) setLimit(limit + PAGE);
  useEffect(() => {
    if (found) document.getElementById(`decision-${decision}`)?.scrollIntoView?.({ block: "start" });
  }, [found, decision]);

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h2>
            Agent{" "}
            {selected && (
              <span className="agent-title">
                <span className="swatch" style={{ background: colorFor(selected) }} />
                {selected}
              </span>
            )}
          </h2>
          <label className="controls">
            <span className="meta">Agent</span>
            <select
              aria-label="Agent"
              value={selected ?? ""}
              onChange={(e) => {
                setLimit(PAGE);
                navigate({ view: "agent", signature: e.target.value });
              }}
            >
              {selected && !ranked.some((s) => s.signature === selected) && (
                <option value={selected}>{selected}</option>
              )}
              {ranked.map((s) => (
                <option key={s.signature} value={s.signature}>
                  {s.signature}
                </option>
              ))}
            </select>
          </label>
        </header>
        <StatusBlock
          state={stats}
          what="agent statistics"
          isEmpty={(d) => d.data.length === 0}
          emptyText="No agent has records yet."
        >
          {() =>
            stat ? (
              <>
                <div className="meta">
                  {stat.provider} · {stat.model} · last update {stamp(stat.last_update)} · last
                  action: {stat.last_action ?? "—"}
                </div>
                <StatGrid s={stat} />
              </>
            ) : (
              <div className="state state-empty">No statistics for {selected ?? "this agent"}.</div>
            )
          }
        </StatusBlock>
      </section>

      {selected && (
        <div className="two-col">
          <section className="panel">
            <header className="panel-head">
              <h2>Holdings</h2>
            </header>
            <StatusBlock state={positions} what="positions">
              {(d) => <HoldingsTable pos={d} />}
            </StatusBlock>
          </section>
          <section className="panel">
            <header className="panel-head">
              <h2>Return vs benchmark</h2>
            </header>
            <StatusBlock
              state={pnl}
              what="PnL series"
              isEmpty={(d) => d.series.every((s) => s.points.length === 0)}
              emptyText="No decision windows recorded yet."
            >
              {(d) => <PnlChart data={d} metric="return_pct" />}
            </StatusBlock>
          </section>
        </div>
      )}

      {selected && <TradesPanel signature={selected} />}

      {selected && (
        <section className="panel">
          <header className="panel-head">
            <h2>Orders</h2>
            <span className="meta">resting orders: working first, then ended (latest first)</span>
          </header>
          <StatusBlock
            state={orders}
            what="orders"
            isEmpty={(d) => d.data.length === 0}
            emptyText="No resting orders placed yet."
          >
            {(d) => <OrdersTable list={d} />}
          </StatusBlock>
        </section>
      )}

      {selected && (
        <section className="panel">
          <header className="panel-head">
            <h2>Dividends &amp; bonus shares</h2>
            <span className="meta">applied at the ex-date</span>
          </header>
          <StatusBlock
            state={corporate}
            what="dividends and bonus shares"
            isEmpty={(d) => d.data.length === 0}
            emptyText="No dividend or bonus shares received yet."
          >
            {(d) => <CorporateActionsTable list={d} />}
          </StatusBlock>
        </section>
      )}

      {selected && (
        <section className="panel">
          <header className="panel-head">
            <h2>Decision timeline</h2>
            <span className="meta">newest first</span>
          </header>
          <StatusBlock
            state={decisions}
            what="decisions"
            isEmpty={(d) => d.data.length === 0}
            emptyText="No decisions recorded for this agent yet."
          >
            {(d) => (
              <>
                <DecisionTimeline decisions={d.data} highlight={decision} />
                {d.data.length >= limit && (
                  <button
                    type="button"
                    className="btn"
                    onClick={() => setLimit((l) => l + PAGE)}
                  >
                    Load {PAGE} more
                  </button>
                )}
              </>
            )}
          </StatusBlock>
        </section>
      )}
    </div>
  );
}
