"""Resting orders: the per-agent order book and its matching against hourly bars.

An order placed with `place_order` rests until a later bar fills it, the agent cancels it, it
expires, or its fill is rejected. The book is rebuilt from the ledger's records (placement,
fills with an ``order`` object, cancel/expire/reject records), so a resumed run keeps every
working order exactly once.

Matching (`trigger_price`; P = the order's price, bar = one hourly bar stamped after the order
was placed and at or before the time of processing, no look-ahead):

- bars with high/low: a limit BUY triggers when low <= P and fills at min(P, open); a limit
  SELL or take_profit SELL when high >= P, at max(P, open); a stop_loss SELL when low <= P,
  at min(P, open). The open is used only when the bar opened beyond P (it gapped through);
  without an open the fill is at P.
- close-only bars (the STAR sample): the close decides (BUY limit: close <= P; SELL limit and
  take_profit: close >= P; stop_loss: close <= P) and is the fill price.

No slippage on resting orders. At fill time the broker's rules apply with the fill price as
the quote (lots, T+1, limit-up buys / limit-down sells, cash, position cap); a refused fill
rejects the order with the broker's reason.

Liquidity: with ``trading_rules.max_volume_participation`` = p, one bar fills at most
floor(p × bar volume) shares, rounded down to the board's lot unless it is the whole
remainder; the rest stays working (partially_filled) for later bars until it fills, is
cancelled or expires. A bar with volume 0 fills nothing.

Expiry: ``valid_days`` trading days counting the day of placement; the order expires after the
15:00 bar of its last day (`expires_on`) has been processed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, get_args

from agent_engine.broker import Broker
from agent_engine.ledger import Ledger, LedgerAction
from agent_engine.liquidity import bar_allowance, capped_quantity
from agent_engine.orders import Order, OrderState, transition
from agent_engine.portfolio import Portfolio
from agent_engine.quotes import Quote, quotes_from_snapshot
from agent_engine.rules import OrderSide, board_of, to_decimal
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
        }


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

    def by_call(self, tool_call_id: str | None) -> RestingOrder | None:
        if tool_call_id is None:
            return None
        return next((o for o in self.orders.values() if o.tool_call_id == tool_call_id), None)


def trigger_price(order: RestingOrder, bar: Mapping[str, Any]) -> Decimal | None:
    """The fill price of `order` on `bar`, or None when the bar does not reach it (module doc)."""
    close = to_decimal(bar.get("close"))
    high, low, open_ = (to_decimal(bar.get(k)) for k in ("high", "low", "open"))
    p = order.price
    buy_like = order.order_type == "stop_loss" or order.side is OrderSide.BUY
    if high is None or low is None:  # close-only bars: the close decides
        if close is None:
            return None
        hit = close <= p if buy_like else close >= p
        return close if hit else None
    if buy_like:  # limit BUY, stop_loss SELL: the price falls to P
        if low > p:
            return None
        return open_ if open_ is not None and open_ < p else p
    if high < p:  # limit / take_profit SELL: the price rises to P
        return None
    return open_ if open_ is not None and open_ > p else p


def liquidity_cap(
    order: RestingOrder, bar: Mapping[str, Any], participation: Decimal | None
) -> int:
    """Shares `bar` may fill of the order's remainder (see agent_engine/liquidity.py)."""
    allowed = bar_allowance(participation, to_decimal(bar.get("volume")))
    return capped_quantity(board_of(order.symbol), order.remaining, allowed)


