// Response shapes of the AStock Arena API (spec/CONTRACT.md, "API responses").
// Metrics that need enough history (Sharpe, volatility, ...) may be null early in a run.

export type Valuation = "market" | "cost";

export interface ServerStatus {
  status: string;
  version: string;
  data_root: string;
  active_jobs: number;
}

export type JobStatus = "starting" | "running" | "completed" | "failed" | "stopped" | string;

export interface JobAgent {
  signature: string;
  /** starting, running, completed, failed, stopped, or skipped (see skip_reason) */
  status: string;
  windows_done: number;
  windows_total: number | null;
  current_window?: string | null;
  /** Why the run does not start this agent (no API key, disabled), when status is "skipped". */
  skip_reason?: string | null;
}

export interface Job {
  job_id: string;
  status: JobStatus;
  pid: number | null;
  config_path: string;
  data_root: string;
  started_at: string | null;
  ended_at: string | null;
  exit_code: number | null;
  /** Why the job failed, when known. */
  error?: string | null;
  init_date?: string | null;
  end_date?: string | null;
  signatures?: string[];
  agents: JobAgent[];
  log_tail: string[];
  /** The arena (GET /api/arenas id) the job writes to. */
  arena?: string;
}

export interface JobList {
  data: Job[];
  count: number;
}

export interface RunTradingRequest {
  config_path: string;
  init_date?: string;
  end_date?: string;
  signatures?: string[];
}

export interface RunTradingResponse {
  job_id: string;
  pid: number | null;
  status: JobStatus;
  started_at: string;
}

export interface PnlPoint {
  window_id: string;
  time: string;
  equity: number;
  return_pct: number;
}

export interface PnlSeries {
  signature: string;
  points: PnlPoint[];
}

export interface PnlSeriesResponse {
  valuation: Valuation;
  series: PnlSeries[];
  benchmark: PnlSeries | null;
}

export interface Holding {
  symbol: string;
  shares: number;
  sellable: number;
  avg_price: number;
  last_price: number | null;
  market_value: number | null;
  unrealized_pnl: number | null;
  unrealized_pnl_pct: number | null;
  purchase_date?: string | null;
  /** Stock name when the data source knows it. */
  name?: string | null;
}

export interface CurrentPositions {
  signature: string;
  as_of: string | null;
  cash: number;
  equity: number;
  holdings: Holding[];
}

export interface ModelStat {
  signature: string;
  provider: string;
  model: string;
  total_return_pct: number | null;
  annualized_volatility_pct: number | null;
  sharpe: number | null;
  /** Magnitude of the worst peak-to-trough fall, as a positive percentage. */
  max_drawdown_pct: number | null;
  win_rate_pct: number | null;
  round_trips: number;
  trades: number;
  fees_paid: number;
  cash: number;
  equity: number;
  initial_cash?: number;
  last_action: string | null;
  last_update: string | null;
  tokens_in: number;
  tokens_out: number;
  llm_errors: number;
  invalid_tool_calls: number;
  rejected_orders: number;
  model_calls?: number;
  mean_latency_ms: number | null;
  windows_done: number;
  /** Cost, latency and knowledge-cutoff figures (absent from servers that predate them). */
  tokens_per_decision?: number | null;
  /** CNY; 0 for baselines, null for a model without pricing. */
  inference_cost_cny?: number | null;
  cost_per_decision_cny?: number | null;
  latency_p50_ms?: number | null;
  latency_p95_ms?: number | null;
  /** Equity minus initial cash. */
  pnl_cny?: number | null;
  /** Annualized volatility (issue-12 servers; older ones only send annualized_volatility_pct). */
  volatility_pct?: number | null;
  pnl_net_of_cost_cny?: number | null;
  knowledge_cutoff?: string | null;
  /** A model agent without a knowledge cutoff: its results cannot be split at it. */
  knowledge_cutoff_missing?: boolean;
  post_cutoff?: PostCutoff | null;
}

