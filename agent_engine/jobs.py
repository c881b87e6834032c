"""JobManager: starts `main.py` runs as process groups, stops them, and keeps a registry.

The registry `<root>/jobs/registry.json` is the source of truth: every change is a
read-modify-write under a file lock with an atomic replace, so several manager instances (a
restarted server, a test's second app) can share it. A child's output goes to
`<root>/jobs/<job_id>.log` (a file, not a pipe, so runs survive a server restart) and its
per-agent runtime files to `<root>/jobs/<job_id>/runtime` (env RUNTIME_DIR).

This module must not import the agent loop or any LLM SDK: it only spawns processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock

from agent_engine.arena_lock import describe_holder, read_holder, real_root
from agent_engine.job_model import (
    ActiveRunError,
    Job,
    JobStartError,
    JobStatus,
    exit_error,
    exit_status,
)
from agent_engine.process_tree import process_tree, signal_all, wait_gone
from data_flow.clock import now_iso
from data_flow.fsio import atomic_write_json
from settings.config import (
    PROJECT_ROOT,
    ConfigError,
    load_config,
    resolve_settings_path,
)
from settings.env import JOB_ID_ENV, RUNTIME_DIR_ENV, process_environ

log = logging.getLogger(__name__)

__all__ = ["ActiveRunError", "Job", "JobManager", "JobStartError", "JobStatus"]

JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
REGISTRY_SCHEMA_VERSION = 1
DEFAULT_GRACE_SECONDS = 5.0
LOG_TAIL_LINES = 40


class JobManager:
    def __init__(
        self,
        root: Path,
        *,
        project_root: Path = PROJECT_ROOT,
        python: str = sys.executable,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        extra_env: dict[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`environ`: the base environment of the runs started (PATH, API keys, ...), taken
        by the entry point; None: this process's at each start
        (`settings.env.process_environ`). `extra_env` is added on top."""
        self.root = root.resolve()
        self.jobs_dir = self.root / "jobs"
        self.registry_path = self.jobs_dir / "registry.json"
        self._flock = FileLock(str(self.jobs_dir / "registry.lock"), timeout=10)
        self._tlock = threading.RLock()
        self.project_root = project_root
        self.python = python
        self.grace = grace_seconds
        self.environ = dict(environ) if environ is not None else None
        self.extra_env = dict(extra_env or {})
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.reconcile()

    # --- registry ----------------------------------------------------------------------
    def _read(self) -> dict[str, Job]:
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as err:
            log.error("job registry %s unreadable (%s); starting empty", self.registry_path, err)
            return {}
        jobs = data.get("jobs", []) if isinstance(data, dict) else []
        out = {}
        for item in jobs:
            if isinstance(item, dict) and JOB_ID_RE.match(str(item.get("job_id", ""))):
                with contextlib.suppress(TypeError):
                    out[item["job_id"]] = Job.from_dict(item)
        return out

    def _write(self, jobs: dict[str, Job]) -> None:
        payload = {
            "schema_version": REGISTRY_SCHEMA_VERSION,
            "jobs": [asdict(j) for j in sorted(jobs.values(), key=lambda j: j.started_at)],
        }
        atomic_write_json(self.registry_path, payload)

    @contextlib.contextmanager
    def _locked(self) -> Any:
        with self._tlock, self._flock:
            yield

    def _update(self, job_id: str, change: Callable[[Job], None]) -> Job | None:
        with self._locked():
            jobs = self._read()
            job = jobs.get(job_id)
            if job is None:
                return None
            change(job)
            self._write(jobs)
            return job

    # --- liveness ----------------------------------------------------------------------
    def _alive(self, job: Job) -> bool:
        if job.pid is None:
            return False
        proc = self._procs.get(job.job_id)
        if proc is not None:
            return proc.poll() is None
        try:
            p = psutil.Process(job.pid)
            if job.create_time is not None and abs(p.create_time() - job.create_time) > 1.0:
                return False  # PID reused by another process
            if p.status() == psutil.STATUS_ZOMBIE:
                # Our own unreaped child: its monitor (another manager here) will finalize it.
                return p.ppid() == os.getpid()
            return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def reconcile(self) -> None:
        """Mark registry jobs whose process is gone (and that nobody here watches) as ended."""
        with self._locked():
            jobs = self._read()
            dirty = False
            for job in jobs.values():
                if job.status != JobStatus.RUNNING or self._alive(job):
                    continue
                self._infer_end(job)
                dirty = True
            if dirty:
                self._write(jobs)

    def _infer_end(self, job: Job) -> None:
        agents = self._runtime_agents(job)
        statuses = {a["status"] for a in agents}
        if job.stop_requested:
            job.status = JobStatus.STOPPED
        elif agents and statuses == {"completed"}:
            job.status = JobStatus.COMPLETED
        else:
            job.status = JobStatus.FAILED
        job.ended_at = job.ended_at or now_iso()
        job.error = job.error or "process ended while no server was watching; exit code unknown"

    # --- start -------------------------------------------------------------------------
    def start(
        self,
        config_path: str,
        *,
        init_date: str | None = None,
        end_date: str | None = None,
        signatures: list[str] | None = None,
    ) -> Job:
        """Validate and start a run. Raises ConfigError, ActiveRunError, JobStartError."""
        config_file = resolve_settings_path(config_path)
        config = load_config(config_file)  # ConfigError names the key and the file
        base = self.environ if self.environ is not None else process_environ()
        env = {**base, **self.extra_env}
        selected, skipped = _select_signatures(config, signatures, env)
        main_py = self.project_root / "main.py"
        if not main_py.is_file():
            raise JobStartError(f"{main_py} not found")
        data_root = str(real_root(config.data_root()))
        job_id = uuid.uuid4().hex
        runtime_dir = self.jobs_dir / job_id / "runtime"
        log_path = self.jobs_dir / f"{job_id}.log"
        cmd = [self.python, str(main_py), str(config_file)]
        if init_date:
            cmd += ["--init-date", init_date]
        if end_date:
            cmd += ["--end-date", end_date]
        if signatures:
            cmd += ["--signatures", ",".join(signatures)]
        env.update({RUNTIME_DIR_ENV: str(runtime_dir), "PYTHONUNBUFFERED": "1", JOB_ID_ENV: job_id})
        with self._locked():
            jobs = self._read()
            for other in jobs.values():
                if (
                    other.status == JobStatus.RUNNING
                    and str(real_root(Path(other.data_root))) == data_root
                    and self._alive(other)
                ):
                    raise ActiveRunError(data_root, f"job {other.job_id}")
            holder = read_holder(Path(data_root))  # e.g. a main.py started by hand
            if holder is not None:
                raise ActiveRunError(data_root, describe_holder(holder))
            runtime_dir.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as log_fh:
                try:
                    proc = subprocess.Popen(
                        cmd,
                        cwd=self.project_root,
                        stdin=subprocess.DEVNULL,
                        stdout=log_fh,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                except OSError as err:
                    raise JobStartError(f"cannot start {cmd[0]}: {err}") from None
            try:
                create_time = psutil.Process(proc.pid).create_time()
            except psutil.Error:
                create_time = None
            job = Job(
                job_id=job_id,
                status=JobStatus.RUNNING,
                pid=proc.pid,
                config_path=config_path,
                config_file=str(config_file),
                data_root=data_root,
                started_at=now_iso(),
                create_time=create_time,
                init_date=init_date,
                end_date=end_date,
                signatures=selected,
                skipped=skipped,
                command=cmd,
                log_path=str(log_path),
                runtime_dir=str(runtime_dir),
            )
            jobs[job_id] = job
            self._write(jobs)
            self._procs[job_id] = proc
        threading.Thread(target=self._watch, args=(job_id, proc), daemon=True).start()
        log.info("started job %s pid %s: %s", job_id, proc.pid, " ".join(cmd))
        return job

    def _watch(self, job_id: str, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()

        def finish(job: Job) -> None:
            if job.status == JobStatus.RUNNING or job.exit_code is None:
                job.status = exit_status(code, job.stop_requested)
                job.exit_code = code
                job.ended_at = job.ended_at or now_iso()
                job.error = None if job.status == JobStatus.COMPLETED else exit_error(code)

        self._update(job_id, finish)
        self._procs.pop(job_id, None)

    # --- queries -----------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        if not JOB_ID_RE.match(job_id):
            return None
        job = self._read().get(job_id)
        if job is not None and job.status == JobStatus.RUNNING and not self._alive(job):
            self.reconcile()
            job = self._read().get(job_id)
        return job

    def all_jobs(self) -> list[Job]:
        jobs = self._read()
        if any(j.status == JobStatus.RUNNING and not self._alive(j) for j in jobs.values()):
            self.reconcile()
            jobs = self._read()
        return sorted(jobs.values(), key=lambda j: j.started_at, reverse=True)

    def active_count(self) -> int:
        return sum(1 for j in self.all_jobs() if j.status == JobStatus.RUNNING)

    def agents(self, job: Job) -> list[dict[str, Any]]:
        """Per-agent progress: the runtime files, `skipped` (with the reason) for agents the run
        cannot start, `starting` for the others until their file appears."""
        found = {a["signature"]: a for a in self._runtime_agents(job)}
        out = []
        for sig in job.signatures or sorted(found):
            if sig in job.skipped and sig not in found:
                out.append(
                    {
                        "signature": sig,
                        "status": "skipped",
                        "windows_done": 0,
                        "windows_total": None,
                        "skip_reason": job.skipped[sig],
                    }
                )
                continue
            out.append(
                found.pop(
                    sig,
                    {
                        "signature": sig,
                        "status": "starting",
                        "windows_done": 0,
                        "windows_total": None,
                    },
                )
            )
        out.extend(found[s] for s in sorted(found))
        return out

    def _runtime_agents(self, job: Job) -> list[dict[str, Any]]:
        directory = Path(job.runtime_dir) if job.runtime_dir else None
        if directory is None or not directory.resolve().is_relative_to(self.jobs_dir):
            return []
        out = []
        for path in sorted(directory.glob("runtime_env_*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if not isinstance(data, dict) or not isinstance(data.get("signature"), str):
                continue
            out.append(
                {
                    "signature": data["signature"],
                    "status": str(data.get("status") or "starting"),
                    "windows_done": _int_or(data.get("windows_done"), 0),
                    "windows_total": _int_or(data.get("windows_total"), None),
                    "current_window": data.get("current_window"),
                    "last_error": data.get("last_error"),
                }
            )
        return out

    def log_tail(self, job: Job, lines: int = LOG_TAIL_LINES) -> list[str]:
        path = Path(job.log_path) if job.log_path else None
        if path is None or not path.resolve().is_relative_to(self.jobs_dir):
            return []
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 16384))
                data = fh.read()
        except OSError:
            return []
        text = data.decode("utf-8", errors="replace")
        return text.splitlines()[-lines:]

    # --- stop --------------------------------------------------------------------------
    def stop(self, job_id: str) -> Job | None:
        """SIGTERM the job's process group (and any descendants), SIGKILL after the grace
        period; returns when the tree is gone. A job that is not running is returned as is."""
        job = self.get(job_id)
        if job is None or job.status != JobStatus.RUNNING or job.pid is None:
            return job
        self._update(job_id, lambda j: setattr(j, "stop_requested", True))
        targets = process_tree(job.pid, job.create_time)
        signal_all(job.pid, targets, signal.SIGTERM)
        alive = wait_gone(targets, self.grace)
        if alive:
            log.warning("job %s: %d processes ignored SIGTERM; killing", job_id, len(alive))
            signal_all(job.pid, alive, signal.SIGKILL)
            wait_gone(alive, 3.0)
        proc = self._procs.get(job_id)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=3)
            deadline = time.monotonic() + 3
            while job_id in self._procs and time.monotonic() < deadline:
                time.sleep(0.02)  # the watcher thread records the exit code

        def finish(j: Job) -> None:
            j.status = JobStatus.STOPPED
            j.ended_at = j.ended_at or now_iso()
            j.error = j.error or "stopped by request"

        return self._update(job_id, finish)

    def close(self) -> None:
        """Called at server shutdown. Runs deliberately keep going (their own sessions, output to
        files); this process's watcher threads still record exit codes while it lives, and a
        later manager adopts or reconciles them from the registry."""


def _int_or(x: Any, default: int | None) -> int | None:
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else default


def _select_signatures(
    config: Any, signatures: list[str] | None, env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The agents the run will show (the selected ones, else all of the config) and why those
    that cannot run are skipped (`env`: the child's environment). ConfigError for an unknown
    signature, or when no selected agent can run."""
    known = [m.signature for m in config.models]
    if signatures:
        unknown = [s for s in signatures if s not in known]
        if unknown:
            raise ConfigError(f"signatures: unknown signature(s) {', '.join(unknown)} in config")
        selected = list(dict.fromkeys(signatures))
    else:
        selected = known
    skipped = {}
    for m in config.models:
        reason = m.skip_reason(env) if m.signature in selected else None
        if reason is not None:
            skipped[m.signature] = reason
    if len(skipped) == len(selected):
        why = "; ".join(f"{sig}: {reason}" for sig, reason in skipped.items())
        raise ConfigError(f"signatures: no selected agent can run ({why or 'no agents'})")
    return selected, skipped
