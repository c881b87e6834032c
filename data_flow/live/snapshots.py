"""Cached, read-only access to the shared window snapshots.

Snapshot files are written once (atomically) and addressed by the content hash that ledger
records carry, so a parsed snapshot is cached by path and re-read only when its size/mtime
changes or a record asks for a different hash. Only the fields the API needs are kept.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_flow.live.tail import FileStamp

log = logging.getLogger(__name__)

NO_BAR: dict[str, float | None] = {"open": None, "high": None, "low": None, "volume": None}


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    stamp: FileStamp
    timestamp: str  # "YYYY-MM-DD HH:MM:SS", Beijing
    trade_date: str
    symbols_signature: str
    content_hash: str
    prices: dict[str, float | None]
    quote_prices: dict[str, float | None]
    """The price a holding is valued at (as `agent_engine.broker.quotes_from_snapshot` and
    `Portfolio.valuation_price`): the current price unless suspended, else the previous close;
    None when neither is known (then the holding's average cost applies)."""
    indicators: dict[str, Any]
    news: list[dict[str, Any]]
    names: dict[str, str] = field(default_factory=dict)  # optional market_data[sym]["name"]
    bars: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """open/high/low/volume of each symbol's bar of this window (for candles), when known."""
    build_ms: float | None = None  # metadata.prefetch_duration_ms
    corporate_actions: list[dict[str, Any]] = field(default_factory=list)
    """The snapshot's ``corporate_actions_effective`` (ex-date on or before its day)."""

    @property
    def symbols(self) -> list[str]:
        return list(self.prices)


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def window_bar(md: dict[str, Any]) -> dict[str, float | None] | None:
    """The symbol's own bar of the window (the `recent_bars` entry at `bar_time`).

    The top-level open/high/low/volume of a snapshot are the day's so far, so a candle per
    window is drawn from the window's bar, whose close is the window's price.
    """
    bar_time = md.get("bar_time")
    for bar in reversed(md.get("recent_bars") or []):
        if isinstance(bar, dict) and bar_time and bar.get("time") == bar_time:
            return {k: _number(bar.get(k)) for k in ("open", "high", "low", "volume")}
    return None


def _parse(path: Path, stamp: FileStamp) -> SnapshotInfo | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        log.warning("unreadable snapshot %s", path)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("market_data"), dict):
        return None
    prices: dict[str, float | None] = {}
    quote_prices: dict[str, float | None] = {}
    indicators: dict[str, Any] = {}
    names: dict[str, str] = {}
    bars: dict[str, dict[str, float | None]] = {}
    for sym, md in data["market_data"].items():
        if not isinstance(md, dict):
            continue
        price = md.get("current_price")
        prices[str(sym)] = float(price) if isinstance(price, int | float) and price > 0 else None
        quote = None if md.get("suspended") else prices[str(sym)]
        if quote is None:
            close = md.get("prev_close")
            positive = isinstance(close, int | float) and not isinstance(close, bool) and close > 0
            quote = float(close) if positive else None
        quote_prices[str(sym)] = quote
        indicators[str(sym)] = md.get("indicators")
        if isinstance(md.get("name"), str) and md["name"]:
            names[str(sym)] = md["name"]
        bar = window_bar(md)
        if bar is not None:
            bars[str(sym)] = bar
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    news = [n for n in data.get("news") or [] if isinstance(n, dict)]
    return SnapshotInfo(
        path=path,
        stamp=stamp,
        timestamp=str(data.get("timestamp", "")),
        trade_date=str(data.get("trade_date", "")),
        symbols_signature=str(data.get("symbols_signature", "|".join(sorted(prices)))),
        content_hash=str(meta.get("content_hash", "")),
        prices=prices,
        quote_prices=quote_prices,
        indicators=indicators,
        news=news,
        names=names,
        bars=bars,
        build_ms=(
            float(meta["prefetch_duration_ms"])
            if isinstance(meta.get("prefetch_duration_ms"), int | float)
            else None
        ),
        corporate_actions=[
            a for a in data.get("corporate_actions_effective") or [] if isinstance(a, dict)
        ],
    )


@dataclass
class _DayDir:
    mtime_ns: int = -1
    files: list[str] = field(default_factory=list)


class SnapshotIndex:
    """All snapshots under `<data_root>/agent_data/shared/snapshots`, parsed lazily."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root.resolve()
        self.root = self.data_root / "agent_data" / "shared" / "snapshots"
        self._cache: dict[Path, SnapshotInfo] = {}
        self._days: dict[str, _DayDir] = {}
        self._root_mtime = -1

    def load(self, path: Path, *, expected_hash: str | None = None) -> SnapshotInfo | None:
        """A snapshot by path (must lie under the snapshot root)."""
        try:
            path = path.resolve()
        except OSError:
            return None
        if not path.is_relative_to(self.root) or path.suffix != ".json":
            return None
        cached = self._cache.get(path)
        if cached is not None and (expected_hash is None or cached.content_hash == expected_hash):
            return cached
        stamp = FileStamp.of(path)
        if stamp is None:
            return None
        if cached is not None and cached.stamp == stamp:
            return cached
        info = _parse(path, stamp)
        if info is not None:
            self._cache[path] = info
        return info

    def find(self, timestamp: str, expected_hash: str | None) -> SnapshotInfo | None:
        """The snapshot of a window by its decision time, preferring the expected hash."""
        day, _, clock = timestamp.partition(" ")
        stem = clock.replace(":", "-")
        if not day or not stem:
            return None
        fallback: SnapshotInfo | None = None
        for name in self._day_files(day):
            if not name.startswith(stem + "_"):
                continue
            info = self.load(self.root / day / name, expected_hash=expected_hash)
            if info is None:
                continue
            if expected_hash is None or info.content_hash == expected_hash:
                return info
            fallback = fallback or info
        return fallback

    def _day_files(self, day: str) -> list[str]:
        directory = self.root / day
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return []
        entry = self._days.setdefault(day, _DayDir())
        if entry.mtime_ns != mtime:
            entry.files = sorted(
                e.name for e in os.scandir(directory) if e.is_file() and e.name.endswith(".json")
            )
            entry.mtime_ns = mtime
        return entry.files

    def all(self) -> list[SnapshotInfo]:
        """Every readable snapshot, oldest first (directory listings cached by mtime)."""
        try:
            days = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        except OSError:
            return []
        out: list[SnapshotInfo] = []
        for day in days:
            for name in self._day_files(day):
                info = self.load(self.root / day / name)
                if info is not None:
                    out.append(info)
        out.sort(key=lambda s: (s.timestamp, s.symbols_signature))
        return out
