"""Supervision of a run's agents: wait for them through their executor, print progress.

Progress comes from the agents' runtime env files (`runtime_env.py`), not from the executor,
so every executor is supervised the same way.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent_engine.executors.base import AgentHandle, Executor
from agent_engine.runtime_env import FINAL_STATUSES, read_runtime_env, write_state
from data_flow.clock import now_iso

EXIT_NO_DATA = 3
POLL_SECONDS = 0.2
PROGRESS_INTERVAL_SECONDS = 5.0
PER_AGENT_PROGRESS_MAX = 12
"""Up to this many agents the progress line lists each; above, it shows totals."""


class StopFlag:
    """The orchestrator's stop request: the first signal and the SIGKILL deadline."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deadline: float | None = None
        self.announced = False


def supervise(
    executor: Executor,
    agents: list[AgentHandle],
    stop: StopFlag,
    interval: float,
    started: float,
    emit: Callable[[str], None],
) -> None:
    """Wait for the agents, printing progress: a line when an agent's status changes, else at
    most every `interval` seconds when something moved. Processes are polled every
    POLL_SECONDS; runtime env files are read at most every `_read_interval` (it grows with the
    number of agents, so supervising 100 agents stays cheap)."""
    last_line = ""
    last_print = 0.0
    last_read = -1e9
    last_statuses: dict[str, str] = {}
    read_every = _read_interval(len(agents))
    while True:
        alive, exited = 0, False
        were_running = sum(a.exit_code is None for a in agents)
        for a in agents:
            if a.exit_code is None:
                if executor.poll(a) is None:
                    alive += 1
                else:
                    exited = True
                    _settle_runtime_env(a)
        now = time.monotonic()
        if stop.signum is not None and not stop.announced:
            stop.announced = True
            emit(
                f"received {signal.Signals(stop.signum).name}: stopping {were_running} running "
                f"agent(s) (SIGKILL after {max(0.0, (stop.deadline or now) - now):.0f} s)"
            )
        if exited or alive == 0 or now - last_read >= read_every:
            last_read = now
            states = {a.signature: read_runtime_env(a.runtime_path) or {} for a in agents}
            statuses = {a.signature: _live_status(a, states[a.signature]) for a in agents}
            changed = statuses != last_statuses
            if len(agents) > PER_AGENT_PROGRESS_MAX and changed:
                for a in agents:
                    new = statuses[a.signature]
                    if new in FINAL_STATUSES and last_statuses.get(a.signature) != new:
                        emit(f"[{now - started:6.1f}s] agent {a.signature} {new}")
            line = _progress_line(agents, states, statuses)
            if line != last_line and (changed or now - last_print >= interval or alive == 0):
                emit(f"[{now - started:6.1f}s] {line}")
                last_line, last_print = line, now
            last_statuses = statuses
        if alive == 0:
            return
        if stop.deadline is not None and now > stop.deadline:
            emit(f"agents still running {int(now - started)} s in: sending SIGKILL")
            for a in agents:
                executor.cancel(a, signal.SIGKILL)
            stop.deadline = None
        time.sleep(POLL_SECONDS)


def _read_interval(n_agents: int) -> float:
    return max(POLL_SECONDS, 0.02 * n_agents)


def _settle_runtime_env(agent: AgentHandle) -> None:
    """An agent that died without writing its final status (SIGKILL, crash at start-up):
    record it in its runtime env file for the progress readers (the agent is gone, so this
    process is the only writer now)."""
    state = read_runtime_env(agent.runtime_path) or {}
    if state.get("status") in FINAL_STATUSES or agent.exit_code is None:
        return
    status = _final_status(agent.exit_code, state)
    code = agent.exit_code
    reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    state.update(status=status, last_error=state.get("last_error") or reason, updated_at=now_iso())
    with contextlib.suppress(OSError):
        write_state(agent.runtime_path, state)


def _live_status(agent: AgentHandle, state: dict[str, Any]) -> str:
    if agent.exit_code is None:
        return str(state.get("status") or "starting")
    return _final_status(agent.exit_code, state)


def _final_status(exit_code: int, state: dict[str, Any]) -> str:
    if exit_code in (0, EXIT_NO_DATA):  # 3: completed, some windows had no data
        return "completed"
    if exit_code in (130, 143, -signal.SIGINT, -signal.SIGTERM):
        return "stopped"
    return "failed"


def _progress_line(
    agents: Sequence[AgentHandle], states: dict[str, dict[str, Any]], statuses: dict[str, str]
) -> str:
    """Windows done per agent; above PER_AGENT_PROGRESS_MAX agents, totals and counts."""
    if len(agents) > PER_AGENT_PROGRESS_MAX:
        done = [int(states[a.signature].get("windows_done") or 0) for a in agents]
        total = sum(int(states[a.signature].get("windows_total") or 0) for a in agents)
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return (
            f"progress: {len(agents)} agents, {sum(done)}/{total} windows "
            f"(per agent {min(done)}..{max(done)}); {by_status}"
        )
    parts = []
    for a in agents:
        st = states[a.signature]
        text = f"{a.signature} {st.get('windows_done', 0)}/{st.get('windows_total', '?')}"
        if statuses[a.signature] != "running":
            text += f" {statuses[a.signature]}"
        parts.append(text)
    return "progress: " + " | ".join(parts)
