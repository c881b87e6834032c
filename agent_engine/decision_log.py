"""Per-window decision log: `<data_root>/agent_data/<signature>/log/<YYYY-MM-DD>/<HH-MM-SS>.jsonl`.

One file per window, append only (a resumed window appends a new attempt to the same file).
Every line is `{"type", "schema_version", "ts_recorded", ...}`; the types, in order, are
`window_start`, `prompt`, `model_error` (one per failed attempt that is retried, before the
model_call of that step), `model_call` (one per model call), `tool_result` (one per tool call,
after the model_call that asked for it) and `window_end`. Texts are written as the loop keeps
them: a reply over `agent_config.max_reply_bytes` is cut with a mark (agent_engine/llm/limits.py).
Known secrets (the agent's API key) are replaced by `***` anywhere in an event.

A window is complete only when its end is durably recorded: the log's last line is a
`window_end` whose outcome is not `interrupted` or `data_unavailable` (`window_complete`). The
ledger records of a window are always written before its `window_end`.

A resumed attempt (agent_engine/resume.py) continues the conversation of the last `prompt`
event: its `window_start` has `resumed: true` and `resumed_at_step` (the step of its first
model call) and it writes no `prompt`. Optional fields: `model_call.provider_blocks` (blocks
the provider needs back verbatim, e.g. Anthropic thinking; only when there are some) and
`tool_result.from_ledger: true` (the result of a fill that was recorded in the ledger before
its `tool_result` could be written, rebuilt from the ledger record, never executed again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from agent_engine import crash_seam
from data_flow.clock import SHANGHAI, now_iso
from data_flow.fsio import line_bytes, read_jsonl, repair_torn_tail

SCHEMA_VERSION = 1
EVENT_TYPES = ("window_start", "prompt", "model_error", "model_call", "tool_result", "window_end")
REDACTED = "***"
MIN_SECRET_CHARS = 6


def decision_log_path(data_root: Path, signature: str, moment: datetime) -> Path:
    local = moment.astimezone(SHANGHAI)
    return (
        data_root
        / "agent_data"
        / signature
        / "log"
        / local.date().isoformat()
        / f"{local.strftime('%H-%M-%S')}.jsonl"
    )


def read_events(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path)


def count_attempts(path: Path) -> int:
    """Number of `window_start` events already in a window's log."""
    return sum(1 for ev in read_jsonl(path) if ev.get("type") == "window_start")


INCOMPLETE_OUTCOMES = frozenset({"interrupted", "data_unavailable"})
"""`window_end` outcomes after which the window is resumed, not skipped."""
TAIL_CHUNK = 64 * 1024


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


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with every occurrence of each secret replaced by `***` (recursively)."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value


class DecisionLog:
    """Appends the events of one window to its JSONL file.

    Each event is one line written and flushed at once (a killed process loses nothing that
    was flushed; a torn last line is repaired on the next open); the file is fsynced when the
    log is closed, right after `window_end`, which makes the window complete.
    """

    def __init__(self, path: Path, *, secrets: Iterable[str | None] = ()) -> None:
        self.path = path
        self._secrets = tuple(s for s in secrets if s and len(s) >= MIN_SECRET_CHARS)
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(path)
        self._fh = open(path, "ab")  # noqa: SIM115 - kept open for the window

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown decision-log event type {type_!r}")
        record: dict[str, Any] = {
            "type": type_,
            "schema_version": SCHEMA_VERSION,
            "ts_recorded": now_iso(),
        }
        record.update(fields)
        if self._secrets:
            record = redact(record, self._secrets)
        self._fh.write(line_bytes(record))
        self._fh.flush()
        crash_seam.record_written()
        return record

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
