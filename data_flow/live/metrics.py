"""Performance metrics over an equity series (pure functions, floats at the API edge).

Conventions (documented in the API):
- Daily returns use each trading day's last window equity; the first day's return is measured
  against the initial cash.
- Annualized volatility = sample stdev (ddof=1) of daily returns x sqrt(252), in percent.
- Sharpe = mean / stdev of daily returns x sqrt(252), risk-free rate 0; None with fewer than two
  daily returns or zero volatility.
- Max drawdown is a non-negative percentage: the largest peak-to-trough fall of the window-level
  equity series, the initial cash counting as the first peak.
- Win rate counts closed round trips: a symbol position opened from flat and closed back to flat;
  it wins when sell proceeds net of sell fees, plus the net cash dividends received while open,
  exceed buy notional plus buy fees. Bonus shares (送股/转增) add to the open shares at no cost,
  so the trip closes when they are sold too (the rule of `data_flow/live/trades.py`; a closed
  trip's PnL is the sum of its FIFO trades' `realized_pnl_net`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

TRADING_DAYS_PER_YEAR = 252


def daily_returns(day_equity: Sequence[tuple[str, float]], initial: float) -> list[float]:
    """Returns from (day, equity) pairs (any number per day, in time order; last one counts)."""
    closes: list[float] = []
    last_day: str | None = None
    for day, equity in day_equity:
        if day == last_day:
            closes[-1] = equity
        else:
            closes.append(equity)
            last_day = day
    out: list[float] = []
    previous = initial
    for close in closes:
        out.append(close / previous - 1.0 if previous > 0 else 0.0)
        previous = close
    return out


def _stdev(values: Sequence[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def annualized_volatility_pct(returns: Sequence[float]) -> float | None:
    sd = _stdev(returns)
    return None if sd is None else sd * math.sqrt(TRADING_DAYS_PER_YEAR) * 100.0


def sharpe_ratio(returns: Sequence[float]) -> float | None:
    sd = _stdev(returns)
    if sd is None or sd <= 1e-15:
        return None
    mean = math.fsum(returns) / len(returns)
    return mean / sd * math.sqrt(TRADING_DAYS_PER_YEAR)


def max_drawdown_pct(equities: Iterable[float], initial: float) -> float:
    peak = initial
    worst = 0.0
    for eq in equities:
        if eq > peak:
            peak = eq
        elif peak > 0:
            worst = max(worst, (peak - eq) / peak)
    return worst * 100.0


def total_return_pct(equity: float, initial: float) -> float:
    return (equity / initial - 1.0) * 100.0 if initial > 0 else 0.0


@dataclass
class _OpenTrip:
    shares: int = 0
    cost: Decimal = Decimal(0)
    proceeds: Decimal = Decimal(0)  # sells net of their fees, plus net dividends


@dataclass
class RoundTripTracker:
    """Folds fills and corporate actions (in record order) into closed round trips per symbol.
    Money in Decimal (pass the records' amounts as Decimal, or numbers)."""

    open: dict[str, _OpenTrip] = field(default_factory=dict)
    closed: int = 0
    wins: int = 0
    realized_pnl: Decimal = Decimal(0)

    def add(
        self,
        side: str,
        symbol: str,
        quantity: int,
        notional: Decimal | float,
        fees: Decimal | float,
    ) -> None:
        amount, cost = Decimal(str(notional)), Decimal(str(fees))
        if side == "BUY":
            trip = self.open.setdefault(symbol, _OpenTrip())
            trip.shares += quantity
            trip.cost += amount + cost
            return
        trip = self.open.get(symbol)
        if side != "SELL" or trip is None or trip.shares <= 0:
            return
        trip.shares -= quantity
        trip.proceeds += amount - cost
        if trip.shares <= 0:
            pnl = trip.proceeds - trip.cost
            self.closed += 1
            self.wins += pnl > 0
            self.realized_pnl += pnl
            del self.open[symbol]

    def bonus(self, symbol: str, new_shares: int) -> None:
        """Bonus shares of an open trip: more shares to sell, no cost."""
        trip = self.open.get(symbol)
        if trip is not None and trip.shares > 0 and new_shares > 0:
            trip.shares += new_shares

    def dividend(self, symbol: str, net: Decimal | float) -> None:
        """A cash dividend (after tax) on an open trip's shares: income of that trip."""
        trip = self.open.get(symbol)
        if trip is not None and trip.shares > 0:
            trip.proceeds += Decimal(str(net))

    def win_rate_pct(self) -> float | None:
        return self.wins / self.closed * 100.0 if self.closed else None


@dataclass(frozen=True, slots=True)
class SeriesStats:
    total_return_pct: float
    annualized_volatility_pct: float | None
    sharpe: float | None
    max_drawdown_pct: float


def series_stats(points: Sequence[tuple[str, float]], initial: float) -> SeriesStats:
    """Stats for a window-level series of (day, equity) pairs."""
    last = points[-1][1] if points else initial
    rets = daily_returns(points, initial)
    return SeriesStats(
        total_return_pct=total_return_pct(last, initial),
        annualized_volatility_pct=annualized_volatility_pct(rets),
        sharpe=sharpe_ratio(rets),
        max_drawdown_pct=max_drawdown_pct((eq for _, eq in points), initial),
    )
