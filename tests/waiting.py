"""Waiting for observable state in tests (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


def wait_for(
    check: Callable[[], T],
    timeout: float,
    what: str | None = None,
    *,
    interval: float = POLL_SECONDS,
) -> T:
    """Call `check` until it returns a truthy value, and return that value.

    `check` runs at least once, and once more when `timeout` seconds have passed (so a slow
    machine that was descheduled past the deadline still gets a last look); then the test fails
    with an AssertionError naming `what`.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            value = check()
            if value:
                return value
            name = what or getattr(check, "__qualname__", "the condition")
            raise AssertionError(f"timed out after {timeout:g}s waiting for {name}")
        time.sleep(interval)
