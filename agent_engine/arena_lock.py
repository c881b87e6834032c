"""One arena per data root: the orchestrator holds `<data_root>/.arena.lock` for its whole run.

The lock file lives inside the data root itself, so every spelling of the root (`runs/../runs/x`,
a symlink, another `RUNTIME_DIR`) meets the same file. Beside it `.arena.holder.json` names the
holder (pid, process start time, start time, job id, command) for the error a second
orchestrator or the API shows. The holder file is only a description: the lock is the truth
(it is released by the kernel when the holder dies, even by SIGKILL); a reader trusts the holder
file only while its pid is alive and is the same process (start time).

Agent processes never take this lock (they lock their own `agent.lock`); they also do not
inherit it (Python file descriptors are not inheritable).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock, Timeout

from data_flow.clock import now_iso
from data_flow.fsio import atomic_write_json
from settings.config import ArenaError

LOCK_NAME = ".arena.lock"
HOLDER_NAME = ".arena.holder.json"
ACQUIRE_TIMEOUT_SECONDS = 1.0
"""A second orchestrator waits this long for the lock before giving up (covers a holder that is
just exiting, not a running arena)."""
HOLDER_WAIT_SECONDS = 3.0


class ArenaBusyError(ArenaError):
    """Another orchestrator holds the data root's arena lock."""

    def __init__(self, data_root: Path, holder: dict[str, Any] | None) -> None:
        self.data_root = data_root
        self.holder = holder
        super().__init__(
            f"data root {data_root} is in use by {describe_holder(holder)}; "
            "wait for it to finish or stop it"
        )


def real_root(data_root: Path) -> Path:
    """The data root as one canonical path (symlinks and `..` resolved)."""
    return Path(os.path.realpath(data_root))


def describe_holder(holder: dict[str, Any] | None) -> str:
    """`job <id> (main.py pid N, started T)` or `main.py pid N (started T: <command>)`."""
    if not holder:
        return "another main.py run (holder unknown)"
    pid, since = holder.get("pid"), holder.get("started_at") or "?"
    job_id = holder.get("job_id")
    if job_id:
        return f"job {job_id} (main.py pid {pid}, started {since})"
    command = " ".join(str(c) for c in holder.get("command") or [])
    return f"main.py pid {pid} (started {since}: {command})"


def read_holder(data_root: Path) -> dict[str, Any] | None:
    """The holder of the root's arena lock when that process is alive, else None.

    Reads the holder file only (it never touches the lock, so it cannot disturb a starting run).
    """
    path = real_root(data_root) / HOLDER_NAME
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        return None
    try:
        proc = psutil.Process(holder["pid"])
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        created = holder.get("create_time")
        if isinstance(created, int | float) and abs(proc.create_time() - created) > 1.0:
            return None  # the pid now belongs to another process
    except psutil.Error:
        return None
    return holder


def _wait_for_holder(root: Path) -> dict[str, Any] | None:
    """The holder, allowing a holder that has just taken the lock time to describe itself."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    holder = read_holder(root)
    while holder is None and time.monotonic() < deadline:
        time.sleep(0.05)
        holder = read_holder(root)
    return holder


class ArenaLock:
    """`acquire()` (ArenaBusyError when held elsewhere) … `release()`; also a context manager."""

    def __init__(
        self, data_root: Path, *, command: list[str] | None = None, job_id: str | None = None
    ) -> None:
        self.root = real_root(data_root)
        self.command = list(command or [])
        self.job_id = job_id or None  # the API job running this (EnvSettings.job_id)
        self._lock = FileLock(str(self.root / LOCK_NAME), thread_local=False)
        self.holder: dict[str, Any] | None = None

    def acquire(self, timeout: float = ACQUIRE_TIMEOUT_SECONDS) -> ArenaLock:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise ArenaBusyError(self.root, _wait_for_holder(self.root)) from None
        pid = os.getpid()
        try:
            create_time: float | None = psutil.Process(pid).create_time()
        except psutil.Error:
            create_time = None
        self.holder = {
            "pid": pid,
            "create_time": create_time,
            "started_at": now_iso(),
            "job_id": self.job_id,
            "command": self.command,
            "data_root": str(self.root),
        }
        try:
            atomic_write_json(self.root / HOLDER_NAME, self.holder)
        except OSError:
            self._lock.release()
            raise
        return self

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        with contextlib.suppress(OSError):
            (self.root / HOLDER_NAME).unlink()
        self._lock.release()

    def __enter__(self) -> ArenaLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()
