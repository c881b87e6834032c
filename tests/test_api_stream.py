"""GET /api/live/stream against a real server (`python api_server.py`) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from settings.config import PROJECT_ROOT
from tests.api_fixtures import S1, scenario_window, write_scenario
from tests.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "data"
    root.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ARENA_DATA_ROOT=str(root), ARENA_BACKUP_DIR=str(tmp_path / "bk"))
    env.pop("ARENA_API_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "api_server.py", "--port", str(port), "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=env,
    )

    def up() -> bool:
        try:
            return httpx.get(base + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 30, "the server")
        yield base, root
    finally:
        proc.terminate()  # SIGTERM: open streams must not hold the shutdown
        assert proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal


class Events:
    """Reads one SSE response: `next()` returns the next (id, event, data) frame."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> tuple[int | None, str, Any]:
        fields: dict[str, str] = {}
        for line in self.lines:
            if not line:
                if "event" in fields:
                    ident = int(fields["id"]) if "id" in fields else None
                    return ident, fields["event"], json.loads(fields.get("data", "null"))
                fields = {}
                continue
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        raise AssertionError("stream ended")

    def until(self, kind: str, **match: Any) -> list[tuple[int | None, str, Any]]:
        seen = []
        while True:
            frame = self.next()
            seen.append(frame)
            data = frame[2]
            if frame[1] == kind and all(data.get(k) == v for k, v in match.items()):
                return seen


def test_fill_arrives_and_resume_gets_only_later_events(server: tuple[str, Path]) -> None:
    base, root = server
    writers = write_scenario(root, windows=1)
    timeout = httpx.Timeout(30.0)
    with httpx.stream("GET", base + "/api/live/stream", timeout=timeout) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = Events(resp)
        assert events.next() == (None, "heartbeat", {})  # subscribed: later appends are events
        scenario_window(writers, root, 1)  # both agents hold
        first = events.until("decision", signature="beta", window_id="2025-11-03T14:00")
        scenario_window(writers, root, 2)  # alpha sells
        later = events.until("fill")
    kinds = [(k, d["signature"]) for _, k, d in first if k != "heartbeat"]
    assert sorted(kinds) == sorted(
        [("window_end", "alpha"), ("decision", "alpha"), ("window_end", "beta"),
         ("decision", "beta")]
    )  # fmt: skip
    ids = [i for i, k, _ in first + later if k != "heartbeat"]
    assert ids == list(range(1, len(ids) + 1))
    end = next(d for _, k, d in first if k == "window_end" and d["signature"] == "alpha")
    assert (end["outcome"], end["window_id"], end["cash"]) == (
        "no_trade",
        "2025-11-03T14:00",
        899969.0,
    )
    _, _, fill = later[-1]
    assert fill == {
        "signature": "alpha", "window_id": "2025-11-04T10:30",
        "decision_time": "2025-11-04 10:30:00", "action": "SELL", "symbol": S1, "amount": 1000,
        "price": 120.0, "notional": 120000.0, "commission": 36.0, "stamp_duty": 60.0,
        "transfer_fee": 1.2,
    }  # fmt: skip
    fill_id = later[-1][0]
    assert fill_id is not None

    # Resume after the last event of window 1: only window 2's events come back.
    last_of_first = first[-1][0]
    assert last_of_first is not None
    headers = {"Last-Event-ID": str(last_of_first)}
    with httpx.stream("GET", base + "/api/live/stream", headers=headers, timeout=timeout) as r:
        events = Events(r)
        replay = [f for f in events.until("fill") if f[1] != "heartbeat"]
    assert replay[0][0] == last_of_first + 1
    assert all(i is not None and i > last_of_first for i, _, _ in replay)
    assert replay[-1][0] == fill_id

    # The query form, and a resume point the server never issued: reset.
    params = {"last_event_id": "999999"}
    with httpx.stream("GET", base + "/api/live/stream", params=params, timeout=timeout) as r:
        events = Events(r)
        frames = events.until("reset")
    assert frames[-1][0] is not None and frames[-1][0] >= fill_id


def test_stream_of_an_unknown_arena_is_404(server: tuple[str, Path]) -> None:
    base, _ = server
    resp = httpx.get(base + "/api/live/stream", params={"arena": "nope"}, timeout=10)
    assert resp.status_code == 404
    assert resp.json() == {"detail": "unknown arena 'nope'"}
