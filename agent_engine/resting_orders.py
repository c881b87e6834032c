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

OCO (one cancels the other, agent_engine/order_book.py): the first fill of either order of a
pair (also a partial one) cancels the other (``reason: "oco"``). When both would trigger on the
same bar, which came first inside the bar is unknown: the stop_loss is taken first (the
conservative assumption), else the earlier-placed order. A cancellation that a crash cut off
after the fill is made at the next matching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from agent_engine.broker import Broker
from agent_engine.ledger import Ledger, LedgerAction
from agent_engine.liquidity import bar_allowance, capped_quantity
from agent_engine.order_book import (
    CLOSE,
    MAX_VALID_DAYS,
    ORDER_TYPES,
    OrderBook,
    OrderType,
    RestingOrder,
    expiry_date,
    parse_time,
)
from agent_engine.orders import Order, OrderState, transition
from agent_engine.portfolio import Portfolio
from agent_engine.quotes import Quote, quotes_from_snapshot
from agent_engine.rules import OrderSide, board_of, to_decimal
from data_flow.clock import SHANGHAI, decision_time_text

__all__ = [
    "CLOSE",
    "MAX_VALID_DAYS",
    "ORDER_TYPES",
    "OrderBook",
    "OrderDesk",
    "OrderType",
    "RestingOrder",
    "liquidity_cap",
    "trigger_price",
]


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
        written = self._cancel_oco_partners_of_filled(window, snapshot_hash)
        ranks = self._ranks()
        events: list[tuple[datetime, tuple[int, int, int], RestingOrder, Mapping[str, Any]]] = []
        for order in self.book.working():
            rank = ranks[order.order_id]
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
        for stamp, _rank, order, bar in events:
            if not order.open:
                continue
            rec = self._try_fill(order, bar, stamp, quotes, snapshot_hash, window)
            if rec is not None:
                written.append(rec)
                written += self._cancel_oco_partners_of_filled(window, snapshot_hash)
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

    def _ranks(self) -> dict[str, tuple[int, int, int]]:
        """Order of matching within one bar: placement order, except that an OCO pair sorts at
        its earlier order's place with its stop_loss first."""
        position = {o.order_id: i for i, o in enumerate(self.book.orders.values())}
        ranks: dict[str, tuple[int, int, int]] = {}
        for order in self.book.working():
            partner = self.book.oco_partner(order)
            group = position[order.order_id]
            if partner is not None:
                group = min(group, position[partner.order_id])
            stop_first = 0 if order.order_type == "stop_loss" else 1
            ranks[order.order_id] = (group, stop_first, position[order.order_id])
        return ranks

    def _cancel_oco_partners_of_filled(
        self, window: Any, snapshot_hash: str | None
    ) -> list[dict[str, Any]]:
        """Cancel every working order whose OCO partner has a fill."""
        written: list[dict[str, Any]] = []
        for order in self.book.working():
            partner = self.book.oco_partner(order)
            if partner is not None and partner.filled > 0:
                written.append(
                    self._finish(
                        order,
                        OrderState.CANCELLED,
                        window,
                        snapshot_hash,
                        reason="oco",
                        message=f"its OCO partner {partner.order_id} filled",
                    )
                )
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
