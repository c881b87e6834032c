"""Lone UTF-16 surrogates from a model are stored as U+FFFD, never crash a writer or a reader."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_engine.decision_log import DecisionLog, read_events
from api_server import ApiSettings, create_app
from data_flow.clock import SHANGHAI
from data_flow.fsio import JsonlAppender, atomic_write_json, line_bytes, read_jsonl
from data_flow.live.tail import JsonlTail, parse_lines
from data_flow.textsafe import scrub, scrub_text, utf8
from tests.api_fixtures import LOCAL, write_scenario

LONE = "a\ud800b\udfffc"
FIXED = "a\ufffdb\ufffdc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LONE, FIXED),
        ("\ud83d\ude00", "\U0001f600"),  # a pair split into two code points is joined
        ("\ude00\ud83d", "\ufffd\ufffd"),  # the wrong order is two lone halves
        ("中文 ok", "中文 ok"),
        ("", ""),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert utf8(text) == expected.encode("utf-8")


def test_clean_text_is_returned_as_is_and_scrub_walks_containers() -> None:
    clean = "价格 100.0"
    assert scrub_text(clean) is clean
    assert scrub({"k\ud800": [LONE, ("x", 1)], "n": None}) == {
        "k\ufffd": [FIXED, ["x", 1]],
        "n": None,
    }


def test_record_lines_and_files_store_lone_surrogates_as_replacement(tmp_path: Path) -> None:
    line = line_bytes({"text": LONE, LONE: 1})
    assert line == '{"text":"a\ufffdb\ufffdc","a\ufffdb\ufffdc":1}\n'.encode()
    path = tmp_path / "x.jsonl"
    with JsonlAppender(path) as out:
        out.append({"text": LONE})  # raised UnicodeEncodeError before
    assert path.read_bytes().decode("utf-8") == '{"text":"a\ufffdb\ufffdc"}\n'
    assert read_jsonl(path, strict=True) == [{"text": FIXED}]
    atomic_write_json(tmp_path / "y.json", {"text": LONE})
    assert json.loads((tmp_path / "y.json").read_bytes()) == {"text": FIXED}


def test_decision_log_event_with_lone_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with DecisionLog(path, secrets=["sk-secret-123"]) as dlog:
        dlog.event("model_call", text=LONE, tool_calls=[{"name": "\ud800", "arguments": LONE}])
    [event] = read_events(path)
    assert event["text"] == FIXED
    assert event["tool_calls"] == [{"name": "\ufffd", "arguments": FIXED}]
    path.read_bytes().decode("utf-8")  # strict UTF-8


def test_log_readers_scrub_escaped_or_encoded_surrogates(tmp_path: Path) -> None:
    data = b'{"a":"x\\ud800y"}\n{"b":"\xed\xa0\x80"}\n{"c":"\\ud83d\\ude00 \xe4\xb8\xad"}\n'
    assert parse_lines(data, tmp_path / "x") == [
        {"a": "x\ufffdy"},
        {"b": "\ufffd"},
        {"c": "\U0001f600 中"},
    ]
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    assert JsonlTail(path).poll() == (False, [{"a": "x\ufffdy"}, {"b": "\ufffd"},
                                             {"c": "\U0001f600 中"}])  # fmt: skip


def test_live_api_serves_a_log_with_an_escaped_lone_surrogate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(tmp_path / "backups"))
    root = tmp_path / "data"
    root.mkdir()
    write_scenario(root)
    moment = datetime(2025, 11, 3, 10, 30, tzinfo=SHANGHAI)
    log = root / "agent_data" / "beta" / "log" / moment.date().isoformat() / "10-30-00.jsonl"
    raw = log.read_bytes()
    assert b'"beta thinks 0"' in raw
    log.write_bytes(raw.replace(b'"beta thinks 0"', b'"beta \\ud800 thinks 0"'))
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as client:
        response = client.get("/api/live/recent-decisions", params={"signature": "beta"})
    assert response.status_code == 200
    reasons = [d["reasoning"] for d in response.json()["data"]]
    assert "beta \ufffd thinks 0" in reasons
