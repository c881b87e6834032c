"""Experiments on a real local two-node Ray cluster (`--executor ray`): records equal to the local
executor's, and a worker SIGKILLed mid-cell is retried without losing or doubling a window."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from agent_engine.experiments.spec import Experiment, load_experiment
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT
from tests.experiment_helpers import experiment, write_experiment
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import key_env, openai_agent, text_step
from tests.runner_helpers import assert_windows_exactly_once, positions
from tests.waiting import wait_for

pytest.importorskip("ray")
from tests.ray_helpers import Cluster, two_node_cluster

pytestmark = pytest.mark.ray

PERIOD = {"name": "p1", "init_date": "2025-11-03", "end_date": "2025-11-05"}
WINDOWS = [f"2025-11-0{d}T{t}" for d in (3, 4, 5) for t in ("10:30", "14:00")]
# wall-clock fields: the only ones that differ between two runs of the same cell
WALL_CLOCK = {"ts_recorded", "latency_ms", "elapsed_ms", "duration_ms", "latency_ms_total"}
# the manifest also names where and as which process the cell ran, and measures that process
RUN_IDENTITY = {"run_id", "started_at", "ended_at", "pid", "config_path", "startup_ms",
                "decision_seconds", "snapshot_seconds", "cpu_seconds", "peak_rss_kb",
                "loop_cpu_seconds", "spawn_time"}  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with two_node_cluster(tmp_path_factory.mktemp("ray"), key_env()) as c:
        yield c


def _run(path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_engine.experiment", "run", str(path), "--no-report", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **key_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _without(record: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in keys}
    if isinstance(out.get("config"), dict):  # run_start: the node-local paths it ran under
        out["config"] = {k: v for k, v in out["config"].items() if k != "log_config"}
    return out


def records(exp: Experiment) -> dict[str, Any]:
    """Every cell's ledger, decision logs and manifest, without the wall-clock and
    run-identity fields."""
    out: dict[str, Any] = {}
    for cell in exp.cells():
        agent = cell.root / "agent_data" / cell.signature
        ledger = read_jsonl(agent / "position" / "position.jsonl")
        out[f"{cell.cell_id}/ledger"] = [_without(r, WALL_CLOCK) for r in ledger]
        for path in sorted((agent / "log").glob("*/*.jsonl")):
            key = f"{cell.cell_id}/{path.relative_to(agent).as_posix()}"
            out[key] = [_without(e, WALL_CLOCK) for e in read_jsonl(path)]
        manifest = read_jsonl(agent / "manifest.jsonl")
        out[f"{cell.cell_id}/manifest"] = [_without(e, RUN_IDENTITY) for e in manifest]
    return out


def _nodes(exp: Experiment) -> set[str]:
    found: set[str] = set()
    for cell in exp.cells():
        found |= set(re.findall(r"ray: node (\w+) ran the cell", cell.log_path.read_text()))
    return found


def test_two_node_cluster_records_equal_the_local_executors(
    cluster: Cluster, tmp_path: Path
) -> None:
    data = experiment(tmp_path / "local", models=["bh", "random-a"], repeats=2, periods=[PERIOD])
    local_path = write_experiment(tmp_path / "local" / "exps", "grid", data)
    local = _run(local_path, "--workers", "2")
    assert local.returncode == 0, local.stdout + local.stderr
    local_exp = load_experiment(str(local_path))

    data["base_config"]["log_config"]["data_root"] = str(tmp_path / "ray")
    ray_path = write_experiment(tmp_path / "ray" / "exps", "grid", data)
    ray_exp = load_experiment(str(ray_path))
    # the same snapshot store (its files carry build times and pids, hence their hashes)
    store = local_exp.snapshot_root(local_exp.periods[0])
    shutil.copytree(store, ray_exp.snapshot_root(ray_exp.periods[0]))
    ran = _run(ray_path, "--executor", "ray", "--address", cluster.address)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "period p1: 6 windows in the snapshot store (0 built now, 6 builds in total)" in (
        ran.stdout
    )
    assert "experiment grid: 4 cells, 0 already completed, 4 to run with 2 worker(s)" in (
        ran.stdout
    )
    for cell in ray_exp.cells():
        result = json.loads(cell.result_path.read_text())
        assert (result["status"], result["snapshot_hash_mismatches"]) == ("completed", [])
    assert len(_nodes(ray_exp)) == 2  # both nodes ran cells
    assert records(ray_exp) == records(local_exp)
    logged = read_jsonl(ray_exp.cells()[0].root / "agent_data" / "bh" / "log" / "2025-11-03"
                        / "10-30-00.jsonl")[0]["snapshot_path"]  # fmt: skip
    assert logged.startswith("../snapshots/p1/agent_data/shared/snapshots/2025-11-03/10-30-00_")
    for work in cluster.work_dirs:  # each node cleaned up after handing the records back
        assert [p for p in work.iterdir() if p.is_dir()] == []
    # the report computed from the records is the same too
    from agent_engine.experiments.report import write_report

    assert _without_latency(write_report(ray_exp)["models"]) == _without_latency(
        write_report(local_exp)["models"]
    )


def _cell_orchestrator(work_dirs: list[Path]) -> psutil.Process | None:
    """The main.py of the running cell (not its agent), found by its node-local config."""
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if not any(a.endswith("main.py") for a in cmd):
            continue
        if not any(str(w) in a for w in work_dirs for a in cmd):
            continue
        try:
            parent = proc.parent()
            if parent is not None and not any(a.endswith("main.py") for a in parent.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


def test_worker_killed_mid_cell_is_retried_without_losing_or_doubling_a_window(
    cluster: Cluster, tmp_path: Path
) -> None:
    with FakeLLMServer(rule="answer") as server:
        server.add(*[text_step()] * 2, text_step("late", delay=60.0), model="llm")
        data = experiment(
            tmp_path / "data",
            models=[openai_agent("llm", server.openai_base_url)],
            repeats=1,
            periods=[PERIOD],
        )
        path = write_experiment(tmp_path / "exps", "killed", data)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent_engine.experiment", "run", str(path), "--no-report",
             "--executor", "ray", "--address", cluster.address],
            cwd=PROJECT_ROOT, env={**os.environ, **key_env()},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            wait_for(lambda: len(server.requests) >= 3, 120, "the third window's request")
            main = wait_for(lambda: _cell_orchestrator(cluster.work_dirs), 30, "the cell")
            worker = main.parent()
            assert worker is not None and "main.py" not in " ".join(worker.cmdline())
            worker.send_signal(signal.SIGKILL)  # the Ray worker running the task dies
            out, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out
    exp = load_experiment(str(path))
    cell = exp.cells()[0]
    assert json.loads(cell.result_path.read_text())["status"] == "completed"
    assert_windows_exactly_once(positions(cell.root, "llm"), WINDOWS)
    for window in WINDOWS:
        day, hhmm = window.split("T")
        name = f"{hhmm.replace(':', '-')}-00.jsonl"
        log = read_jsonl(cell.root / "agent_data" / "llm" / "log" / day / name)
        ends = [e["outcome"] for e in log if e["type"] == "window_end"]
        attempts = [e["attempt"] for e in log if e["type"] == "window_start"]
        if window == WINDOWS[2] and ends != ["no_trade"]:
            # retried on the same node: resumed from that node's records, like a rerun of a
            # killed main.py (else, on the other node, it started over from the driver's copy)
            assert (ends, attempts) == (["interrupted", "no_trade"], [1, 2])
        else:
            assert (ends, attempts) == (["no_trade"], [1]), window
    assert len(server.requests) >= len(WINDOWS) + 1  # the interrupted window was asked again
    assert len(_nodes(exp)) == 1  # one attempt handed records back


def _without_latency(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's models minus the measured call latencies (wall clock, differs per run)."""
    out = []
    for model in models:
        economics = {
            k: v for k, v in (model.get("economics") or {}).items() if not k.startswith("latency")
        }
        out.append({**model, "economics": economics})
    return out
