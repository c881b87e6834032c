"""The windows of a run (trading days × decision windows) and which of them to run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from data_flow.clock import at_window, now_iso
from data_flow.fsio import append_jsonl, iter_jsonl


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


def agent_dir(data_root: Path, signature: str) -> Path:
    return data_root / "agent_data" / signature


def position_path(data_root: Path, signature: str) -> Path:
    return agent_dir(data_root, signature) / "position" / "position.jsonl"


def _window_open(log_path: Path) -> bool:
    """True when the last attempt in the log started but did not end."""
    open_ = False
    for ev in iter_jsonl(log_path):
        if ev.get("type") == "window_start":
            open_ = True
        elif ev.get("type") == "window_end":
            open_ = False
    return open_


def record_interrupted(log_path: Path, reason: str) -> None:
    """Close an open attempt in the decision log with `window_end` outcome `interrupted`."""
    if not _window_open(log_path):
        return
    append_jsonl(
        log_path,
        {
            "type": "window_end",
            "schema_version": 1,
            "ts_recorded": now_iso(),
            "outcome": "interrupted",
            "final_text": reason,
            "trades": 0,
            "rejected_orders": 0,
            "invalid_tool_calls": 0,
            "llm_errors": 0,
            "model_calls": 0,
            "tokens_in": 0,
            "tokens_out": 0,
            "latency_ms_total": 0.0,
            "duration_ms": 0.0,
            "equity": None,
            "cash": None,
        },
    )
