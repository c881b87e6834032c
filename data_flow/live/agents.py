"""One agent's records, folded incrementally: ledger (position.jsonl) + decision logs.

`AgentView.poll()` stats the ledger, parses only appended lines, and follows the decision-log
file of each window until that window is final (it has a ledger record and a `window_end`).
Everything the API serves per agent is derived from the folded state here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_flow.live.metrics import RoundTripTracker
from data_flow.live.snapshots import SnapshotIndex, SnapshotInfo
from data_flow.live.tail import FileStamp, JsonlTail, parse_lines

log = logging.getLogger(__name__)

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
    # counters of the current attempt, replaced by window_end's totals when it arrives
    _attempt: dict[str, int] = field(default_factory=dict)

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
    if kind == "no_trade":
        code = action.get("reason_code")
        return f"no_trade ({code})" if code else "no_trade"
    return kind


class AgentView:
    def __init__(self, data_root: Path, signature: str, snapshots: SnapshotIndex) -> None:
        self.signature = signature
        self.dir = data_root / "agent_data" / signature
        self._snapshots = snapshots
        self._ledger = JsonlTail(self.dir / "position" / "position.jsonl")
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

    def _fold_record(self, rec: dict[str, Any]) -> None:
        self.last_record = rec
        action = rec.get("this_action") if isinstance(rec.get("this_action"), dict) else {}
        positions = rec.get("positions") if isinstance(rec.get("positions"), dict) else {}
        if action.get("action") == "seed" or rec.get("window_id") is None:
            if self.initial_cash is None:
                self.initial_cash = as_float(positions.get("CASH"))
                self.init_date = str(rec.get("date"))
            return
        wid = str(rec["window_id"])
        win = self.windows.get(wid)
        if win is None:
            dtime = str(rec.get("decision_time") or "")
            win = WindowState(
                window_id=wid,
                decision_time=dtime,
                day=dtime[:10] or str(rec.get("date")),
                positions=positions,
                snapshot_hash=rec.get("snapshot_hash"),
            )
            self.windows[wid] = win
            self.order.append(wid)
            self._pending.add(wid)
        else:
            win.positions = positions
            win.snapshot_hash = rec.get("snapshot_hash") or win.snapshot_hash
        win.actions.append(action)
        if action.get("action") in FILL_ACTIONS:
            self.trades += 1
            fees = sum(
                as_float(action.get(k)) for k in ("commission", "stamp_duty", "transfer_fee")
            )
            self.fees += fees
            self.trips.add(
                str(action["action"]),
                str(action.get("symbol")),
                as_int(action.get("amount")),
                as_float(action.get("notional")),
                fees,
            )

    def log_path(self, win: WindowState) -> Path:
        stem = win.decision_time[11:19].replace(":", "-")
        return self.dir / "log" / win.day / f"{stem}.jsonl"

    def _poll_log(self, win: WindowState) -> bool:
        if win.log_tail is None:
            win.log_tail = JsonlTail(self.log_path(win))
        reset, events = win.log_tail.poll()
        if reset:
            win.log = LogStats()
        for ev in events:
            win.log.fold(ev)
        if win.log.ended:
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
        path = self.log_path(win)
        try:
            return parse_lines(path.read_bytes(), path)
        except OSError:
            return []

    def log_stamp(self, win: WindowState) -> FileStamp | None:
        return FileStamp.of(self.log_path(win))
