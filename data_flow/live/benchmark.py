"""The equal-weight benchmark ("benchmark-equal-weight"): the initial cash split equally across
the universe of the first window's snapshot, bought at that window's prices in fractional shares,
fees ignored, held to the end and valued at every window of the arena's timeline (a symbol
without a price keeps its last earlier snapshot price). Corporate actions with an ex-date after the
buy (the snapshots' ``corporate_actions_effective``) are applied once each: cash dividends
credited before tax (an index-like total return), bonus shares multiply the shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from data_flow.records.fold import AgentFold, WindowState


def _pct(equity: float, initial: float) -> float:
    return round((equity / initial - 1.0) * 100.0, 4) if initial else 0.0


def _apply_actions(
    actions: list[dict[str, Any]],
    shares: dict[str, float],
    applied: set[tuple[str, str]],
    start_day: str,
) -> float:
    """Apply the not yet applied actions after `start_day` to `shares`; returns the cash."""
    cash = 0.0
    for action in actions:
        sym, ex = str(action.get("symbol")), str(action.get("ex_date"))
        if sym not in shares or ex <= start_day or (sym, ex) in applied:
            continue
        applied.add((sym, ex))
        cash += shares[sym] * float(action.get("cash_per_share") or 0)
        shares[sym] *= 1 + float(action.get("bonus_per_share") or 0)
    return cash


def benchmark_points(
    views: Sequence[AgentFold], initial: float
) -> tuple[list[dict[str, Any]], list[tuple[str, float]]]:
    """(points, (day, equity) per window) of the benchmark over the agents' windows."""
    timeline: dict[str, tuple[WindowState, AgentFold]] = {}
    for view in views:
        for win in view.windows.values():
            timeline.setdefault(win.decision_time, (win, view))
    points: list[dict[str, Any]] = []
    days: list[tuple[str, float]] = []
    shares: dict[str, float] = {}
    cash_left = initial
    last_price: dict[str, float] = {}
    universe: str | None = None
    start_day = ""
    applied: set[tuple[str, str]] = set()
    for dtime in sorted(timeline):
        win, view = timeline[dtime]
        snap = view.snapshot_of(win)
        if snap is not None and (universe is None or snap.symbols_signature == universe):
            if universe is None:
                universe = snap.symbols_signature
                start_day = snap.trade_date
                priced = {s: p for s, p in snap.prices.items() if p}
                n = len(snap.prices)
                for sym, price in priced.items():
                    shares[sym] = initial / n / price
                cash_left = initial - initial / n * len(priced) if n else initial
            for sym, price in snap.prices.items():
                if price is not None:
                    last_price[sym] = price
            cash_left += _apply_actions(snap.corporate_actions, shares, applied, start_day)
        if universe is None:
            continue
        eq = cash_left + sum(q * last_price[s] for s, q in shares.items())
        days.append((win.day, eq))
        points.append(
            {
                "window_id": win.window_id,
                "time": dtime,
                "equity": round(eq, 2),
                "return_pct": _pct(eq, initial),
            }
        )
    return points, days
