"""Deterministic synthetic market (the offline default). Everything it makes is synthetic.

Each symbol follows a mean-reverting random walk from a fixed anchor day (2023-01-03) over the
XSHG trading days. A day's randomness comes from ``shake_256(seed | symbol | date)``, so every
bar is a pure function of (seed, symbol, date): building a later window never changes an
earlier one and the requested range does not matter. Prices use only + - × ÷ on floats and
Decimal rounding (no libm), so they are identical on every platform.

Per trading day: an opening gap, four hourly bars stamped 10:30, 11:30, 14:00, 15:00 with
open/high/low/close, volume in round lots of 100 shares and amount in CNY. Every price stays
inside the board's daily limit from the previous close (±10 % main board, ±20 % STAR/ChiNext),
computed with ``symbols.price_limits``. The base price (5-200 CNY) and typical turnover of a
symbol come from a hash of the symbol. No news.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from data_flow.clock import ONE_DAY, SHANGHAI
from data_flow.sources.base import Bar, Coverage, DailyBar, NewsItem
from data_flow.symbols import CENT, Board, board_of, price_limits

ANCHOR_DAY = date(2023, 1, 3)
BAR_STAMPS = (time(10, 30), time(11, 30), time(14, 0), time(15, 0))
VOLUME_WEIGHTS = (0.36, 0.19, 0.2, 0.25)  # share of a day's volume per hourly bar
MEAN_REVERSION = 0.01  # per day, toward the base price
DAILY_SIGMA = {Board.MAIN: 0.018, Board.STAR: 0.026, Board.CHINEXT: 0.026}


def _round2(x: float) -> float:
    return float(Decimal(repr(x)).quantize(CENT, rounding=ROUND_HALF_UP))


class _Uniforms:
    """Uniform [0, 1) numbers from a hash of `key`; a fixed amount per day."""

    def __init__(self, key: str, count: int) -> None:
        raw = hashlib.shake_256(key.encode("utf-8")).digest(4 * count)
        self._values = [
            int.from_bytes(raw[i : i + 4], "big") / 4294967296.0 for i in range(0, 4 * count, 4)
        ]
        self._i = 0

    def next(self) -> float:
        value = self._values[self._i]
        self._i += 1
        return value

    def normal(self) -> float:
        """Approximately N(0, 1), bounded to ±3: scaled sum of three uniforms."""
        return (self.next() + self.next() + self.next() - 1.5) * 2.0


@functools.cache
def base_price(symbol: str) -> float:
    """A plausible, symbol-specific starting price between 5 and 200 CNY."""
    u = _Uniforms(f"astock-demo-base|{symbol}", 2)
    return _round2(5.0 + 195.0 * u.next() ** 2)


_NAME_HEADS = ("华", "中", "芯", "科", "天", "新", "海", "金", "光", "瑞", "恒", "博")
_NAME_TAILS = ("科技", "微电子", "半导体", "智能", "生物", "材料", "电子", "精密")


@functools.cache
def demo_name(symbol: str) -> str:
    """A generated, deterministic stock name (the demo market is synthetic, so are its names)."""
    u = _Uniforms(f"astock-demo-name|{symbol}", 3)
    first = _NAME_HEADS[int(u.next() * len(_NAME_HEADS))]
    second = _NAME_HEADS[int(u.next() * len(_NAME_HEADS))]
    return f"{first}{second}{_NAME_TAILS[int(u.next() * len(_NAME_TAILS))]}"


@functools.cache
def base_turnover(symbol: str) -> float:
    """Typical daily turnover in CNY (0.3-3 billion)."""
    u = _Uniforms(f"astock-demo-base|{symbol}", 2)
    u.next()
    return 3e8 + 2.7e9 * u.next()


@dataclass
class _Path:
    days: list[date] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    daily: list[DailyBar] = field(default_factory=list)
    last_close: float = 0.0
    last_day: date | None = None


class DemoSource:
    """Seeded synthetic market; see the module docstring."""

    name = "demo"
    synthetic = True

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self._paths: dict[str, _Path] = {}
        self._lock = threading.Lock()

    def stock_name(self, symbol: str) -> str:
        return demo_name(symbol)

    # --- generation -----------------------------------------------------------------------
    def _generate_day(self, symbol: str, day: date, prev_close: float) -> tuple[list[Bar], float]:
        board = board_of(symbol)
        down, up = price_limits(Decimal(repr(prev_close)), board)
        lo, hi = float(down), float(up)

        def clamp(p: float) -> float:
            return min(max(_round2(p), lo), hi)

        u = _Uniforms(f"astock-demo|{self.seed}|{symbol}|{day.isoformat()}", 32)
        sigma = DAILY_SIGMA[board]
        bar_sigma = sigma / 2.0
        base = base_price(symbol)
        drift = -MEAN_REVERSION * (prev_close / base - 1.0)
        day_volume = base_turnover(symbol) / base * (0.6 + 0.8 * u.next())

        price = clamp(prev_close * (1.0 + drift / 2.0 + 0.3 * sigma * u.normal()))
        bars: list[Bar] = []
        for stamp, weight in zip(BAR_STAMPS, VOLUME_WEIGHTS, strict=True):
            bar_open = price
            close = clamp(bar_open * (1.0 + drift / 4.0 + bar_sigma * u.normal()))
            high = clamp(max(bar_open, close) * (1.0 + 0.5 * bar_sigma * u.next()))
            low = clamp(min(bar_open, close) * (1.0 - 0.5 * bar_sigma * u.next()))
            volume = float(max(1, int(day_volume * weight * (0.7 + 0.6 * u.next()) / 100)) * 100)
            vwap = (bar_open + high + low + close) / 4.0
            bars.append(
                Bar(
                    time=datetime.combine(day, stamp, tzinfo=SHANGHAI),
                    close=close,
                    volume=volume,
                    amount=_round2(volume * vwap),
                    open=bar_open,
                    high=high,
                    low=low,
                )
            )
            price = close
        return bars, price

    def _path_until(self, symbol: str, end_day: date) -> _Path:
        from data_flow.calendar import trading_days  # lazy: exchange_calendars

        with self._lock:
            path = self._paths.get(symbol)
            if path is None:
                path = _Path(last_close=base_price(symbol))
                self._paths[symbol] = path
            if path.last_day is not None and path.last_day >= end_day:
                return path
            start = ANCHOR_DAY if path.last_day is None else path.last_day + ONE_DAY
            start = max(start, ANCHOR_DAY)
            if start <= end_day:
                for day in trading_days(start, end_day):
                    bars, close = self._generate_day(symbol, day, path.last_close)
                    path.days.append(day)
                    path.bars.extend(bars)
                    path.daily.append(_daily_from(day, bars))
                    path.last_close = close
            path.last_day = end_day
            return path

    def coverage(self, symbols: list[str]) -> Coverage:
        """Every trading day from ANCHOR_DAY on, for any symbol."""
        return Coverage(first=ANCHOR_DAY, note=f"synthetic, seed {self.seed}")

    # --- MarketDataSource -----------------------------------------------------------------
    def hourly_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        path = self._path_until(symbol, end.astimezone(SHANGHAI).date())
        return [b for b in path.bars if start <= b.time <= end]

    def daily_bars(self, symbol: str, start: date, end: date) -> list[DailyBar]:
        path = self._path_until(symbol, end)
        return [b for b in path.daily if start <= b.day <= end]

    def news(self, symbol: str, start: datetime, end: datetime) -> list[NewsItem]:
        return []


def _daily_from(day: date, bars: list[Bar]) -> DailyBar:
    return DailyBar(
        day=day,
        open=bars[0].open,
        high=max(b.high for b in bars if b.high is not None),
        low=min(b.low for b in bars if b.low is not None),
        close=bars[-1].close,
        volume=sum(b.volume for b in bars),
        amount=_round2(sum(b.amount for b in bars)),
    )