export interface PostCutoff {
  windows: number;
  return_pct: number | null;
  pnl_cny: number | null;
}

export interface BenchmarkStat {
  signature?: string;
  total_return_pct: number | null;
  annualized_volatility_pct: number | null;
  sharpe: number | null;
  max_drawdown_pct: number | null;
  equity?: number | null;
  /** Equity minus initial cash. */
  pnl_cny?: number | null;
  volatility_pct?: number | null;
  last_update?: string | null;
}

export interface ModelStatsResponse {
  data: ModelStat[];
  benchmark: BenchmarkStat | null;
  updated_at: string | null;
}

/** A fill as written to position.jsonl's `this_action`. */
export interface TradeAction {
  action: string;
  symbol?: string;
  name?: string | null;
  amount?: number;
  price?: number;
  notional?: number;
  commission?: number;
  stamp_duty?: number;
  transfer_fee?: number;
}

/** A dividend or bonus ledger record (fields of the other kind are null). */
export interface CorporateAction {
  kind: "dividend" | "bonus" | string;
  symbol: string;
  ex_date: string | null;
  /** Dividend: the shares it was paid on; bonus: the shares held before it. */
  shares: number | null;
  cash_per_share: number | null;
  gross: number | null;
  tax: number | null;
  net: number | null;
  bonus_per_share: number | null;
  new_shares: number | null;
  shares_after: number | null;
  /** First day the bonus shares can be sold. */
  sellable_from: string | null;
}

/** GET /api/live/corporate-actions row: the record, its window and the cash after it. */
export interface CorporateActionRow extends CorporateAction {
  signature: string;
  window_id: string;
  date: string;
  cash: number | null;
}

export interface CorporateActionList {
  signature: string;
  data: CorporateActionRow[];
  count: number;
  /** Sum of the dividends' net amounts. */
  dividends_net: number;
}

/** A fill of a resting order (GET /api/live/orders). */
export interface OrderFill {
  bar_time: string | null;
  quantity: number;
  price: number;
  /** The window that recorded the fill. */
  window_id: string | null;
}

/** How a resting order ended (null while it works). */
export interface OrderEnding {
  state: "filled" | "cancelled" | "expired" | "rejected" | string;
  reason: string | null;
  message: string | null;
  bar_time: string | null;
  window_id: string | null;
  decision_time: string | null;
}

/** GET /api/live/orders row: a resting order, its fills and how it ended. */
export interface RestingOrder {
  order_id: string;
  symbol: string | null;
  name: string | null;
  side: string | null;
  order_type: string | null;
  quantity: number | null;
  price: number | null;
  valid_days: number | null;
  expires_on: string | null;
  placed_at: string | null;
  window_id: string | null;
  /** The order it was paired with at placement. */
  oco_with: string | null;
  /** The other order of its OCO pair, whichever side of the link. */
  oco_partner: string | null;
  state: string;
  filled: number;
  remaining: number;
  avg_fill_price: number | null;
  fills: OrderFill[];
  ended: OrderEnding | null;
}

export interface OrderList {
  signature: string;
  data: RestingOrder[];
  count: number;
  /** Orders working or partially filled. */
  working: number;
}

export interface Rejection {
  reason: string;
  message?: string | null;
  symbol?: string | null;
  action?: string | null;
  quantity?: number | null;
}

export interface ToolCallRecord {
  name: string | null;
  /** Raw JSON text as the model sent it (may arrive already parsed). */
  arguments: unknown;
  /** The text sent back to the model. */
  result: unknown;
  ok: boolean;
  error_kind: string | null;
}

