"""How an agent process stops: SIGTERM/SIGINT/SIGHUP, and the death of its orchestrator.

A stop signal raises `StopRequested` in the main thread; the runner then records what was
interrupted and writes its final state. Under an orchestrator the agent also asks Linux for
SIGTERM when the orchestrator dies (`PR_SET_PDEATHSIG`), and an orphan guard thread backs
that up:

- the stop signal was never handled (the main thread is stuck in a call the signal does not
  interrupt): exit hard `ORPHAN_GRACE_SECONDS` after the orchestrator died;
- the stop is being handled (records are being written, maybe slowly on a busy machine): let
  it finish, for at most `ORPHAN_CLEANUP_SECONDS`.

Before a hard exit the guard calls `on_abandon`, which records a final state, so a progress
file never says `running` for an agent that is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ORPHAN_GRACE_SECONDS = 5.0
ORPHAN_CLEANUP_SECONDS = 60.0
EXIT_SIGTERM = 128 + signal.SIGTERM


class StopRequested(BaseException):
    """SIGTERM/SIGINT/SIGHUP received: stop after recording what was interrupted."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class StopSignals:
    """Turns the first SIGTERM/SIGINT/SIGHUP into `StopRequested`; later ones are ignored, so
    the clean-up the first one started can finish. `handled` tells the orphan guard that a
    stop is being recorded."""

    def __init__(self) -> None:
        self.handled = threading.Event()

    def handle(self, signum: int, _frame: object) -> None:
        if self.handled.is_set():  # already unwinding: let the cleanup finish
            return
        self.handled.set()
        raise StopRequested(signum)

    def install(self) -> StopSignals:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self.handle)
        return self


def install_stop_handlers() -> StopSignals:
    return StopSignals().install()


def die_with_parent(
    parent_pid: int | None, stops: StopSignals, on_abandon: Callable[[str], None]
) -> bool:
    """Under an orchestrator (`parent_pid` given), ask Linux to send this process SIGTERM
    when the orchestrator dies, so no agent outlives it, even a SIGKILLed one, and start the
    orphan guard. Returns False when the orchestrator is already gone."""
    if parent_pid is None:
        return True
    parent = str(parent_pid)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable", exc_info=True)
    if os.getppid() != int(parent):
        return False
    _watch_parent(int(parent), stops, on_abandon)
    return True


def _watch_parent(parent_pid: int, stops: StopSignals, on_abandon: Callable[[str], None]) -> None:
    """The orphan guard: a thread, so it works even while the main thread is stuck in a
    blocking call. Records stay valid whenever it exits: every write is an fsynced append or
    an atomic replace."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        if stops.handled.wait(ORPHAN_GRACE_SECONDS):
            time.sleep(ORPHAN_CLEANUP_SECONDS)  # the process normally exits long before
            reason = f"orchestrator died; stop not recorded within {ORPHAN_CLEANUP_SECONDS:.0f} s"
        else:
            reason = f"orchestrator died; no reaction to SIGTERM in {ORPHAN_GRACE_SECONDS:.0f} s"
        try:
            on_abandon(reason)
        except Exception:  # the exit matters more than the record
            log.exception("could not record the abandoned state")
        os._exit(EXIT_SIGTERM)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()
