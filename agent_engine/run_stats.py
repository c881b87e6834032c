"""What one agent run measured: `RunStats` and the process's own resource figures
(reported in the manifest's `run_end`)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEAVY_MODULES = ("pandas", "ta", "akshare", "exchange_calendars", "openai", "anthropic")
"""Reported in run_end: an agent should load only the SDK it uses, and pandas/ta/akshare only
when it built a snapshot itself."""


@dataclass
class RunStats:
    windows_total: int = 0
    windows_done: int = 0
    windows_already_done: int = 0
    windows_run: int = 0
    windows_skipped: int = 0
    windows_passed: int = 0
    snapshots_built: int = 0
    data_unavailable: int = 0
    startup_seconds: float | None = None
    decision_seconds: float = 0.0
    snapshot_seconds: float = 0.0
    loop_cpu_started: float | None = None
    """CPU seconds of this process when its first window could start (bench/bench_scale.py)."""
    processed: list[str] = field(default_factory=list)


def seconds_since_process_start(spawn_time: float | None) -> float | None:
    """Wall time since this process was spawned: from `spawn_time` (the task's, set by the
    orchestrator just before it starts the process), else from /proc (Linux), else None."""
    if spawn_time is not None:
        return max(0.0, time.time() - spawn_time)
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime since boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def peak_rss_kb() -> int | None:
    """This process's own peak resident set size in kB: `VmHWM` of /proc/self/status.
    (`ru_maxrss` is only the fallback where /proc is missing: Linux carries it over fork and
    exec, so an agent would report its orchestrator's peak.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):
        return None


def cpu_seconds() -> float:
    t = os.times()
    return round(t.user + t.system, 3)


def run_end_fields(st: RunStats) -> dict[str, Any]:
    """The measurements of a run that its manifest's `run_end` records (besides the status,
    `windows_done` and the error)."""
    return {
        "windows_total": st.windows_total,
        "windows_already_done": st.windows_already_done,
        "windows_run": st.windows_run,
        "windows_skipped": st.windows_skipped,
        "windows_passed": st.windows_passed,
        "snapshots_built": st.snapshots_built,
        "data_unavailable": st.data_unavailable,
        "startup_ms": None if st.startup_seconds is None else round(st.startup_seconds * 1e3),
        "decision_seconds": round(st.decision_seconds, 3),
        "snapshot_seconds": round(st.snapshot_seconds, 3),
        "peak_rss_kb": peak_rss_kb(),
        "cpu_seconds": cpu_seconds(),
        "loop_cpu_seconds": None
        if st.loop_cpu_started is None
        else round(cpu_seconds() - st.loop_cpu_started, 3),
        "heavy_modules": [m for m in HEAVY_MODULES if m in sys.modules],
    }
