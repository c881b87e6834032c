"""The portfolio: cash and holdings, changed only by fills (`apply`) and by the passing of
days (`roll_to`: T+1 settlement makes yesterday's buys sellable). In a run the ledger's commit
(`Ledger.commit_fill`) is what applies a fill.

Valuation (equity): each holding at its quote's price; a holding without a price (suspended)
at its previous close, or at its average cost when that is unknown too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from agent_engine.orders import Fill
from agent_engine.quotes import Quote
from agent_engine.rules import OrderSide, new_avg_price, q2, q4, to_decimal

ZERO = Decimal("0")


@dataclass
class Holding:
    shares: int
    sellable: int
    avg_price: Decimal
    purchase_date: date  # date of the most recent buy


@dataclass
class Portfolio:
    """Cash and holdings. Mutate only via `apply(fill)` and `roll_to(day)`."""

    cash: Decimal
    holdings: dict[str, Holding] = field(default_factory=dict)
    last_trade_date: date | None = None

    def __post_init__(self) -> None:
        cash = to_decimal(self.cash)
        if cash is None or cash < 0:
            raise ValueError(f"cash must be a non-negative amount, got {self.cash!r}")
        self.cash = q2(cash)

    # --- views ---------------------------------------------------------------------------
    def shares(self, symbol: str) -> int:
        h = self.holdings.get(symbol)
        return h.shares if h else 0

    def sellable_on(self, symbol: str, day: date) -> int:
        """Shares of `symbol` that may be sold on `day` (T+1), without mutating."""
        h = self.holdings.get(symbol)
        if h is None:
            return 0
        return h.shares if day > h.purchase_date else h.sellable

    def valuation_price(self, symbol: str, quotes: Mapping[str, Quote]) -> Decimal:
        q = quotes.get(symbol)
        if q is not None and q.price is not None:
            return q.price
        if q is not None and q.prev_close is not None:
            return q.prev_close
        return self.holdings[symbol].avg_price

    def market_value(self, quotes: Mapping[str, Quote]) -> Decimal:
        """All holdings at quote prices (see module docstring for missing prices)."""
        return q2(
            sum(
                (h.shares * self.valuation_price(s, quotes) for s, h in self.holdings.items()),
                ZERO,
            )
        )

    def equity(self, quotes: Mapping[str, Quote]) -> Decimal:
        return self.cash + self.market_value(quotes)

    def cost_value(self) -> Decimal:
        """Holdings at average cost (fees included)."""
        return q2(sum((h.shares * h.avg_price for h in self.holdings.values()), ZERO))

    # --- mutations -----------------------------------------------------------------------
    def roll_to(self, day: date) -> None:
        """Move to trading day `day`: shares bought before `day` become sellable (T+1)."""
        if self.last_trade_date is not None and day < self.last_trade_date:
            raise ValueError(f"cannot roll portfolio back from {self.last_trade_date} to {day}")
        for h in self.holdings.values():
            if day > h.purchase_date:
                h.sellable = h.shares
        self.last_trade_date = day

    def apply(self, fill: Fill) -> None:
        """Apply a fill from `Broker.execute` (rolls to the fill's date first).

        Raises ValueError for a fill the broker would never produce (a bug, not a bad order).
        """
        self.roll_to(fill.trade_date)
        new_cash = self.cash + fill.cash_delta
        if new_cash < 0:
            raise ValueError(f"fill would make cash negative: {new_cash}")
        h = self.holdings.get(fill.symbol)
        if fill.side is OrderSide.BUY:
            if h is None:
                avg = new_avg_price(0, ZERO, fill.quantity, fill.notional, fill.total_fees)
                self.holdings[fill.symbol] = Holding(fill.quantity, 0, avg, fill.trade_date)
            else:
                h.avg_price = new_avg_price(
                    h.shares, h.avg_price, fill.quantity, fill.notional, fill.total_fees
                )
                h.shares += fill.quantity
                h.purchase_date = fill.trade_date  # new shares are not sellable until tomorrow
        else:
            if h is None or fill.quantity > h.sellable:
                raise ValueError(f"fill sells {fill.quantity} {fill.symbol} beyond sellable")
            h.shares -= fill.quantity
            h.sellable -= fill.quantity
            if h.shares == 0:
                del self.holdings[fill.symbol]
        self.cash = q2(new_cash)

    # --- records -------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """``{"CASH": float, SYM: {"shares", "sellable", "avg_price", "purchase_date"}}``."""
        out: dict[str, Any] = {"CASH": float(self.cash)}
        for symbol in sorted(self.holdings):
            h = self.holdings[symbol]
            out[symbol] = {
                "shares": h.shares,
                "sellable": h.sellable,
                "avg_price": float(h.avg_price),
                "purchase_date": h.purchase_date.isoformat(),
            }
        return out

    @classmethod
    def from_record(cls, positions: Mapping[str, Any], day: date | None) -> Portfolio:
        """Rebuild from a record's ``positions``; raises ValueError when it is malformed."""
        if not isinstance(positions, Mapping):
            raise ValueError("positions must be an object")
        cash = to_decimal(positions.get("CASH"))
        if cash is None or cash < 0:
            raise ValueError(f"positions.CASH is missing or invalid: {positions.get('CASH')!r}")
        holdings: dict[str, Holding] = {}
        for symbol, row in positions.items():
            if symbol == "CASH":
                continue
            try:
                shares, sellable = row["shares"], row["sellable"]
                avg = to_decimal(row["avg_price"])
                bought = date.fromisoformat(row["purchase_date"])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"positions.{symbol} is malformed: {err}") from None
            ints_ok = all(
                isinstance(x, int) and not isinstance(x, bool) for x in (shares, sellable)
            )
            if not ints_ok or not 0 <= sellable <= shares or shares == 0 or avg is None:
                raise ValueError(f"positions.{symbol} has invalid values: {row!r}")
            holdings[symbol] = Holding(shares, sellable, q4(avg), bought)
        return cls(cash=q2(cash), holdings=holdings, last_trade_date=day)
