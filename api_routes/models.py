"""Request and response models of the HTTP API (the OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from settings.config import SIGNATURE_RE


class Health(BaseModel):
    status: str
    version: str
    data_root: str
    active_jobs: int


class RunTradingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config_path: str | None = Field(default=None, max_length=255)
    init_date: date | None = None
    end_date: date | None = None
    signatures: list[str] | None = Field(default=None, max_length=64)

    @field_validator("signatures")
    @classmethod
    def _sigs(cls, v: list[str] | None) -> list[str] | None:
        for s in v or []:
            if not SIGNATURE_RE.match(s):
                raise ValueError(f"signatures: '{s}' is not a valid signature")
        return v


class RunTradingResponse(BaseModel):
    job_id: str
    pid: int | None
    status: str
    started_at: str


class AgentProgress(BaseModel):
    signature: str
    status: str  # starting, running, completed, failed, stopped, or skipped (see skip_reason)
    windows_done: int
    windows_total: int | None = None
    skip_reason: str | None = None


class JobPublic(BaseModel):
    job_id: str
    status: str
    pid: int | None
    config_path: str
    data_root: str
    started_at: str
    ended_at: str | None
    exit_code: int | None
    error: str | None = None
    init_date: str | None = None
    end_date: str | None = None
    signatures: list[str] = []
    agents: list[AgentProgress]
    log_tail: list[str]
    arena: str | None = None  # the arena id of the job's config (GET /api/arenas)


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class PnlPoint(BaseModel):
    window_id: str
    time: str
    equity: float
    return_pct: float


class PnlSeries(BaseModel):
    signature: str
    points: list[PnlPoint]


class PnlResponse(BaseModel):
    valuation: Literal["market", "cost"]
    series: list[PnlSeries]
    benchmark: PnlSeries


class HoldingView(BaseModel):
    symbol: str
    name: str | None = None
    shares: int
    sellable: int
    avg_price: float
    last_price: float | None
    market_value: float
    unrealized_pnl: float
    unrealized_pnl_pct: float | None
    purchase_date: str | None = None


class PositionsResponse(BaseModel):
    signature: str
    as_of: str | None
    cash: float
    equity: float
    holdings: list[HoldingView]


class SeriesStatsView(BaseModel):
    signature: str
    total_return_pct: float
    annualized_volatility_pct: float | None
    volatility_pct: float | None = None  # the same figure (dashboard contract)
    sharpe: float | None
    max_drawdown_pct: float


class ModelStat(SeriesStatsView):
    provider: str | None
    model: str | None
    win_rate_pct: float | None
    round_trips: int
    trades: int
    fees_paid: float
    cash: float
    equity: float
    initial_cash: float
    last_action: str | None
    last_update: str | None
    tokens_in: int
    tokens_out: int
    llm_errors: int
    invalid_tool_calls: int
    rejected_orders: int
    model_calls: int
    mean_latency_ms: float | None
    windows_done: int
    pnl_cny: float | None = None  # equity - initial cash


class BenchmarkStats(SeriesStatsView):
    equity: float | None = None
    pnl_cny: float | None = None


class ModelStatsResponse(BaseModel):
    data: list[ModelStat]
    benchmark: BenchmarkStats
    updated_at: str


class ToolCallView(BaseModel):
    name: str | None
    arguments: Any = None
    result: Any = None
    ok: bool
    error_kind: str | None


class CorporateActionView(BaseModel):
    """A dividend or bonus ledger record (data_flow/live/corporate.py); fields of the other
    kind are null. `shares`: a dividend's paid shares, a bonus's shares before it."""

    kind: str  # dividend | bonus
    symbol: str
    ex_date: str | None
    shares: int | None
    cash_per_share: float | None
    gross: float | None
    tax: float | None
    net: float | None
    bonus_per_share: float | None
    new_shares: int | None
    shares_after: int | None
    sellable_from: str | None


class CorporateActionRow(CorporateActionView):
    signature: str
    window_id: str
    date: str
    cash: float | None  # cash after the record


class CorporateActionsResponse(BaseModel):
    signature: str
    data: list[CorporateActionRow]
    count: int
    dividends_net: float


class OrderFillView(BaseModel):
    bar_time: str | None
    quantity: int
    price: float
    window_id: str | None  # the window that recorded the fill


class OrderEnding(BaseModel):
    state: str  # filled | cancelled | expired | rejected
    reason: str | None  # e.g. oco, insufficient_cash (null: filled, cancelled by the agent)
    message: str | None
    bar_time: str | None
    window_id: str | None  # the window that recorded it
    decision_time: str | None


class OrderView(BaseModel):
    """A resting order (data_flow/live/orders.py)."""

    order_id: str
    symbol: str | None
    name: str | None
    side: str | None
    order_type: str | None
    quantity: int | None
    price: float | None
    valid_days: int | None
    expires_on: str | None
    placed_at: str | None
    window_id: str | None  # the window that placed it
    oco_with: str | None  # as placed
    oco_partner: str | None  # the other order of its OCO pair, either side of the link
    state: str
    filled: int
    remaining: int
    avg_fill_price: float | None
    fills: list[OrderFillView]
    ended: OrderEnding | None


class OrdersResponse(BaseModel):
    signature: str
    data: list[OrderView]
    count: int
    working: int  # orders working or partially filled


class DecisionView(BaseModel):
    signature: str
    window_id: str
    decision_time: str
    outcome: str | None
    reasoning: str | None
    error: str | None = None  # "kind: message" of the window's last failed model call
    tool_calls: list[ToolCallView]
    tool_calls_left_off: int = 0
    trades: list[dict[str, Any]]
    corporate_actions: list[CorporateActionView] = []
    rejections: list[dict[str, Any]]
    tokens_in: int
    tokens_out: int
    llm_errors: int
    invalid_tool_calls: int
    duration_ms: float | None = None
    latency_ms_total: float | None = None
    truncated: bool = False  # texts cut / tool calls left off (data_flow/live/decisions.py)


class DecisionsResponse(BaseModel):
    data: list[DecisionView]
    count: int
    left_off: int = 0  # items within `limit` left off to keep the page under its byte cap


class PricePoint(BaseModel):
    time: str
    price: float | None
    # the window's own bar (candles), null when the source has no OHLC for it
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    indicators: dict[str, Any] | None


class StockTrade(BaseModel):
    signature: str
    time: str
    action: str
    amount: int | None
    price: float | None


class StockDetail(BaseModel):
    symbol: str
    name: str | None = None
    prices: list[PricePoint]
    news: list[dict[str, Any]]
    trades: list[StockTrade]


class NewsResponse(BaseModel):
    data: list[dict[str, Any]]
    count: int


class SymbolsResponse(BaseModel):
    data: list[str]
    count: int
    names: dict[str, str | None] = {}  # symbol -> stock name (null when the source has none)


class RoundTrip(BaseModel):
    signature: str
    symbol: str
    name: str | None
    quantity: int
    entry_time: str
    exit_time: str
    holding_hours: float | None
    entry_price: float
    exit_price: float
    fees: float
    dividends: float  # net cash dividends of the closed shares (data_flow/live/trades.py)
    realized_pnl_net: float


class TradeSummary(BaseModel):
    count: int
    wins: int
    biggest_win: float | None
    biggest_loss: float | None
    realized_pnl_net: float


class TradesResponse(BaseModel):
    trades: list[RoundTrip]
    summary: dict[str, TradeSummary]


class ModelInfoView(BaseModel):
    signature: str
    provider: str
    basemodel: str
    enabled: bool
    status: Literal["ready", "missing_key", "disabled"]
    skip_reason: str | None
    has_records: bool


class ModelsResponse(BaseModel):
    data: list[ModelInfoView]


class ConfigInfo(BaseModel):
    config_path: str
    description: str
    init_date: str
    end_date: str
    mode: str
    source: str
    agents: list[str]


class ConfigsResponse(BaseModel):
    data: list[ConfigInfo]


class BackupResponse(BaseModel):
    backup_dir: str
    archive: str
    manifest: str
    members: int
    bytes: int


class Period(BaseModel):
    start: str
    end: str


class ArenaInfo(BaseModel):
    id: str
    kind: Literal["config", "experiment_cell"]
    config: str
    period: Period | None
    data_source: str | None
    synthetic: bool | None
    data_root: str
    agents: list[str]
    last_window: str | None
    running_job: str | None
    default: bool


class ArenasResponse(BaseModel):
    arenas: list[ArenaInfo]


class ErrorResponse(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
POST_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse, "description": "foreign Origin"},
    415: {"model": ErrorResponse, "description": "Content-Type is not application/json"},
}
