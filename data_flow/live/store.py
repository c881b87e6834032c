"""LiveStore: the API's read model over one data root.

Each request calls `refresh()` (a directory scan of `agent_data/` plus one `stat` per agent
ledger and per unfinished decision log); parsing happens only for appended bytes. Responses for
the hot endpoints are cached as serialized JSON keyed by the versions of the data they depend on,
so a repeated request with no new records costs a few stats and a dict lookup.

Valuation rules:
- market: each window's equity as the records define it (`data_flow.records.fold`): the
  `window_end` equity the agent recorded, else the positions valued at that window's snapshot
  (a suspended symbol at its previous close, else its average cost). Never a later price.
  `current-positions` shows each holding at the last earlier snapshot price it had.
- cost: holdings at average cost (avg_price includes buy fees), so equity moves only with fees and
  realized PnL.
- benchmark ("benchmark-equal-weight"): the initial cash split equally across the universe of
  the first window's snapshot, bought at that window's prices in fractional shares, fees ignored,
  held to the end and valued like `market` at every window of the arena's timeline.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from data_flow.live.agents import AgentView, WindowState, as_float
from data_flow.live.benchmark import benchmark_points
from data_flow.live.corporate import corporate_actions_response
from data_flow.live.decisions import decision_item, page
from data_flow.live.economics import EconomicsCache
from data_flow.live.endpoints import (
    ModelInfo,
    news_response,
    now_text,
    pct,
    positions_response,
    stats_dict,
    stats_item,
    stock_detail_response,
)
from data_flow.live.endpoints import Series as _Series
from data_flow.live.metrics import series_stats
from data_flow.live.orders import orders_response
from data_flow.live.snapshots import SnapshotIndex
from data_flow.live.tail import FileStamp
from data_flow.live.trades import trades_response
from data_flow.textsafe import utf8

BENCHMARK_SIGNATURE = "benchmark-equal-weight"
SIGNATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DECISION_CACHE_SIZE = 4096


def dumps(obj: Any) -> bytes:
    return utf8(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


class Body:
    """A serialized JSON response, with its gzip form made on first demand (then reused)."""

    __slots__ = ("_gzip", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._gzip: bytes | None = None

    @property
    def gzip(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.raw, compresslevel=5, mtime=0)
        return self._gzip


class LiveStore:
    def __init__(
        self,
        data_root: Path,
        *,
        model_info: ModelInfo | None = None,
        default_initial_cash: float = 1_000_000.0,
        min_refresh_interval: float = 0.0,
        snapshot_root: Path | None = None,
    ) -> None:
        self.data_root = data_root.resolve()
        self.agent_root = self.data_root / "agent_data"
        # `log_config.snapshot_root` of the run when it keeps snapshots outside the data root.
        self.snapshots = SnapshotIndex(snapshot_root or self.data_root)
        self._model_info = model_info or (lambda _sig: (None, None))
        self._default_initial = default_initial_cash
        self._min_interval = min_refresh_interval
        self._lock = threading.RLock()
        self._agents: dict[str, AgentView] = {}
        self._agent_dir_mtime = -1
        self._last_refresh = 0.0
        self.version = 0
        self._series: dict[str, _Series] = {}
        self._responses: dict[tuple[Any, ...], tuple[tuple[Any, ...], Body]] = {}
        self._benchmark: tuple[int, dict[str, Any], Any] | None = None
        # (signature, window_id) -> (stamp, item, serialized size)
        self._decisions: OrderedDict[tuple[str, str], tuple[Any, dict[str, Any], int]] = (
            OrderedDict()
        )
        self._economics = EconomicsCache()

    # --- refresh -----------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> int:
        with self._lock:
            now = time.monotonic()
            if not force and self._min_interval and now - self._last_refresh < self._min_interval:
                return self.version
            self._last_refresh = now
            changed = self._discover()
            for view in self._agents.values():
                changed |= view.poll()
            if changed:
                self.version += 1
            return self.version

    def _discover(self) -> bool:
        try:
            mtime = os.stat(self.agent_root).st_mtime_ns
        except OSError:
            if self._agents:
                self._agents.clear()
                return True
            return False
        if mtime == self._agent_dir_mtime:
            return False
        self._agent_dir_mtime = mtime
        names = set()
        for entry in os.scandir(self.agent_root):
            if entry.is_dir() and entry.name != "shared" and SIGNATURE_RE.match(entry.name):
                names.add(entry.name)
        changed = False
        for name in sorted(names - self._agents.keys()):
            self._agents[name] = AgentView(self.data_root, name, self.snapshots)
            changed = True
        for name in list(self._agents.keys() - names):
            del self._agents[name]
            changed = True
        return changed

    def signatures(self) -> list[str]:
        with self._lock:
            return sorted(s for s, v in self._agents.items() if v.initial_cash is not None)

    def agent_views(self) -> list[AgentView]:
        """The agents with a seeded ledger, refreshed (for metrics; read them under no lock)."""
        with self._lock:
            self.refresh()
            return self._views(None)

    def has_agent(self, signature: str) -> bool:
        with self._lock:
            view = self._agents.get(signature)
            return view is not None and view.initial_cash is not None

    def _views(self, signature: str | None) -> list[AgentView]:
        if signature is not None:
            view = self._agents.get(signature)
            if view is None or view.initial_cash is None:
                raise KeyError(signature)
            return [view]
        return [
            self._agents[s]
            for s in sorted(self._agents)
            if self._agents[s].initial_cash is not None
        ]

    # --- series ------------------------------------------------------------------------
    def _series_of(self, view: AgentView) -> _Series:
        cached = self._series.get(view.signature)
        if cached is not None and cached.version == view.version:
            return cached
        initial = view.initial_cash or self._default_initial
        last_price: dict[str, float] = {}
        market: list[dict[str, Any]] = []
        cost: list[dict[str, Any]] = []
        days: list[tuple[str, float]] = []
        for win in sorted(view.windows.values(), key=lambda w: w.decision_time):
            snap = view.snapshot_of(win)
            if snap is not None:
                for sym, price in snap.prices.items():
                    if price is not None:
                        last_price[sym] = price
            cash = win.cash
            cv = 0.0
            for h in win.holdings().values():
                cv += as_float(h.get("shares")) * as_float(h.get("avg_price"))
            # market: the records' single definition of equity (data_flow.records.fold)
            equity = view.window_equity(win)
            eq_m = float(equity) if equity is not None else (days[-1][1] if days else initial)
            eq_c = cash + cv
            days.append((win.day, eq_m))
            base = {"window_id": win.window_id, "time": win.decision_time}
            market.append(base | {"equity": round(eq_m, 2), "return_pct": pct(eq_m, initial)})
            cost.append(base | {"equity": round(eq_c, 2), "return_pct": pct(eq_c, initial)})
        series = _Series(view.version, market, cost, days, last_price, initial)
        self._series[view.signature] = series
        return series

    def _benchmark_data(self) -> tuple[list[dict[str, Any]], Any, float]:
        if self._benchmark is not None and self._benchmark[0] == self.version:
            return self._benchmark[1]["points"], self._benchmark[2], self._benchmark[1]["initial"]
        views = self._views(None)
        initial = (views[0].initial_cash if views else None) or self._default_initial
        points, days = benchmark_points(views, initial)
        stats = series_stats(days, initial)
        self._benchmark = (self.version, {"points": points, "initial": initial}, stats)
        return points, stats, initial

    # --- endpoints ---------------------------------------------------------------------
    def _cached(
        self, key: tuple[Any, ...], deps: tuple[Any, ...], build: Callable[[], Any]
    ) -> Body:
        hit = self._responses.get(key)
        if hit is not None and hit[0] == deps:
            return hit[1]
        body = Body(dumps(build()))
        if len(self._responses) > 256:
            self._responses.clear()
        self._responses[key] = (deps, body)
        return body

    def pnl_series(self, signature: str | None, valuation: str) -> Body:
        """Serialized pnl-series response. KeyError for an unknown signature."""
        with self._lock:
            self.refresh()
            views = self._views(signature)

            def build() -> dict[str, Any]:
                series = [
                    {
                        "signature": v.signature,
                        "points": getattr(self._series_of(v), valuation),
                    }
                    for v in views
                ]
                bench_points, _, _ = self._benchmark_data()
                return {
                    "valuation": valuation,
                    "series": series,
                    "benchmark": {"signature": BENCHMARK_SIGNATURE, "points": bench_points},
                }

            return self._cached(("pnl", signature, valuation), (self.version,), build)

    def model_stats(self, signature: str | None) -> Body:
        with self._lock:
            self.refresh()
            views = self._views(signature)

            def build() -> dict[str, Any]:
                bpoints, bstats, binitial = self._benchmark_data()
                bequity = bpoints[-1]["equity"] if bpoints else round(binitial, 2)
                bench = {
                    "signature": BENCHMARK_SIGNATURE,
                    **stats_dict(bstats),
                    "equity": bequity,
                    "pnl_cny": round(bequity - binitial, 2),
                }
                return {
                    "data": [self._stats_item(v) for v in views],
                    "benchmark": bench,
                    "updated_at": now_text(),
                }

            return self._cached(("stats", signature), (self.version,), build)

    def _stats_item(self, view: AgentView) -> dict[str, Any]:
        return stats_item(view, self._series_of(view), self._model_info, self._economics)

    def current_positions(self, signature: str) -> dict[str, Any]:
        with self._lock:
            self.refresh()
            view = self._views(signature)[0]
            return positions_response(signature, view, self._series_of(view), self.names())

    def recent_decisions(self, signature: str | None, limit: int) -> dict[str, Any]:
        with self._lock:
            self.refresh()
            pairs = [(v, w) for v in self._views(signature) for w in v.windows.values()]
            pairs.sort(key=lambda p: (p[1].decision_time, p[0].signature), reverse=True)
            return page([self._decision(v, w) for v, w in pairs[:limit]])

    def _decision(self, view: AgentView, win: WindowState) -> tuple[dict[str, Any], int]:
        key = (view.signature, win.window_id)
        stamp = (view.version if not win.log_final else -1, view.log_stamp(win), len(win.actions))
        hit = self._decisions.get(key)
        if hit is not None and hit[0] == stamp:
            self._decisions.move_to_end(key)
            return hit[1], hit[2]
        events = view.read_log_events(win)
        item = decision_item(view.signature, win, events)
        size = len(dumps(item))
        self._decisions[key] = (stamp, item, size)
        if len(self._decisions) > _DECISION_CACHE_SIZE:
            self._decisions.popitem(last=False)
        return item, size

    def stock_detail(self, symbol: str) -> dict[str, Any] | None:
        with self._lock:
            self.refresh()
            return stock_detail_response(symbol, self.snapshots, self._views(None), self.names())

    def names(self) -> dict[str, str]:
        """Stock names the snapshots carry (latest snapshot wins)."""
        with self._lock:
            out: dict[str, str] = {}
            for snap in self.snapshots.all():
                out.update(snap.names)
            return out

    def trades(self, signature: str | None) -> dict[str, Any]:
        """FIFO round trips and a per-agent summary (data_flow/live/trades.py)."""
        with self._lock:
            self.refresh()
            return trades_response(self._views(signature), self.names().get)

    def corporate_actions(self, signature: str) -> dict[str, Any]:
        """One agent's dividend and bonus records (data_flow/live/corporate.py)."""
        with self._lock:
            self.refresh()
            return corporate_actions_response(self._views(signature)[0])

    def orders(self, signature: str) -> dict[str, Any]:
        """One agent's resting orders (data_flow/live/orders.py)."""
        with self._lock:
            self.refresh()
            view = self._views(signature)[0]
            return orders_response(signature, view.orders, self.names().get)

    def known_symbols(self) -> set[str]:
        with self._lock:
            out: set[str] = set()
            for snap in self.snapshots.all():
                out.update(snap.prices)
            return out

    def news(self, limit: int, symbol: str | None) -> dict[str, Any]:
        with self._lock:
            return news_response(self.snapshots, limit, symbol)


__all__ = ["BENCHMARK_SIGNATURE", "FileStamp", "LiveStore"]
