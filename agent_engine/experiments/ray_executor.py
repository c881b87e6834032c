"""Experiment cells as Ray tasks (`--executor ray`); the only module that imports `ray`, and only
when it is chosen (`pip install -e ".[ray]"`).

No shared filesystem is needed:
- The driver packs each period's snapshot store once (`archive.pack`, sha256) and `ray.put`s
  it; every task gets the same bytes, checks the sha256, unpacks them into a node-local work
  dir and verifies every snapshot against `store.json` before the cell starts.
- The task recreates the experiment's relative layout under
  `$ARENA_RAY_WORK_DIR/<key>/` (default `<tmp>/arena-ray/`; `<key>` names the experiment
  folder and the cell): `<cell>/` and `snapshots/<period>/`, writes the cell's config with
  `log_config` pointing there and runs the ordinary `python main.py <config> --no-backup` with
  its own RUNTIME_DIR. Decision logs record the snapshot path relative to the cell
  (`../snapshots/<period>/...`), so they read exactly as a local run's.
- The cell's records (`agent_data/`, `runtime/`) come back as the task's return value, a
  hash-checked archive the driver verifies and unpacks into `<experiment>/<cell>/`; the
  attempt's output is appended to the cell's `main.log`.
- A task also carries the cell's records as the driver has them (an interrupted cell resumes
  from them, as with the local executor). A worker that dies mid-cell is retried by Ray
  (`max_retries`): on the same node the retry resumes from the node-local records of the dead
  attempt (main.py skips finished windows; its agents die with it via PR_SET_PDEATHSIG, and the
  retry waits for their `agent.lock`), on another node from the driver's copy. Either way no
  window is lost or doubled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent_engine.experiments.archive import (
    CELL_MEMBERS,
    STORE_MEMBERS,
    ArchiveError,
    pack,
    sha256,
    unpack,
    verify_store,
)
from agent_engine.experiments.executor import EXIT_CANCELLED, CellJob, CellOutcome

WORK_DIR_ENV = "ARENA_RAY_WORK_DIR"
LOCK_WAIT_SECONDS = 60.0


class RayExecutor:
    """Cells as Ray tasks on the cluster at `address` (None: `RAY_ADDRESS` or a new local
    Ray; "auto": the cluster started on this machine with `ray start`)."""

    def __init__(self, address: str | None = None, *, max_retries: int = 3) -> None:
        self.address = address
        self.max_retries = max_retries
        self._lock = threading.Lock()
        self._cancelled = False
        self._running: list[Any] = []

    def connect(self) -> int:
        """Join the cluster (once); returns its CPU count, the default number of cells run at
        once (each task takes one CPU)."""
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run(
        self,
        jobs: Sequence[CellJob],
        workers: int,
        on_done: Callable[[CellOutcome], None] | None = None,
    ) -> list[CellOutcome]:
        import ray

        self.connect()
        task = ray.remote(num_cpus=1, max_retries=self.max_retries)(run_cell_task)
        self._cancelled = False
        stores: dict[Path, tuple[Any, str]] = {}
        pending = list(jobs)
        in_flight: dict[Any, tuple[CellJob, float]] = {}
        outcomes: dict[str, CellOutcome] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < max(1, workers) and not self._cancelled:
                    job = pending.pop(0)
                    ref = self._submit(ray, task, job, stores)
                    in_flight[ref] = (job, time.monotonic())
                    with self._lock:
                        self._running = list(in_flight)
                if not in_flight:
                    break
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                job, started = in_flight.pop(ready[0])
                with self._lock:
                    self._running = list(in_flight)
                outcome = self._collect(ray, ready[0], job, started)
                outcomes[job.cell_id] = outcome
                if on_done is not None and outcome.started:
                    on_done(outcome)
        except BaseException:
            self.cancel()
            raise
        return [
            outcomes.get(j.cell_id) or CellOutcome(j.cell_id, EXIT_CANCELLED, 0.0, started=False)
            for j in jobs
        ]

    def _submit(self, ray: Any, task: Any, job: CellJob, stores: dict[Path, Any]) -> Any:
        config = json.loads(job.config_path.read_text(encoding="utf-8"))
        store_root = Path(config["log_config"]["snapshot_root"])
        if store_root not in stores:  # packed and shipped once per period
            data = pack(store_root, STORE_MEMBERS)
            stores[store_root] = (ray.put(data), sha256(data))
        store_ref, store_sha = stores[store_root]
        base = Path(os.path.commonpath([job.data_root, store_root]))
        records = pack(job.data_root, ("agent_data",))
        spec = {
            "cell_id": job.cell_id,
            "key": hashlib.sha256(f"{job.data_root}".encode()).hexdigest()[:16],
            "cell_rel": job.data_root.relative_to(base).as_posix(),
            "store_rel": store_root.relative_to(base).as_posix(),
            "config": config,
            "store_sha256": store_sha,
            "records_sha256": sha256(records),
        }
        return task.remote(spec, store_ref, records)

    def _collect(self, ray: Any, ref: Any, job: CellJob, started: float) -> CellOutcome:
        from ray.exceptions import RayError, TaskCancelledError

        seconds = time.monotonic() - started
        try:
            result = ray.get(ref)
        except TaskCancelledError:
            _append_log(job.log_path, b"ray: cell cancelled\n")
            return CellOutcome(job.cell_id, EXIT_CANCELLED, seconds)
        except (RayError, ArchiveError) as err:
            _append_log(job.log_path, f"ray: cell failed: {err}\n".encode())
            return CellOutcome(job.cell_id, 1, seconds)
        try:
            install_records(result["records"], result["records_sha256"], job.data_root)
        except ArchiveError as err:
            _append_log(job.log_path, f"ray: records rejected: {err}\n".encode())
            return CellOutcome(job.cell_id, 1, seconds)
        head = f"ray: node {result['node']} ran the cell (exit {result['exit_code']})\n"
        _append_log(job.log_path, result["log"] + head.encode())
        return CellOutcome(job.cell_id, int(result["exit_code"]), seconds)

    def cancel(self) -> None:
        """Interrupt the running tasks (their main.py gets SIGTERM); submit no more."""
        import ray

        with self._lock:
            self._cancelled = True
            refs = list(self._running)
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)


def _append_log(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def install_records(data: bytes, expected: str, cell_root: Path) -> None:
    """Verify a cell's records archive and put it in place of the cell's `agent_data/` and
    `runtime/` (unpacked beside them first, then swapped in by rename)."""
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=cell_root))
    try:
        unpack(data, expected, incoming)
        for member in CELL_MEMBERS:
            new, old = incoming / member, cell_root / member
            if not new.exists():
                continue
            trash = incoming / f"{member}.old"
            if old.exists():
                old.rename(trash)
            new.rename(old)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


# --- the task (runs on a worker node) ----------------------------------------------------
def run_cell_task(spec: dict[str, Any], store: bytes, records: bytes) -> dict[str, Any]:
    """Run one cell on this node; returns its exit code, records archive and output."""
    from filelock import FileLock

    from settings.env import process_environ

    environ = process_environ()  # this task is the entry point on its node
    work = Path(environ.get(WORK_DIR_ENV) or Path(tempfile.gettempdir()) / "arena-ray")
    top = work / spec["key"]
    top.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work / f"{spec['key']}.lock"), timeout=LOCK_WAIT_SECONDS * 5):
        cell, store_root = top / spec["cell_rel"], top / spec["store_rel"]
        shutil.rmtree(store_root, ignore_errors=True)
        unpack(store, spec["store_sha256"], store_root)
        verify_store(store_root)
        marker = top / "records.sha256"
        seeded = marker.read_text().strip() if marker.exists() else None
        if seeded != spec["records_sha256"] or not cell.is_dir():
            shutil.rmtree(cell, ignore_errors=True)  # start from the driver's records
            unpack(records, spec["records_sha256"], cell)
            cell.mkdir(parents=True, exist_ok=True)
            marker.write_text(spec["records_sha256"])
        _wait_agent_locks(cell)
        config = dict(spec["config"])
        config["log_config"] = {"data_root": str(cell), "snapshot_root": str(store_root)}
        config_path = cell / "config.json"
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        log_path = cell / "main.log"
        code = _run_main(config_path, cell, log_path, environ)
        out = pack(cell, CELL_MEMBERS)
        log = log_path.read_bytes()
        shutil.rmtree(top, ignore_errors=True)  # the records now travel to the driver
    import ray

    return {
        "exit_code": code,
        "node": ray.get_runtime_context().get_node_id()[:12],
        "records": out,
        "records_sha256": sha256(out),
        "log": log,
    }


def _wait_agent_locks(cell: Path) -> None:
    """A dead attempt's agents exit soon after it (SIGTERM from PR_SET_PDEATHSIG); wait until
    they have released their locks, or main.py would skip them as still running."""
    from filelock import FileLock

    for lock_file in sorted((cell / "agent_data").glob("*/agent.lock")):
        with FileLock(str(lock_file), timeout=LOCK_WAIT_SECONDS, thread_local=False):
            pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _run_main(config_path: Path, cell: Path, log_path: Path, environ: dict[str, str]) -> int:
    from settings.config import PROJECT_ROOT
    from settings.env import RUNTIME_DIR_ENV

    env = dict(environ)
    env[RUNTIME_DIR_ENV] = str(cell / "runtime")
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, str(PROJECT_ROOT / "main.py"), str(config_path), "--no-backup"]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            return proc.wait()
        except BaseException:  # ray.cancel: stop main.py (it stops its agents), then re-raise
            proc.terminate()
            proc.wait()
            raise
