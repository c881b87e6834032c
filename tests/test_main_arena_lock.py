"""One arena per data root, however the root is spelled: real `main.py` processes and API jobs
meet the same `<data_root>/.arena.lock`; a second orchestrator exits 2 (the API answers 409),
naming the holder."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_engine.arena_lock import HOLDER_NAME, ArenaLock, read_holder
from agent_engine.runtime_env import read_runtime_env
from api_server import ApiSettings, create_app
from settings.config import SETTINGS_DIR
from tests.api_fixtures import LOCAL, scenario_config
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import (
    WINDOWS,
    arena_config,
    baseline,
    key_env,
    openai_agent,
    summary_rows,
    text_step,
)
from tests.runner_helpers import main_env, run_main, start_main, wait_for, window_log

pytestmark = pytest.mark.slow

SLOW = 60.0  # the fake model's reply the run never waits for: it is stopped during it


@pytest.fixture
def spellings(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(real data root, the same with `..`, the same through a symlink)."""
    real = tmp_path / "runs" / "x"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    return real.resolve(), tmp_path / "runs" / ".." / "runs" / "x", tmp_path / "link"


def _started(data_root: Path, sig: str) -> bool:
    try:
        return any(e["type"] == "window_start" for e in window_log(data_root, sig, WINDOWS[0]))
    except FileNotFoundError:
        return False


def _status(runtime_dir: Path, sig: str) -> str | None:
    state = read_runtime_env(runtime_dir / f"runtime_env_{sig}.json")
    return None if state is None else state.get("status")


def _holder_pid(data_root: Path) -> int | None:
    holder = read_holder(data_root)
    return None if holder is None else holder["pid"]


def _models(url: str) -> list[dict[str, object]]:
    return [baseline("bh"), baseline("mom", "momentum"), openai_agent("slow", url)]


def test_a_second_main_py_on_the_same_root_exits_2_naming_the_holder(
    tmp_path: Path, spellings: tuple[Path, Path, Path]
) -> None:
    real, dotted, link = spellings
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step("slow", delay=SLOW), model="slow")
        cfg_a = arena_config(tmp_path, dotted, _models(server.openai_base_url), name="a.json")
        cfg_b = arena_config(tmp_path, link, _models(server.openai_base_url), name="b.json")
        first = start_main(
            [str(cfg_a), "--no-backup"],
            main_env(tmp_path / "rt_a", **key_env()),
            tmp_path / "a.log",
        )
        try:
            wait_for(lambda: _holder_pid(real) == first.pid, 60, "the first run's arena lock")
            wait_for(lambda: _started(real, "slow"), 60, "the first run's slow agent")
            holder = json.loads((real / HOLDER_NAME).read_text())
            assert holder["command"] == ["main.py", str(cfg_a), "--no-backup"]
            assert holder["job_id"] is None and holder["data_root"] == str(real)
            for cfg in (cfg_b, cfg_a):  # another spelling and RUNTIME_DIR; the same config
                second = run_main(
                    [str(cfg), "--no-backup"], main_env(tmp_path / "rt_b", **key_env())
                )
                assert second.returncode == 2, second.stdout + second.stderr
                assert second.stdout == ""
                assert second.stderr == (
                    f"error: data root {real} is in use by main.py pid {first.pid} (started "
                    f"{holder['started_at']}: main.py {cfg_a} --no-backup); wait for it to "
                    "finish or stop it\n"
                )
            assert not (tmp_path / "rt_b").exists()  # the second run touched no agent
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=60) == 143
        finally:
            if first.poll() is None:
                first.kill()
    rows = summary_rows((tmp_path / "a.log").read_text())
    assert rows["bh"][:2] == ["completed", "9/9"] and rows["mom"][:2] == ["completed", "9/9"]
    assert rows["slow"][:2] == ["stopped", "0/9"]
    assert not (real / HOLDER_NAME).exists() and read_holder(link) is None
    with ArenaLock(dotted):  # released: the root is free again
        assert _holder_pid(link) is not None


