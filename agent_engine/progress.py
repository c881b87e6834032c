"""Progress lines of one agent run (printed by the agent process, so they land in
`agent_data/<signature>/agent.log` under the orchestrator, or on the terminal with
`ONLY_SIGNATURE=<signature> python main.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def plan_line(
    signature: str, window_ids: Sequence[str], complete: int, todo: int, passed: int
) -> str:
    span = f" {window_ids[0]} .. {window_ids[-1]}" if window_ids else ""
    text = f"{signature}: {len(window_ids)} window(s){span}; {complete} complete, {todo} to run"
    if passed:
        text += f", {passed} passed (no record, before the last complete window: not retried)"
    return text


def window_line(
    signature: str, window_id: str, outcome: Any, cash: Decimal, done: int, total: int
) -> str:
    """A window that ran; `outcome` is loop.WindowOutcome."""
    return (
        f"{signature} {window_id}: {outcome.outcome}, {outcome.trades} trade(s), "
        f"{outcome.rejected_orders} rejected, {outcome.llm_errors} LLM error(s), "
        f"cash {cash:,.2f}; {done}/{total} complete"
    )


def no_data_line(signature: str, window_id: str, error: Exception, done: int, total: int) -> str:
    return (
        f"{signature} {window_id}: no data ({error}); not complete, a later run retries it; "
        f"{done}/{total} complete"
    )


def retry_line(signature: str, window_id: str, error: Exception, wake: datetime) -> str:
    return f"{signature} {window_id}: no data yet ({error}); retrying at {wake:%H:%M:%S}"


def final_line(
    signature: str, status: str, stats: Any, records: Path, error: str | None = None
) -> str:
    """The last line of a run; `stats` is runner.RunStats."""
    text = (
        f"{signature} {status}: {stats.windows_done}/{stats.windows_total} window(s) complete; "
        f"this run: {stats.windows_run} run, {stats.data_unavailable} without data"
    )
    if stats.windows_skipped:
        text += f", {stats.windows_skipped} skipped (past, live mode)"
    text += f"; records in {records}"
    return text + (f"; error: {error}" if error and status == "failed" else "")
