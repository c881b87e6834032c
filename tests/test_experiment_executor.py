"""The local executor: cells run as subprocesses with their own RUNTIME_DIR; cancel() stops the
running ones and starts no more."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from agent_engine.experiments.executor import CellJob, CellOutcome, LocalProcessExecutor
from tests.runner_helpers import wait_for

FAKE_PYTHON = """#!/bin/sh
# stands in for the interpreter: records its arguments and RUNTIME_DIR, then waits
echo "$@" > "$MARK_DIR/$(basename $(dirname $2)).args"
echo "$RUNTIME_DIR" > "$MARK_DIR/$(basename $(dirname $2)).runtime"
[ "$FAKE_MODE" = "quick" ] && exit 3
exec sleep 60
"""


def _jobs(tmp_path: Path, n: int) -> list[CellJob]:
    out = []
    for i in range(n):
        root = tmp_path / f"cell{i}"
        out.append(CellJob(f"cell{i}", root / "config.json", root, 100 + i, root / "main.log"))
    return out


def _fake(tmp_path: Path, monkeypatch, mode: str) -> LocalProcessExecutor:  # type: ignore[no-untyped-def]
    script = tmp_path / "fake_python.sh"
    script.write_text(FAKE_PYTHON, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "marks").mkdir()
    monkeypatch.setenv("MARK_DIR", str(tmp_path / "marks"))
    monkeypatch.setenv("FAKE_MODE", mode)
    return LocalProcessExecutor(python=str(script))


def test_runs_each_cell_as_main_py_with_its_own_runtime_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    executor = _fake(tmp_path, monkeypatch, "quick")
    done: list[CellOutcome] = []
    outcomes = executor.run(_jobs(tmp_path, 3), 2, done.append)
    assert [(o.cell_id, o.exit_code, o.started) for o in outcomes] == [
        ("cell0", 3, True),
        ("cell1", 3, True),
        ("cell2", 3, True),
    ]
    assert sorted(o.cell_id for o in done) == ["cell0", "cell1", "cell2"]
    args = (tmp_path / "marks" / "cell1.args").read_text().split()
    assert args[0].endswith("main.py") and args[1:] == [
        str(tmp_path / "cell1" / "config.json"),
        "--no-backup",
    ]
    runtime = (tmp_path / "marks" / "cell1.runtime").read_text().strip()
    assert runtime == str(tmp_path / "cell1" / "runtime")
    assert (tmp_path / "cell1" / "main.log").exists()


def test_cancel_stops_running_cells_and_starts_no_more(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    executor = _fake(tmp_path, monkeypatch, "sleep")
    done: list[CellOutcome] = []
    result: list[list[CellOutcome]] = []
    thread = threading.Thread(
        target=lambda: result.append(executor.run(_jobs(tmp_path, 3), 1, done.append))
    )
    thread.start()
    wait_for(lambda: (tmp_path / "marks" / "cell0.runtime").exists(), 30, "first cell started")
    executor.cancel()
    thread.join(timeout=30)
    assert not thread.is_alive()
    outcomes = result[0]
    assert outcomes[0].started and outcomes[0].exit_code == -15  # SIGTERM
    assert [(o.cell_id, o.started) for o in outcomes[1:]] == [("cell1", False), ("cell2", False)]
    assert [o.cell_id for o in done] == ["cell0"]
    assert sorted(os.listdir(tmp_path / "marks")) == ["cell0.args", "cell0.runtime"]
