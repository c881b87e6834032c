"""Resting orders as the API shows them (`/api/live/orders`), folded from the ledger.

`OrderTracker` is fed every ledger record by `data_flow.records.fold.AgentFold` (like the
round-trip tracker), so a poll costs only the appended records: a placement (`order` record
with state `working` and the order's terms) opens an order, a BUY/SELL record with an
``order`` object adds a fill (its quantity and price are the trade's), a later `order`
record (cancelled, expired, rejected) ends it. The engine rebuilds the same book with
`agent_engine.order_book.OrderBook.from_records`; this reader stays apart from agent_engine.
Damaged records (a fill or state change of an order with no placement) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from data_flow.records.models import LedgerRecord, OrderAction, TradeAction

CENT = Decimal("0.01")
OPEN_STATES = frozenset({"working", "partially_filled"})


@dataclass(frozen=True, slots=True)
class Fill:
    bar_time: str | None
    quantity: int
    price: Decimal
    window_id: str | None


@dataclass(frozen=True, slots=True)
class Ending:
    """The record that ended an order: its state, why, and the window that recorded it."""

    state: str
    reason: str | None
    message: str | None
    bar_time: str | None
    window_id: str | None
    decision_time: str | None


@dataclass(slots=True)
class Order:
    terms: OrderAction  # the placement record's action
    window_id: str | None  # the window that placed it
    state: str
    filled: int = 0
    remaining: int = 0
    fills: list[Fill] = field(default_factory=list)
    ending: Ending | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def avg_fill_price(self) -> Decimal | None:
        """Shares-weighted mean of the fill prices, to the cent (None before a fill)."""
        shares = sum(f.quantity for f in self.fills)
        if shares <= 0:
            return None
        total = sum((f.price * f.quantity for f in self.fills), Decimal(0))
        return (total / shares).quantize(CENT, rounding=ROUND_HALF_UP)


class OrderTracker:
    """Every resting order of one agent, in placement order (see the module docstring)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def add(self, rec: LedgerRecord) -> None:
        act = rec.action
        if isinstance(act, OrderAction):
            self._order_record(rec, act)
        elif isinstance(act, TradeAction) and rec.order is not None:
            order = self.orders.get(rec.order.order_id)
            if order is None:
                return
            info = rec.order
            order.fills.append(Fill(info.bar_time, act.amount, act.price, rec.window_id))
            order.state, order.filled, order.remaining = info.state, info.filled, info.remaining
            if not order.open:
                order.ending = Ending(
                    info.state, None, None, info.bar_time, rec.window_id, rec.decision_time
                )

    def _order_record(self, rec: LedgerRecord, act: OrderAction) -> None:
        order = self.orders.get(act.order_id)
        if order is None:
            if act.state == "working" and act.order_id:
                quantity = act.quantity or 0
                self.orders[act.order_id] = Order(act, rec.window_id, "working", 0, quantity)
            return
        if act.state == "working":  # a repeated placement changes nothing
            return
        order.state = act.state
        if act.filled is not None:
            order.filled = act.filled
        if act.remaining is not None:
            order.remaining = act.remaining
        if not order.open:
            order.ending = Ending(
                act.state, act.reason, act.message, act.bar_time, rec.window_id, rec.decision_time
            )

    @property
    def working(self) -> int:
        return sum(1 for o in self.orders.values() if o.open)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def order_item(
    order: Order, name: Callable[[str], str | None], partner: str | None
) -> dict[str, Any]:
    """One order in the API's shape; `partner` is its OCO partner (either side of the link)."""
    t = order.terms
    end = order.ending
    return {
        "order_id": t.order_id,
        "symbol": t.symbol,
        "name": name(t.symbol) if t.symbol else None,
        "side": t.side,
        "order_type": t.order_type,
        "quantity": t.quantity,
        "price": _money(t.price),
        "valid_days": t.valid_days,
        "expires_on": t.expires_on,
        "placed_at": t.placed_at,
        "window_id": order.window_id,
        "oco_with": t.oco_with,
        "oco_partner": partner,
        "state": order.state,
        "filled": order.filled,
        "remaining": order.remaining,
        "avg_fill_price": _money(order.avg_fill_price()),
        "fills": [
            {
                "bar_time": f.bar_time,
                "quantity": f.quantity,
                "price": float(f.price),
                "window_id": f.window_id,
            }
            for f in order.fills
        ],
        "ended": None
        if end is None
        else {
            "state": end.state,
            "reason": end.reason,
            "message": end.message,
            "bar_time": end.bar_time,
            "window_id": end.window_id,
            "decision_time": end.decision_time,
        },
    }


def orders_response(
    signature: str, tracker: OrderTracker, name: Callable[[str], str | None]
) -> dict[str, Any]:
    """One agent's resting orders, oldest first, and how many are still working."""
    paired = {
        o.terms.oco_with: o.terms.order_id for o in tracker.orders.values() if o.terms.oco_with
    }
    rows = [
        order_item(o, name, o.terms.oco_with or paired.get(o.terms.order_id))
        for o in tracker.orders.values()
    ]
    return {"signature": signature, "data": rows, "count": len(rows), "working": tracker.working}
