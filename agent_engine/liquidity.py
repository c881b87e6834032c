"""Liquidity: how many shares one bar's volume lets an agent trade.

With ``trading_rules.max_volume_participation`` = p, an agent's fills against one hourly bar
of a stock (buys and sells together) add up to at most floor(p × bar volume) shares:

- a market order (``execute_trade``) at decision time T trades against the bar stamped at T
  (the snapshot's ``bar_time``): it fills at most what is left of that bar's allowance after
  the agent's earlier fills against the same bar (earlier market orders of the window, and
  resting orders that the same bar filled just before the window); the rest of the order is
  not filled (market orders do not rest);
- a resting order fills at most the allowance of each later bar, the rest keeps working
  (agent_engine/resting_orders.py).

A reduced quantity is rounded down to the board's lot (100 shares; STAR: any whole number from
200) unless it is the whole quantity asked; when that leaves nothing, nothing fills. A bar
without a volume figure (data without volume) sets no limit; a bar with volume 0 allows none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from agent_engine.rules import LOT, STAR_MIN_SHARES, Board

TRADE_ACTIONS = frozenset({"BUY", "SELL"})


def bar_allowance(participation: Decimal | None, volume: Decimal | None) -> int | None:
    """floor(participation × volume) shares, or None (no limit) when either is unknown."""
    if participation is None or volume is None:
        return None
    return int((participation * volume).to_integral_value(rounding=ROUND_FLOOR))


def capped_quantity(board: Board, quantity: int, allowed: int | None) -> int:
    """`quantity` cut to `allowed` shares, rounded down to the board's lot (see above)."""
    if allowed is None or allowed >= quantity:
        return quantity
    return round_down_to_lot(board, allowed) if allowed > 0 else 0


def round_down_to_lot(board: Board, quantity: int) -> int:
    """The largest tradable quantity <= `quantity`: multiples of 100 (STAR: any whole number
    from 200), else 0."""
    if board is Board.STAR:
        return quantity if quantity >= STAR_MIN_SHARES else 0
    return quantity - quantity % LOT


def shares_traded_on_bars(
    records: Iterable[Mapping[str, Any]], window_id: str, bar_times: Mapping[str, str | None]
) -> dict[str, int]:
    """Shares per symbol the agent's fills recorded in `window_id` took from the bar each
    symbol has at the decision time (`bar_times`): market fills of the window and resting
    fills of that very bar. Read from the ledger, so a resumed window counts them too."""
    used: dict[str, int] = {}
    for rec in records:
        if rec.get("window_id") != window_id:
            continue
        action = rec.get("this_action") or {}
        symbol = action.get("symbol")
        if action.get("action") not in TRADE_ACTIONS or symbol not in bar_times:
            continue
        order = rec.get("order")
        if isinstance(order, Mapping) and order.get("bar_time") != bar_times[symbol]:
            continue
        used[symbol] = used.get(symbol, 0) + int(action.get("amount") or 0)
    return used
