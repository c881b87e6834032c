"""Everything experiments read from a cell's records, in one place (so that the reading can
move to a shared records package without touching the statistics).

It uses the API's readers (`data_flow.live.store.LiveStore`: the ledger valued at each
window's snapshot prices, the equal-weight benchmark, round-trip win rate) and the decision
logs' `window_start` lines (the snapshot hash each window decided on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_flow.live.economics import Economics, read_economics
from data_flow.live.snapshots import SnapshotIndex
from data_flow.live.store import LiveStore
from data_flow.records.paths import log_files, manifest_path
from data_flow.records.read import read_events


@dataclass(frozen=True)
class Point:
    time: str  # decision time, "YYYY-MM-DD HH:MM:SS"
    equity: float

    @property
    def day(self) -> str:
        return self.time[:10]


@dataclass(frozen=True)
class RunRecords:
    signature: str
    initial: float
    points: tuple[Point, ...]  # one per window, market valuation
    benchmark: tuple[Point, ...]  # equal-weight buy-and-hold of the universe, same windows
    win_rate_pct: float | None  # closed round trips, fees included
    round_trips: int
    trades: int
    snapshot_hashes: dict[str, str | None]  # decision time -> hash in the decision log


def read_run(cell_root: Path, snapshot_root: Path, signature: str) -> RunRecords:
    """The records of one agent in one cell. KeyError when it has no ledger yet."""
    store = LiveStore(cell_root, snapshot_root=snapshot_root)
    series = json.loads(store.pnl_series(signature, "market").raw)
    stats = json.loads(store.model_stats(signature).raw)["data"][0]
    points = tuple(Point(p["time"], float(p["equity"])) for p in series["series"][0]["points"])
    bench = tuple(Point(p["time"], float(p["equity"])) for p in series["benchmark"]["points"])
    return RunRecords(
        signature=signature,
        initial=float(stats["initial_cash"]),
        points=points,
        benchmark=bench,
        win_rate_pct=stats["win_rate_pct"],
        round_trips=int(stats["round_trips"]),
        trades=int(stats["trades"]),
        snapshot_hashes=decision_log_hashes(cell_root, signature),
    )


def read_usage(
    cell_root: Path, snapshot_root: Path, signature: str
) -> tuple[dict[str, Any], list[float], Economics]:
    """One agent's model-stats item in one cell (tokens, decisions, cost, PnL net of cost,
    post-cutoff figures), the latency of every model call in its decision logs (retried
    attempts included, as model-stats counts them), and its pricing and knowledge cutoff (the
    config of its last `run_start`)."""
    store = LiveStore(cell_root, snapshot_root=snapshot_root)
    item = json.loads(store.model_stats(signature).raw)["data"][0]
    latencies = [
        float(event["latency_ms"])
        for path in log_files(cell_root, signature)
        for event in read_events(path)
        if event.get("type") == "model_call" and isinstance(event.get("latency_ms"), int | float)
    ]
    return item, latencies, read_economics(manifest_path(cell_root, signature), signature)


def decision_log_hashes(cell_root: Path, signature: str) -> dict[str, str | None]:
    """Decision time -> the snapshot hash of the window's last `window_start` line."""
    out: dict[str, str | None] = {}
    for path in log_files(cell_root, signature):
        for event in read_events(path):
            if event.get("type") == "window_start":
                out[str(event.get("decision_time"))] = event.get("snapshot_hash")
    return out


def store_hashes(snapshot_root: Path) -> dict[str, str]:
    """Decision time -> content hash of every snapshot in a period's store."""
    return {s.timestamp: s.content_hash for s in SnapshotIndex(snapshot_root).all()}


def hash_mismatches(
    logged: dict[str, str | None], store: dict[str, str]
) -> list[tuple[str, str | None, str | None]]:
    """(decision time, logged hash, store hash) of every window that did not decide on the
    store's snapshot."""
    return [(t, h, store.get(t)) for t, h in sorted(logged.items()) if store.get(t) != h]
