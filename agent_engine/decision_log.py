"""Per-window decision log: `<data_root>/agent_data/<signature>/log/<YYYY-MM-DD>/<HH-MM-SS>.jsonl`.

One file per window, append only (a resumed window appends a new attempt to the same file).
Every line is `{"type", "schema_version", "ts_recorded", ...}`; the types, in order, are
`window_start`, `prompt`, `model_error` (one per failed attempt that is retried, before the
model_call of that step), `model_call` (one per model call), `tool_result` (one per tool call,
after the model_call that asked for it) and `window_end`. Texts are written as the loop keeps
them: a reply over `agent_config.max_reply_bytes` is cut with a mark (agent_engine/llm/limits.py).
Known secrets (the agent's API key) are replaced by `***` anywhere in an event.

Paths, readers and event shapes live in `data_flow.records` (re-exported here). A window is
complete only when its end is durably recorded: the log's last line is a
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

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent_engine import crash_seam
from data_flow.fsio import line_bytes, repair_torn_tail
from data_flow.records.models import (
    EVENT_TYPES,
    INCOMPLETE_OUTCOMES,
    SCHEMA_VERSION,
    event_dict,
)
from data_flow.records.paths import decision_log_path
from data_flow.records.read import count_attempts, last_event, read_events, window_complete

__all__ = [
    "EVENT_TYPES",
    "INCOMPLETE_OUTCOMES",
    "SCHEMA_VERSION",
    "DecisionLog",
    "count_attempts",
    "decision_log_path",
    "last_event",
    "read_events",
    "redact",
    "window_complete",
]
REDACTED = "***"
MIN_SECRET_CHARS = 6


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
        record = event_dict(type_, fields)
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
