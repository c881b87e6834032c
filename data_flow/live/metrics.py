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
  it wins when sell proceeds net of sell fees exceed buy notional plus buy fees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    cost: float = 0.0
    proceeds: float = 0.0


@dataclass
class RoundTripTracker:
    """Folds fills (in order) into closed round trips per symbol."""

    open: dict[str, _OpenTrip] = field(default_factory=dict)
    closed: int = 0
    wins: int = 0
    realized_pnl: float = 0.0

    def add(self, side: str, symbol: str, quantity: int, notional: float, fees: float) -> None:
        trip = self.open.setdefault(symbol, _OpenTrip())
        if side == "BUY":
            trip.shares += quantity
            trip.cost += notional + fees
            return
        if side != "SELL" or trip.shares <= 0:
            return
        trip.shares -= quantity
        trip.proceeds += notional - fees
        if trip.shares <= 0:
            pnl = trip.proceeds - trip.cost
            self.closed += 1
            self.wins += pnl > 0
            self.realized_pnl += pnl
            del self.open[symbol]

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
