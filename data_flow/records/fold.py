"""`AgentFold`: one agent's ledger (position.jsonl) + decision logs, folded incrementally.

`poll()` stats the ledger, parses only appended lines, and follows the decision log of each
window with a ledger record until the window is final: its log ends with a `window_end` whose
outcome is not in `INCOMPLETE_OUTCOMES` (an `interrupted` or `data_unavailable` window is
resumed by a later run, so its log keeps being followed). The CLI summary
(`agent_engine.run_report.record_stats`), the live API (`data_flow.live.store.LiveStore`) and
later statistics all read an agent through this fold.

Equity (the single definition, `window_equity`): the `equity` of the window's last
`window_end` when the log ends with one that has it (the loop values the portfolio with the
window's quotes: price, else previous close for a suspended stock, else average cost); else
the window's last ledger positions valued the same way with the prices of the window's
snapshot. None only for a damaged record without cash.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from data_flow.live.metrics import RoundTripTracker
from data_flow.live.orders import OrderTracker
from data_flow.live.snapshots import SnapshotIndex, SnapshotInfo
from data_flow.live.tail import FileStamp, JsonlTail
from data_flow.records import paths
from data_flow.records.models import (
    INCOMPLETE_OUTCOMES,
    BonusAction,
    DividendAction,
    LedgerRecord,
    TradeAction,
    decimal_or_none,
)
from data_flow.records.read import read_log_bytes

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
FILL_ACTIONS = ("BUY", "SELL")
INVALID_TOOL_KINDS = frozenset(
    {"unknown_tool", "invalid_json", "invalid_arguments", "unknown_symbol"}
)
# per-window counters of a decision log's `window_end` event, summed per agent
COUNTER_KEYS = (
    "model_calls",
    "tokens_in",
    "tokens_out",
    "llm_errors",
    "invalid_tool_calls",
    "rejected_orders",
)


def as_float(x: Any, default: float = 0.0) -> float:
    """A record's number, or `default` for anything else (damaged records never raise)."""
    if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return default


def as_int(x: Any) -> int:
    return int(as_float(x))


