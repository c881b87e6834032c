"""The market-data interface every source implements, and its value types.

Times are aware datetimes in Asia/Shanghai. Hourly bars are stamped at bar END (10:30, 11:30,
14:00, 15:00). Prices are floats holding 2-decimal values (convert with ``Decimal(str(x))``);
volume is in shares, amount in CNY. ``open``/``high``/``low`` are None when the source does not
have them (the AStock Arena files carry close-only hourly bars).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from data_flow.clock import decision_time_text


@dataclass(frozen=True, slots=True)
class Bar:
    """One hourly bar, stamped at its end."""

    time: datetime
    close: float
    volume: float
    amount: float
    open: float | None = None
    high: float | None = None
    low: float | None = None

    @property
    def has_ohlc(self) -> bool:
        return self.open is not None and self.high is not None and self.low is not None


@dataclass(frozen=True, slots=True)
class DailyBar:
    day: date
    close: float
    volume: float
    amount: float
    open: float | None = None
    high: float | None = None
    low: float | None = None


@dataclass(frozen=True, slots=True)
class NewsItem:
    title: str
    content: str
    publish_time: datetime
    source: str
    url: str
    symbol: str

    @property
    def dedup_key(self) -> str:
        return self.url.strip() or self.title.strip()

    @property
    def id(self) -> str:
        """sha1 of the url (or of the title when there is no url)."""
        return hashlib.sha1(self.dedup_key.encode("utf-8"), usedforsecurity=False).hexdigest()

    def to_record(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "content": self.content,
            "publish_time": decision_time_text(self.publish_time),
            "source": self.source,
            "url": self.url,
            "symbol": self.symbol,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which days a source has hourly bars for, as far as it can tell cheaply: the plan's
    forecast (the snapshot builder still decides, window by window).

    `days` lists them exactly when known (files); otherwise every day from `first` through
    `last` is covered (None: unbounded). `known` False: the source cannot tell before fetching.
    """

    first: date | None = None
    last: date | None = None
    days: frozenset[date] | None = None
    known: bool = True
    note: str = ""

    def has(self, day: date) -> bool | None:
        """True/False whether `day` has bars; None when unknown."""
        if not self.known:
            return None
        if self.days is not None:
            return day in self.days
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)


def source_coverage(source: object, symbols: list[str]) -> Coverage:
    """`source.coverage(symbols)` when the source offers it, else unknown."""
    probe = getattr(source, "coverage", None)
    if not callable(probe):
        return Coverage(known=False, note=f"{getattr(source, 'name', 'source')}: unknown")
    result = probe(symbols)
    return result if isinstance(result, Coverage) else Coverage(known=False)


@runtime_checkable
class MarketDataSource(Protocol):
    """A provider of bars and news. Implementations must never return data stamped after the
    requested `end` (the snapshot builder also filters, as a second line of defence)."""

    name: str  # written to snapshot metadata.data_sources
    synthetic: bool  # True for generated data (demo market)

    def hourly_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        """Hourly bars with start <= time <= end, oldest first. [] when there are none."""
        ...

    def daily_bars(self, symbol: str, start: date, end: date) -> list[DailyBar]:
        """Daily bars with start <= day <= end, oldest first. [] when there are none."""
        ...

    def news(self, symbol: str, start: datetime, end: datetime) -> list[NewsItem]:
        """News tagged with `symbol`, start <= publish_time <= end, any order."""
        ...