class OrderDesk:
    """One agent's book, matched against the snapshots' bars and written to its ledger."""

    def __init__(
        self,
        book: OrderBook,
        ledger: Ledger,
        broker: Broker,
        trading_days: Sequence[date],
        participation: Decimal | None,
    ) -> None:
        self.book = book
        self.ledger = ledger
        rules = broker.rules.model_copy(update={"slippage_bps": Decimal("0")})
        self.broker = Broker(rules, broker.risk, broker.universe)
        self.trading_days = sorted(trading_days)
        self.participation = participation

    def needs(self, moment: datetime) -> bool:
        """Whether processing up to `moment` could change anything."""
        return any(
            o.placed_at < moment and (o.checked_through is None or o.checked_through < moment)
            for o in self.book.working()
        )

    def process(
        self,
        snapshot: Mapping[str, Any],
        snapshot_hash: str | None,
        window: Any,
        portfolio: Portfolio,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Match the working orders against the snapshot's bars of `now`'s day stamped at or
        before `now`, in time order, then expire orders whose last day is over. Returns the
        records written. The portfolio must be rolled to `now`'s day."""
        day = now.astimezone(SHANGHAI).date()
        market = snapshot.get("market_data") or {}
        quotes = quotes_from_snapshot(snapshot)
        events: list[tuple[datetime, int, RestingOrder, Mapping[str, Any]]] = []
        for rank, order in enumerate(self.book.working()):
            row = market.get(order.symbol) or {}
            for bar in row.get("recent_bars") or []:
                stamp = parse_time(bar.get("time")) if isinstance(bar, Mapping) else None
                if stamp is None or stamp.date() != day or stamp > now:
                    continue
                if stamp <= order.placed_at or stamp.date() > order.expires_on:
                    continue
                if order.checked_through is not None and stamp <= order.checked_through:
                    continue
                events.append((stamp, rank, order, bar))
        events.sort(key=lambda e: (e[0], e[1]))
        written: list[dict[str, Any]] = []
        for stamp, _rank, order, bar in events:
            if not order.open:
                continue
            rec = self._try_fill(order, bar, stamp, quotes, snapshot_hash, window)
            if rec is not None:
                written.append(rec)
            if order.open:
                order.checked_through = stamp
        for order in self.book.working():
            if order.placed_at < now and (
                order.checked_through is None or order.checked_through < now
            ):
                order.checked_through = now
        for order in self.book.working():
            if order.expires_on < day or (order.expires_on == day and now.timetz() >= CLOSE):
                written.append(self._finish(order, OrderState.EXPIRED, window, snapshot_hash))
        return written

    def _try_fill(
        self,
        order: RestingOrder,
        bar: Mapping[str, Any],
        stamp: datetime,
        quotes: Mapping[str, Quote],
        snapshot_hash: str | None,
        window: Any,
    ) -> dict[str, Any] | None:
        price = trigger_price(order, bar)
        if price is None:
            return None
        quantity = liquidity_cap(order, bar, self.participation)
        if quantity <= 0:
            return None
        base = quotes.get(order.symbol) or Quote(order.symbol, None)
        quote = Quote(order.symbol, price, base.prev_close, base.limit_up, base.limit_down)
        priced = {**quotes, order.symbol: quote}
        portfolio = self.ledger.portfolio
        result = self.broker.execute(
            portfolio,
            Order(order.symbol, order.side, quantity, order.order_id),
            priced,
            stamp.date(),
        )
        bar_time = decision_time_text(stamp)
        if not result.ok or result.fill is None:
            reason = result.reason.value if result.reason else "rejected"
            return self._finish(
                order,
                OrderState.REJECTED,
                window,
                snapshot_hash,
                reason=reason,
                message=result.message,
                bar_time=bar_time,
            )
        filled = order.filled + quantity
        state = OrderState.FILLED if filled == order.quantity else OrderState.PARTIALLY_FILLED
        info = {
            "order_id": order.order_id,
            "state": transition(order.state, state).value,
            "filled": filled,
            "remaining": order.quantity - filled,
            "bar_time": bar_time,
        }
        record = self.ledger.commit_fill(
            window, result.fill, portfolio, snapshot_hash, order.tool_call_id, order=info
        )
        order.filled, order.state, order.checked_through = filled, state, stamp
        return record

    def _finish(
        self,
        order: RestingOrder,
        state: OrderState,
        window: Any,
        snapshot_hash: str | None,
        **details: Any,
    ) -> dict[str, Any]:
        new = transition(order.state, state)
        action = {
            "action": LedgerAction.ORDER.value,
            "order_id": order.order_id,
            "state": new.value,
            "filled": order.filled,
            "remaining": order.remaining,
            **details,
        }
        record = self.ledger.append_order(window, action, self.ledger.portfolio, snapshot_hash)
        order.state = new
        order.reason = details.get("reason")
        return record

    def place(self, order: RestingOrder, window: Any, snapshot_hash: str | None) -> dict[str, Any]:
        """Record a new working order and add it to the book."""
        placed = transition(OrderState.PLACED, OrderState.WORKING)
        order = replace(order, state=placed)
        record = self.ledger.append_order(
            window,
            order.placement_action(),
            self.ledger.portfolio,
            snapshot_hash,
            order.tool_call_id,
        )
        self.book.add(order)
        return record

    def cancel(self, order_id: str, window: Any, snapshot_hash: str | None) -> dict[str, Any]:
        order = self.book.orders[order_id]
        return self._finish(order, OrderState.CANCELLED, window, snapshot_hash)

    def expiry_for(self, day: date, valid_days: int) -> date:
        return expiry_date(self.trading_days, day, valid_days)
