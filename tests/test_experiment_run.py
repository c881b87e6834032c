"""Experiments end to end: `python -m agent_engine.experiment run` over real `main.py` cells,
one snapshot store per period, resumable cells, the report's statistics and its bytes, and the
API endpoints."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent_engine.experiments import spec as spec_module
from agent_engine.experiments.executor import CellJob, CellOutcome, LocalProcessExecutor
from agent_engine.experiments.records import decision_log_hashes, store_hashes
from agent_engine.experiments.report import FIGURES, write_report
from agent_engine.experiments.run import run_experiment
from agent_engine.experiments.spec import Experiment, load_experiment
from api_routes.experiments import experiments_router
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT
from tests.api_fixtures import LOCAL
from tests.experiment_helpers import experiment, write_experiment

WINDOWS = 5 * 2  # 2025-11-03..07: five trading days × two windows
pytestmark = pytest.mark.slow


class RecordingExecutor(LocalProcessExecutor):
    """The real executor, remembering which cells it was asked to run."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def run(
        self,
        jobs: Sequence[CellJob],
        workers: int,
        on_done: Callable[[CellOutcome], None] | None = None,
    ) -> list[CellOutcome]:
        self.ran += [j.cell_id for j in jobs]
        return super().run(jobs, workers, on_done)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("exp")
    path = write_experiment(tmp / "exps", "tiny", experiment(tmp / "data"))
    proc = subprocess.run(
        [sys.executable, "-m", "agent_engine.experiment", "run", str(path), "--workers", "2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return {"proc": proc, "path": path, "dir": tmp / "exps", "exp": load_experiment(str(path))}


def _exp(ran: dict[str, Any]) -> Experiment:
    return ran["exp"]


def test_run_completes_every_cell_and_writes_the_report(ran: dict[str, Any]) -> None:
    proc = ran["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    exp = _exp(ran)
    assert f"period p1: {WINDOWS} windows in the snapshot store ({WINDOWS} built now" in proc.stdout
    assert "experiment tiny: 12 cells, 0 already completed, 12 to run with 2 worker(s)" in (
        proc.stdout
    )
    for cell in exp.cells():
        result = json.loads(cell.result_path.read_text())
        assert result["status"] == "completed" and result["exit_code"] == 0
        assert result["seed"] == cell.seed and result["snapshot_hash_mismatches"] == []
        assert "snapshots built by the prefetcher: 0" in cell.log_path.read_text()
    assert f"report: {exp.root / 'report.md'}" in proc.stdout
    for name in FIGURES:
        assert (exp.root / "figures" / name).read_bytes().startswith(b"\x89PNG")


def test_one_snapshot_store_per_period_built_once(ran: dict[str, Any]) -> None:
    exp = _exp(ran)
    period = exp.periods[0]
    store = exp.snapshot_root(period)
    files = sorted((store / "agent_data" / "shared" / "snapshots").glob("*/*.json"))
    assert len(files) == WINDOWS
    info = json.loads((store / "store.json").read_text())
    assert info["windows"] == WINDOWS and info["builds_total"] == WINDOWS
    hashes = store_hashes(store)
    assert len(hashes) == WINDOWS
    for cell in exp.cells():
        logged = decision_log_hashes(cell.root, cell.signature)
        assert logged == hashes  # every window of every cell decided on the store's file
        assert not (cell.root / "agent_data" / "shared").exists()  # no per-cell snapshots
        manifest = read_jsonl(cell.root / "agent_data" / cell.signature / "manifest.jsonl")
        start, end = manifest
        assert end["snapshots_built"] == 0
        # the manifest records the run's seed (None for a strategy that takes none)
        assert start["seed"] == (None if cell.signature == "bh" else cell.seed)
    # the two random baselines really differ (their seeds do)
    returns = {r["cell_id"]: r["total_return_pct"] for r in _report(exp)["runs"]}
    assert returns["p1__random-a__r0"] != returns["p1__random-b__r0"]


def _report(exp: Experiment) -> dict[str, Any]:
    return json.loads((exp.root / "report.json").read_text())


def test_report_statistics_for_same_distribution_random_agents(ran: dict[str, Any]) -> None:
    report = _report(_exp(ran))
    sigs = report["pairwise"]["signatures"]
    assert sigs == ["bh", "random-a", "random-b"]
    a, b = sigs.index("random-a"), sigs.index("random-b")
    diff = report["pairwise"]["mean_diff_pct"][a][b]
    assert diff["ci"][0] < 0 < diff["ci"][1]
    p = report["pairwise"]["p_beats"]
    for i in range(3):
        assert p[i][i] is None
        for j in range(3):
            if i != j:
                assert p[i][j] + p[j][i] == pytest.approx(1.0, abs=1e-9)
    models = {m["signature"]: m for m in report["models"]}
    bh = models["bh"]["metrics"]["total_return_pct"]
    assert bh["n"] == 4 and bh["mean_ci"] == [bh["mean"], bh["mean"]]  # deterministic strategy
    ra = models["random-a"]["metrics"]["total_return_pct"]
    assert ra["method"] == "bootstrap over runs"
    assert ra["mean_ci"][0] <= ra["mean"] <= ra["mean_ci"][1]
    for m in models.values():
        assert sum(m["rank"]["distribution"]) == 4
    assert report["cells"] == {"total": 12, "completed": 12, "not_completed": []}
    assert report["snapshot_stores"] == {"p1": {"windows": WINDOWS, "builds_total": WINDOWS}}
    warnings = "\n".join(report["warnings"])
    assert "random-a: 4 runs; percentile bootstrap intervals from fewer than 10 runs" in warnings
    assert "period p1: Sharpe over 5 trading days (fewer than 20)" in warnings


def test_report_regenerates_byte_identical(ran: dict[str, Any]) -> None:
    exp = _exp(ran)
    names = ["report.json", "report.md", *(f"figures/{f}" for f in FIGURES)]
    before = {n: (exp.root / n).read_bytes() for n in names}
    write_report(exp)
    after = {n: (exp.root / n).read_bytes() for n in names}
    assert after == before
    md = before["report.md"].decode()
    head = md.split("## Warnings")[0]
    assert "| model | runs | total return % |" in head
    assert "![equity fan chart](figures/equity_fan.png)" in head


def test_status_subcommand(ran: dict[str, Any]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent_engine.experiment", "status", str(ran["path"])],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    cell = _exp(ran).cells()[0]
    assert f"{cell.cell_id}  completed  seed={cell.seed}" in proc.stdout
    assert "12/12 cells completed" in proc.stdout


def test_api_lists_and_serves_the_report(
    ran: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = FastAPI()
    app.include_router(experiments_router(ran["dir"]))
    (ran["dir"] / "broken.json").write_text("{", encoding="utf-8")
    client = TestClient(app)
    listing = client.get("/api/experiments").json()["data"]
    assert [e["name"] for e in listing] == ["broken", "tiny"]
    assert listing[0]["valid"] is False and "invalid JSON" in listing[0]["error"]
    tiny = listing[1]
    assert tiny["valid"] and tiny["report_available"] and tiny["cells_total"] == 12
    assert tiny["models"] == ["bh", "random-a", "random-b"]
    detail = client.get("/api/experiments/tiny")
    assert detail.status_code == 200
    assert detail.json()["report"] == _report(_exp(ran))
    assert detail.json()["experiment"]["repeats"] == 4
    assert client.get("/api/experiments/broken").status_code == 422
    for bad in ("nope", "..", "%2e%2e", "tiny.json", "a%2F..%2Ftiny"):
        assert client.get(f"/api/experiments/{bad}").status_code == 404, bad
    # create_app serves the same router, reading settings/experiments/ by default
    from api_server import ApiSettings, create_app

    monkeypatch.setattr(spec_module, "EXPERIMENTS_DIR", ran["dir"])
    full = TestClient(create_app(ApiSettings(data_root=ran["dir"] / "none")), base_url=LOCAL)
    assert full.get("/api/experiments/tiny").json()["report"] == _report(_exp(ran))


def test_finished_cells_are_never_rerun(ran: dict[str, Any]) -> None:
    exp = _exp(ran)
    cells = exp.cells()
    ledgers = {
        c.cell_id: c.root / "agent_data" / c.signature / "position" / "position.jsonl"
        for c in cells
    }
    mtimes = {k: p.stat().st_mtime_ns for k, p in ledgers.items()}
    executor = RecordingExecutor()
    assert run_experiment(exp, workers=2, executor=executor, emit=lambda _t: None) == 0
    assert executor.ran == []
    assert {k: p.stat().st_mtime_ns for k, p in ledgers.items()} == mtimes
    # a failed cell resumes; a cell whose folder is gone runs again; the others stay untouched
    failed, gone = cells[1], cells[5]
    result = json.loads(failed.result_path.read_text())
    failed.result_path.write_text(json.dumps({**result, "status": "failed", "exit_code": 1}))
    shutil.rmtree(gone.root)
    lines: list[str] = []
    executor = RecordingExecutor()
    assert run_experiment(exp, workers=2, executor=executor, emit=lines.append) == 0
    assert sorted(executor.ran) == sorted([failed.cell_id, gone.cell_id])
    assert "period p1: 10 windows in the snapshot store (0 built now, 10 builds in total)" in lines
    for c in cells:
        if c.cell_id not in (failed.cell_id, gone.cell_id):
            assert ledgers[c.cell_id].stat().st_mtime_ns == mtimes[c.cell_id]
    # the resumed cell found all its windows done: one more run_start/run_end, no new record
    manifest = read_jsonl(failed.root / "agent_data" / failed.signature / "manifest.jsonl")
    assert [m["type"] for m in manifest] == ["run_start", "run_end"] * 2
    assert manifest[-1]["windows_already_done"] == WINDOWS and manifest[-1]["windows_run"] == 0
    assert json.loads(gone.result_path.read_text())["status"] == "completed"
    # same seeds, same records: the regenerated report's numbers are unchanged
    before = _report(exp)["runs"]
    write_report(exp)
    assert _report(exp)["runs"] == before
