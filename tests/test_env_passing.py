"""Only the entry points read the environment: the libraries take it as parameters (the child
environment of jobs and experiment cells, the backup dir, the job id of the arena lock), and
no module below the entry points reads `os.environ` except settings/env.py."""

from __future__ import annotations

import ast
import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_engine.arena_lock import ArenaLock, read_holder
from agent_engine.experiments.executor import CellJob, LocalProcessExecutor
from agent_engine.jobs import JobManager
from data_flow.backup import create_backup, default_backup_root
from settings.config import PROJECT_ROOT
from settings.env import EnvSettings, process_environ
from tests.test_api_jobmanager import fake_project
from tests.test_api_jobmanager import make_config as make_config  # the fixture
from tests.waiting import wait_for

PACKAGES = ("agent_engine", "data_flow", "settings", "api_routes")
_READERS = ("environ", "environb", "getenv", "getenvb")


def _environ_readers(path: Path) -> list[str]:
    """`os.environ` / `os.getenv` / `getenv` uses in one module, as 'path:line'."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        via_os = (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in _READERS
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in _READERS for a in node.names)
        )
        if via_os or imported:
            hits.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return hits


def test_no_module_below_the_entry_points_reads_the_environment() -> None:
    readers = [
        hit
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        for hit in _environ_readers(path)
    ]
    assert readers and all(hit.startswith("settings/env.py:") for hit in readers), readers


def test_backup_root_comes_from_the_settings_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(tmp_path / "from_process"))
    given = EnvSettings.of({"ARENA_BACKUP_DIR": f" {tmp_path / 'given'} "})
    assert default_backup_root(given) == (tmp_path / "given").resolve()
    assert default_backup_root(EnvSettings.of({})) == PROJECT_ROOT / "backups"
    # a caller that passes nothing (the API today) gets the process's setting
    assert default_backup_root() == (tmp_path / "from_process").resolve()
    data = tmp_path / "data"
    (data / "agent_data").mkdir(parents=True)
    (data / "agent_data" / "x.txt").write_text("x")
    result = create_backup(
        data, backup_root=default_backup_root(given), settings_dir=tmp_path / "none"
    )
    assert result.backup_dir.parent == (tmp_path / "given").resolve()
    assert not (tmp_path / "from_process").exists()


def test_arena_lock_records_the_job_id_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_JOB_ID", "from-the-process")
    with ArenaLock(tmp_path / "a", command=["main.py"], job_id="abc123"):
        assert read_holder(tmp_path / "a")["job_id"] == "abc123"  # type: ignore[index]
    with ArenaLock(tmp_path / "b", command=["main.py"]):
        assert read_holder(tmp_path / "b")["job_id"] is None  # type: ignore[index]
    assert EnvSettings.of({"ARENA_JOB_ID": " j1 "}).job_id == "j1"


ENV_DUMP_MAIN = """
import json, os, sys, time
print("env", json.dumps(dict(os.environ), sort_keys=True), flush=True)
time.sleep(600)
"""


def test_job_manager_starts_runs_with_the_environment_it_is_given(
    tmp_path: Path, make_config: Callable[[Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_TEST_PROCESS_ONLY", "1")
    root = tmp_path / "root"
    environ = {"PATH": "/usr/bin:/bin", "GIVEN": "yes"}
    jm = JobManager(
        root,
        project_root=fake_project(tmp_path, ENV_DUMP_MAIN),
        python=sys.executable,
        grace_seconds=1.0,
        environ=environ,
        extra_env={"EXTRA": "1"},
    )
    job = jm.start(make_config(root))
    log = Path(job.log_path)
    wait_for(lambda: log.exists() and "env " in log.read_text(), 20, "the job's env line")
    line = next(x for x in log.read_text().splitlines() if x.startswith("env "))
    env = json.loads(line[4:])
    env.pop("LC_CTYPE", None)  # the interpreter may add it at start-up
    assert env == {
        "PATH": "/usr/bin:/bin",
        "GIVEN": "yes",
        "EXTRA": "1",
        "RUNTIME_DIR": str(root.resolve() / "jobs" / job.job_id / "runtime"),
        "PYTHONUNBUFFERED": "1",
        "ARENA_JOB_ID": job.job_id,
    }
    assert jm.stop(job.job_id).status == "stopped"  # type: ignore[union-attr]
    jm.close()


FAKE_PYTHON = """#!/bin/sh
env > "$0.env"
"""


def test_local_executor_runs_cells_with_the_environment_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_TEST_PROCESS_ONLY", "1")
    script = tmp_path / "fake_python.sh"
    script.write_text(FAKE_PYTHON, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    cell = tmp_path / "cell0"
    job = CellJob("cell0", cell / "config.json", cell, 1, cell / "main.log")
    executor = LocalProcessExecutor(python=str(script), environ={"PATH": "/usr/bin:/bin"})
    [outcome] = executor.run([job], 1)
    assert outcome.exit_code == 0
    lines = (tmp_path / "fake_python.sh.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["RUNTIME_DIR"] == str(cell / "runtime")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert "ARENA_TEST_PROCESS_ONLY" not in env
    # without `environ`: the process's own environment, as before
    LocalProcessExecutor(python=str(script)).run([job], 1)
    lines = (tmp_path / "fake_python.sh.env").read_text().splitlines()
    assert "ARENA_TEST_PROCESS_ONLY=1" in lines
    assert process_environ()["ARENA_TEST_PROCESS_ONLY"] == "1"
