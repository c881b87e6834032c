import type { BenchmarkStat, ModelStat, ModelStatsResponse } from "../api/types";
import { colorFor } from "../lib/colors";
import { compact, fixed, int, money, pct, stamp, tone } from "../lib/format";
import { hrefFor } from "../lib/route";

type Row = { kind: "agent"; stat: ModelStat } | { kind: "benchmark"; stat: BenchmarkStat };

const BENCHMARK_NAME = "benchmark-equal-weight";

/** Agents by total return, best first (agents without a return yet go last), benchmark in place. */
export function rankRows(resp: ModelStatsResponse): Row[] {
  const rows: Row[] = resp.data.map((stat) => ({ kind: "agent", stat }));
  if (resp.benchmark) rows.push({ kind: "benchmark", stat: resp.benchmark });
  const key = (r: Row) => r.stat.total_return_pct ?? Number.NEGATIVE_INFINITY;
  return rows.sort((a, b) => {
    const d = key(b) - key(a);
    if (d !== 0) return d;
    if (a.kind !== b.kind) return a.kind === "agent" ? -1 : 1;
    const sa = a.kind === "agent" ? a.stat.signature : BENCHMARK_NAME;
    const sb = b.kind === "agent" ? b.stat.signature : BENCHMARK_NAME;
    return sa.localeCompare(sb);
  });
}

function Cell({
  col,
  value,
  text,
  className = "",
  title,
}: {
  col: string;
  value: number | null | undefined;
  text: string;
  className?: string;
  title?: string;
}) {
  return (
    <td
      className={`num ${className}`}
      data-col={col}
      data-value={value === null || value === undefined ? "" : String(value)}
      title={title}
    >
      {text}
    </td>
  );
}

function latencyText(s: ModelStat): string {
  if (s.latency_p50_ms == null || s.latency_p95_ms == null) return "—";
  const ms = (v: number) => fixed(v, v < 10 ? 2 : 0);
  return `${ms(s.latency_p50_ms)} / ${ms(s.latency_p95_ms)} ms`;
}

/** Post-cutoff return; "no cutoff" flags a model agent without a knowledge cutoff. */
export function cutoffText(s: ModelStat): string {
  if (s.knowledge_cutoff_missing) return "no cutoff";
  return pct(s.post_cutoff?.return_pct ?? null, 2, true);
}

function cutoffTitle(s: ModelStat): string | undefined {
  if (s.knowledge_cutoff_missing) return "No knowledge_cutoff in the config: results may include what the model knew";
  if (!s.knowledge_cutoff || !s.post_cutoff) return undefined;
  return `${s.post_cutoff.windows} windows after the cutoff ${s.knowledge_cutoff}`;
}

