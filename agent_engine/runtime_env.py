"""Per-agent runtime state file: `settings/runtime/runtime_env_<signature>.json`.

One writer (the agent process, or the orchestrator before the agent starts); readers (the
orchestrator's progress display, the API's job view) never see a half-written file because every
write is atomic. The file holds progress only, never a secret. When the environment variable
`RUNTIME_DIR` is set (read by the entry point into `settings.env.EnvSettings.runtime_dir` and
passed here), runtime files live there instead of `settings/runtime/` (tests use this).

Writes are throttled (`WRITE_INTERVAL_SECONDS`): a status change (the first state, `running`, the
final state) is written at once; other updates (progress within a run) at most once per interval,
the latest one written by a timer at the end of the interval, so the file is never more than an
interval behind and the final state is always on disk. Rewriting it every window cost ~14 % of a
replay agent's loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from data_flow.clock import now_iso
from settings.config import SETTINGS_DIR

RUNTIME_DIR_ENV = "RUNTIME_DIR"
RUNTIME_ENV_PATH_ENV = "RUNTIME_ENV_PATH"
STATUSES = ("starting", "running", "completed", "failed", "stopped")
FINAL_STATUSES = ("completed", "failed", "stopped")
WRITE_INTERVAL_SECONDS = 1.0


def runtime_dir(override: str = "") -> Path:
    """`override` (the `RUNTIME_DIR` setting) when given, else `settings/runtime/`."""
    override = override.strip()
    return Path(override).expanduser().resolve() if override else SETTINGS_DIR / "runtime"


def runtime_env_path(signature: str, directory: str = "") -> Path:
    """The runtime file of `signature` in `runtime_dir(directory)`."""
    return runtime_dir(directory) / f"runtime_env_{signature}.json"


def read_runtime_env(path: Path) -> dict[str, Any] | None:
    """The file's content, or None when it is missing or unreadable (never raises)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RuntimeEnv:
    """The in-memory state of one agent's runtime file; `update()` rewrites it atomically
    (throttled: see the module docstring; `write_interval=0` writes every update)."""

    def __init__(
        self,
        path: Path,
        *,
        signature: str,
        config_path: str | None,
        data_root: Path,
        pid: int | None,
        windows_total: int = 0,
        write_interval: float = WRITE_INTERVAL_SECONDS,
    ) -> None:
        """`pid`: the agent process (None while the orchestrator prepares its start)."""
        self.path = path
        self.write_interval = write_interval
        self.writes = 0
        self._lock = threading.Lock()
        self._written_status: str | None = None
        self._last_write = -float("inf")
        self._dirty = False
        self._timer: threading.Timer | None = None
        self.state: dict[str, Any] = {
            "signature": signature,
            "pid": pid,
            "config_path": config_path,
            "data_root": str(data_root),
            "status": "starting",
            "windows_done": 0,
            "windows_total": windows_total,
            "current_window": None,
            "updated_at": now_iso(),
            "last_error": None,
        }

    def update(self, **fields: Any) -> None:
        """Merge `fields` into the state and write the file (atomic)."""
        status = fields.get("status")
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown runtime status {status!r}")
        with self._lock:
            self.state.update(fields)
            self.state["updated_at"] = now_iso()
            self._dirty = True
            wait = self.write_interval - (time.monotonic() - self._last_write)
            if self.state["status"] != self._written_status or wait <= 0:
                self._write_locked()
            elif self._timer is None:  # write the latest state when the interval is over
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write the state now if an update is still pending."""
        with self._lock:
            if self._dirty:
                self._write_locked()

    def _write_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        write_state(self.path, self.state)
        self._written_status = self.state["status"]
        self._last_write = time.monotonic()
        self._dirty = False
        self.writes += 1


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomic (temp file + `os.replace`) but not fsynced: readers never see a partial file,
    and progress state need not survive a power cut (the records it summarizes are fsynced).
    Skipping the two fsyncs per write matters with many agents writing every window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
