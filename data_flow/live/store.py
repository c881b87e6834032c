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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_flow.live.agents import (
    FILL_ACTIONS,
    AgentView,
    WindowState,
    action_text,
    as_float,
    as_int,
)
from data_flow.live.benchmark import benchmark_points
from data_flow.live.decisions import decision_item, page
from data_flow.live.economics import EconomicsCache, economics_stats
from data_flow.live.metrics import RoundTripTracker, series_stats
from data_flow.live.snapshots import NO_BAR, SnapshotIndex
from data_flow.live.tail import FileStamp
from data_flow.live.trades import trades_response
from data_flow.textsafe import utf8

BENCHMARK_SIGNATURE = "benchmark-equal-weight"
SIGNATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DECISION_CACHE_SIZE = 4096


def dumps(obj: Any) -> bytes:
    return utf8(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


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


@dataclass
class _Series:
    version: int
    market: list[dict[str, Any]]
    cost: list[dict[str, Any]]
    market_days: list[tuple[str, float]]
    last_prices: dict[str, float]
    initial: float


ModelInfo = Callable[[str], tuple[str | None, str | None]]


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
            market.append(base | {"equity": round(eq_m, 2), "return_pct": _pct(eq_m, initial)})
            cost.append(base | {"equity": round(eq_c, 2), "return_pct": _pct(eq_c, initial)})
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
                    **_stats_dict(bstats),
                    "equity": bequity,
                    "pnl_cny": round(bequity - binitial, 2),
                }
                return {
                    "data": [self._stats_item(v) for v in views],
                    "benchmark": bench,
                    "updated_at": _now_text(),
                }

            return self._cached(("stats", signature), (self.version,), build)

    def _stats_item(self, view: AgentView) -> dict[str, Any]:
        series = self._series_of(view)
        stats = series_stats(series.market_days, series.initial)
        totals = view.log_totals()
        provider, model = totals["provider"], totals["model"]
        if provider is None or model is None:
            cfg_provider, cfg_model = self._model_info(view.signature)
            provider = provider or cfg_provider
            model = model or cfg_model
        last = view.last_record or {}
        last_win = view.windows[view.order[-1]] if view.order else None
        cash = last_win.cash if last_win else series.initial
        equity = series.market[-1]["equity"] if series.market else series.initial
        trips: RoundTripTracker = view.trips
        action = last.get("this_action") if isinstance(last.get("this_action"), dict) else None
        return {
            "signature": view.signature,
            "provider": provider,
            "model": model,
            **_stats_dict(stats),
            "win_rate_pct": _r(trips.win_rate_pct(), 2),
            "round_trips": trips.closed,
            "trades": view.trades,
            "fees_paid": round(view.fees, 2),
            "cash": round(cash, 2),
            "equity": round(equity, 2),
            "initial_cash": round(series.initial, 2),
            "last_action": action_text(action) if action else None,
            "last_update": (last_win.decision_time if last_win else None),
            "tokens_in": totals["tokens_in"],
            "tokens_out": totals["tokens_out"],
            "llm_errors": totals["llm_errors"],
            "invalid_tool_calls": totals["invalid_tool_calls"],
            "rejected_orders": totals["rejected_orders"],
            "model_calls": totals["model_calls"],
            "mean_latency_ms": _r(totals["mean_latency_ms"], 2),
            "windows_done": len(view.windows),
            **self._economics_item(view, series, {**totals, "provider": provider}, equity),
        }

    def _economics_item(
        self, view: AgentView, series: _Series, totals: dict[str, Any], equity: float
    ) -> dict[str, Any]:
        """Tokens, cost, latency percentiles, PnL net of cost, post-cutoff figures."""
        latencies = [ms for wid in view.order for ms in view.windows[wid].log.latencies]
        return economics_stats(
            self._economics.get(view.dir, view.signature),
            provider=totals["provider"],
            tokens_in=totals["tokens_in"],
            tokens_out=totals["tokens_out"],
            decisions=len(view.windows),
            latencies=latencies,
            points=series.market_days,
            initial=series.initial,
            equity=equity,
        )

    def current_positions(self, signature: str) -> dict[str, Any]:
        with self._lock:
            self.refresh()
            view = self._views(signature)[0]
            series = self._series_of(view)
            last_win = view.windows[view.order[-1]] if view.order else None
            cash = last_win.cash if last_win else series.initial
            holdings = []
            names = self.names()
            total_mv = 0.0
            for sym, h in sorted((last_win.holdings() if last_win else {}).items()):
                shares = as_int(h.get("shares"))
                avg = as_float(h.get("avg_price"))
                last_price = series.last_prices.get(sym)
                price = last_price if last_price is not None else avg
                mv = shares * price
                total_mv += mv
                pnl = (price - avg) * shares
                holdings.append(
                    {
                        "symbol": sym,
                        "name": names.get(sym),
                        "shares": shares,
                        "sellable": as_int(h.get("sellable")),
                        "avg_price": round(avg, 4),
                        "last_price": _r(last_price, 2),
                        "market_value": round(mv, 2),
                        "unrealized_pnl": round(pnl, 2),
                        "unrealized_pnl_pct": _r((price / avg - 1) * 100 if avg else None, 4),
                        "purchase_date": h.get("purchase_date"),
                    }
                )
            equity = view.last_equity() if last_win else None
            return {
                "signature": signature,
                "as_of": last_win.decision_time if last_win else view.init_date,
                "cash": round(cash, 2),
                "equity": round(float(equity) if equity is not None else cash + total_mv, 2),
                "holdings": holdings,
            }

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
            prices: dict[str, dict[str, Any]] = {}
            news: dict[str, dict[str, Any]] = {}
            for snap in self.snapshots.all():
                if symbol in snap.prices:
                    prices.setdefault(
                        snap.timestamp,
                        {
                            "time": snap.timestamp,
                            "price": snap.prices[symbol],
                            **(snap.bars.get(symbol) or NO_BAR),
                            "indicators": snap.indicators.get(symbol),
                        },
                    )
                for n in snap.news:
                    if n.get("symbol") == symbol:
                        news.setdefault(str(n.get("id") or n.get("url") or n.get("title")), n)
            trades = [
                {
                    "signature": v.signature,
                    "time": w.decision_time,
                    "action": a.get("action"),
                    "amount": a.get("amount"),
                    "price": a.get("price"),
                }
                for v in self._views(None)
                for w in v.windows.values()
                for a in w.actions
                if a.get("action") in FILL_ACTIONS and a.get("symbol") == symbol
            ]
            if not prices and not trades and not news:
                return None
            trades.sort(key=lambda t: (t["time"], t["signature"]))
            news_list = sorted(
                news.values(), key=lambda n: str(n.get("publish_time")), reverse=True
            )
            return {
                "symbol": symbol,
                "name": self.names().get(symbol),
                "prices": [prices[t] for t in sorted(prices)],
                "news": news_list[:50],
                "trades": trades,
            }

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

    def known_symbols(self) -> set[str]:
        with self._lock:
            out: set[str] = set()
            for snap in self.snapshots.all():
                out.update(snap.prices)
            return out

    def news(self, limit: int, symbol: str | None) -> dict[str, Any]:
        with self._lock:
            seen: dict[str, dict[str, Any]] = {}
            for snap in reversed(self.snapshots.all()):
                for n in snap.news:
                    if symbol is not None and n.get("symbol") != symbol:
                        continue
                    seen.setdefault(str(n.get("id") or n.get("url") or n.get("title")), n)
            items = sorted(seen.values(), key=lambda n: str(n.get("publish_time")), reverse=True)
            data = items[:limit]
            return {"data": data, "count": len(data)}


def _pct(equity: float, initial: float) -> float:
    return round((equity / initial - 1.0) * 100.0, 4) if initial else 0.0


def _stats_dict(stats: Any) -> dict[str, Any]:
    return {
        "total_return_pct": round(stats.total_return_pct, 4),
        "annualized_volatility_pct": _r(stats.annualized_volatility_pct, 4),
        "volatility_pct": _r(stats.annualized_volatility_pct, 4),  # alias (dashboard contract)
        "sharpe": _r(stats.sharpe, 4),
        "max_drawdown_pct": round(stats.max_drawdown_pct, 4),
    }


def _now_text() -> str:
    from data_flow.clock import now_iso

    return now_iso()


__all__ = ["BENCHMARK_SIGNATURE", "FileStamp", "LiveStore"]
