"""Build the as-of-T snapshot dict of one decision window (schema in CONTRACT.md).

As of the decision time T, always: only bars stamped <= T, news published in
[T - news_lookback_hours, T], indicators from the hourly closes <= T. The source is asked for
nothing later than T and everything it returns is filtered again here.

Per symbol: ``current_price`` is the close of the last bar stamped <= T on the trade date. A
symbol with no such bar (suspended, or the day missing from the data) is reported: ``suspended:
true``, ``current_price: null``, listed in ``metadata.missing_symbols`` and logged. If no symbol
has a bar, the window has no market data and ``DataUnavailableError`` is raised instead of
writing an empty snapshot. ``prev_close`` is the previous trading day's daily close, else the
close of its last hourly bar; limit prices follow from it and the board (±5 % for a main-board
stock the source marks ST on T's day: ``st: true``).

Corporate actions (raw prices, `data_flow.corporate_actions`): on an ex-date ``prev_close`` is
the exchange's ex-rights reference price ((close - cash per share) / (1 + bonus per share)), as
exchanges publish it. ``corporate_actions_upcoming`` lists the actions announced before T's day
with an ex-date after it (never one announced later); ``corporate_actions_effective`` those with
an ex-date on T's day or up to 30 days before (the runner applies them to portfolios once).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from data_flow.calendar import is_trading_day, previous_trading_day, trading_days_back
from data_flow.clock import SHANGHAI, decision_time_text, now_iso
from data_flow.corporate_actions import (
    CorporateAction,
    effective,
    ex_reference_price,
    source_actions,
    source_is_st,
    upcoming,
)
from data_flow.errors import DataUnavailableError
from data_flow.indicators import compute_indicators
from data_flow.snapshot_store import SCHEMA_VERSION, seal, symbols_signature
from data_flow.sources.base import Bar, MarketDataSource, NewsItem
from data_flow.symbols import board_of, price_limits
from settings.config import ConfigError, DataConfig

log = logging.getLogger(__name__)

# Hourly history used for indicators: this many trading days before T's day, plus T's day.
HISTORY_TRADING_DAYS = 120


def _day_of(bar: Bar) -> date:
    return bar.time.astimezone(SHANGHAI).date()


def _bar_record(bar: Bar) -> dict[str, Any]:
    record: dict[str, Any] = {
        "time": decision_time_text(bar.time),
        "close": bar.close,
        "volume": round(bar.volume),
        "amount": round(bar.amount, 2),
    }
    for key in ("open", "high", "low"):
        value = getattr(bar, key)
        if value is not None:
            record[key] = value
    return record


def _prev_close(
    source: MarketDataSource, symbol: str, prev_day: date, bars: list[Bar]
) -> float | None:
    daily = [d for d in source.daily_bars(symbol, prev_day, prev_day) if d.day == prev_day]
    if daily:
        return daily[-1].close
    previous = [b for b in bars if _day_of(b) == prev_day]
    return previous[-1].close if previous else None


def _symbol_entry(
    source: MarketDataSource,
    symbol: str,
    moment: datetime,
    history_start: datetime,
    prev_day: date,
    recent_bars: int,
    actions: list[CorporateAction],
) -> dict[str, Any]:
    raw = source.hourly_bars(symbol, history_start, moment)
    by_time = {b.time: b for b in raw if history_start <= b.time <= moment}  # never after T
    bars = [by_time[t] for t in sorted(by_time)]
    today = [b for b in bars if _day_of(b) == moment.date()]
    prev_close = _prev_close(source, symbol, prev_day, bars)
    for action in actions:
        if action.ex_date == moment.date() and prev_close is not None:
            prev_close = float(ex_reference_price(Decimal(str(prev_close)), action))
    st = source_is_st(source, symbol, moment.date())

    entry: dict[str, Any] = {
        "current_price": None,
        "bar_time": None,
        "open": None,
        "high": None,
        "low": None,
        "volume": None,
        "amount": None,
        "prev_close": prev_close,
        "change_pct": None,
        "limit_up": None,
        "limit_down": None,
        "suspended": not today,
        "st": st,
        "recent_bars": [_bar_record(b) for b in bars[-recent_bars:]],
        "indicators": compute_indicators([b.close for b in bars]),
    }
    if prev_close is not None:
        down, up = price_limits(Decimal(str(prev_close)), board_of(symbol), st=st, on=moment.date())
        entry["limit_up"], entry["limit_down"] = float(up), float(down)
    if today:
        last = today[-1]
        entry["current_price"] = last.close
        entry["bar_time"] = decision_time_text(last.time)
        if all(b.has_ohlc for b in today):
            entry["open"] = today[0].open
            entry["high"] = max(b.high for b in today if b.high is not None)
            entry["low"] = min(b.low for b in today if b.low is not None)
        entry["volume"] = round(sum(b.volume for b in today))
        entry["amount"] = round(sum(b.amount for b in today), 2)
        if prev_close:
            pct = (Decimal(str(last.close)) / Decimal(str(prev_close)) - 1) * 100
            entry["change_pct"] = float(pct.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return entry


def _collect_news(
    source: MarketDataSource, symbols: list[str], moment: datetime, cfg: DataConfig
) -> list[dict[str, Any]]:
    start = moment - timedelta(hours=cfg.news_lookback_hours)
    seen: set[str] = set()
    items: list[NewsItem] = []
    for symbol in symbols:  # sorted: a story tagged with several symbols keeps the first
        for item in sorted(
            source.news(symbol, start, moment), key=lambda n: (n.publish_time, n.id)
        ):
            if not start <= item.publish_time <= moment or item.dedup_key in seen:
                continue
            seen.add(item.dedup_key)
            items.append(item)
    items.sort(key=lambda n: (n.publish_time, n.id), reverse=True)
    return [n.to_record() for n in items[: cfg.max_news]]


def build_snapshot(
    source: MarketDataSource, moment: datetime, symbols: list[str], cfg: DataConfig
) -> dict[str, Any]:
    """The snapshot of window `moment` (aware) for `symbols`, sealed with its content hash."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("decision time must be timezone-aware")
    started = time.monotonic()
    moment = moment.astimezone(SHANGHAI)
    trade_date = moment.date()
    if not is_trading_day(trade_date):
        raise DataUnavailableError(f"{trade_date.isoformat()} is not a trading day (XSHG)")
    ordered = sorted(set(symbols))
    for symbol in ordered:
        try:
            board_of(symbol)
        except ValueError as err:
            raise ConfigError(f"symbols: {err}") from None
    prev_day = previous_trading_day(trade_date)
    first_day = trading_days_back(trade_date, HISTORY_TRADING_DAYS)
    history_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=SHANGHAI)

    actions = {s: source_actions(source, s, trade_date) for s in ordered}
    market_data = {
        s: _symbol_entry(source, s, moment, history_start, prev_day, cfg.recent_bars, actions[s])
        for s in ordered
    }
    # Optional stock names and industries (`name`, `industry`: only when the source knows them;
    # older snapshots have none).
    for key, method in (("name", "stock_name"), ("industry", "stock_industry")):
        lookup = getattr(source, method, None)
        if callable(lookup):
            for s in ordered:
                value = lookup(s)
                if isinstance(value, str) and value:
                    market_data[s][key] = value
    known = [a for s in ordered for a in actions[s]]
    missing = [s for s in ordered if market_data[s]["suspended"]]
    when = decision_time_text(moment)
    if len(missing) == len(ordered):
        raise DataUnavailableError(
            f"{source.name} source has no bar at or before {when} on {trade_date.isoformat()} "
            f"for any of the {len(ordered)} symbols ({', '.join(ordered)})"
        )
    if missing:
        log.warning(
            "%s source: no bar at or before %s for %s: marked suspended",
            source.name,
            when,
            ", ".join(missing),
        )
    news = _collect_news(source, ordered, moment, cfg) if cfg.max_news > 0 else []
    snapshot: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": when,
        "timezone": "Asia/Shanghai",
        "trade_date": trade_date.isoformat(),
        "symbols_signature": symbols_signature(ordered),
        "market_data": market_data,
        "news": news,
        "corporate_actions_upcoming": [a.to_record() for a in upcoming(known, trade_date)],
        "corporate_actions_effective": [a.to_record() for a in effective(known, trade_date)],
        "metadata": {
            "schema_version": SCHEMA_VERSION,
            "content_hash": "",
            "prefetch_duration_ms": 0,
            "data_sources": [source.name],
            "synthetic": bool(source.synthetic),
            "news_count": len(news),
            "missing_symbols": missing,
            "built_at": now_iso(),
            "builder_pid": os.getpid(),
        },
    }
    snapshot["metadata"]["prefetch_duration_ms"] = int((time.monotonic() - started) * 1000)
    seal(snapshot)
    return snapshot
