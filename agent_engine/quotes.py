"""Quotes: one symbol's prices at the decision time, read from a snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent_engine.rules import board_of, price_limits, q2, to_decimal


@dataclass(frozen=True, slots=True)
class Quote:
    """One symbol's prices at the decision time; ``price`` None means no trade (suspended)."""

    symbol: str
    price: Decimal | None
    prev_close: Decimal | None = None
    limit_up: Decimal | None = None
    limit_down: Decimal | None = None
    bar_volume: Decimal | None = None
    """Volume of the bar stamped at the decision time (the liquidity of a market order, see
    agent_engine/liquidity.py); None when the data has no volume: no limit."""


def _price_or_none(value: Any) -> Decimal | None:
    d = to_decimal(value)
    return q2(d) if d is not None and d > 0 else None


def quotes_from_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Quote]:
    """Quotes for every symbol in a snapshot's ``market_data``.

    ``current_price`` null, non-positive or ``suspended: true`` gives ``price=None``. Missing
    limits are derived from ``prev_close`` and the symbol's board.
    """
    quotes: dict[str, Quote] = {}
    market = snapshot.get("market_data") or {}
    for symbol, row in market.items():
        if not isinstance(row, Mapping):
            quotes[symbol] = Quote(symbol, None)
            continue
        price = None if row.get("suspended") else _price_or_none(row.get("current_price"))
        prev_close = _price_or_none(row.get("prev_close"))
        up = _price_or_none(row.get("limit_up"))
        down = _price_or_none(row.get("limit_down"))
        board = board_of(symbol)
        if prev_close is not None and board is not None and (up is None or down is None):
            calc_down, calc_up = price_limits(prev_close, board, st=row.get("st") is True)
            up = up if up is not None else calc_up
            down = down if down is not None else calc_down
        quotes[symbol] = Quote(symbol, price, prev_close, up, down, bar_volume_of(row))
    return quotes


def bar_volume_of(row: Mapping[str, Any]) -> Decimal | None:
    """The volume of the recent bar stamped at the row's ``bar_time`` (None if absent)."""
    stamp = row.get("bar_time")
    bars = row.get("recent_bars")
    if not stamp or not isinstance(bars, list):
        return None
    for bar in reversed(bars):
        if isinstance(bar, Mapping) and bar.get("time") == stamp:
            volume = to_decimal(bar.get("volume"))
            return volume if volume is not None and volume >= 0 else None
    return None
