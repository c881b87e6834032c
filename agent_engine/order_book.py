"""One agent's resting orders: `RestingOrder` and the `OrderBook`, rebuilt from the ledger's
order records (placement, state changes, fills with their ``order`` object). Matching them
against bars is agent_engine/resting_orders.py.

OCO: an order placed with ``oco_with`` (the id of a working SELL order of the same symbol) forms
a pair with it; the first fill of either cancels the other (`OrderBook.oco_partner`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, get_args

from agent_engine.ledger import LedgerAction
from agent_engine.orders import OrderState, transition
from agent_engine.rules import OrderSide, to_decimal
from data_flow.clock import SHANGHAI, decision_time_text

OrderType = Literal["limit", "stop_loss", "take_profit"]
ORDER_TYPES: tuple[str, ...] = get_args(OrderType)
MAX_VALID_DAYS = 20
CLOSE = time(15, 0)
OPEN_STATES = frozenset({OrderState.WORKING, OrderState.PARTIALLY_FILLED})


def parse_time(text: Any) -> datetime | None:
    """'YYYY-MM-DD HH:MM:SS' (Beijing) as an aware datetime; None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


@dataclass
class RestingOrder:
    order_id: str
    symbol: str
    side: OrderSide
    order_type: str
    quantity: int
    price: Decimal
    placed_at: datetime
    valid_days: int
    expires_on: date
    tool_call_id: str | None = None
    state: OrderState = OrderState.WORKING
    filled: int = 0
    checked_through: datetime | None = None  # bars stamped at or before this are done
    reason: str | None = None
    oco_with: str | None = None  # the order it was paired with at placement (OCO)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def placement_action(self) -> dict[str, Any]:
        return {
            "action": LedgerAction.ORDER.value,
            "order_id": self.order_id,
            "state": OrderState.WORKING.value,
            "symbol": self.symbol,
            "side": self.side.value,
            "order_type": self.order_type,
            "quantity": self.quantity,
            "price": float(self.price),
            "valid_days": self.valid_days,
            "expires_on": self.expires_on.isoformat(),
            "placed_at": decision_time_text(self.placed_at),
            **({"oco_with": self.oco_with} if self.oco_with else {}),
        }

    def view(self) -> dict[str, Any]:
        """What `get_orders` shows."""
        return {
            "order_id": self.order_id,
            "symbol": self.symbol,
            "action": self.side.value,
            "order_type": self.order_type,
            "price": float(self.price),
            "quantity": self.quantity,
            "filled": self.filled,
            "remaining": self.remaining,
            "state": self.state.value,
            "placed_at": decision_time_text(self.placed_at),
            "expires_on": self.expires_on.isoformat(),
            **({"reason": self.reason} if self.reason else {}),
            **({"oco_with": self.oco_with} if self.oco_with else {}),
        }


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def expiry_date(trading_days: Sequence[date], day: date, valid_days: int) -> date:
    """The last trading day of an order placed on `day` valid for `valid_days` trading days
    (today included); past the end of the calendar, its last day."""
    later = [d for d in trading_days if d >= day]
    if not later:
        return day
    return later[min(valid_days, len(later)) - 1]


@dataclass
class OrderBook:
    """Every resting order of one agent, by id, in placement order."""

    orders: dict[str, RestingOrder] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> OrderBook:
        book = cls()
        for rec in records:
            action = rec.get("this_action") or {}
            fill_of = rec.get("order")
            if action.get("action") == LedgerAction.ORDER.value:
                call = rec.get("tool_call_id")
                book._replay_event(action, call if isinstance(call, str) else None)
            elif isinstance(fill_of, Mapping):
                order = book.orders[str(fill_of["order_id"])]
                order.filled = int(fill_of["filled"])
                order.state = OrderState(str(fill_of["state"]))
                order.checked_through = parse_time(fill_of.get("bar_time"))
        return book

    def _replay_event(self, action: Mapping[str, Any], tool_call_id: str | None) -> None:
        order_id = str(action["order_id"])
        state = OrderState(str(action["state"]))
        if order_id not in self.orders:
            placed = parse_time(action.get("placed_at"))
            price = to_decimal(action.get("price"))
            if placed is None or price is None:
                raise ValueError(f"order {order_id}: bad placement record")
            self.orders[order_id] = RestingOrder(
                order_id=order_id,
                symbol=str(action["symbol"]),
                side=OrderSide(str(action["side"])),
                order_type=str(action["order_type"]),
                quantity=int(action["quantity"]),
                price=price,
                placed_at=placed,
                valid_days=int(action["valid_days"]),
                expires_on=date.fromisoformat(str(action["expires_on"])),
                tool_call_id=tool_call_id,
                state=state,
                oco_with=action.get("oco_with")
                if isinstance(action.get("oco_with"), str)
                else None,
            )
            return
        order = self.orders[order_id]
        order.state = transition(order.state, state)
        order.reason = action.get("reason") if isinstance(action.get("reason"), str) else None

    def add(self, order: RestingOrder) -> None:
        if order.order_id in self.orders:
            raise ValueError(f"order {order.order_id} already exists")
        self.orders[order.order_id] = order

    def working(self) -> list[RestingOrder]:
        return [o for o in self.orders.values() if o.open]

    def oco_partner(self, order: RestingOrder) -> RestingOrder | None:
        """The other order of `order`'s OCO pair (either side of the link), or None."""
        if order.oco_with is not None:
            return self.orders.get(order.oco_with)
        return next((o for o in self.orders.values() if o.oco_with == order.order_id), None)

    def by_call(self, tool_call_id: str | None) -> RestingOrder | None:
        if tool_call_id is None:
            return None
        return next((o for o in self.orders.values() if o.tool_call_id == tool_call_id), None)
