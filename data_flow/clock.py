"""Injected clocks: replay and live run the same code with a different clock.

All datetimes are timezone-aware, Asia/Shanghai.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_until(self, moment: datetime) -> None: ...


class LiveClock:
    """Wall-clock time in Asia/Shanghai; `sleep_until` really waits."""

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self._poll = poll_seconds

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    def sleep_until(self, moment: datetime) -> None:
        while (remaining := (moment - self.now()).total_seconds()) > 0:
            time.sleep(min(remaining, self._poll))


class ReplayClock:
    """Simulated time that only moves forward; `sleep_until` jumps instantly."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance_to(self, moment: datetime) -> None:
        _require_aware(moment)
        if moment < self._now:
            raise ValueError(f"clock cannot move backwards: {moment} < {self._now}")
        self._now = moment

    def sleep_until(self, moment: datetime) -> None:
        if moment > self._now:
            self.advance_to(moment)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")


def at_window(day: date, hhmm: str) -> datetime:
    """The aware Beijing datetime of a decision window, e.g. (2025-11-17, "10:30")."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=SHANGHAI)


def beijing(naive_text: str) -> datetime:
    """Parse a naive 'YYYY-MM-DD HH:MM[:SS]' Beijing-time string into an aware datetime."""
    return datetime.fromisoformat(naive_text.strip()).replace(tzinfo=SHANGHAI)


def decision_time_text(moment: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS' in Beijing time, the form written to records."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def time_file_stem(moment: datetime) -> str:
    """'HH-MM-SS', the filename-safe form of a window's time."""
    return moment.astimezone(SHANGHAI).strftime("%H-%M-%S")


def now_iso() -> str:
    """Current wall time as an ISO string with offset, for `ts_recorded` fields."""
    return datetime.now(SHANGHAI).isoformat(timespec="milliseconds")


ONE_DAY = timedelta(days=1)