@dataclass
class LogStats:
    """Counters of one window's decision log (all attempts)."""

    provider: str | None = None
    model: str | None = None
    snapshot_path: str | None = None
    model_calls: int = 0
    latency_ms_sum: float = 0.0
    latency_calls: int = 0
    latencies: list[float] = field(default_factory=list)  # per model call, for percentiles
    tokens_in: int = 0
    tokens_out: int = 0
    llm_errors: int = 0
    invalid_tool_calls: int = 0
    rejected_orders: int = 0
    ended: bool = False
    """The last attempt has its `window_end` (final or not: see `final`)."""
    outcome: str | None = None
    """The outcome of the last `window_end`."""
    equity: Decimal | None = None
    """The equity of the last `window_end` (None when it has none)."""
    recorded_equity: Decimal | None = None
    """The equity of the last `window_end` that has one."""
    # counters of the current attempt, replaced by window_end's totals when it arrives
    _attempt: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        """The window is over: its log ends with a `window_end` that is not resumed."""
        return self.ended and self.outcome not in INCOMPLETE_OUTCOMES

    def fold(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        cur = self._attempt
        if kind == "window_start":
            self._close_attempt()
            self.ended = False
            self.provider = ev.get("provider") or self.provider
            self.model = ev.get("model") or self.model
            if isinstance(ev.get("snapshot_path"), str):
                self.snapshot_path = ev["snapshot_path"]
        elif kind == "model_call":
            usage = ev.get("usage") if isinstance(ev.get("usage"), dict) else {}
            cur["model_calls"] = cur.get("model_calls", 0) + 1
            cur["tokens_in"] = cur.get("tokens_in", 0) + as_int(usage.get("prompt_tokens"))
            cur["tokens_out"] = cur.get("tokens_out", 0) + as_int(usage.get("completion_tokens"))
            cur["llm_errors"] = cur.get("llm_errors", 0) + (ev.get("error") is not None)
            if isinstance(ev.get("latency_ms"), int | float):
                self.latency_ms_sum += float(ev["latency_ms"])
                self.latency_calls += 1
                self.latencies.append(float(ev["latency_ms"]))
        elif kind == "tool_result":
            kind_err = ev.get("error_kind")
            if kind_err in INVALID_TOOL_KINDS:
                cur["invalid_tool_calls"] = cur.get("invalid_tool_calls", 0) + 1
            elif kind_err == "rejected_order":
                cur["rejected_orders"] = cur.get("rejected_orders", 0) + 1
        elif kind == "window_end":
            for key in COUNTER_KEYS:
                if key in ev:
                    cur[key] = as_int(ev[key])
            self._close_attempt()
            self.ended = True
            self.outcome = ev.get("outcome") if isinstance(ev.get("outcome"), str) else None
            self.equity = decimal_or_none(ev.get("equity"))
            if self.equity is not None:
                self.recorded_equity = self.equity

    def _close_attempt(self) -> None:
        cur = self._attempt
        for key in COUNTER_KEYS:
            setattr(self, key, getattr(self, key) + cur.get(key, 0))
        cur.clear()

    def totals(self) -> dict[str, int]:
        cur = self._attempt
        return {k: getattr(self, k) + cur.get(k, 0) for k in COUNTER_KEYS}


@dataclass
class WindowState:
    window_id: str
    decision_time: str  # "YYYY-MM-DD HH:MM:SS"
    day: str
    positions: dict[str, Any]
    snapshot_hash: str | None
    actions: list[dict[str, Any]] = field(default_factory=list)
    action_cash: list[Decimal | None] = field(default_factory=list)  # cash after each action
    log_tail: JsonlTail | None = None
    log: LogStats = field(default_factory=LogStats)
    log_final: bool = False
    snapshot: SnapshotInfo | None = None
    snapshot_resolved: bool = False

    @property
    def cash(self) -> float:
        return as_float(self.positions.get("CASH"))

    def holdings(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.positions.items() if k != "CASH" and isinstance(v, dict)}


def action_text(action: dict[str, Any]) -> str:
    kind = str(action.get("action", ""))
    if kind in FILL_ACTIONS:
        return f"{kind} {action.get('symbol')} x{action.get('amount')} @ {action.get('price')}"
    if kind == "dividend":
        return (
            f"dividend {action.get('symbol')} {action.get('cash_per_share')}/share x"
            f"{action.get('shares')}: +{action.get('net')} (tax {action.get('tax')})"
        )
    if kind == "bonus":
        return f"bonus {action.get('symbol')} +{action.get('new_shares')} shares"
    if kind == "no_trade":
        code = action.get("reason_code")
        return f"no_trade ({code})" if code else "no_trade"
    return kind


def value_positions(positions: dict[str, Any], prices: dict[str, float | None]) -> Decimal | None:
    """Cash + holdings at `prices` (a symbol without one at its average cost), to the cent as
    `agent_engine.broker.Portfolio.equity` does; None without a readable cash."""
    cash = decimal_or_none(positions.get("CASH"))
    if cash is None:
        return None
    mv = Decimal("0")
    for sym, h in positions.items():
        if sym == "CASH" or not isinstance(h, dict):
            continue
        price = prices.get(sym)
        unit = decimal_or_none(price) if price is not None else None
        if unit is not None:
            unit = unit.quantize(CENT, rounding=ROUND_HALF_UP)  # as the broker's quotes
        else:
            unit = decimal_or_none(h.get("avg_price")) or Decimal("0")
        mv += as_int(h.get("shares")) * unit
    return cash + mv.quantize(CENT, rounding=ROUND_HALF_UP)


class AgentFold:
    """The folded state of one agent (see the module docstring)."""

    def __init__(self, data_root: Path, signature: str, snapshots: SnapshotIndex) -> None:
        self.signature = signature
        self.data_root = Path(data_root)
        self.dir = paths.agent_dir(data_root, signature)
        self._snapshots = snapshots
        self._ledger = JsonlTail(paths.ledger_path(data_root, signature))
        self.version = 0
        self._reset()

    def _reset(self) -> None:
        self.initial_cash: float | None = None
        self.init_date: str | None = None
        self.windows: dict[str, WindowState] = {}
        self.order: list[str] = []  # window ids in record order
        self.trades = 0
        self.fees = 0.0
        self.trips = RoundTripTracker()
        self.orders = OrderTracker()  # resting orders (data_flow/live/orders.py)
        self.last_record: dict[str, Any] | None = None
        self._pending: set[str] = set()  # windows whose log is not final yet

    # --- refresh -----------------------------------------------------------------------
    def poll(self) -> bool:
        """Fold new ledger lines and follow unfinished logs. True when anything changed."""
        reset, records = self._ledger.poll()
        changed = reset or bool(records)
        if reset:
            self._reset()
        for rec in records:
            self._fold_record(rec)
        for wid in list(self._pending):
            changed |= self._poll_log(self.windows[wid])
        if changed:
            self.version += 1
        return changed

    def _fold_record(self, raw: dict[str, Any]) -> None:
        self.last_record = raw
        rec = LedgerRecord.parse(raw)
        action = raw.get("this_action") if isinstance(raw.get("this_action"), dict) else {}
        if rec.action.kind == "seed" or rec.window_id is None:
            if self.initial_cash is None:
                self.initial_cash = as_float(rec.positions.get("CASH"))
                self.init_date = str(raw.get("date"))
            return
        wid = rec.window_id
        win = self.windows.get(wid)
        if win is None:
            dtime = rec.decision_time or ""
            win = WindowState(
                window_id=wid,
                decision_time=dtime,
                day=dtime[:10] or str(raw.get("date")),
                positions=rec.positions,
                snapshot_hash=raw.get("snapshot_hash"),
            )
            self.windows[wid] = win
            self.order.append(wid)
            self._pending.add(wid)
        else:
            win.positions = rec.positions
            win.snapshot_hash = raw.get("snapshot_hash") or win.snapshot_hash
        win.actions.append(action)
        win.action_cash.append(rec.cash)
        self.orders.add(rec)
        act = rec.action
        if isinstance(act, TradeAction):
            self.trades += 1
            self.fees += float(act.fee_total)
            self.trips.add(act.side, act.symbol, act.amount, act.notional, act.fee_total)
        elif isinstance(act, DividendAction):
            self.trips.dividend(act.symbol, act.net)
        elif isinstance(act, BonusAction):
            self.trips.bonus(act.symbol, act.new_shares)

    def log_path(self, win: WindowState) -> Path:
        if not win.decision_time:  # a damaged record: the window id still names the log
            try:
                return paths.log_path_of_window(self.data_root, self.signature, win.window_id)
            except ValueError:
                pass
        return paths.log_path_of_record(self.data_root, self.signature, win.day, win.decision_time)

    def _poll_log(self, win: WindowState) -> bool:
        if win.log_tail is None:
            win.log_tail = JsonlTail(self.log_path(win))
        reset, events = win.log_tail.poll()
        if reset:
            win.log = LogStats()
        for ev in events:
            win.log.fold(ev)
        if win.log.final:
            win.log_final = True
            win.log_tail = None
            self._pending.discard(win.window_id)
        return reset or bool(events)

    # --- derived -----------------------------------------------------------------------
    def snapshot_of(self, win: WindowState) -> SnapshotInfo | None:
        if not win.snapshot_resolved or (
            win.snapshot is not None
            and win.snapshot_hash
            and win.snapshot.content_hash != win.snapshot_hash
        ):
            info = None
            if win.log.snapshot_path:
                info = self._snapshots.load(
                    self._snapshots.data_root / win.log.snapshot_path,
                    expected_hash=win.snapshot_hash,
                )
            if info is None or (win.snapshot_hash and info.content_hash != win.snapshot_hash):
                info = self._snapshots.find(win.decision_time, win.snapshot_hash) or info
            win.snapshot = info
            win.snapshot_resolved = info is not None or win.log_final
        return win.snapshot

    def window_equity(self, win: WindowState) -> Decimal | None:
        """The window's equity: the single definition (see the module docstring)."""
        if win.log.ended and win.log.equity is not None:
            return win.log.equity
        snap = self.snapshot_of(win)
        value = value_positions(win.positions, snap.quote_prices if snap is not None else {})
        return value if value is not None else win.log.recorded_equity

    def last_equity(self) -> Decimal | None:
        """The equity of the latest window (in time) that has one."""
        by_time = sorted(
            self.windows.values(), key=lambda w: (w.decision_time, w.window_id), reverse=True
        )
        for win in by_time:
            equity = self.window_equity(win)
            if equity is not None:
                return equity
        return None

    def log_totals(self) -> dict[str, Any]:
        tot = dict.fromkeys(COUNTER_KEYS, 0)
        lat_sum = 0.0
        lat_n = 0
        provider = model = None
        for wid in self.order:
            st = self.windows[wid].log
            for k, v in st.totals().items():
                tot[k] += v
            lat_sum += st.latency_ms_sum
            lat_n += st.latency_calls
            provider = st.provider or provider
            model = st.model or model
        out: dict[str, Any] = dict(tot)
        out["mean_latency_ms"] = lat_sum / lat_n if lat_n else None
        out["provider"] = provider
        out["model"] = model
        return out

    def read_log_events(self, win: WindowState) -> list[dict[str, Any]]:
        return read_log_bytes(self.log_path(win))

    def log_stamp(self, win: WindowState) -> FileStamp | None:
        return FileStamp.of(self.log_path(win))
