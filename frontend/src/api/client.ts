// Small typed client for the AStock Arena API. Same origin: in production the API serves the
// dashboard at /app/; in development Vite proxies /api to the server.
import type { ExperimentDetail, ExperimentList } from "./experimentTypes";
import type {
  ArenaList,
  ConfigList,
  CorporateActionList,
  CurrentPositions,
  DecisionList,
  Job,
  JobList,
  ModelList,
  ModelStatsResponse,
  NewsList,
  OrderList,
  PnlSeriesResponse,
  RunTradingRequest,
  RunTradingResponse,
  ServerStatus,
  StockDetail,
  SymbolList,
  TradesResponse,
  Valuation,
} from "./types";

/** An HTTP error from the API (status > 0) or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(status > 0 ? `HTTP ${status}: ${detail}` : detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** True when the server could not be reached or failed (worth retrying with back-off). */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

type Query = Record<string, string | number | undefined | null>;

const TOKEN_KEY = "arena.apiToken";

/** Dispatched on window after a job was started or stopped from this page. */
export const JOBS_CHANGED_EVENT = "arena:jobs-changed";

function announceJobsChanged<T>(value: T): T {
  window.dispatchEvent(new Event(JOBS_CHANGED_EVENT));
  return value;
}

/** Bearer token for POSTs when the server sets ARENA_API_TOKEN (kept in this browser only). */
export function getApiToken(): string {
  try {
    return window.localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

export function setApiToken(token: string): void {
  try {
    if (token) window.localStorage.setItem(TOKEN_KEY, token);
    else window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the token lasts for this call only */
  }
}

function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function detailText(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    // FastAPI validation errors: [{loc, msg, ...}]
    if (Array.isArray(detail)) {
      return detail
        .map((d: unknown) => {
          if (d && typeof d === "object") {
            const { loc, msg } = d as { loc?: unknown; msg?: unknown };
            const where = Array.isArray(loc) ? loc.join(".") : "";
            return where ? `${where}: ${String(msg)}` : String(msg);
          }
          return String(d);
        })
        .join("; ");
    }
    return JSON.stringify(detail);
  }
  return fallback;
}

async function request<T>(
  method: "GET" | "POST",
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const token = method === "POST" ? getApiToken() : "";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "API server unreachable");
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, detailText(body, response.statusText || "request failed"));
  }
  if (body === null) throw new ApiError(response.status, "response was not JSON");
  return body as T;
}

const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>("GET", path, { query, signal });

/**
 * The live endpoints of one arena (`arena` = an id of GET /api/arenas; null = the server's
 * default arena, i.e. no `arena` parameter, which servers without arenas also understand).
 */
export function liveApi(arena: string | null) {
  const q = (extra: Query = {}): Query => ({ arena, ...extra });
  return {
    modelStats: (signal?: AbortSignal, signature?: string) =>
      get<ModelStatsResponse>("/api/live/model-stats", q({ signature }), signal),
    pnlSeries: (valuation: Valuation, signal?: AbortSignal, signature?: string) =>
      get<PnlSeriesResponse>("/api/live/pnl-series", q({ valuation, signature }), signal),
    currentPositions: (signature: string, signal?: AbortSignal) =>
      get<CurrentPositions>("/api/live/current-positions", q({ signature }), signal),
    recentDecisions: (signature: string | undefined, limit: number, signal?: AbortSignal) =>
      get<DecisionList>("/api/live/recent-decisions", q({ signature, limit }), signal),
    stockDetail: (symbol: string, signal?: AbortSignal) =>
      get<StockDetail>("/api/live/stock-detail", q({ symbol }), signal),
    news: (limit: number, symbol?: string, signal?: AbortSignal) =>
      get<NewsList>("/api/live/news", q({ limit, symbol }), signal),
    symbols: (signal?: AbortSignal) => get<SymbolList>("/api/live/symbols", q(), signal),
    trades: (signature: string | undefined, signal?: AbortSignal) =>
      get<TradesResponse>("/api/live/trades", q({ signature }), signal),
    corporateActions: (signature: string, signal?: AbortSignal) =>
      get<CorporateActionList>("/api/live/corporate-actions", q({ signature }), signal),
    orders: (signature: string, signal?: AbortSignal) =>
      get<OrderList>("/api/live/orders", q({ signature }), signal),
    /** Download links (text/csv). */
    tradesCsvUrl: (signature?: string) => buildUrl("/api/live/trades.csv", q({ signature })),
    pnlCsvUrl: (valuation: Valuation, signature?: string) =>
      buildUrl("/api/live/pnl-series.csv", q({ valuation, signature })),
    /** Server-Sent Events; `lastEventId` resumes after that event when reopening by hand. */
    streamUrl: (lastEventId?: string | null) =>
      buildUrl("/api/live/stream", q({ last_event_id: lastEventId })),
  };
}

export type LiveApi = ReturnType<typeof liveApi>;

export const api = {
  status: (signal?: AbortSignal) => get<ServerStatus>("/", undefined, signal),
  ...liveApi(null),
  arenas: (signal?: AbortSignal) => get<ArenaList>("/api/arenas", undefined, signal),
  experiments: (signal?: AbortSignal) =>
    get<ExperimentList>("/api/experiments", undefined, signal),
  experiment: (name: string, signal?: AbortSignal) =>
    get<ExperimentDetail>(`/api/experiments/${encodeURIComponent(name)}`, undefined, signal),
  models: (configPath: string | undefined, signal?: AbortSignal) =>
    get<ModelList>("/api/models", { config_path: configPath }, signal),
  configs: (signal?: AbortSignal) => get<ConfigList>("/api/configs", undefined, signal),
  jobs: (signal?: AbortSignal) => get<JobList>("/api/jobs", undefined, signal),
  job: (jobId: string, signal?: AbortSignal) =>
    get<Job>(`/api/job/${encodeURIComponent(jobId)}`, undefined, signal),
  runTrading: (body: RunTradingRequest) =>
    request<RunTradingResponse>("POST", "/api/run-trading", { body }).then(announceJobsChanged),
  // Every POST carries a JSON body (the server refuses other content types: no cross-site forms).
  stopJob: (jobId: string) =>
    request<Job>("POST", `/api/stop/${encodeURIComponent(jobId)}`, { body: {} }).then(
      announceJobsChanged,
    ),
};
