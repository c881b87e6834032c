"""Agent runs as tasks: the task ↔ environment round trip, the settings model, and the
executor interface with the subprocess executor on a real tiny arena."""

from __future__ import annotations

import json
import signal
import sys
from datetime import date
from pathlib import Path

from agent_engine.agent_task import AgentTask
from agent_engine.executors.base import Executor
from agent_engine.executors.subprocess import SubprocessExecutor
from settings.config import load_config
from settings.env import EnvSettings
from tests.main_helpers import arena_config, baseline, openai_agent
from tests.runner_helpers import main_env, read_json, window_log
from tests.waiting import wait_for


def test_task_round_trips_through_the_environment(tmp_path: Path, data_root: Path) -> None:
    config = load_config(arena_config(tmp_path, data_root, [baseline("bh")]))
    task = AgentTask(
        config=config,
        signature="bh",
        runtime_path=tmp_path / "rt" / "runtime_env_bh.json",
        config_path=tmp_path / "arena.json",
        trading_days=(date(2025, 11, 3), date(2025, 11, 5)),
        run_id="123-20251103T093000",
        parent_pid=4321,
        spawn_time=1762133400.25,
        prefetched=True,
    )
    env = task.to_env()
    assert env == {
        "ONLY_SIGNATURE": "bh",
        "RUNTIME_ENV_PATH": str(tmp_path / "rt" / "runtime_env_bh.json"),
        "ARENA_TRADING_DAYS": "2025-11-03,2025-11-05",
        "ARENA_RUN_ID": "123-20251103T093000",
        "ARENA_PARENT_PID": "4321",
        "ARENA_SPAWN_TIME": "1762133400.25",
        "ARENA_PREFETCH": "1",
    }
    back = AgentTask.from_env(config, tmp_path / "arena.json", EnvSettings.of(env))
    assert back == task


def test_task_from_a_bare_environment_uses_the_defaults(tmp_path: Path, data_root: Path) -> None:
    config = load_config(arena_config(tmp_path, data_root, [baseline("bh")]))
    env = EnvSettings.of(
        {"ONLY_SIGNATURE": " bh ", "RUNTIME_DIR": str(tmp_path / "rtd"), "ARENA_SPAWN_TIME": "x"}
    )
    task = AgentTask.from_env(config, None, env)
    assert task == AgentTask(
        config=config, signature="bh", runtime_path=tmp_path / "rtd" / "runtime_env_bh.json"
    )


def test_env_settings_read_only_the_given_variables(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("ONLY_SIGNATURE", "from-process")
    monkeypatch.setenv("ARENA_BACKUP_DIR", " /b ")
    assert EnvSettings.from_env().only_signature == "from-process"
    assert EnvSettings.from_env().backup_dir == "/b"
    assert EnvSettings.of({}).only_signature == ""  # explicit values ignore the process


def test_subprocess_executor_submit_poll_cancel(tmp_path: Path, data_root: Path) -> None:
    from tests.fake_llm_server import FakeLLMServer
    from tests.main_helpers import key_env, text_step

    with FakeLLMServer(rule="answer") as server:
        # held far longer than the test: the agent is surely mid-call when it is cancelled
        server.add(text_step("slow", delay=600.0), model="slow")
        cfg = arena_config(
            tmp_path,
            data_root,
            [baseline("bh"), openai_agent("slow", server.openai_base_url)],
        )
        raw = json.loads(cfg.read_text())
        raw["agent_config"].update(timeout_seconds=900, window_timeout_seconds=900)
        cfg.write_text(json.dumps(raw))
        config = load_config(cfg)
        executor = SubprocessExecutor(main_env(tmp_path / "rt", **key_env()))
        assert isinstance(executor, Executor)

        def task(sig: str) -> AgentTask:
            return AgentTask(
                config=config,
                signature=sig,
                runtime_path=tmp_path / "rt" / f"runtime_env_{sig}.json",
                config_path=cfg,
                trading_days=(date(2025, 11, 3),),
            )

        fast = executor.submit(task("bh"))
        slow = executor.submit(task("slow"))
        assert fast.pid is not None and slow.pid is not None
        assert executor.wait(fast, timeout=120) == 0
        assert executor.poll(fast) == 0 and fast.exit_code == 0
        assert fast.log_path == data_root / "agent_data" / "bh" / "agent.log"
        state = read_json(tmp_path / "rt" / "runtime_env_bh.json")
        assert state is not None and (state["status"], state["windows_done"]) == ("completed", 3)
        wait_for(lambda: any(e["type"] == "window_start" for e in _events(data_root)), 120, "slow")
        assert executor.poll(slow) is None
        executor.cancel(slow, signal.SIGTERM)
        assert executor.wait(slow, timeout=60) == 128 + signal.SIGTERM
        assert slow.exit_code == 128 + signal.SIGTERM and slow.ended is not None
        executor.cancel(slow, signal.SIGKILL)  # ended: a no-op
        state = read_json(tmp_path / "rt" / "runtime_env_slow.json")
        assert state is not None and state["status"] == "stopped"
        assert window_log(data_root, "slow", "2025-11-03T10:30")[-1]["outcome"] == "interrupted"


def _events(data_root: Path) -> list[dict[str, object]]:
    try:
        return window_log(data_root, "slow", "2025-11-03T10:30")
    except FileNotFoundError:
        return []


def test_subprocess_executor_needs_the_config_file(tmp_path: Path, data_root: Path) -> None:
    import pytest

    config = load_config(arena_config(tmp_path, data_root, [baseline("bh")]))
    task = AgentTask(config=config, signature="bh", runtime_path=tmp_path / "rt.json")
    with pytest.raises(ValueError, match="bh: a subprocess task needs its config file"):
        SubprocessExecutor({}, python=sys.executable).submit(task)
