"""kill -9 of a real agent process at every step boundary of a 3-fill window, then a rerun:
the ledger ends exactly as an uninterrupted run's (apart from `ts_recorded`), every fill
happens once and every window has exactly one `window_end`.

The agent process (`ONLY_SIGNATURE=m python main.py`) SIGKILLs itself right after its k-th
record write (agent_engine/crash_seam.py); the rerun is `run_agent` in this process (the body
of an agent process; half the process start-ups). The fake model (`buy_each` rule) answers from
the conversation alone, so the resumed window gets the replies the uninterrupted one got."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_engine.crash_seam import KILL_AFTER_WRITES_ENV
from agent_engine.runner import make_clock, run_agent
from settings.config import load_config
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import arena_config, key_env, openai_agent
from tests.runner_helpers import FAKE_KEY, main_env, positions, run_main, window_log

pytestmark = pytest.mark.slow

SIG = "m"
WINDOWS = ["2025-11-03T10:30", "2025-11-03T14:00"]
# window 1: window_start, prompt, 3 x (model_call, fill, tool_result), model_call, window_end
WINDOW_1_WRITES = 13


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(rule="buy_each") as srv:
        yield srv


SNAPSHOTS = Path("agent_data") / "shared" / "snapshots"


def _config(root: Path, server: FakeLLMServer) -> Path:
    return arena_config(
        root,
        root / "data",
        [openai_agent(SIG, server.openai_base_url)],
        init="2025-11-03",
        end="2025-11-03",
        decision_windows=["10:30", "14:00"],
    )


def _run_agent(root: Path, server: FakeLLMServer, kill_after: int | None = None) -> int:
    """The agent as its own process."""
    cfg = _config(root, server)
    env = main_env(root / "rt", ONLY_SIGNATURE=SIG, **key_env())
    if kill_after is not None:
        env[KILL_AFTER_WRITES_ENV] = str(kill_after)
    proc = run_main([str(cfg)], env)
    return proc.returncode


def _rerun_in_process(root: Path, server: FakeLLMServer) -> int:
    cfg = _config(root, server)
    config = load_config(cfg)
    return run_agent(
        config, SIG, make_clock(config), runtime_path=root / "rt.json", config_path=cfg
    )


def _stable_ledger(data_root: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "ts_recorded"} for r in positions(data_root, SIG)]


def _histories(server: FakeLLMServer, since: int) -> list[str]:
    return [json.dumps(r["body"]["messages"]) for r in server.requests[since:]]


@pytest.fixture(scope="module")
def uninterrupted(
    tmp_path_factory: pytest.TempPathFactory, server: FakeLLMServer
) -> tuple[list[dict[str, Any]], set[str], Path]:
    root = tmp_path_factory.mktemp("uninterrupted")
    since = len(server.requests)
    assert _run_agent(root, server) == 0
    data_root = root / "data"
    events = window_log(data_root, SIG, WINDOWS[0])
    trades = [r for r in positions(data_root, SIG) if r["window_id"] == WINDOWS[0]]
    assert len(events) + len(trades) == WINDOW_1_WRITES
    return _stable_ledger(data_root), set(_histories(server, since)), data_root / SNAPSHOTS


@pytest.mark.parametrize("kill_after", range(1, WINDOW_1_WRITES + 2))
def test_kill_at_every_step_boundary_then_rerun_ends_as_an_uninterrupted_run(
    tmp_path: Path,
    server: FakeLLMServer,
    uninterrupted: tuple[list[dict[str, Any]], set[str], Path],
    kill_after: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    expected_ledger, expected_histories, snapshots = uninterrupted
    # the same snapshot files (a rebuilt one would have another content hash)
    shutil.copytree(snapshots, tmp_path / "data" / SNAPSHOTS)
    since = len(server.requests)
    assert _run_agent(tmp_path, server, kill_after) == -signal.SIGKILL
    assert _rerun_in_process(tmp_path, server) == 0

    data_root = tmp_path / "data"
    assert _stable_ledger(data_root) == expected_ledger
    trades = [r for r in positions(data_root, SIG) if r["this_action"]["action"] == "BUY"]
    assert [r["tool_call_id"] for r in trades] == ["buy_1", "buy_2", "buy_3"] * 2
    for window in WINDOWS:
        events = window_log(data_root, SIG, window)
        assert [e["type"] for e in events].count("window_end") == 1, window
        assert events[-1]["type"] == "window_end" and events[-1]["outcome"] == "traded"
        results = [e["tool_call_id"] for e in events if e["type"] == "tool_result"]
        assert results == ["buy_1", "buy_2", "buy_3"], window
    # every model call, before and after the kill, had a history of the uninterrupted run
    assert set(_histories(server, since)) <= expected_histories