def test_two_main_py_started_together_do_not_split_the_agents(
    tmp_path: Path, spellings: tuple[Path, Path, Path]
) -> None:
    real, dotted, link = spellings
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step("slow", delay=SLOW), model="slow")
        cfg_a = arena_config(tmp_path, dotted, _models(server.openai_base_url), name="a.json")
        cfg_b = arena_config(tmp_path, link, _models(server.openai_base_url), name="b.json")
        procs = [
            start_main([str(cfg), "--no-backup"], main_env(tmp_path / f"rt_{n}", **key_env()),
                       tmp_path / f"{n}.log")
            for n, cfg in (("a", cfg_a), ("b", cfg_b))
        ]  # fmt: skip
        try:
            loser = wait_for(
                lambda: next((p for p in procs if p.poll() is not None), None), 60, "a loser"
            )
            winner = procs[1 - procs.index(loser)]
            assert loser.returncode == 2
            lost = (tmp_path / ("a.log" if loser is procs[0] else "b.log")).read_text()
            assert lost.startswith(
                f"error: data root {real} is in use by main.py pid {winner.pid} (started "
            )
            assert lost.count("\n") == 1  # nothing else: no plan, no backup, no agent
            wait_for(lambda: _started(real, "slow"), 60, "the winner's slow agent")
            # the baselines finish on their own; stop only the held slow agent's run after that
            rt = tmp_path / ("rt_a" if winner is procs[0] else "rt_b")
            wait_for(
                lambda: all(_status(rt, sig) == "completed" for sig in ("bh", "mom")),
                120,
                "the winner's baselines to complete",
            )
            winner.send_signal(signal.SIGTERM)
            assert winner.wait(timeout=60) == 143
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
    won = (tmp_path / ("a.log" if winner is procs[0] else "b.log")).read_text()
    rows = summary_rows(won)
    assert rows["bh"][:2] == ["completed", "9/9"] and rows["mom"][:2] == ["completed", "9/9"]
    assert rows["slow"][:2] == ["stopped", "0/9"]
    assert "already running" not in won


@pytest.fixture
def settings_config(spellings: tuple[Path, Path, Path]) -> Iterator[str]:
    """A config in settings/ on the real root, long enough to be running when looked at."""
    real = spellings[0]
    name = f"test_tmp_{uuid.uuid4().hex}.json"
    config = scenario_config(real, date_range={"init_date": "2025-09-01", "end_date": "2025-12-31"})
    (SETTINGS_DIR / name).write_text(json.dumps(config), encoding="utf-8")
    yield name
    (SETTINGS_DIR / name).unlink(missing_ok=True)


def test_the_api_refuses_a_job_while_a_manual_run_holds_the_root(
    tmp_path: Path, spellings: tuple[Path, Path, Path], settings_config: str
) -> None:
    real, _dotted, link = spellings
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step("slow", delay=SLOW), model="slow")
        cfg = arena_config(tmp_path, link, _models(server.openai_base_url), name="manual.json")
        manual = start_main(
            [str(cfg), "--no-backup"], main_env(tmp_path / "rt", **key_env()), tmp_path / "m.log"
        )
        try:
            wait_for(lambda: _holder_pid(real) == manual.pid, 60, "the manual run's lock")
            with TestClient(create_app(ApiSettings(data_root=real)), base_url=LOCAL) as c:
                resp = c.post("/api/run-trading", json={"config_path": settings_config})
                assert resp.status_code == 409, resp.text
                detail = resp.json()["detail"]
                assert detail.startswith(f"main.py pid {manual.pid} (started ")
                assert detail.endswith(
                    f": main.py {cfg} --no-backup) is already running on data root {real}"
                )
                assert c.get("/api/jobs").json()["count"] == 0
        finally:
            manual.send_signal(signal.SIGTERM)
            manual.wait(timeout=60)


def test_a_manual_run_while_an_api_job_holds_the_root_exits_2_naming_the_job(
    tmp_path: Path, spellings: tuple[Path, Path, Path], settings_config: str
) -> None:
    real, dotted, link = spellings
    with TestClient(create_app(ApiSettings(data_root=real)), base_url=LOCAL) as c:
        job_id = c.post("/api/run-trading", json={"config_path": settings_config}).json()["job_id"]
        try:
            holder = wait_for(lambda: read_holder(dotted), 60, "the job's arena lock")
            assert holder["job_id"] == job_id
            cfg = arena_config(tmp_path, link, [baseline("bh")], name="manual.json")
            manual = run_main([str(cfg), "--no-backup"], main_env(tmp_path / "rt"))
            assert manual.returncode == 2, manual.stdout + manual.stderr
            assert manual.stderr.startswith(
                f"error: data root {real} is in use by job {job_id} (main.py pid {holder['pid']}, "
                f"started {holder['started_at']}); wait"
            )
            again = c.post("/api/run-trading", json={"config_path": settings_config})
            assert again.status_code == 409
            assert again.json()["detail"] == f"job {job_id} is already running on data root {real}"
        finally:
            stopped = c.post(f"/api/stop/{job_id}", json={}).json()
        assert stopped["status"] == "stopped"
    assert not (tmp_path / "rt").exists()
    assert read_holder(real) is None


def test_arena_lock_in_process(spellings: tuple[Path, Path, Path]) -> None:
    from agent_engine.arena_lock import ArenaBusyError

    real, dotted, link = spellings
    with ArenaLock(dotted, command=["main.py", "x.json"]) as held:
        assert held.holder is not None and held.holder["data_root"] == str(real)
        with pytest.raises(ArenaBusyError) as err:
            ArenaLock(link).acquire(timeout=0)
        assert err.value.holder == held.holder
        assert str(err.value).startswith(f"data root {real} is in use by main.py pid ")
    assert read_holder(real) is None
    assert (real / ".arena.lock").exists()  # the lock file stays: one inode for everyone
    ArenaLock(link).acquire(timeout=0).release()
