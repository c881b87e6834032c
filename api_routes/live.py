"""Read-only live data of an arena: `/api/live/*`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    DecisionsResponse,
    ModelStatsResponse,
    NewsResponse,
    PnlResponse,
    PositionsResponse,
    StockDetail,
    SymbolsResponse,
)

router = APIRouter()


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
    try:
        body = store.pnl_series(signature, valuation)
    except KeyError:
        raise _not_found(f"unknown signature {signature!r}") from None
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
    try:
        body = store.model_stats(signature)
    except KeyError:
        raise _not_found(f"unknown signature {signature!r}") from None
    return _json_body(request, body)


@router.get(
    "/api/live/current-positions",
    name="current_positions",
    response_model=PositionsResponse,
    responses=ERRORS,
    tags=["live"],
)
def current_positions(store: StoreDep, signature: RequiredSignature) -> dict[str, Any]:
    try:
        return store.current_positions(signature)
    except KeyError:
        raise _not_found(f"unknown signature {signature!r}") from None


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
    try:
        return store.recent_decisions(signature, limit)
    except KeyError:
        raise _not_found(f"unknown signature {signature!r}") from None


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
    return SymbolsResponse(data=known, count=len(known))
