// The leaderboard's columns: how each shows an agent's and the benchmark's value, and sorts.
import type { BenchmarkStat, ModelStat } from "../api/types";
import { compact, fixed, int, money, pct, tone } from "../lib/format";

export interface CellSpec {
  /** The number behind the text (sorting, data-value); null when missing. */
  value: number | null | undefined;
  text: string;
  className?: string;
  title?: string;
}

export interface Column {
  key: string;
  label: string;
  title?: string;
  agent: (s: ModelStat) => CellSpec;
  /** The benchmark's cell (absent: the benchmark has no such figure). */
  bench?: (b: BenchmarkStat) => CellSpec;
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

/** Annualized volatility: the issue-12 field, else the older name. */
export function volatility(s: ModelStat | BenchmarkStat): number | null {
  const v = "volatility_pct" in s ? s.volatility_pct : undefined;
  return v ?? s.annualized_volatility_pct ?? null;
}

const returnCell = (v: number | null | undefined, strong: boolean): CellSpec => ({
  value: v,
  text: pct(v, 2, true),
  className: `${strong ? "strong " : ""}${tone(v)}`,
});

export const COLUMNS: Column[] = [
  {
    key: "total_return_pct",
    label: "Return",
    title: "Total return since the start",
    agent: (s) => returnCell(s.total_return_pct, true),
    bench: (b) => returnCell(b.total_return_pct, false),
  },
  {
    key: "pnl_cny",
    label: "P&L (CNY)",
    title: "Equity minus initial cash",
    agent: (s) => ({ value: s.pnl_cny, text: money(s.pnl_cny), className: tone(s.pnl_cny) }),
  },
  {
    key: "equity",
    label: "Equity (CNY)",
    agent: (s) => ({ value: s.equity, text: money(s.equity) }),
    bench: (b) => ({ value: b.equity, text: money(b.equity) }),
  },
  {
    key: "sharpe",
    label: "Sharpe",
    title: "Annualized Sharpe ratio",
    agent: (s) => ({ value: s.sharpe, text: fixed(s.sharpe) }),
    bench: (b) => ({ value: b.sharpe, text: fixed(b.sharpe) }),
  },
  {
    key: "volatility_pct",
    label: "Volatility",
    title: "Annualized volatility of the returns",
    agent: (s) => ({ value: volatility(s), text: pct(volatility(s)) }),
    bench: (b) => ({ value: volatility(b), text: pct(volatility(b)) }),
  },
  {
    key: "max_drawdown_pct",
    label: "Max DD",
    title: "Maximum drawdown",
    agent: (s) => ({ value: s.max_drawdown_pct, text: pct(s.max_drawdown_pct) }),
    bench: (b) => ({ value: b.max_drawdown_pct, text: pct(b.max_drawdown_pct) }),
  },
  {
    key: "win_rate_pct",
    label: "Win rate",
    title: "Share of closed round trips with a profit",
    agent: (s) => ({ value: s.win_rate_pct, text: pct(s.win_rate_pct, 1) }),
  },
  {
    key: "trades",
    label: "Trades",
    agent: (s) => ({
      value: s.trades,
      text: int(s.trades),
      title: `${s.round_trips} closed round trips, ${s.rejected_orders} rejected orders`,
    }),
  },
  {
    key: "fees_paid",
    label: "Fees (CNY)",
    agent: (s) => ({ value: s.fees_paid, text: money(s.fees_paid) }),
  },
  {
    key: "tokens_in",
    label: "Tok in",
    title: "Prompt tokens",
    agent: (s) => ({ value: s.tokens_in, text: compact(s.tokens_in), title: int(s.tokens_in) }),
  },
  {
    key: "tokens_out",
    label: "Tok out",
    title: "Completion tokens",
    agent: (s) => ({ value: s.tokens_out, text: compact(s.tokens_out), title: int(s.tokens_out) }),
  },
  {
    key: "llm_errors",
    label: "LLM err",
    title: "LLM call errors",
    agent: (s) => ({
      value: s.llm_errors,
      text: int(s.llm_errors),
      className: s.llm_errors > 0 ? "warn" : "",
      title: `${s.invalid_tool_calls} invalid tool calls`,
    }),
  },
  {
    key: "windows_done",
    label: "Windows",
    title: "Decision windows completed",
    agent: (s) => ({ value: s.windows_done, text: int(s.windows_done) }),
  },
  {
    key: "tokens_per_decision",
    label: "Tok/dec",
    title: "Prompt + completion tokens per decision window",
    agent: (s) => ({ value: s.tokens_per_decision, text: fixed(s.tokens_per_decision, 0) }),
  },
  {
    key: "inference_cost_cny",
    label: "Cost (CNY)",
    title: "Inference cost of the run (pricing × FX); baselines cost 0",
    agent: (s) => ({
      value: s.inference_cost_cny,
      text: money(s.inference_cost_cny),
      title: `${money(s.cost_per_decision_cny, 4)} per decision`,
    }),
  },
  {
    key: "pnl_net_of_cost_cny",
    label: "Net P&L (CNY)",
    title: "Profit and loss minus the inference cost",
    agent: (s) => ({
      value: s.pnl_net_of_cost_cny,
      text: money(s.pnl_net_of_cost_cny),
      className: tone(s.pnl_net_of_cost_cny),
    }),
  },
  {
    key: "latency_p95_ms",
    label: "Latency p50/p95",
    title: "Latency per model call, median / 95th percentile",
    agent: (s) => ({ value: s.latency_p95_ms, text: latencyText(s) }),
  },
  {
    key: "post_cutoff_return_pct",
    label: "After cutoff",
    title: "Return over the windows after the model's knowledge cutoff only",
    agent: (s) => ({
      value: s.post_cutoff?.return_pct,
      text: cutoffText(s),
      className: s.knowledge_cutoff_missing ? "warn" : tone(s.post_cutoff?.return_pct),
      title: cutoffTitle(s),
    }),
  },
];
