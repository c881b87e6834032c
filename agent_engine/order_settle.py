"""When a run matches its resting orders (outside the agent's turn), no look-ahead:

- before each window at time T: first every earlier trading day not yet matched up to its
  close, with the shared snapshot of that day's 15:00 (its bars up to the 15:00 bar and that
  day's price limits) (`settle_earlier_days`); then the day's corporate actions are applied (a
  dividend goes to the holder at the previous close); then today's bars stamped in
  (last matched, T] with the window's own snapshot (`settle_today`). Records of a day's close
  go to the pseudo-window ``<day>T15:00`` (decision_count 0); records before a window go to
  that window.
- at the end of a replay run: the last day up to its 15:00 bar, so its orders resolve.

A bar is used only when its stamp (its end time) is at or before the time of processing.
Matching a bar that did not trigger again (after a resume) changes nothing, and every bar
that did trigger left a record, so resuming never fills an order twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from agent_engine.ledger import WindowRef
from agent_engine.portfolio import Portfolio
from agent_engine.resting_orders import CLOSE, OrderDesk
from data_flow.clock import SHANGHAI

log = logging.getLogger(__name__)

SnapshotAt = Callable[[datetime], tuple[Mapping[str, Any], str | None]]


def close_of(day: Any) -> datetime:
    return datetime.combine(day, CLOSE, tzinfo=SHANGHAI)


def settle_before(
    desk: OrderDesk,
    portfolio: Portfolio,
    until: datetime,
    snapshot_at: SnapshotAt,
    current: tuple[Mapping[str, Any], str | None, WindowRef] | None,
) -> list[dict[str, Any]]:
    """Match the book up to `until` (see the module docstring); `current` is the window's own
    snapshot, hash and ref (None at the end of a run: then `until` is a day's close)."""
    written = settle_earlier_days(desk, portfolio, until, snapshot_at)
    return written + settle_today(desk, portfolio, until, snapshot_at, current)


def settle_earlier_days(
    desk: OrderDesk, portfolio: Portfolio, until: datetime, snapshot_at: SnapshotAt
) -> list[dict[str, Any]]:
    """Match every trading day before `until`'s day not yet matched, up to its close."""
    written: list[dict[str, Any]] = []
    working = desk.book.working()
    if not working:
        return written
    first = min(o.placed_at for o in working).date()
    for day in desk.trading_days:
        if day < first or day >= until.date():
            continue
        moment = close_of(day)
        if not desk.needs(moment):
            continue
        snapshot, digest = snapshot_at(moment)
        _roll(portfolio, day)
        written += desk.process(snapshot, digest, WindowRef.at(moment, 0), portfolio, moment)
    return written


def settle_today(
    desk: OrderDesk,
    portfolio: Portfolio,
    until: datetime,
    snapshot_at: SnapshotAt,
    current: tuple[Mapping[str, Any], str | None, WindowRef] | None,
) -> list[dict[str, Any]]:
    """Match `until`'s own day up to `until` (after `settle_earlier_days`)."""
    written: list[dict[str, Any]] = []
    if not desk.book.working():
        return written
    if current is not None and desk.needs(until):
        snapshot, digest, ref = current
        _roll(portfolio, until.date())
        written += desk.process(snapshot, digest, ref, portfolio, until)
    elif current is None and desk.needs(until):
        snapshot, digest = snapshot_at(until)
        _roll(portfolio, until.date())
        written += desk.process(snapshot, digest, WindowRef.at(until, 0), portfolio, until)
    return written


def _roll(portfolio: Portfolio, day: Any) -> None:
    """Roll forward only: a day already passed is matched again only for bars that did not
    trigger (no fill), where the T+1 state does not matter."""
    if portfolio.last_trade_date is None or day >= portfolio.last_trade_date:
        portfolio.roll_to(day)
