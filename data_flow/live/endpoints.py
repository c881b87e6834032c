"""Per-endpoint response builders of the live read model (`data_flow.live.store.LiveStore`).

Pure functions over the store's agent views and snapshots: the store holds the lock, refreshes
and caches; these turn its state into the response dicts (positions, stats item, stock detail,
news).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from data_flow.live.agents import FILL_ACTIONS, AgentView, action_text, as_float, as_int
from data_flow.live.economics import EconomicsCache, economics_stats
from data_flow.live.metrics import RoundTripTracker, series_stats
from data_flow.live.snapshots import NO_BAR, SnapshotIndex

ModelInfo = Callable[[str], tuple[str | None, str | None]]


@dataclass
class Series:
    """One agent's equity series under both valuations, with the prices seen so far."""

    version: int
    market: list[dict[str, Any]]
    cost: list[dict[str, Any]]
    market_days: list[tuple[str, float]]
    last_prices: dict[str, float]
    initial: float


def r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def pct(equity: float, initial: float) -> float:
    return round((equity / initial - 1.0) * 100.0, 4) if initial else 0.0


def stats_dict(stats: Any) -> dict[str, Any]:
    return {
        "total_return_pct": round(stats.total_return_pct, 4),
        "annualized_volatility_pct": r(stats.annualized_volatility_pct, 4),
        "volatility_pct": r(stats.annualized_volatility_pct, 4),  # alias (dashboard contract)
        "sharpe": r(stats.sharpe, 4),
        "max_drawdown_pct": round(stats.max_drawdown_pct, 4),
    }


def now_text() -> str:
    from data_flow.clock import now_iso

    return now_iso()


def stats_item(
    view: AgentView, series: Series, model_info: ModelInfo, economics: EconomicsCache
) -> dict[str, Any]:
    stats = series_stats(series.market_days, series.initial)
    totals = view.log_totals()
    provider, model = totals["provider"], totals["model"]
    if provider is None or model is None:
        cfg_provider, cfg_model = model_info(view.signature)
        provider = provider or cfg_provider
        model = model or cfg_model
    last = view.last_record or {}
    last_win = view.windows[view.order[-1]] if view.order else None
    cash = last_win.cash if last_win else series.initial
    equity = series.market[-1]["equity"] if series.market else series.initial
    trips: RoundTripTracker = view.trips
    action = last.get("this_action") if isinstance(last.get("this_action"), dict) else None
    return {
        "signature": view.signature,
        "provider": provider,
        "model": model,
        **stats_dict(stats),
        "win_rate_pct": r(trips.win_rate_pct(), 2),
        "round_trips": trips.closed,
        "trades": view.trades,
        "fees_paid": round(view.fees, 2),
        "cash": round(cash, 2),
        "equity": round(equity, 2),
        "initial_cash": round(series.initial, 2),
        "last_action": action_text(action) if action else None,
        "last_update": (last_win.decision_time if last_win else None),
        "tokens_in": totals["tokens_in"],
        "tokens_out": totals["tokens_out"],
        "llm_errors": totals["llm_errors"],
        "invalid_tool_calls": totals["invalid_tool_calls"],
        "rejected_orders": totals["rejected_orders"],
        "model_calls": totals["model_calls"],
        "mean_latency_ms": r(totals["mean_latency_ms"], 2),
        "windows_done": len(view.windows),
        **economics_item(view, series, {**totals, "provider": provider}, equity, economics),
    }


def economics_item(
    view: AgentView,
    series: Series,
    totals: dict[str, Any],
    equity: float,
    economics: EconomicsCache,
) -> dict[str, Any]:
    """Tokens, cost, latency percentiles, PnL net of cost, post-cutoff figures."""
    latencies = [ms for wid in view.order for ms in view.windows[wid].log.latencies]
    return economics_stats(
        economics.get(view.dir, view.signature),
        provider=totals["provider"],
        tokens_in=totals["tokens_in"],
        tokens_out=totals["tokens_out"],
        decisions=len(view.windows),
        latencies=latencies,
        points=series.market_days,
        initial=series.initial,
        equity=equity,
    )


def positions_response(
    signature: str, view: AgentView, series: Series, names: dict[str, str]
) -> dict[str, Any]:
    last_win = view.windows[view.order[-1]] if view.order else None
    cash = last_win.cash if last_win else series.initial
    holdings = []
    total_mv = 0.0
    for sym, h in sorted((last_win.holdings() if last_win else {}).items()):
        shares = as_int(h.get("shares"))
        avg = as_float(h.get("avg_price"))
        last_price = series.last_prices.get(sym)
        price = last_price if last_price is not None else avg
        mv = shares * price
        total_mv += mv
        pnl = (price - avg) * shares
        holdings.append(
            {
                "symbol": sym,
                "name": names.get(sym),
                "shares": shares,
                "sellable": as_int(h.get("sellable")),
                "avg_price": round(avg, 4),
                "last_price": r(last_price, 2),
                "market_value": round(mv, 2),
                "unrealized_pnl": round(pnl, 2),
                "unrealized_pnl_pct": r((price / avg - 1) * 100 if avg else None, 4),
                "purchase_date": h.get("purchase_date"),
            }
        )
    equity = view.last_equity() if last_win else None
    return {
        "signature": signature,
        "as_of": last_win.decision_time if last_win else view.init_date,
        "cash": round(cash, 2),
        "equity": round(float(equity) if equity is not None else cash + total_mv, 2),
        "holdings": holdings,
    }


def stock_detail_response(
    symbol: str, snapshots: SnapshotIndex, views: Iterable[AgentView], names: dict[str, str]
) -> dict[str, Any] | None:
    prices: dict[str, dict[str, Any]] = {}
    news: dict[str, dict[str, Any]] = {}
    for snap in snapshots.all():
        if symbol in snap.prices:
            prices.setdefault(
                snap.timestamp,
                {
                    "time": snap.timestamp,
                    "price": snap.prices[symbol],
                    **(snap.bars.get(symbol) or NO_BAR),
                    "indicators": snap.indicators.get(symbol),
                },
            )
        for n in snap.news:
            if n.get("symbol") == symbol:
                news.setdefault(str(n.get("id") or n.get("url") or n.get("title")), n)
    trades = [
        {
            "signature": v.signature,
            "time": w.decision_time,
            "action": a.get("action"),
            "amount": a.get("amount"),
            "price": a.get("price"),
        }
        for v in views
        for w in v.windows.values()
        for a in w.actions
        if a.get("action") in FILL_ACTIONS and a.get("symbol") == symbol
    ]
    if not prices and not trades and not news:
        return None
    trades.sort(key=lambda t: (t["time"], t["signature"]))
    news_list = sorted(news.values(), key=lambda n: str(n.get("publish_time")), reverse=True)
    return {
        "symbol": symbol,
        "name": names.get(symbol),
        "prices": [prices[t] for t in sorted(prices)],
        "news": news_list[:50],
        "trades": trades,
    }


def news_response(snapshots: SnapshotIndex, limit: int, symbol: str | None) -> dict[str, Any]:
    seen: dict[str, dict[str, Any]] = {}
    for snap in reversed(snapshots.all()):
        for n in snap.news:
            if symbol is not None and n.get("symbol") != symbol:
                continue
            seen.setdefault(str(n.get("id") or n.get("url") or n.get("title")), n)
    items = sorted(seen.values(), key=lambda n: str(n.get("publish_time")), reverse=True)
    data = items[:limit]
    return {"data": data, "count": len(data)}
