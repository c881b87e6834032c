"""Per-agent runtime state file: `settings/runtime/runtime_env_<signature>.json`.

One writer (the agent process, or the orchestrator before the agent starts); readers (the
orchestrator's progress display, the API's job view) never see a half-written file because every
write is atomic. The file holds progress only, never a secret. When the environment variable
`RUNTIME_DIR` is set (read by the entry point into `settings.env.EnvSettings.runtime_dir` and
passed here), runtime files live there instead of `settings/runtime/` (tests use this).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from data_flow.clock import now_iso
from settings.config import SETTINGS_DIR

RUNTIME_DIR_ENV = "RUNTIME_DIR"
RUNTIME_ENV_PATH_ENV = "RUNTIME_ENV_PATH"
STATUSES = ("starting", "running", "completed", "failed", "stopped")
FINAL_STATUSES = ("completed", "failed", "stopped")


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
    """The in-memory state of one agent's runtime file; `update()` rewrites it atomically."""

    def __init__(
        self,
        path: Path,
        *,
        signature: str,
        config_path: str | None,
        data_root: Path,
        pid: int | None,
        windows_total: int = 0,
    ) -> None:
        """`pid`: the agent process (None while the orchestrator prepares its start)."""
        self.path = path
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
        self.state.update(fields)
        self.state["updated_at"] = now_iso()
        write_state(self.path, self.state)


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
