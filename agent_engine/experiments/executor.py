"""Executors run experiment cells. The interface is small on purpose (a Ray executor would be
a second implementation): `run(jobs, workers, on_done)` runs every job and returns their
outcomes; `cancel()` stops what is running. A job is self-describing: the generated arena
config, the cell's data root, its seed and its log file.

`LocalProcessExecutor` runs each cell as the ordinary arena code path, `python main.py
<cell config> --no-backup`, with at most `workers` cells at once; each cell's output goes to its
`main.log` and its agents' runtime files to `<cell>/runtime/` (RUNTIME_DIR), so parallel cells
of the same model never share a file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from settings.config import PROJECT_ROOT
from settings.env import RUNTIME_DIR_ENV, process_environ

MAIN_PY = PROJECT_ROOT / "main.py"
EXIT_CANCELLED = 130


@dataclass(frozen=True)
class CellJob:
    cell_id: str
    config_path: Path
    data_root: Path
    seed: int
    log_path: Path


@dataclass(frozen=True)
class CellOutcome:
    cell_id: str
    exit_code: int
    seconds: float
    started: bool = True  # False: cancelled before it started (nothing was run)


class Executor(Protocol):
    def run(
        self,
        jobs: Sequence[CellJob],
        workers: int,
        on_done: Callable[[CellOutcome], None] | None = None,
    ) -> list[CellOutcome]: ...

    def cancel(self) -> None: ...


class LocalProcessExecutor:
    """Cells as `main.py` subprocesses on this machine, `workers` at a time."""

    def __init__(
        self, python: str = sys.executable, *, environ: Mapping[str, str] | None = None
    ) -> None:
        """`environ`: the cells' base environment (PATH, API keys, ...), taken by the entry
        point; None: this process's at each cell (`settings.env.process_environ`)."""
        self.python = python
        self.environ = dict(environ) if environ is not None else None
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._cancelled = False

    def run(
        self,
        jobs: Sequence[CellJob],
        workers: int,
        on_done: Callable[[CellOutcome], None] | None = None,
    ) -> list[CellOutcome]:
        self._cancelled = False

        def one(job: CellJob) -> CellOutcome:
            outcome = self._run_one(job)
            if on_done is not None and outcome.started:
                on_done(outcome)
            return outcome

        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cell")
        futures = [pool.submit(one, job) for job in jobs]
        try:
            return [f.result() for f in futures]
        except BaseException:
            self.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_one(self, job: CellJob) -> CellOutcome:
        started = time.monotonic()
        with self._lock:
            if self._cancelled:
                return CellOutcome(job.cell_id, EXIT_CANCELLED, 0.0, started=False)
        env = dict(self.environ) if self.environ is not None else process_environ()
        env[RUNTIME_DIR_ENV] = str(job.data_root / "runtime")
        env["PYTHONUNBUFFERED"] = "1"
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        with job.log_path.open("ab") as log:
            cmd = [self.python, str(MAIN_PY), str(job.config_path), "--no-backup"]
            proc = subprocess.Popen(
                cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            with self._lock:
                self._running[job.cell_id] = proc
                if self._cancelled:
                    proc.terminate()
            try:
                code = proc.wait()
            finally:
                with self._lock:
                    self._running.pop(job.cell_id, None)
        return CellOutcome(job.cell_id, code, time.monotonic() - started)

    def cancel(self) -> None:
        """SIGTERM to every running cell (main.py forwards it to its agents); no new cells."""
        with self._lock:
            self._cancelled = True
            procs = list(self._running.values())
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
