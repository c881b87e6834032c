"""Test seam: the process SIGKILLs itself right after its n-th record write.

Off unless the process entry point arms it (`arm`) with the positive integer n of the
environment variable `ARENA_TEST_KILL_AFTER_WRITES` (read into `settings.env.EnvSettings`).
Then the n-th record this process writes to a decision log or a ledger (counted once the line
is flushed, for the ledger fsynced) is followed at once by
`kill -9` of the process itself: the kill-at-every-step-boundary tests use it to stop an agent
at an exact point without timing games. Nothing in a normal run sets it.
"""

from __future__ import annotations

import os
import signal

from settings.env import KILL_AFTER_WRITES_ENV

__all__ = ["KILL_AFTER_WRITES_ENV", "arm", "record_written"]

_remaining: int | None = None


def arm(text: str) -> None:
    """Kill this process after `text` (a positive integer) record writes; else stay off."""
    global _remaining
    text = text.strip()
    _remaining = int(text) if text.isdigit() and int(text) > 0 else None


def record_written() -> None:
    """Count one durable record write; SIGKILL this process at the configured one."""
    global _remaining
    if _remaining is None:
        return
    _remaining -= 1
    if _remaining <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
