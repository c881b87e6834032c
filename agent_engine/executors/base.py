"""The executor interface: where and how an `AgentTask` runs.

The orchestrator only submits tasks, polls them, cancels them (a signal: SIGTERM/SIGINT asks
the agent to stop and record what it was doing, SIGKILL ends it) and waits for them. It reads
progress from the agents' runtime env files and results from their records, never from the
executor, so an executor that runs agents elsewhere (a Ray cluster on a shared data root) is a
second implementation of the same four methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agent_engine.agent_task import AgentTask


@dataclass
class AgentHandle:
    """A submitted task. `exit_code` is set by `Executor.poll`/`wait` once the agent ended
    (negative: killed by that signal); `ref` is the executor's own handle (a Popen, a Ray
    object ref)."""

    signature: str
    runtime_path: Path
    log_path: Path
    started: float
    pid: int | None = None
    ref: Any = None
    exit_code: int | None = None
    ended: float | None = None


@runtime_checkable
class Executor(Protocol):
    def submit(self, task: AgentTask) -> AgentHandle:
        """Start the task; returns at once."""
        ...

    def poll(self, handle: AgentHandle) -> int | None:
        """The exit code once the agent ended (also stored in `handle.exit_code`), else None."""
        ...

    def cancel(self, handle: AgentHandle, signum: int) -> None:
        """Deliver `signum` to the agent (and everything it started); no-op once it ended."""
        ...

    def wait(self, handle: AgentHandle, timeout: float | None = None) -> int | None:
        """Block until the agent ended (at most `timeout` seconds); its exit code or None."""
        ...