export interface Decision {
  signature: string;
  window_id: string;
  decision_time: string;
  outcome: string;
  reasoning: string | null;
  tool_calls: ToolCallRecord[];
  trades: TradeAction[];
  /** The window's dividend and bonus records (applied before its decision). */
  corporate_actions?: CorporateAction[];
  rejections: Rejection[];
  tokens_in: number;
  tokens_out: number;
  llm_errors: number;
  invalid_tool_calls: number;
  /** Why the window failed (llm_error windows). */
  error?: string | null;
  /** The reasoning text was cut to a maximum length. */
  truncated?: boolean;
  duration_ms?: number | null;
  /** Sum of the window's model-call latencies. */
  latency_ms_total?: number | null;
  /** Tool calls beyond the per-item limit (not listed). */
  tool_calls_left_off?: number;
}

export interface DecisionList {
  data: Decision[];
  count: number;
  /** Items that did not fit the response. */
  left_off?: number;
}

export interface NewsItem {
  id: string;
  title: string;
  content?: string | null;
  publish_time: string;
  source?: string | null;
  url?: string | null;
  symbol?: string | null;
}

export interface NewsList {
  data: NewsItem[];
  count: number;
}

export interface SymbolList {
  data: string[];
  count: number;
}

export interface MacdValues {
  macd: number | null;
  signal: number | null;
  histogram: number | null;
}

export interface Indicators {
  rsi?: number | null;
  rsi_short?: number | null;
  macd?: MacdValues | null;
  bb_upper?: number | null;
  bb_middle?: number | null;
  bb_lower?: number | null;
}

export interface PricePoint {
  time: string;
  price: number | null;
  /** Bar open/high/low/volume when the source has them (candles need all of open/high/low). */
  open?: number | null;
  high?: number | null;
  low?: number | null;
  volume?: number | null;
  indicators: Indicators | null;
}

export interface StockTrade {
  signature: string;
  name?: string | null;
  time: string;
  action: string;
  amount: number | null;
  price: number | null;
}

export interface StockDetail {
  symbol: string;
  name?: string | null;
  prices: PricePoint[];
  news: NewsItem[];
  trades: StockTrade[];
}

export interface ModelInfo {
  signature: string;
  provider: string;
  basemodel: string;
  enabled: boolean;
  status: "ready" | "missing_key" | "disabled" | string;
  skip_reason: string | null;
  has_records: boolean;
}

export interface ModelList {
  data: ModelInfo[];
}

export interface ConfigInfo {
  config_path: string;
  description: string;
  init_date: string;
  end_date: string;
  mode: string;
  source: string;
  agents: string[];
}

export interface ConfigList {
  data: ConfigInfo[];
}

// ---- issue 12: arenas, completed trades, live push (see the API contract) ----

export interface ArenaInfo {
  /** Config file stem, or "exp:<experiment>/<cell>" for an experiment cell. */
  id: string;
  kind: "config" | "experiment_cell" | string;
  config: string;
  period: { start: string; end: string };
  data_source: "demo" | "files" | "akshare" | string;
  synthetic: boolean;
  data_root: string;
  agents: string[];
  /** Latest window recorded by any agent (the data's own clock, not the server's). */
  last_window: string | null;
  running_job: string | null;
  default: boolean;
}

export interface ArenaList {
  arenas: ArenaInfo[];
}

/** One FIFO round trip (partial exits split trades). */
export interface CompletedTrade {
  signature: string;
  symbol: string;
  name: string | null;
  quantity: number;
  entry_time: string;
  exit_time: string;
  holding_hours: number;
  entry_price: number;
  exit_price: number;
  fees: number;
  /** Net cash dividends received on the closed shares (included in realized_pnl_net). */
  dividends: number;
  realized_pnl_net: number;
}

export interface TradeSummary {
  count: number;
  wins: number;
  biggest_win: number | null;
  biggest_loss: number | null;
  realized_pnl_net: number;
}

export interface TradesResponse {
  trades: CompletedTrade[];
  summary: Record<string, TradeSummary>;
}

/** Event names of GET /api/live/stream. */
export type LiveEventType = "fill" | "window_end" | "decision" | "job" | "reset";
