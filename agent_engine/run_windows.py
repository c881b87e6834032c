"""The windows of a run (trading days × decision windows), which of them to run, and the
clock that paces them (`make_clock`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from data_flow.clock import SHANGHAI, Clock, LiveClock, ReplayClock, at_window
from data_flow.fsio import append_jsonl
from data_flow.records.models import OUTCOME_INTERRUPTED, event_dict, window_end_fields
from data_flow.records.paths import agent_dir, ledger_path
from data_flow.records.read import window_open
from settings.config import ArenaConfig

__all__ = ["agent_dir", "plan_windows", "position_path", "record_interrupted", "windows_to_run"]


@dataclass(frozen=True)
class Window:
    day: date
    hhmm: str
    moment: datetime
    window_id: str
    decision_index: int
    decisions_per_day: int


def plan_windows(days: Iterable[date], hhmms: Sequence[str]) -> list[Window]:
    """Trading days × decision windows, in time order."""
    out = []
    for day in days:
        for i, hhmm in enumerate(hhmms, start=1):
            out.append(
                Window(day, hhmm, at_window(day, hhmm), f"{day.isoformat()}T{hhmm}", i, len(hhmms))
            )
    return out


def windows_to_run(windows: Sequence[Window], complete: set[str]) -> tuple[list[Window], int]:
    """(windows to run, number passed): the windows without a record after the last complete
    one. An incomplete window before it (it lacked data while later windows ran) is passed:
    running it now would move the portfolio back in time."""
    last = max((i for i, w in enumerate(windows) if w.window_id in complete), default=-1)
    passed = sum(1 for w in windows[: max(last, 0)] if w.window_id not in complete)
    return list(windows[last + 1 :]), passed


def position_path(data_root: Path, signature: str) -> Path:
    return ledger_path(data_root, signature)


def record_interrupted(log_path: Path, reason: str) -> None:
    """Close an open attempt in the decision log with `window_end` outcome `interrupted`."""
    if not window_open(log_path):
        return
    fields = window_end_fields(OUTCOME_INTERRUPTED, reason, cash=None)
    append_jsonl(log_path, event_dict("window_end", fields))


def run_days(config: ArenaConfig, trading_days: Sequence[date] | None) -> list[date]:
    """The run's trading days: the given ones within `date_range` (the orchestrator passes
    them), else the calendar's."""
    dr = config.date_range
    if trading_days is not None:
        return [d for d in trading_days if dr.init_date <= d <= dr.end_date]
    from data_flow.calendar import trading_days as calendar_days

    return list(calendar_days(dr.init_date, dr.end_date))


def make_clock(config: ArenaConfig) -> Clock:
    """Live: the wall clock; replay: a clock starting at `init_date` 00:00 Shanghai time."""
    if config.mode == "live":
        return LiveClock()
    start = config.date_range.init_date
    return ReplayClock(datetime(start.year, start.month, start.day, tzinfo=SHANGHAI))
