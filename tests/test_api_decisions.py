"""`/api/live/recent-decisions`: the error of llm_error windows, and bounded item and page sizes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_engine.llm.factory import make_client
from agent_engine.loop import run_window
from api_server import ApiSettings, create_app
from data_flow.live import decisions
from tests.api_fixtures import LOCAL, SCENARIO_TIMES, AgentWriter, make_snapshot, write_snapshot
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY, make_config, make_ctx

KEY_ENV = "ARENA_TEST_FAKE_KEY"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    r = tmp_path / "data"
    r.mkdir()
    return r


def api(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as client:
        yield client


def test_an_llm_error_window_shows_its_error_and_timings(root: Path) -> None:
    with FakeLLMServer([{"kind": "error", "status": 500, "message": "upstream broke"}] * 2) as srv:
        model = {
            "signature": "llm",
            "provider": "openai",
            "basemodel": "fake-model",
            "base_url": srv.openai_base_url,
            "api_key_env": KEY_ENV,
        }
        ctx = make_ctx(make_config(root, models=[model], max_retries=1), "llm")
        client = make_client(ctx.model, ctx.config.agent_config)
        assert run_window(ctx, client, sleep=lambda s: None).outcome == "llm_error"
    for c in api(root):
        body = c.get("/api/live/recent-decisions").json()
    (item,) = body["data"]
    assert item["outcome"] == "llm_error" and item["reasoning"] is None
    assert item["error"] == "server_error: HTTP 500: upstream broke"
    assert item["duration_ms"] >= item["latency_ms_total"] > 0
    assert item["truncated"] is False and body["left_off"] == 0


def write_big_agent(root: Path, windows: int = 4) -> None:
    writer = AgentWriter(root, "big", provider="openai", model="m")
    writer.seed("2025-11-03")
    for dtime, count, prices in SCENARIO_TIMES[:windows]:
        snap = make_snapshot(dtime, prices)
        rel = write_snapshot(root, snap)
        writer.window(dtime, count, snap, rel, text="x" * 1_000_000, invalid_tool_calls=50)
    writer.close()


def test_long_texts_and_many_tool_calls_are_cut_per_item(root: Path) -> None:
    write_big_agent(root)
    for c in api(root):
        response = c.get("/api/live/recent-decisions", params={"limit": 4})
    body = response.json()
    assert body["count"] == 4 and body["left_off"] == 0
    for item in body["data"]:
        assert item["reasoning"] == "x" * 8000 + "…[cut: 1000000 characters]"
        assert len(item["tool_calls"]) == 40 and item["tool_calls_left_off"] == 10
        assert item["invalid_tool_calls"] == 50 and item["truncated"] is True
    assert len(response.content) < 200_000  # the logs hold 4 MB of text


def test_a_page_stops_at_its_byte_cap(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_big_agent(root)
    for c in api(root):
        size = len(json.dumps(c.get("/api/live/recent-decisions?limit=1").json()["data"][0]))
        monkeypatch.setattr(decisions, "PAGE_MAX_BYTES", 2 * size + 100)
        body = c.get("/api/live/recent-decisions", params={"limit": 4}).json()
        assert (body["count"], body["left_off"]) == (2, 2)
        assert [d["decision_time"] for d in body["data"]] == [
            "2025-11-04 14:00:00",
            "2025-11-04 10:30:00",
        ]
        monkeypatch.setattr(decisions, "PAGE_MAX_BYTES", 10)  # the newest item always comes
        body = c.get("/api/live/recent-decisions", params={"limit": 4}).json()
        assert (body["count"], body["left_off"]) == (1, 3)
