"""The agent process around `runner.run_task`: stop signals, the parent watchdog, PDEATHSIG.

`agent_main` is the body of `ONLY_SIGNATURE=<sig> python main.py` (the subprocess executor's
children): it checks that the agent can run, installs the stop handlers, makes sure it cannot
outlive its orchestrator, then runs the task in this process.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent_engine.agent_task import AgentTask

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
ORPHAN_GRACE_SECONDS = 5.0


class StopRequested(BaseException):
    """SIGTERM/SIGINT/SIGHUP received: stop after recording what was interrupted."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class StopSignals:
    """Turns the first SIGTERM/SIGINT/SIGHUP into `StopRequested`; later ones are ignored, so
    the clean-up the first one started can finish."""

    def __init__(self) -> None:
        self.stopping = False

    def handle(self, signum: int, _frame: object) -> None:
        if self.stopping:  # already unwinding: let the cleanup finish
            return
        self.stopping = True
        raise StopRequested(signum)

    def install(self) -> StopSignals:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self.handle)
        return self


def install_stop_handlers() -> StopSignals:
    return StopSignals().install()


def die_with_parent(parent_pid: int | None) -> bool:
    """Under an orchestrator (`parent_pid` given), ask Linux to send this process SIGTERM
    when the orchestrator dies, so no agent outlives it, even a SIGKILLed one. Returns False
    when the orchestrator is already gone."""
    if parent_pid is None:
        return True
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable", exc_info=True)
    if os.getppid() != parent_pid:
        return False
    watch_parent(parent_pid)
    return True


def watch_parent(parent_pid: int) -> None:
    """Backstop to PR_SET_PDEATHSIG (and the only guard where it does not exist): once the
    orchestrator is gone, give the SIGTERM clean-up `ORPHAN_GRACE_SECONDS`, then exit hard.
    A thread, so it works even while the main thread is stuck in a blocking call. Records stay
    valid: every write is an fsynced append or an atomic replace."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        time.sleep(ORPHAN_GRACE_SECONDS)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


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
    install_stop_handlers()
    if not die_with_parent(task.parent_pid):
        sys.stderr.write("error: the orchestrator is gone; not starting\n")
        return 128 + signal.SIGTERM
    from agent_engine.runner import make_clock, run_task

    try:
        return run_task(task, make_clock(task.config), progress=print_progress)
    except StopRequested as stop:  # arrived before run_task's own handler was in place
        return 128 + stop.signum