export function Leaderboard({ stats }: { stats: ModelStatsResponse }) {
  const rows = rankRows(stats);
  const agentRanks = new Map(
    rows.flatMap((r) => (r.kind === "agent" ? [r.stat.signature] : [])).map((sig, i) => [sig, i + 1]),
  );
  return (
    <div className="table-wrap">
      <table className="table leaderboard" aria-label="Leaderboard">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Agent</th>
            <th className="num" title="Total return since the start">
              Return
            </th>
            <th className="num">Equity (CNY)</th>
            <th className="num" title="Annualized Sharpe ratio">
              Sharpe
            </th>
            <th className="num" title="Maximum drawdown">
              Max DD
            </th>
            <th className="num" title="Share of closed round trips with a profit">
              Win rate
            </th>
            <th className="num">Trades</th>
            <th className="num">Fees (CNY)</th>
            <th className="num" title="Prompt tokens">
              Tok in
            </th>
            <th className="num" title="Completion tokens">
              Tok out
            </th>
            <th className="num" title="LLM call errors">
              LLM err
            </th>
            <th className="num" title="Decision windows completed">
              Windows
            </th>
            <th className="num" title="Prompt + completion tokens per decision window">
              Tok/dec
            </th>
            <th className="num" title="Inference cost of the run (pricing × FX); baselines cost 0">
              Cost (CNY)
            </th>
            <th className="num" title="Profit and loss minus the inference cost">
              Net PnL (CNY)
            </th>
            <th className="num" title="Latency per model call, median / 95th percentile">
              Latency p50/p95
            </th>
            <th className="num" title="Return over the windows after the model's knowledge cutoff only">
              After cutoff
            </th>
            <th>Last action</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            if (row.kind === "benchmark") {
              const b = row.stat;
              const name = b.signature ?? BENCHMARK_NAME;
              return (
                <tr key="benchmark" className="row-benchmark" data-testid="lb-row-benchmark">
                  <td className="num muted">—</td>
                  <td>
                    <span className="agent-name">
                      <span className="swatch dashed" style={{ borderColor: colorFor(name) }} />
                      {name}
                    </span>
                    <span className="sub">benchmark · equal weight, buy and hold</span>
                  </td>
                  <Cell
                    col="total_return_pct"
                    value={b.total_return_pct}
                    text={pct(b.total_return_pct, 2, true)}
                    className={tone(b.total_return_pct)}
                  />
                  <Cell col="equity" value={b.equity} text={money(b.equity)} />
                  <Cell col="sharpe" value={b.sharpe} text={fixed(b.sharpe)} />
                  <Cell
                    col="max_drawdown_pct"
                    value={b.max_drawdown_pct}
                    text={pct(b.max_drawdown_pct)}
                  />
                  <td className="muted" colSpan={12} />
                  <td className="muted">{stamp(b.last_update)}</td>
                </tr>
              );
            }
            const s = row.stat;
            const rank = agentRanks.get(s.signature);
            return (
              <tr key={s.signature} data-testid={`lb-row-${s.signature}`}>
                <td className="num rank">{rank}</td>
                <td>
                  <a className="agent-name" href={hrefFor({ view: "agent", signature: s.signature })}>
                    <span className="swatch" style={{ background: colorFor(s.signature) }} />
                    {s.signature}
                  </a>
                  <span className="sub">
                    {s.provider} · {s.model}
                  </span>
                </td>
                <Cell
                  col="total_return_pct"
                  value={s.total_return_pct}
                  text={pct(s.total_return_pct, 2, true)}
                  className={`strong ${tone(s.total_return_pct)}`}
                />
                <Cell col="equity" value={s.equity} text={money(s.equity)} />
                <Cell col="sharpe" value={s.sharpe} text={fixed(s.sharpe)} />
                <Cell
                  col="max_drawdown_pct"
                  value={s.max_drawdown_pct}
                  text={pct(s.max_drawdown_pct)}
                />
                <Cell col="win_rate_pct" value={s.win_rate_pct} text={pct(s.win_rate_pct, 1)} />
                <Cell
                  col="trades"
                  value={s.trades}
                  text={int(s.trades)}
                  title={`${s.round_trips} closed round trips, ${s.rejected_orders} rejected orders`}
                />
                <Cell col="fees_paid" value={s.fees_paid} text={money(s.fees_paid)} />
                <Cell
                  col="tokens_in"
                  value={s.tokens_in}
                  text={compact(s.tokens_in)}
                  title={int(s.tokens_in)}
                />
                <Cell
                  col="tokens_out"
                  value={s.tokens_out}
                  text={compact(s.tokens_out)}
                  title={int(s.tokens_out)}
                />
                <Cell
                  col="llm_errors"
                  value={s.llm_errors}
                  text={int(s.llm_errors)}
                  className={s.llm_errors > 0 ? "warn" : ""}
                  title={`${s.invalid_tool_calls} invalid tool calls`}
                />
                <Cell col="windows_done" value={s.windows_done} text={int(s.windows_done)} />
                <Cell
                  col="tokens_per_decision"
                  value={s.tokens_per_decision}
                  text={fixed(s.tokens_per_decision, 0)}
                />
                <Cell
                  col="inference_cost_cny"
                  value={s.inference_cost_cny}
                  text={money(s.inference_cost_cny)}
                  title={`${money(s.cost_per_decision_cny, 4)} per decision`}
                />
                <Cell
                  col="pnl_net_of_cost_cny"
                  value={s.pnl_net_of_cost_cny}
                  text={money(s.pnl_net_of_cost_cny)}
                  className={tone(s.pnl_net_of_cost_cny)}
                />
                <Cell
                  col="latency_p95_ms"
                  value={s.latency_p95_ms}
                  text={latencyText(s)}
                />
                <Cell
                  col="post_cutoff_return_pct"
                  value={s.post_cutoff?.return_pct}
                  text={cutoffText(s)}
                  className={s.knowledge_cutoff_missing ? "warn" : tone(s.post_cutoff?.return_pct)}
                  title={cutoffTitle(s)}
                />
                <td className="last-action" title={stamp(s.last_update)}>
                  {s.last_action ?? "—"}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
