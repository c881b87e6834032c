"""Orders and what becomes of them: `Order` (with its id), `Fill`, `OrderResult`, and the
order states as a declared transition table checked in one function (`transition`).

Market orders (`execute_trade`) are placed, then filled or rejected at once by
`Broker.execute`. Resting orders (`place_order`, agent_engine/resting_orders.py) are placed,
then working until a bar fills them (partially when the liquidity cap allows only part), the
agent cancels them, they expire after their valid days, or a fill is rejected at fill time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from agent_engine.rules import OrderSide, Rejection, RejectReason


class OrderState(StrEnum):
    PLACED = "placed"
    WORKING = "working"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


_RESTING_MOVES = frozenset(
    {
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.CANCELLED,
        OrderState.EXPIRED,
        OrderState.REJECTED,
    }
)
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PLACED: frozenset({OrderState.WORKING, OrderState.FILLED, OrderState.REJECTED}),
    OrderState.WORKING: _RESTING_MOVES,
    OrderState.PARTIALLY_FILLED: _RESTING_MOVES,
    OrderState.FILLED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.EXPIRED: frozenset(),
    OrderState.REJECTED: frozenset(),
}
"""Allowed moves from each state; a state with none is final."""


class OrderStateError(ValueError):
    """A transition the table does not allow."""


def transition(current: OrderState, new: OrderState) -> OrderState:
    """`new` when `TRANSITIONS` allows current → new; else OrderStateError."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise OrderStateError(
            f"order state {current.value} cannot become {new.value} (allowed: {allowed})"
        )
    return new


@dataclass(frozen=True, slots=True)
class Order:
    symbol: str
    side: OrderSide
    quantity: int
    order_id: str = ""
    """Given by whoever places the order (the toolbox: `<window>#<n>`); carried to the result."""


@dataclass(frozen=True, slots=True)
class Fill:
    symbol: str
    side: OrderSide
    quantity: int
    price: Decimal
    notional: Decimal
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal
    trade_date: date

    @property
    def total_fees(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee

    @property
    def cash_delta(self) -> Decimal:
        """Change of cash: a buy pays notional + fees, a sell receives notional - fees."""
        if self.side is OrderSide.BUY:
            return -(self.notional + self.total_fees)
        return self.notional - self.total_fees


@dataclass(frozen=True, slots=True)
class OrderResult:
    ok: bool
    fill: Fill | None
    reason: RejectReason | None
    message: str
    order_id: str = ""

    @property
    def status(self) -> OrderState:
        """The order's state after `Broker.execute`: placed → filled | rejected."""
        return transition(OrderState.PLACED, OrderState.FILLED if self.ok else OrderState.REJECTED)

    @classmethod
    def filled(cls, fill: Fill, message: str) -> OrderResult:
        return cls(True, fill, None, message)

    @classmethod
    def rejected(cls, rejection: Rejection) -> OrderResult:
        return cls(False, None, rejection.reason, rejection.message)
