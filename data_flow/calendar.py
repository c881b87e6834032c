"""Trading calendar of the Shanghai Stock Exchange (exchange_calendars ``XSHG``).

The calendar covers 2006-11-23 .. 2026-12-31 only (the library's published sessions). A date
outside that range raises ``CalendarError`` — never a guess about future holidays.
The session list is read once per process from an on-disk cache (data_flow.trading_days_cache),
so ``exchange_calendars`` (and pandas) are imported only to (re)build that cache.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from datetime import date, datetime

from data_flow.clock import at_window
from data_flow.errors import DataUnavailableError

CALENDAR_NAME = "XSHG"


class CalendarError(DataUnavailableError):
    """A date is outside the range the trading calendar covers."""


@functools.cache
def _sessions() -> tuple[date, ...]:
    from data_flow.trading_days_cache import cached_sessions

    return cached_sessions(CALENDAR_NAME)


@functools.cache
def _session_set() -> frozenset[date]:
    return frozenset(_sessions())


def calendar_bounds() -> tuple[date, date]:
    """First and last session the calendar knows."""
    sessions = _sessions()
    return sessions[0], sessions[-1]


def _check(day: date) -> None:
    first, last = calendar_bounds()
    if not first <= day <= last:
        raise CalendarError(
            f"{day.isoformat()} is outside the {CALENDAR_NAME} trading calendar "
            f"({first.isoformat()} .. {last.isoformat()}); trading days past its end are unknown"
        )


def is_trading_day(day: date) -> bool:
    _check(day)
    return day in _session_set()


def trading_days(start: date, end: date) -> list[date]:
    """Trading days in [start, end], inclusive, oldest first."""
    if end < start:
        return []
    _check(start)
    _check(end)
    sessions = _sessions()
    lo = bisect.bisect_left(sessions, start)
    hi = bisect.bisect_right(sessions, end)
    return list(sessions[lo:hi])


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before `day`."""
    return trading_days_back(day, 1)


def next_trading_day(day: date) -> date:
    """The first trading day strictly after `day`."""
    _check(day)
    sessions = _sessions()
    i = bisect.bisect_right(sessions, day)
    if i >= len(sessions):
        raise CalendarError(
            f"no trading day after {day.isoformat()} in the {CALENDAR_NAME} calendar"
        )
    return sessions[i]


def trading_days_back(day: date, n: int) -> date:
    """The trading day `n` sessions before `day` (exclusive of `day` itself, n >= 1)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    _check(day)
    sessions = _sessions()
    i = bisect.bisect_left(sessions, day) - n
    if i < 0:
        raise CalendarError(
            f"{n} trading days before {day.isoformat()} is before the start of the "
            f"{CALENDAR_NAME} calendar ({sessions[0].isoformat()})"
        )
    return sessions[i]


def decision_times(day: date, windows: Iterable[str]) -> list[datetime]:
    """Aware Beijing datetimes of the decision windows ("10:30", ...) on `day`."""
    return [at_window(day, w) for w in windows]
