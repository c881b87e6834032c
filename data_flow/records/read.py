"""The readers of ledgers and decision logs: the only code that opens them to read.

Whole files go through `data_flow.fsio.iter_jsonl` (a torn last line is skipped; `strict`
raises on a damaged line); followed files through `data_flow.live.tail.JsonlTail` (only
appended bytes are parsed). A torn or damaged line is never counted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from data_flow.fsio import iter_jsonl, read_jsonl
from data_flow.live.tail import JsonlTail, parse_lines
from data_flow.records.models import INCOMPLETE_OUTCOMES

TAIL_CHUNK = 64 * 1024

__all__ = [
    "JsonlTail",
    "count_attempts",
    "last_event",
    "read_attempts",
    "read_events",
    "read_ledger",
    "read_log_bytes",
    "window_complete",
    "window_open",
]


def read_ledger(path: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    """The records of a ledger (position.jsonl); [] when it does not exist."""
    return read_jsonl(path, strict=strict)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a window's decision log; [] when it does not exist."""
    return read_jsonl(path)


def read_log_bytes(path: Path) -> list[dict[str, Any]]:
    """Every complete-or-not parsable event of a log (the API's view of a window being
    written); [] when it cannot be read."""
    try:
        return parse_lines(path.read_bytes(), path)
    except OSError:
        return []


def count_attempts(path: Path) -> int:
    """Number of `window_start` events already in a window's log."""
    return sum(1 for ev in iter_jsonl(path) if ev.get("type") == "window_start")


def read_attempts(path: Path) -> list[list[dict[str, Any]]]:
    """The events of a window log, split into attempts (each from its window_start)."""
    attempts: list[list[dict[str, Any]]] = []
    for ev in iter_jsonl(path):
        if ev.get("type") == "window_start":
            attempts.append([])
        if attempts:
            attempts[-1].append(ev)
    return attempts


def window_open(path: Path) -> bool:
    """True when the last attempt in the log started but did not end."""
    open_ = False
    for ev in iter_jsonl(path):
        if ev.get("type") == "window_start":
            open_ = True
        elif ev.get("type") == "window_end":
            open_ = False
    return open_


def last_event(path: Path) -> dict[str, Any] | None:
    """The last complete event of a log (read from the end of the file), or None when the
    file is missing or empty, its last line is torn (no trailing newline) or not an object."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with fh:
        end = fh.seek(0, os.SEEK_END)
        tail = b""
        pos = end
        while pos > 0:
            step = min(TAIL_CHUNK, pos)
            pos -= step
            fh.seek(pos)
            tail = fh.read(step) + tail
            if not tail.endswith(b"\n"):
                return None
            if b"\n" in tail[:-1]:
                break
    line = tail[:-1].rsplit(b"\n", 1)[-1]
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


def window_complete(path: Path) -> bool:
    """True when the window's end is durably recorded: the last line of its decision log is
    a `window_end` whose outcome is not in `INCOMPLETE_OUTCOMES`. A complete window is never
    run again; any other window with a log is resumed (see agent_engine/resume.py)."""
    event = last_event(path)
    return (
        event is not None
        and event.get("type") == "window_end"
        and event.get("outcome") not in INCOMPLETE_OUTCOMES
    )
