"""The agent process around `runner.run_task`: stop signals, the parent watchdog, PDEATHSIG.

`agent_main` is the body of `ONLY_SIGNATURE=<sig> python main.py` (the subprocess executor's
children): it checks that the agent can run, installs the stop handlers, makes sure it cannot
outlive its orchestrator, then runs the task in this process.
"""

from __future__ import annotations

import logging
import signal
import sys
from functools import partial
from pathlib import Path
from typing import Any

from agent_engine.agent_task import AgentTask
from agent_engine.stop_signals import StopRequested, die_with_parent, install_stop_handlers

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def record_abandoned(rt_path: Path, reason: str) -> None:
    """The orphan guard is about to end this process: leave a final state (`stopped`) in the
    runtime env file unless the run already wrote one."""
    from agent_engine.runtime_env import FINAL_STATUSES, read_runtime_env, write_state
    from data_flow.clock import now_iso

    state = read_runtime_env(rt_path)
    if state is None or state.get("status") in FINAL_STATUSES:
        return
    state.update(
        status="stopped", last_error=state.get("last_error") or reason, updated_at=now_iso()
    )
    write_state(rt_path, state)


def lock_agent(directory: Path, data_root: Path) -> tuple[bool, Any]:
    """One process per agent and data root, so its records have a single writer: holds
    `<directory>/agent.lock`.

    Returns (False, None) when another process holds the agent; (True, None) when no lock
    file can be made (the run goes on and meets, and reports, the same disk problem)."""
    from filelock import FileLock, Timeout

    path = directory / "agent.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path), timeout=0, thread_local=False)
        lock.acquire()
    except Timeout:
        msg = f"agent {directory.name} is already running on {data_root} (lock {path})"
        log.error("%s", msg)
        sys.stderr.write(f"error: {msg}\n")
        return False, None
    except OSError:
        log.warning("cannot lock %s", path, exc_info=True)
        return True, None
    return True, lock


def print_progress(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def agent_main(task: AgentTask) -> int:
    """Body of an agent process: check the agent can run, then `run_task` in-process."""
    from settings.config import ArenaError

    signature = task.signature
    logging.basicConfig(
        level=logging.WARNING,
        format=f"%(asctime)s {signature} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        model = task.config.model(signature)
    except ArenaError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_CONFIG
    reason = model.skip_reason()
    if reason is not None:
        sys.stderr.write(f"error: {signature} cannot run: {reason}\n")
        return EXIT_CONFIG
    stops = install_stop_handlers()
    on_abandon = partial(record_abandoned, task.runtime_path)
    if not die_with_parent(task.parent_pid, stops, on_abandon):
        sys.stderr.write("error: the orchestrator is gone; not starting\n")
        return 128 + signal.SIGTERM
    from agent_engine.runner import make_clock, run_task

    try:
        return run_task(task, make_clock(task.config), progress=print_progress)
    except StopRequested as stop:  # arrived before run_task's own handler was in place
        return 128 + stop.signum
