"""Decision-log files: path, one JSON line per event, secrets redacted, torn tails repaired."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from agent_engine.decision_log import (
    DecisionLog,
    count_attempts,
    decision_log_path,
    last_event,
    read_events,
    redact,
    window_complete,
)
from data_flow.clock import SHANGHAI


def test_path_layout(tmp_path: Path) -> None:
    moment = datetime(2025, 11, 3, 14, 0, tzinfo=SHANGHAI)
    assert decision_log_path(tmp_path, "gpt-5", moment) == (
        tmp_path / "agent_data" / "gpt-5" / "log" / "2025-11-03" / "14-00-00.jsonl"
    )


def test_events_secrets_and_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "log" / "w.jsonl"
    secret = "sk-live-abcdef123456"
    with DecisionLog(path, secrets=[secret, None, "abc"]) as log:
        log.event("window_start", attempt=1)
        event = log.event("model_call", text=f"my key is {secret}", nested={"a": [secret, 1]})
        with pytest.raises(ValueError, match="unknown decision-log event type"):
            log.event("chatter")
    assert event["text"] == "my key is ***" and event["nested"] == {"a": ["***", 1]}
    with path.open("ab") as fh:
        fh.write(b'{"type": "window_end", "outc')  # a writer killed mid-line
    assert [e["type"] for e in read_events(path)] == ["window_start", "model_call"]
    with DecisionLog(path) as log:
        log.event("window_start", attempt=2)
    events = read_events(path)
    assert [e["type"] for e in events] == ["window_start", "model_call", "window_start"]
    assert all(e["schema_version"] == 1 and e["ts_recorded"].endswith("+08:00") for e in events)
    assert count_attempts(path) == 2
    assert secret not in path.read_text(encoding="utf-8")
    assert redact({"k": "abc"}, ("abc",)) == {"k": "***"}


def test_a_window_is_complete_only_when_its_log_ends_with_a_final_window_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.jsonl"
    assert not window_complete(path) and last_event(path) is None  # no log
    path.write_bytes(b"")
    assert not window_complete(path)
    with DecisionLog(path) as log:
        log.event("window_start", attempt=1)
        log.event("prompt", system="s", user="u")
        log.event("model_call", step=1)
        log.event("tool_result", step=1)
    assert not window_complete(path)  # killed after a fill: the log ends at tool_result
    with DecisionLog(path) as log:
        log.event("window_end", outcome="interrupted")
    assert not window_complete(path)
    with DecisionLog(path) as log:
        log.event("window_start", attempt=2)
        log.event("window_end", outcome="traded", final_text="x" * 200_000)  # > one tail read
    assert window_complete(path)
    assert last_event(path)["final_text"] == "x" * 200_000  # type: ignore[index]
    with open(path, "ab") as fh:  # a torn line after it (a writer killed mid-line)
        fh.write(b'{"type":"window_start","att')
    assert not window_complete(path) and last_event(path) is None
