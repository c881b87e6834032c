"""A window's market data: waiting for the replay prefetcher, retrying in live mode, and
recording a window whose snapshot could not be built.

A window without data gets a decision log (`window_start` + `window_end` with outcome
`data_unavailable`) and **no ledger record**: it is not complete, so a later run retries it (see
`runner.windows_to_run`). In live mode the snapshot is retried with back-off
(`LIVE_RETRY_FIRST_SECONDS`, doubling up to `LIVE_RETRY_MAX_SECONDS`) until the window's
deadline, the moment a window may still be started (`runner.LIVE_GRACE` after its time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from data_flow.clock import Clock, decision_time_text
from data_flow.errors import DataUnavailableError, SnapshotError
from data_flow.records.models import (  # the outcome: not complete, retried by a later run
    OUTCOME_DATA_UNAVAILABLE,
    window_end_fields,
)

DATA_ERRORS = (DataUnavailableError, SnapshotError)
LIVE_RETRY_FIRST_SECONDS = 5.0
LIVE_RETRY_MAX_SECONDS = 60.0
PREFETCH_WAIT_SECONDS = 0.5

T = TypeVar("T")


def await_prefetch(path: Path) -> None:
    """Replay with the orchestrator's prefetcher: give it a moment to create the window's
    snapshot file before building it here (an agent that builds loads pandas/ta for the rest
    of its life). The prefetcher normally holds the window's lock already (then the store
    waits on it); this covers the instant between two of its windows."""
    deadline = time.monotonic() + PREFETCH_WAIT_SECONDS
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.005)


def with_live_retry(
    build: Callable[[], T],
    clock: Clock,
    deadline: datetime | None,
    on_retry: Callable[[Exception, datetime], None] | None = None,
) -> T:
    """`build()`; on a data error (DataUnavailableError, SnapshotError) and with a `deadline`
    (live mode), sleep on `clock` with back-off (5, 10, 20, 40, 60, 60, ... s, the last sleep
    ending at the deadline) and try again; past the deadline the last error is raised.
    `on_retry(error, wake_at)` is told before each sleep."""
    delay = LIVE_RETRY_FIRST_SECONDS
    while True:
        try:
            return build()
        except DATA_ERRORS as err:
            if deadline is None:
                raise
            now = clock.now()
            if now >= deadline:
                raise
            wake = min(now + timedelta(seconds=delay), deadline)
            if on_retry is not None:
                on_retry(err, wake)
            clock.sleep_until(wake)
            delay = min(delay * 2, LIVE_RETRY_MAX_SECONDS)


def log_data_unavailable(
    log_path: Path,
    *,
    signature: str,
    provider: str,
    model: str,
    window: Any,
    reason: str,
    cash: float,
) -> None:
    """The decision log of a window without a snapshot: window_start + window_end (outcome
    `data_unavailable`), appended as a new attempt."""
    from agent_engine.decision_log import DecisionLog, count_attempts

    with DecisionLog(log_path) as dlog:
        dlog.event(
            "window_start",
            signature=signature,
            provider=provider,
            model=model,
            window_id=window.window_id,
            decision_time=decision_time_text(window.moment),
            decision_index=window.decision_index,
            decisions_per_day=window.decisions_per_day,
            snapshot_path=None,
            snapshot_hash=None,
            attempt=count_attempts(log_path) + 1,
        )
        dlog.event(
            "window_end",
            **window_end_fields(OUTCOME_DATA_UNAVAILABLE, reason, equity=None, cash=cash),
        )
