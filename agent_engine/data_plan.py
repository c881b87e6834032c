"""What the configured market data covers, for the plan `main.py` prints before a run.

A forecast from the source (`Coverage`: exact days for files, "from 2023-01-03" for demo, unknown
for akshare until fetched). The snapshot builder still decides window by window: a window whose
snapshot cannot be built is recorded as `data_unavailable` in its decision log, is not complete,
and a later run retries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from data_flow.errors import DataUnavailableError
from data_flow.sources.base import Coverage, source_coverage
from settings.config import ArenaConfig

MAX_RANGES_SHOWN = 8


@dataclass
class DataPlan:
    """The coverage of the run's trading days; `source` is kept for the snapshot prefetcher
    (files are parsed once)."""

    coverage: Coverage | None
    missing_days: list[date] = field(default_factory=list)
    error: str | None = None
    source: Any = None


def plan_data(config: ArenaConfig, trading_days: Sequence[date]) -> DataPlan:
    """Ask the configured source which of `trading_days` it has bars for (cheap for files and
    demo; akshare says unknown). Unreadable data is reported, not raised: every window will
    then lack data and be recorded as such."""
    from data_flow.sources import make_source

    source = make_source(config)
    try:
        coverage = source_coverage(source, list(config.symbols))
    except DataUnavailableError as err:
        return DataPlan(None, list(trading_days), str(err), source)
    missing = [d for d in trading_days if coverage.has(d) is False]
    return DataPlan(coverage, missing, None, source)


def day_ranges(days: Sequence[date], trading_days: Sequence[date]) -> list[str]:
    """`days` as runs of consecutive trading days: ["2026-01-19 .. 2026-01-30", "2026-02-03"]."""
    index = {d: i for i, d in enumerate(trading_days)}
    runs: list[list[date]] = []
    for d in days:
        if runs and index.get(d, -2) == index.get(runs[-1][-1], -9) + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return [f"{r[0]} .. {r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]


def format_data_plan(
    plan: DataPlan, trading_days: Sequence[date], windows_per_day: int
) -> list[str]:
    """The plan's lines about data coverage and the trading days that will lack data."""
    cov = plan.coverage
    if plan.error is not None:
        head = f"  data coverage: none readable ({plan.error})"
    elif cov is None or not cov.known:
        note = cov.note if cov is not None and cov.note else "unknown"
        return [
            f"  data coverage: {note}; a window without data is recorded as data_unavailable, "
            "not complete, and retried by a later run"
        ]
    elif cov.days is not None and not cov.days:
        head = f"  data coverage: no bars for the configured symbols ({cov.note})"
    else:
        first = "" if cov.first is None else str(cov.first)
        span = (
            f"{first} .. {cov.last}" if cov.last is not None else f"every trading day from {first}"
        )
        head = f"  data coverage: {span} ({cov.note})" if cov.note else f"  data coverage: {span}"
    if not plan.missing_days:
        return [head + "; every planned trading day has data"]
    ranges = day_ranges(plan.missing_days, trading_days)
    shown = ", ".join(ranges[:MAX_RANGES_SHOWN])
    if len(ranges) > MAX_RANGES_SHOWN:
        shown += f", … ({len(ranges) - MAX_RANGES_SHOWN} more)"
    n = len(plan.missing_days)
    return [
        head,
        f"  no data for {n} of {len(trading_days)} trading day(s) ({n * windows_per_day} "
        f"window(s) per agent): {shown}; each such window is recorded as data_unavailable, "
        "not complete, and a later run retries it (unless the agent has completed a later "
        "window)",
    ]
