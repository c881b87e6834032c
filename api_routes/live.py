"""Read-only live data of an arena: `/api/live/*`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response

from api_routes.deps import (
    SYMBOL_PATTERN,
    RequiredSignature,
    SignatureQuery,
    StoreDep,
    _json_body,
    _not_found,
)
from api_routes.models import (
    ERRORS,
    CorporateActionsResponse,
    DecisionsResponse,
    ModelStatsResponse,
    NewsResponse,
    OrdersResponse,
    PnlResponse,
    PositionsResponse,
    StockDetail,
    SymbolsResponse,
    TradesResponse,
)
from data_flow.live.trades import TRADE_FIELDS, to_csv

PNL_FIELDS = ("signature", "time", "equity", "return_pct")

router = APIRouter()
T = TypeVar("T")


def _for_agent(read: Callable[..., T], signature: str | None, *args: Any) -> T:
    """`read(signature, *args)`; an unknown signature (KeyError) is a 404."""
    try:
        return read(signature, *args)
    except KeyError:
        raise _not_found(f"unknown signature {signature!r}") from None


@router.get(
    "/api/live/pnl-series",
    name="pnl_series",
    response_model=PnlResponse,
    responses=ERRORS,
    tags=["live"],
)
async def pnl_series(
    request: Request,
    store: StoreDep,
    signature: SignatureQuery = None,
    valuation: Literal["market", "cost"] = "market",
) -> Response:
    body = _for_agent(store.pnl_series, signature, valuation)
    return _json_body(request, body)


@router.get(
    "/api/live/model-stats",
    name="model_stats",
    response_model=ModelStatsResponse,
    responses=ERRORS,
    tags=["live"],
)
async def model_stats(
    request: Request, store: StoreDep, signature: SignatureQuery = None
) -> Response:
    body = _for_agent(store.model_stats, signature)
    return _json_body(request, body)


@router.get(
    "/api/live/current-positions",
    name="current_positions",
    response_model=PositionsResponse,
    responses=ERRORS,
    tags=["live"],
)
def current_positions(store: StoreDep, signature: RequiredSignature) -> dict[str, Any]:
    return _for_agent(store.current_positions, signature)


@router.get(
    "/api/live/recent-decisions",
    name="recent_decisions",
    response_model=DecisionsResponse,
    responses=ERRORS,
    tags=["live"],
)
def recent_decisions(
    store: StoreDep,
    signature: SignatureQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    return _for_agent(store.recent_decisions, signature, limit)


@router.get(
    "/api/live/stock-detail",
    name="stock_detail",
    response_model=StockDetail,
    responses=ERRORS,
    tags=["live"],
)
def stock_detail(
    store: StoreDep, symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN)]
) -> dict[str, Any]:
    detail = store.stock_detail(symbol)
    if detail is None:
        raise _not_found(f"unknown symbol {symbol!r}")
    return detail


@router.get(
    "/api/live/news", name="news", response_model=NewsResponse, responses=ERRORS, tags=["live"]
)
def news(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    symbol: Annotated[str | None, Query(pattern=SYMBOL_PATTERN)] = None,
) -> dict[str, Any]:
    if symbol is not None and symbol not in store.known_symbols():
        raise _not_found(f"unknown symbol {symbol!r}")
    return store.news(limit, symbol)


@router.get("/api/live/symbols", name="symbols", response_model=SymbolsResponse, tags=["live"])
def symbols(store: StoreDep) -> SymbolsResponse:
    """Every symbol that appears in the data root's snapshots, sorted."""
    known = sorted(store.known_symbols())
    names = store.names()
    return SymbolsResponse(data=known, count=len(known), names={s: names.get(s) for s in known})


@router.get(
    "/api/live/trades",
    name="trades",
    response_model=TradesResponse,
    responses=ERRORS,
    tags=["live"],
)
def trades(store: StoreDep, signature: SignatureQuery = None) -> dict[str, Any]:
    """Closed round trips, FIFO per agent and symbol (data_flow/live/trades.py)."""
    return _for_agent(store.trades, signature)


@router.get(
    "/api/live/corporate-actions",
    name="corporate_actions",
    response_model=CorporateActionsResponse,
    responses=ERRORS,
    tags=["live"],
)
def corporate_actions(store: StoreDep, signature: RequiredSignature) -> dict[str, Any]:
    """One agent's dividend and bonus records, oldest first (data_flow/live/corporate.py)."""
    return _for_agent(store.corporate_actions, signature)


@router.get(
    "/api/live/orders",
    name="orders",
    response_model=OrdersResponse,
    responses=ERRORS,
    tags=["live"],
)
def orders(store: StoreDep, signature: RequiredSignature) -> dict[str, Any]:
    """One agent's resting orders, oldest first, with their fills and how they ended
    (data_flow/live/orders.py)."""
    return _for_agent(store.orders, signature)


def _csv(text: str, filename: str) -> Response:
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/api/live/trades.csv",
    name="trades_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
    tags=["live"],
)
def trades_csv(store: StoreDep, signature: SignatureQuery = None) -> Response:
    """The trades of GET /api/live/trades as CSV (header row, one trade per line)."""
    data = _for_agent(store.trades, signature)
    return _csv(to_csv(data["trades"], TRADE_FIELDS), "trades.csv")


@router.get(
    "/api/live/pnl-series.csv",
    name="pnl_series_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
    tags=["live"],
)
def pnl_series_csv(
    store: StoreDep,
    signature: SignatureQuery = None,
    valuation: Literal["market", "cost"] = "market",
) -> Response:
    """The series of GET /api/live/pnl-series as CSV: signature,time,equity,return_pct
    (the agents' rows, then the benchmark's)."""
    body = json.loads(_for_agent(store.pnl_series, signature, valuation).raw)
    rows = [
        {"signature": series["signature"], **point}
        for series in [*body["series"], body["benchmark"]]
        for point in series["points"]
    ]
    return _csv(to_csv(rows, PNL_FIELDS), f"pnl-series-{valuation}.csv")
