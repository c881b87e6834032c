"""Running an experiment: one snapshot store per period, then every unfinished cell.

- Store: before any cell runs, every window of the period is ensured in
  `<experiment>/snapshots/<period>/` (built once, under the store's lock, by this process);
  `store.json` records the windows, their content hashes and how many builds this period has
  needed so far (1 per window unless a file was damaged and rebuilt).
- Cells: `<experiment>/<cell>/config.json` (the generated arena config), `main.log` (its
  output) and `result.json` (written atomically when the cell ends: exit code, status, seconds,
  snapshot hash check). A cell whose result says `completed` is never run again; a failed or
  interrupted cell resumes where it stopped (main.py skips finished windows). A cell finishes
  `completed` only when main.py exits 0 and every window of its decision logs used the store's
  snapshot (same hash).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_engine.experiments.executor import CellJob, CellOutcome, Executor, LocalProcessExecutor
from agent_engine.experiments.records import decision_log_hashes, hash_mismatches
from agent_engine.experiments.spec import Cell, Experiment, Period
from data_flow.fsio import atomic_write_json
from settings.config import ArenaError, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class StoreInfo:
    period: str
    windows: int
    built_now: int
    builds_total: int
    hashes: dict[str, str]


def prepare_store(experiment: Experiment, period: Period) -> StoreInfo:
    """Ensure every window snapshot of `period` in its store; update `store.json`."""
    from agent_engine.orchestrator import plan_trading_days
    from agent_engine.runner import plan_windows
    from data_flow.snapshot_store import ensure_window_snapshot
    from data_flow.sources import make_source

    config = experiment.period_config(period)
    windows = plan_windows(plan_trading_days(config), config.decision_windows)
    source = None
    built = 0
    hashes: dict[str, str] = {}
    for w in windows:
        if source is None and not _exists(config, w.moment):
            source = make_source(config)
        result = ensure_window_snapshot(config, w.moment, source)
        built += result.created
        hashes[result.snapshot["timestamp"]] = result.content_hash
    path = experiment.snapshot_root(period) / "store.json"
    previous = _read_json(path) or {}
    total = int(previous.get("builds_total", 0)) + built
    info = StoreInfo(period.id, len(windows), built, total, hashes)
    record = {"period": period.id, "windows": len(windows), "builds_total": total, "hashes": hashes}
    if record != previous:
        atomic_write_json(path, record)
    return info


def _exists(config: Any, moment: Any) -> bool:
    from data_flow.snapshot_store import snapshot_path

    return snapshot_path(config.snapshot_root(), moment, list(config.symbols)).exists()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- cells -------------------------------------------------------------------------------
def config_bytes(cell: Cell) -> bytes:
    return (json.dumps(cell.config.public_dict(), indent=2, sort_keys=True) + "\n").encode()


def cell_result(cell: Cell) -> dict[str, Any] | None:
    return _read_json(cell.result_path)


def cell_state(cell: Cell) -> str:
    """`completed`, `failed`, `interrupted`, `pending` (never started) or `blocked` (a model
    whose API key is not set: it would be skipped)."""
    result = cell_result(cell)
    if result is not None:
        return str(result.get("status"))
    if cell.config.models[0].skip_reason() is not None:
        return "blocked"
    return "pending"


def write_cell_config(cell: Cell) -> None:
    """Write the cell's config; refuse to change the config of a cell that has records."""
    data = config_bytes(cell)
    try:
        existing = cell.config_path.read_bytes()
    except FileNotFoundError:
        existing = None
    if existing == data:
        return
    if existing is not None and (cell.root / "agent_data").exists():
        raise ConfigError(
            f"cell {cell.cell_id} was run with a different config (the experiment file or its "
            f"base config changed); move {cell.root.parent} aside or rename the experiment"
        )
    from data_flow.fsio import atomic_write_bytes

    atomic_write_bytes(cell.config_path, data)


