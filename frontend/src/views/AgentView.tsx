import { useState } from "react";
import { api } from "../api/client";
import type { CurrentPositions, ModelStat } from "../api/types";
import { DecisionTimeline } from "../components/DecisionTimeline";
import { rankRows } from "../components/Leaderboard";
import { PnlChart } from "../components/PnlChart";
import { StatusBlock } from "../components/StatusBlock";
import { usePolling } from "../hooks/usePolling";
import { colorFor } from "../lib/colors";
import { compact, fixed, int, money, pct, stamp, tone } from "../lib/format";
import { LIVE_INTERVAL_MS } from "../lib/intervals";
import { hrefFor, navigate } from "../lib/route";

const PAGE = 20;

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

export function HoldingsTable({ pos }: { pos: CurrentPositions }) {
  const invested = pos.holdings.reduce((a, h) => a + (h.market_value ?? 0), 0);
  return (
    <>
      <div className="meta">
        As of {stamp(pos.as_of)} · cash {money(pos.cash)} · holdings {money(invested)} · equity{" "}
        {money(pos.equity)}
      </div>
      {pos.holdings.length === 0 ? (
        <div className="state state-empty">All cash — no holdings.</div>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Holdings">
            <thead>
              <tr>
                <th>Symbol</th>
                <th className="num">Shares</th>
                <th className="num" title="Shares that may be sold today (T+1)">
                  Sellable
                </th>
                <th className="num">Avg cost</th>
                <th className="num">Last price</th>
                <th className="num">Market value</th>
                <th className="num">Unrealized PnL</th>
                <th className="num">PnL %</th>
              </tr>
            </thead>
            <tbody>
              {pos.holdings.map((h) => (
                <tr key={h.symbol} data-testid={`holding-${h.symbol}`}>
                  <td>
                    <a href={hrefFor({ view: "stock", symbol: h.symbol })}>{h.symbol}</a>
                  </td>
                  <td className="num">{int(h.shares)}</td>
                  <td className="num">{int(h.sellable)}</td>
                  <td className="num">{money(h.avg_price, 4)}</td>
                  <td className="num">{money(h.last_price)}</td>
                  <td className="num">{money(h.market_value)}</td>
                  <td className={`num ${tone(h.unrealized_pnl)}`}>{money(h.unrealized_pnl)}</td>
                  <td className={`num ${tone(h.unrealized_pnl_pct)}`}>
                    {pct(h.unrealized_pnl_pct, 2, true)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function AgentView({ signature }: { signature: string | null }) {
  const stats = usePolling("model-stats", (signal) => api.modelStats(signal), LIVE_INTERVAL_MS);
  const ranked = stats.data
    ? rankRows(stats.data).flatMap((r) => (r.kind === "agent" ? [r.stat] : []))
    : [];
  const selected = signature ?? ranked[0]?.signature ?? null;
  const stat = ranked.find((s) => s.signature === selected) ?? null;
  const [limit, setLimit] = useState(PAGE);

  const positions = usePolling(
    selected ? `pos-${selected}` : null,
    (signal) => api.currentPositions(selected ?? "", signal),
    LIVE_INTERVAL_MS,
  );
  const pnl = usePolling(
    selected ? `pnl-agent-${selected}` : null,
    (signal) => api.pnlSeries("market", signal, selected ?? undefined),
    LIVE_INTERVAL_MS,
  );
  const decisions = usePolling(
    selected ? `dec-${selected}-${limit}` : null,
    (signal) => api.recentDecisions(selected ?? undefined, limit, signal),
    LIVE_INTERVAL_MS,
    { keepPrevious: true },
  );

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
                <DecisionTimeline decisions={d.data} />
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
