"""Orders and what becomes of them: `Order` (with its id), `Fill`, `OrderResult`, and the
order states as a declared transition table checked in one function (`transition`).

Orders are market orders today: placed, then filled or rejected at once by
`Broker.execute`. Resting orders will add their states (working, partially filled,
cancelled, expired) and transitions to `TRANSITIONS`, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from agent_engine.rules import OrderSide, Rejection, RejectReason


class OrderState(StrEnum):
    PLACED = "placed"
    FILLED = "filled"
    REJECTED = "rejected"


TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PLACED: frozenset({OrderState.FILLED, OrderState.REJECTED}),
    OrderState.FILLED: frozenset(),
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
