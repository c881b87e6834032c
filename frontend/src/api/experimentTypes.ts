// Shapes of GET /api/experiments and GET /api/experiments/{name} (api_routes/experiments.py; the
// report is report.json as written by agent_engine/experiments/report.py, see README "Experiments").

export interface ExperimentPeriod {
  id: string;
  init_date: string;
  end_date: string;
}

export interface ExperimentInfo {
  name: string;
  description: string;
  valid: boolean;
  error: string | null;
  models: string[];
  repeats: number | null;
  periods: ExperimentPeriod[];
  cells_total: number | null;
  report_available: boolean;
}

export interface ExperimentList {
  data: ExperimentInfo[];
}

/** A metric over a model's runs: mean/median with their intervals (null when undefined). */
export interface MetricSummary {
  n: number;
  mean: number | null;
  mean_ci: [number, number] | null;
  median: number | null;
  median_ci: [number, number] | null;
  method: string | null;
}

export type MetricName =
  | "total_return_pct"
  | "excess_return_pct"
  | "sharpe"
  | "max_drawdown_pct"
  | "win_rate_pct";

export interface ModelReport {
  signature: string;
  runs: number;
  metrics: Partial<Record<MetricName, MetricSummary>>;
  /** distribution[k] = how many (period, repeat) groups the model finished at rank k + 1. */
  rank: { distribution: number[]; groups: number; mean: number | null };
}

export interface PairCell {
  estimate: number;
  ci: [number, number] | null;
}

export interface Pairwise {
  signatures: string[];
  /** p_beats[i][j] = P(signatures[i] beats signatures[j]); null on the diagonal. */
  p_beats: (number | null)[][];
  mean_diff_pct: (PairCell | null)[][];
}

export interface FanBand {
  median: (number | null)[];
  low: (number | null)[];
  high: (number | null)[];
}

export interface FanPeriod {
  times: string[];
  benchmark: (number | null)[];
  models: Record<string, FanBand>;
}

export interface ExperimentReport {
  experiment: string;
  description: string;
  settings: { confidence_level: number; repeats: number; [key: string]: unknown };
  cells: { total: number; completed: number; not_completed: unknown[] };
  models: ModelReport[];
  pairwise: Pairwise;
  fan: Record<string, FanPeriod>;
  warnings: string[];
}

export interface ExperimentDetail {
  name: string;
  description: string;
  experiment: Record<string, unknown>;
  cells_total: number;
  report: ExperimentReport | null;
}
