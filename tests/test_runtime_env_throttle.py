"""Throttled runtime env writes: status changes at once, progress at most once per interval
(the latest state written when the interval ends), the final state always on disk."""

from __future__ import annotations

from pathlib import Path

from agent_engine.runtime_env import WRITE_INTERVAL_SECONDS, RuntimeEnv, read_runtime_env
from tests.waiting import wait_for


def _env(tmp_path: Path, interval: float) -> tuple[RuntimeEnv, Path]:
    path = tmp_path / "runtime_env_sig.json"
    env = RuntimeEnv(
        path, signature="sig", config_path=None, data_root=tmp_path, pid=1, write_interval=interval
    )
    return env, path


def test_default_interval_is_one_second() -> None:
    assert WRITE_INTERVAL_SECONDS == 1.0


def test_progress_within_the_interval_is_written_late_but_never_lost(tmp_path: Path) -> None:
    env, path = _env(tmp_path, interval=3600.0)
    env.update(status="running", windows_done=0, windows_total=9)
    assert read_runtime_env(path)["windows_done"] == 0  # a status change: written at once
    for done in range(1, 6):
        env.update(current_window=f"w{done}", windows_done=done)
    state = read_runtime_env(path)
    assert (state["status"], state["windows_done"]) == ("running", 0)  # throttled
    assert env.writes == 1
    env.update(status="completed", windows_done=9, current_window=None)  # the final state
    state = read_runtime_env(path)
    assert (state["status"], state["windows_done"], state["current_window"]) == (
        "completed",
        9,
        None,
    )
    assert env.writes == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left


def test_pending_progress_is_written_when_the_interval_ends(tmp_path: Path) -> None:
    env, path = _env(tmp_path, interval=0.2)
    env.update(status="running", windows_done=0)
    env.update(windows_done=1)
    env.update(windows_done=2, current_window="2025-11-03T11:30")
    wait_for(lambda: (read_runtime_env(path) or {}).get("windows_done") == 2, 10, "the timer write")
    assert read_runtime_env(path)["current_window"] == "2025-11-03T11:30"
    assert env.writes == 2  # the status change, then one write for both progress updates


def test_flush_writes_a_pending_update(tmp_path: Path) -> None:
    env, path = _env(tmp_path, interval=3600.0)
    env.update(status="running", windows_done=0)
    env.update(windows_done=4)
    env.flush()
    assert read_runtime_env(path)["windows_done"] == 4
    env.flush()  # nothing pending: no write
    assert env.writes == 2


def test_interval_zero_writes_every_update(tmp_path: Path) -> None:
    env, path = _env(tmp_path, interval=0.0)
    env.update(status="running", windows_done=0)
    env.update(windows_done=1)
    assert read_runtime_env(path)["windows_done"] == 1
    assert env.writes == 2