def finish_cell(cell: Cell, outcome: CellOutcome, store: dict[str, str]) -> dict[str, Any]:
    """Check the cell's snapshot hashes and write its `result.json`."""
    mismatches = hash_mismatches(decision_log_hashes(cell.root, cell.signature), store)
    if outcome.exit_code == 0 and not mismatches:
        status = "completed"
    elif outcome.exit_code in (130, 143, -2, -15):
        status = "interrupted"
    else:
        status = "failed"
    result = {
        "cell_id": cell.cell_id,
        "period": cell.period,
        "signature": cell.signature,
        "repeat": cell.repeat,
        "seed": cell.seed,
        "status": status,
        "exit_code": outcome.exit_code,
        "seconds": round(outcome.seconds, 3),
        "config_sha256": hashlib.sha256(config_bytes(cell)).hexdigest(),
        "snapshot_hash_mismatches": [
            {"time": t, "logged": logged, "store": stored} for t, logged, stored in mismatches
        ],
    }
    atomic_write_json(cell.result_path, result)
    return result


def run_experiment(
    experiment: Experiment,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    emit: Callable[[str], None] = print,
) -> int:
    """Run every unfinished cell. Exit code 0 all cells completed, 1 a cell failed or is
    blocked, 2 data/store error, 130 interrupted."""
    cells = experiment.cells()
    executor = executor or LocalProcessExecutor()
    stores: dict[str, dict[str, str]] = {}
    for period in experiment.periods:
        try:
            info = prepare_store(experiment, period)
        except ArenaError as err:
            emit(f"error: snapshot store of period {period.id}: {err}")
            return EXIT_CONFIG
        stores[period.id] = info.hashes
        emit(
            f"period {period.id}: {info.windows} windows in the snapshot store "
            f"({info.built_now} built now, {info.builds_total} builds in total)"
        )
    states = {c.cell_id: cell_state(c) for c in cells}
    for c in cells:
        if states[c.cell_id] == "completed":
            digest = hashlib.sha256(config_bytes(c)).hexdigest()
            if (cell_result(c) or {}).get("config_sha256") != digest:
                raise ConfigError(
                    f"cell {c.cell_id} was completed with a different config (the experiment "
                    f"file or its base config changed); move {experiment.root} aside or "
                    "rename the experiment"
                )
    todo = [c for c in cells if states[c.cell_id] not in ("completed", "blocked")]
    for c in cells:
        if states[c.cell_id] == "blocked":
            emit(f"cell {c.cell_id}: skipped ({c.config.models[0].skip_reason()})")
    emit(
        f"experiment {experiment.name}: {len(cells)} cells, "
        f"{sum(s == 'completed' for s in states.values())} already completed, "
        f"{len(todo)} to run with {workers} worker(s)"
    )
    by_id = {c.cell_id: c for c in todo}
    for c in todo:
        write_cell_config(c)
    failed = sum(s == "blocked" for s in states.values())
    lock = threading.Lock()

    def done(outcome: CellOutcome) -> None:  # called from the executor's threads
        nonlocal failed
        cell = by_id[outcome.cell_id]
        result = finish_cell(cell, outcome, stores[cell.period])
        with lock:
            failed += result["status"] != "completed"
            emit(f"cell {cell.cell_id}: {result['status']} in {outcome.seconds:.1f} s")

    jobs = [CellJob(c.cell_id, c.config_path, c.root, c.seed, c.log_path) for c in todo]
    try:
        executor.run(jobs, workers, done)
    except KeyboardInterrupt:
        executor.cancel()
        emit("interrupted: running cells were stopped; run again to resume")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def status_rows(experiment: Experiment) -> list[dict[str, Any]]:
    rows = []
    for cell in experiment.cells():
        result = cell_result(cell) or {}
        rows.append(
            {
                "cell_id": cell.cell_id,
                "state": cell_state(cell),
                "seed": cell.seed,
                "seconds": result.get("seconds"),
                "exit_code": result.get("exit_code"),
            }
        )
    return rows
