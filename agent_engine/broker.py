"""Simulated A-share broker: orders in, fills or rejections out; a portfolio changed by fills.

- `Broker.execute(portfolio, order, quotes, trade_date)` is pure: it validates an order against
  the rules in `agent_engine.rules` and the snapshot's quotes and returns an `OrderResult`
  (a `Fill`, or a `RejectReason` plus a message for the model). It never mutates the portfolio
  and never raises for a bad order.
- `Portfolio` changes only through `apply(fill)` and `roll_to(day)` (T+1 settlement).

Order of checks (the first failing one is reported): action -> symbol (universe and board) ->
quantity -> price available (suspended) -> holding (sells) -> lot rule -> sellable -> price
limit -> cash -> position cap -> liquidity. An order is validated as asked (a real broker
freezes the cash of the whole order), then cut to the bar's liquidity.

Liquidity (agent_engine/liquidity.py): when the quote carries the volume of the bar at the
decision time and ``trading_rules.max_volume_participation`` is set, a market order fills at
most floor(p × volume) shares less `volume_used` (the agent's earlier fills against that bar),
rounded down to the lot; the rest is not filled (the result says so), and an order that can
fill nothing is rejected with ``liquidity``.

Fill price: the snapshot's current price moved against the trader by ``slippage_bps`` and
rounded half-up to 0.01; it is then clamped into [limit_down, limit_up] (no trade can print
outside the daily band). Buys at a quote >= limit-up and sells at a quote <= limit-down are
rejected (no counterparty).

Valuation (position cap, equity): each holding at its quote's price; a holding without a price
(suspended) at its previous close, or at its average cost when that is unknown too.

Position cap: after a buy, that stock's market value (all shares × quote price) must be
<= single_stock_max_position × equity, where equity = cash after the buy (notional and fees
paid) + every holding at quote prices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from agent_engine.liquidity import bar_allowance, capped_quantity, round_down_to_lot
from agent_engine.orders import Fill, Order, OrderResult, OrderState
from agent_engine.portfolio import Holding, Portfolio
from agent_engine.quotes import Quote, quotes_from_snapshot
from agent_engine.rules import (
    Board,
    Fees,
    OrderSide,
    RejectReason,
    board_of,
    check_buy_lot,
    check_quantity,
    check_sell_lot,
    compute_fees,
    money_text,
    q2,
    slipped_price,
)
from settings.config import RiskManagement, TradingRules

__all__ = [
    "Board",
    "Broker",
    "Fill",
    "Holding",
    "Order",
    "OrderResult",
    "OrderSide",
    "OrderState",
    "Portfolio",
    "Quote",
    "RejectReason",
    "quotes_from_snapshot",
]

ZERO = Decimal("0")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce_side(side: Any) -> OrderSide | None:
    if isinstance(side, OrderSide):
        return side
    if isinstance(side, str):
        try:
            return OrderSide(side.strip().upper())
        except ValueError:
            return None
    return None


class Broker:
    """Validates orders against A-share rules and the snapshot; see the module docstring."""

    def __init__(self, rules: TradingRules, risk: RiskManagement, universe: Iterable[str]) -> None:
        self.rules = rules
        self.risk = risk
        self.universe = frozenset(universe)

    # --- public --------------------------------------------------------------------------
    def fees(self, side: OrderSide, notional: Decimal) -> Fees:
        r = self.rules
        return compute_fees(
            side,
            notional,
            commission_rate=r.commission_rate,
            min_commission=r.min_commission,
            stamp_duty_rate=r.stamp_duty_rate,
            transfer_fee_rate=r.transfer_fee_rate,
        )

    def fill_price(self, quote: Quote, side: OrderSide) -> Decimal:
        """Quote price moved against the trader, clamped into the daily limit band."""
        assert quote.price is not None
        price = slipped_price(quote.price, side, self.rules.slippage_bps)
        if quote.limit_up is not None:
            price = min(price, quote.limit_up)
        if quote.limit_down is not None:
            price = max(price, quote.limit_down)
        return price

    def execute(
        self,
        portfolio: Portfolio,
        order: Order,
        quotes: Mapping[str, Quote],
        trade_date: date,
        *,
        volume_used: int = 0,
    ) -> OrderResult:
        """Fill or reject `order` at `quotes`. Pure: the portfolio is not changed. The result
        carries the order's id. `volume_used`: shares the agent already traded against the
        quote's bar (see Liquidity in the module docstring)."""
        result = self._execute(portfolio, order, quotes, trade_date, volume_used)
        return replace(result, order_id=order.order_id) if order.order_id else result

    def _execute(
        self,
        portfolio: Portfolio,
        order: Order,
        quotes: Mapping[str, Quote],
        trade_date: date,
        volume_used: int,
    ) -> OrderResult:
        side = _coerce_side(order.side)
        if side is None:
            return _reject(
                RejectReason.INVALID_ACTION,
                f"Action must be BUY or SELL; you sent {order.side!r}.",
            )
        symbol = order.symbol
        board = board_of(symbol) if isinstance(symbol, str) else None
        if board is None or symbol not in self.universe:
            listed = ", ".join(sorted(self.universe))
            return _reject(
                RejectReason.UNKNOWN_SYMBOL,
                f"{symbol!r} is not tradable in this arena. Tradable symbols: {listed}.",
            )
        bad_qty = check_quantity(order.quantity)
        if bad_qty is not None:
            return OrderResult.rejected(bad_qty)
        quantity: int = order.quantity
        quote = quotes.get(symbol)
        if quote is None or quote.price is None or quote.price <= 0:
            return _reject(
                RejectReason.SUSPENDED,
                f"{symbol} has no price at this decision time (suspended or no trade yet); "
                "it cannot be traded in this window.",
            )
        if side is OrderSide.BUY:
            result = self._buy(portfolio, symbol, board, quantity, quote, quotes, trade_date)
        else:
            result = self._sell(portfolio, symbol, board, quantity, quote, trade_date)
        allowed = self.volume_allowance(quote, volume_used)
        filled = capped_quantity(board, quantity, allowed)
        if not result.ok or filled == quantity:
            return result
        liquidity = _liquidity_text(self, quote, quantity, filled, allowed)
        if filled <= 0:
            return _reject(RejectReason.LIQUIDITY, liquidity)
        # a smaller order passes every check the whole one passed (lot-rounded, less cash)
        cut = replace(order, quantity=filled)
        partial = self._execute(portfolio, cut, quotes, trade_date, 0)
        head = f"Partially filled: {filled} of the {quantity} shares asked. {liquidity} "
        return replace(partial, message=head + partial.message)

    def volume_allowance(self, quote: Quote, volume_used: int = 0) -> int | None:
        """Shares a market order may still trade against the quote's bar (None: no limit)."""
        allowed = bar_allowance(self.rules.max_volume_participation, quote.bar_volume)
        return None if allowed is None else max(0, allowed - volume_used)

    def max_buy_quantity(
        self, portfolio: Portfolio, symbol: str, quotes: Mapping[str, Quote]
    ) -> int:
        """Largest lot-valid quantity of `symbol` that cash and the position cap allow now
        (0 if none). Ignores the limit-up rule and liquidity (an order is validated as asked,
        then cut to the bar's liquidity)."""
        board = board_of(symbol)
        quote = quotes.get(symbol)
        if board is None or symbol not in self.universe or quote is None or quote.price is None:
            return 0
        fill_price = self.fill_price(quote, OrderSide.BUY)
        if fill_price <= 0:
            return 0
        fits = self._fits(portfolio, symbol, quote.price, fill_price, quotes)
        return round_down_to_lot(board, _max_true(fits, int(portfolio.cash // fill_price)))

    # --- internals -----------------------------------------------------------------------
    def _projection(
        self,
        portfolio: Portfolio,
        symbol: str,
        mark: Decimal,
        fill_price: Decimal,
        quotes: Mapping[str, Quote],
    ) -> Callable[[int], tuple[Decimal, Decimal, Decimal]]:
        """q -> (cash after buying q, the stock's market value after, equity after)."""
        held = portfolio.shares(symbol)
        others = portfolio.market_value(quotes) - held * portfolio.valuation_price(symbol, quotes)

        def project(q: int) -> tuple[Decimal, Decimal, Decimal]:
            notional = q2(fill_price * q)
            cash_after = portfolio.cash - notional - self.fees(OrderSide.BUY, notional).total
            value = (held + q) * mark
            return cash_after, value, cash_after + others + value

        return project

    def _fits(
        self,
        portfolio: Portfolio,
        symbol: str,
        mark: Decimal,
        fill_price: Decimal,
        quotes: Mapping[str, Quote],
    ) -> Callable[[int], bool]:
        """q -> (cash covers q, and the cap holds after buying q). Monotone in q."""
        cap = self.risk.single_stock_max_position
        project = self._projection(portfolio, symbol, mark, fill_price, quotes)

        def fits(q: int) -> bool:
            cash_after, value, equity = project(q)
            return cash_after >= 0 and value <= cap * equity

        return fits

    def _buy(
        self,
        portfolio: Portfolio,
        symbol: str,
        board: Board,
        quantity: int,
        quote: Quote,
        quotes: Mapping[str, Quote],
        trade_date: date,
    ) -> OrderResult:
        assert quote.price is not None
        bad_lot = check_buy_lot(board, quantity)
        if bad_lot is not None:
            return OrderResult.rejected(bad_lot)
        if quote.limit_up is not None and quote.price >= quote.limit_up:
            return _reject(
                RejectReason.LIMIT_UP,
                f"{symbol} is at its limit-up price {quote.limit_up} (price {quote.price}); "
                "there are no sellers, so buys are rejected. You may still sell.",
            )
        price = self.fill_price(quote, OrderSide.BUY)
        notional = q2(price * quantity)
        fees = self.fees(OrderSide.BUY, notional)
        cost = notional + fees.total
        if cost > portfolio.cash:
            most = self.max_buy_quantity(portfolio, symbol, quotes)
            return _reject(
                RejectReason.INSUFFICIENT_CASH,
                f"Buying {quantity} {symbol} at {price} costs {money_text(cost)} "
                f"({money_text(notional)} + fees {money_text(fees.total)}) but cash is "
                f"{money_text(portfolio.cash)}. {_most_text(most, 'buy')}",
            )
        cap = self.risk.single_stock_max_position
        project = self._projection(portfolio, symbol, quote.price, price, quotes)
        _, value, equity = project(quantity)
        if value > cap * equity:
            most = self.max_buy_quantity(portfolio, symbol, quotes)
            return _reject(
                RejectReason.POSITION_CAP,
                f"Position cap: after this buy {symbol} would be worth {money_text(value)}, "
                f"{value / equity * 100:.2f}% of equity {money_text(equity)}; the limit is "
                f"{_pct(cap)}% per stock. {_most_text(most, 'buy')}",
            )
        fill = _fill(symbol, OrderSide.BUY, quantity, price, notional, fees, trade_date)
        held = portfolio.holdings.get(symbol)
        shares_after = (held.shares if held else 0) + quantity
        return OrderResult.filled(fill, fill_message(fill, portfolio.cash - cost, shares_after))

    def _sell(
        self,
        portfolio: Portfolio,
        symbol: str,
        board: Board,
        quantity: int,
        quote: Quote,
        trade_date: date,
    ) -> OrderResult:
        assert quote.price is not None
        holding = portfolio.holdings.get(symbol)
        if holding is None or holding.shares <= 0:
            return _reject(
                RejectReason.NO_POSITION,
                f"You hold no {symbol}, so there is nothing to sell (no short selling).",
            )
        bad_lot = check_sell_lot(board, quantity, holding.shares)
        if bad_lot is not None:
            return OrderResult.rejected(bad_lot)
        sellable = portfolio.sellable_on(symbol, trade_date)
        if quantity > sellable:
            locked = holding.shares - sellable
            why = (
                f" {locked} were bought on {holding.purchase_date} and become sellable on the "
                "next trading day (T+1)."
                if locked
                else ""
            )
            return _reject(
                RejectReason.INSUFFICIENT_SELLABLE,
                f"You asked to sell {quantity} {symbol} but only {sellable} of your "
                f"{holding.shares} shares are sellable now.{why}",
            )
        if quote.limit_down is not None and quote.price <= quote.limit_down:
            return _reject(
                RejectReason.LIMIT_DOWN,
                f"{symbol} is at its limit-down price {quote.limit_down} (price {quote.price}); "
                "there are no buyers, so sells are rejected. You may still buy.",
            )
        price = self.fill_price(quote, OrderSide.SELL)
        notional = q2(price * quantity)
        fees = self.fees(OrderSide.SELL, notional)
        fill = _fill(symbol, OrderSide.SELL, quantity, price, notional, fees, trade_date)
        left = holding.shares - quantity
        return OrderResult.filled(fill, fill_message(fill, portfolio.cash + fill.cash_delta, left))


def fill_message(fill: Fill, cash_after: Decimal, shares_after: int) -> str:
    """The broker's message for a fill (also rebuilt from a ledger record on resume)."""
    head = (
        f"{fill.symbol} at {fill.price}: notional {money_text(fill.notional)}, fees "
        f"{money_text(fill.total_fees)}"
    )
    if fill.side is OrderSide.BUY:
        return (
            f"Bought {fill.quantity} {head}; cash now {money_text(cash_after)}. "
            "These shares become sellable on the next trading day (T+1)."
        )
    return (
        f"Sold {fill.quantity} {head} (incl. stamp duty {money_text(fill.stamp_duty)}); cash "
        f"now {money_text(cash_after)}; {shares_after} shares left."
    )


def _fill(
    symbol: str,
    side: OrderSide,
    quantity: int,
    price: Decimal,
    notional: Decimal,
    fees: Fees,
    trade_date: date,
) -> Fill:
    return Fill(
        symbol=symbol,
        side=side,
        quantity=quantity,
        price=price,
        notional=notional,
        commission=fees.commission,
        stamp_duty=fees.stamp_duty,
        transfer_fee=fees.transfer_fee,
        trade_date=trade_date,
    )


def _liquidity_text(
    broker: Broker, quote: Quote, asked: int, filled: int, allowed: int | None
) -> str:
    p = broker.rules.max_volume_participation or ZERO
    return (
        f"Liquidity: {quote.symbol}'s bar at this decision time traded {quote.bar_volume} "
        f"shares and your fills against one bar may total at most {_pct(p)}% of its volume, "
        f"so at most {allowed} more shares (in whole lots) can trade now; {asked - filled} of "
        f"your {asked} are not filled (a market order does not rest; place_order leaves a "
        "resting order for later bars)."
    )


def _reject(reason: RejectReason, message: str) -> OrderResult:
    return OrderResult(False, None, reason, message)


def _pct(fraction: Decimal) -> str:
    """0.5 -> '50', 0.333 -> '33.3'."""
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".")


def _most_text(most: int, verb: str) -> str:
    if most <= 0:
        return f"You cannot {verb} any of it now."
    return f"The most you can {verb} now is {most} shares."


def _max_true(pred: Callable[[int], bool], hi: int) -> int:
    """Largest q in [0, hi] with pred(q) for a predicate true up to some point (0 if none)."""
    lo = 0
    if hi <= 0 or not pred(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pred(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
