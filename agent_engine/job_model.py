"""The job registry's records: a run started by `JobManager` (`Job`), its status, how an exit
code reads, and the errors a start can raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from settings.config import ArenaError


class JobStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


class ActiveRunError(ArenaError):
    """A run is already active on the same data root."""

    def __init__(self, data_root: str, holder: str) -> None:
        super().__init__(f"{holder} is already running on data root {data_root}")
        self.data_root = data_root
        self.holder = holder


class JobStartError(ArenaError):
    """The run could not be started (e.g. main.py missing)."""


@dataclass
class Job:
    job_id: str
    status: str
    pid: int | None
    config_path: str  # as given, relative to settings/
    config_file: str  # absolute path of the validated config
    data_root: str  # the run's data root (from its config)
    started_at: str
    ended_at: str | None = None
    exit_code: int | None = None
    error: str | None = None
    create_time: float | None = None
    stop_requested: bool = False
    init_date: str | None = None
    end_date: str | None = None
    signatures: list[str] = field(default_factory=list)  # the agents the run will drive
    skipped: dict[str, str] = field(default_factory=dict)  # signature -> why it cannot run
    command: list[str] = field(default_factory=list)
    log_path: str = ""
    runtime_dir: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        """A registry entry; TypeError when a field has the wrong type (entry skipped)."""
        known = set(cls.__dataclass_fields__)
        job = cls(**{k: v for k, v in d.items() if k in known})
        ints = (job.pid, job.exit_code)
        texts = (job.job_id, job.status, job.config_path, job.data_root, job.started_at)
        if (
            not all(x is None or (isinstance(x, int) and not isinstance(x, bool)) for x in ints)
            or not all(isinstance(x, str) for x in texts)
            or job.status not in set(JobStatus)
            or not isinstance(job.signatures, list)
            or not all(isinstance(x, str) for x in (job.log_path, job.runtime_dir))
            or not isinstance(job.skipped, dict)
            or not all(isinstance(v, str) for v in job.skipped.values())
        ):
            raise TypeError(f"bad registry entry {job.job_id!r}")
        return job


def exit_status(code: int, stop_requested: bool) -> JobStatus:
    if stop_requested:
        return JobStatus.STOPPED
    return JobStatus.COMPLETED if code == 0 else JobStatus.FAILED


def exit_error(code: int) -> str | None:
    if code == 0:
        return None
    if code == 2:
        return "configuration error or data root in use (exit 2); see the log"
    if code == 3:
        return "some windows had no market data (exit 3); a later run retries them; see the log"
    if code in (130, 143) or code < 0:
        return f"terminated by a signal (exit {code})"
    return f"run failed (exit {code}); see the log"
