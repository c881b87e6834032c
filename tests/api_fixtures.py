"""Builders of arena records in the contract formats (snapshots, ledgers, decision logs).

Used by the API tests and by bench/bench_api.py to create a data root without running agents.
Money follows the contract: Decimal math, JSON numbers on disk.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

LOCAL = "http://localhost"
"""Base URL for TestClient: the API answers only known Host names (not Starlette's "testserver")."""
CENT = Decimal("0.01")
BP4 = Decimal("0.0001")
TS = "2025-11-03T10:00:00.000+08:00"


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def safe_sig(signature: str) -> str:
    plain = signature.replace("|", "_")
    if len(plain) <= 80:
        return plain
    first = signature.split("|")[0]
    n = len(signature.split("|"))
    return f"{first}_{n}syms_{hashlib.sha1(signature.encode()).hexdigest()[:12]}"


def make_snapshot(
    timestamp: str,
    prices: dict[str, float | None],
    *,
    news: list[dict[str, Any]] | None = None,
    prev_close: dict[str, float] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    signature = "|".join(sorted(prices))
    market: dict[str, Any] = {}
    for sym, price in sorted(prices.items()):
        market[sym] = {
            "current_price": price,
            "bar_time": timestamp if price is not None else None,
            "open": None,
            "high": None,
            "low": None,
            "volume": 1000,
            "amount": 1.0e6,
            "prev_close": (prev_close or {}).get(sym),
            "change_pct": None,
            "limit_up": None,
            "limit_down": None,
            "suspended": price is None,
            "recent_bars": [],
            "indicators": {"rsi": 50.0, "rsi_short": 50.0, "macd": None, "bb_upper": None,
                           "bb_middle": None, "bb_lower": None},
        }  # fmt: skip
        if names and sym in names:
            market[sym]["name"] = names[sym]
    snap: dict[str, Any] = {
        "schema_version": 1,
        "timestamp": timestamp,
        "timezone": "Asia/Shanghai",
        "trade_date": timestamp[:10],
        "symbols_signature": signature,
        "market_data": market,
        "news": news or [],
        "metadata": {"schema_version": 1, "prefetch_duration_ms": 1, "data_sources": ["test"],
                     "synthetic": True, "news_count": len(news or []), "missing_symbols": [],
                     "built_at": TS, "builder_pid": 1},
    }  # fmt: skip
    canonical = json.dumps(snap, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    snap["metadata"]["content_hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    return snap


def write_snapshot(data_root: Path, snap: dict[str, Any]) -> str:
    """Write a snapshot where snapshot_store would; returns its path relative to data_root."""
    day, clock = snap["timestamp"].split(" ")
    rel = (
        Path("agent_data/shared/snapshots")
        / day
        / f"{clock.replace(':', '-')}_{safe_sig(snap['symbols_signature'])}.json"
    )
    path = data_root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snap, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return rel.as_posix()


@dataclass
class Holding:
    shares: int
    sellable: int
    avg_price: Decimal
    purchase_date: str


@dataclass
class AgentWriter:
    """Writes one agent's position.jsonl and decision logs like the real agents do."""

    data_root: Path
    signature: str
    initial_cash: Decimal = Decimal("1000000")
    provider: str = "baseline"
    model: str = "buy_and_hold"
    commission_rate: Decimal = Decimal("0.0003")
    min_commission: Decimal = Decimal("5")
    stamp_duty_rate: Decimal = Decimal("0.0005")
    transfer_fee_rate: Decimal = Decimal("0.00001")
    cash: Decimal = field(init=False)
    holdings: dict[str, Holding] = field(default_factory=dict)
    next_id: int = 0
    last_day: str | None = None

    def __post_init__(self) -> None:
        self.cash = self.initial_cash
        self.dir = self.data_root / "agent_data" / self.signature
        self.ledger = self.dir / "position" / "position.jsonl"
        self.ledger.parent.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Nothing to release (each record is appended with its own open)."""

    def _positions(self) -> dict[str, Any]:
        out: dict[str, Any] = {"CASH": float(self.cash)}
        for sym, h in sorted(self.holdings.items()):
            out[sym] = {
                "shares": h.shares,
                "sellable": h.sellable,
                "avg_price": float(h.avg_price),
                "purchase_date": h.purchase_date,
            }
        return out

    def _record(self, day: str, dtime: str | None, count: int, wid: str | None,
                action: dict[str, Any], snap_hash: str | None) -> None:  # fmt: skip
        rec: dict[str, Any] = {
            "id": self.next_id, "date": day, "decision_time": dtime, "decision_count": count,
            "window_id": wid, "positions": self._positions(), "this_action": action,
        }  # fmt: skip
        if snap_hash is not None:
            rec["snapshot_hash"] = snap_hash
        rec["schema_version"] = 1
        rec["ts_recorded"] = TS
        with open(self.ledger, "ab") as fh:
            fh.write(_line(rec))
        self.next_id += 1

    def equity(self, snapshot: dict[str, Any]) -> Decimal:
        """Cash + holdings at the snapshot's prices, as the loop writes it in `window_end`
        (a suspended symbol at its previous close, else at its average cost)."""
        mv = Decimal("0")
        for sym, h in self.holdings.items():
            md = snapshot["market_data"].get(sym) or {}
            price = None if md.get("suspended") else md.get("current_price")
            price = price if price is not None else md.get("prev_close")
            mv += h.shares * (q2(Decimal(str(price))) if price is not None else h.avg_price)
        return self.cash + q2(mv)

    def seed(self, day: str) -> None:
        self._record(day, None, 0, None, {"action": "seed"}, None)
        self.last_day = day

    def _roll(self, day: str) -> None:
        if self.last_day is not None and day != self.last_day:
            for h in self.holdings.values():
                h.sellable = h.shares
        self.last_day = day

    def fill(self, side: str, symbol: str, qty: int, price: Decimal, day: str) -> dict[str, Any]:
        notional = q2(price * qty)
        commission = max(q2(notional * self.commission_rate), self.min_commission)
        stamp = q2(notional * self.stamp_duty_rate) if side == "SELL" else Decimal("0")
        transfer = q2(notional * self.transfer_fee_rate)
        fees = commission + stamp + transfer
        if side == "BUY":
            self.cash -= notional + fees
            h = self.holdings.get(symbol)
            if h is None:
                self.holdings[symbol] = Holding(
                    qty, 0, ((notional + fees) / qty).quantize(BP4), day
                )
            else:
                cost = h.avg_price * h.shares + notional + fees
                h.shares += qty
                h.avg_price = (cost / h.shares).quantize(BP4, rounding=ROUND_HALF_UP)
        else:
            self.cash += notional - fees
            h = self.holdings[symbol]
            h.shares -= qty
            h.sellable -= qty
            if h.shares == 0:
                del self.holdings[symbol]
        return {"action": side, "symbol": symbol, "amount": qty, "price": float(price),
                "notional": float(notional), "commission": float(commission),
                "stamp_duty": float(stamp), "transfer_fee": float(transfer)}  # fmt: skip

    def window(
        self,
        dtime: str,
        count: int,
        snapshot: dict[str, Any],
        snapshot_rel: str,
        orders: list[tuple[str, str, int]] = (),  # type: ignore[assignment]
        *,
        text: str = "holding",
        tokens: tuple[int, int] = (0, 0),
        latency_ms: float = 0.0,
        llm_error: bool = False,
        invalid_tool_calls: int = 0,
        rejected: list[tuple[str, str, int]] = (),  # type: ignore[assignment]
        with_log: bool = True,
        end_event: bool = True,
    ) -> list[dict[str, Any]]:
        """Execute `orders` [(side, symbol, qty)] at the snapshot's prices; write records/logs."""
        day = dtime[:10]
        self._roll(day)
        wid = f"{day}T{dtime[11:16]}"
        snap_hash = snapshot["metadata"]["content_hash"]
        prices = {s: md["current_price"] for s, md in snapshot["market_data"].items()}
        events: list[dict[str, Any]] = [
            {"type": "window_start", "signature": self.signature, "provider": self.provider,
             "model": self.model, "window_id": wid, "decision_time": dtime,
             "decision_index": count, "decisions_per_day": 3, "snapshot_path": snapshot_rel,
             "snapshot_hash": snap_hash, "attempt": 1},
            {"type": "prompt", "system": "sys", "user": "user", "tools": ["buy", "sell"],
             "prompt_template_hash": "abc"},
            {"type": "model_call", "step": 1, "model": self.model, "response_id": "r1",
             "text": text, "tool_calls": [], "finish_reason": "stop",
             "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]},
             "latency_ms": latency_ms, "retries": 0,
             "error": {"kind": "timeout", "message": "t"} if llm_error else None},
        ]  # fmt: skip
        actions = []
        for i, (side, sym, qty) in enumerate(orders):
            action = self.fill(side, sym, qty, Decimal(str(prices[sym])), day)
            actions.append(action)
            self._record(day, dtime, count, wid, action, snap_hash)
            events.append(
                {"type": "tool_result", "step": 1, "tool_call_id": f"c{i}", "name": side.lower(),
                 "arguments": json.dumps({"symbol": sym, "quantity": qty}), "ok": True,
                 "error_kind": None, "result": f"filled {qty}", "trade": action,
                 "rejection": None})  # fmt: skip
        for side, sym, qty in rejected:
            events.append(
                {"type": "tool_result", "step": 1, "tool_call_id": "r", "name": side.lower(),
                 "arguments": json.dumps({"symbol": sym, "quantity": qty}), "ok": False,
                 "error_kind": "rejected_order", "result": "rejected: lot_size", "trade": None,
                 "rejection": {"reason": "lot_size", "message": "lots of 100", "symbol": sym,
                               "action": side, "quantity": qty}})  # fmt: skip
        for _ in range(invalid_tool_calls):
            events.append(
                {"type": "tool_result", "step": 1, "tool_call_id": "x", "name": "buy",
                 "arguments": "{bad", "ok": False, "error_kind": "invalid_json",
                 "result": "invalid JSON", "trade": None, "rejection": None})  # fmt: skip
        if not actions:
            code = "llm_error" if llm_error else "hold"
            no_trade = {"action": "no_trade", "reason": text, "reason_code": code}
            self._record(day, dtime, count, wid, no_trade, snap_hash)
        if end_event:
            outcome = "traded" if actions else ("llm_error" if llm_error else "no_trade")
            events.append(
                {"type": "window_end", "outcome": outcome, "final_text": text,
                 "trades": len(actions), "rejected_orders": len(rejected),
                 "invalid_tool_calls": invalid_tool_calls, "llm_errors": int(llm_error),
                 "model_calls": 1, "tokens_in": tokens[0], "tokens_out": tokens[1],
                 "latency_ms_total": latency_ms, "duration_ms": 1,
                 "equity": float(self.equity(snapshot)),
                 "cash": float(self.cash)})  # fmt: skip
        if with_log:
            path = self.dir / "log" / day / f"{dtime[11:19].replace(':', '-')}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                for ev in events:
                    ev.update(schema_version=1, ts_recorded=TS)
                    fh.write(_line(ev))
        return actions


WINDOWS = ("10:30:00", "11:30:00", "14:00:00")


def weekdays(start: date, n: int) -> list[str]:
    out = []
    d = start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def write_arena(
    data_root: Path, *, agents: int = 10, days: int = 250, symbols: int = 10, seed: int = 1
) -> dict[str, Any]:
    """A year-like arena: `agents` agents x `days` days x 3 windows, random trading."""
    rng = random.Random(seed)
    syms = [f"SH688{100 + i:03d}" for i in range(symbols)]
    prices = {s: 50.0 + 10 * i for i, s in enumerate(syms)}
    writers = [
        AgentWriter(data_root, f"agent-{i:02d}", provider="openai", model=f"model-{i}")
        for i in range(agents)
    ]
    dates = weekdays(date(2025, 1, 2), days)
    for w in writers:
        w.seed(dates[0])
    for day in dates:
        for count, clock in enumerate(WINDOWS, start=1):
            for s in syms:
                prices[s] = max(1.0, round(prices[s] * (1 + rng.gauss(0, 0.01)), 2))
            news = [{"id": f"{day}{clock}", "title": "news", "content": "c",
                     "publish_time": f"{day} 09:00:00", "source": "t", "url": "",
                     "symbol": syms[0]}] if count == 1 else []  # fmt: skip
            snap = make_snapshot(f"{day} {clock}", dict(prices), news=news)
            rel = write_snapshot(data_root, snap)
            for w in writers:
                orders: list[tuple[str, str, int]] = []
                sym = rng.choice(syms)
                h = w.holdings.get(sym)
                if h is not None and h.sellable > 0 and rng.random() < 0.5:
                    orders.append(("SELL", sym, h.sellable))
                elif rng.random() < 0.4 and w.cash > Decimal("100000"):
                    orders.append(("BUY", sym, 100 * rng.randint(1, 5)))
                w.window(f"{day} {clock}", count, snap, rel, orders, text="reasoning " * 20,
                         tokens=(1500, 200), latency_ms=800.0 + rng.random() * 100)  # fmt: skip
    for w in writers:
        w.close()
    return {"signatures": [w.signature for w in writers], "symbols": syms, "days": dates}


# --- a small hand-checked scenario ---------------------------------------------------------
S1, S2 = "SH688008", "SH688009"
SCENARIO_TIMES = (
    ("2025-11-03 10:30:00", 1, {S1: 100.0, S2: 50.0}),
    ("2025-11-03 14:00:00", 3, {S1: 110.0, S2: 50.0}),
    ("2025-11-04 10:30:00", 1, {S1: 120.0, S2: 55.0}),
    ("2025-11-04 14:00:00", 3, {S1: 90.0, S2: None}),
)
NEWS = [
    {"id": "n1", "title": "Chip maker wins order", "content": "...", "url": "https://x/1",
     "publish_time": "2025-11-03 09:45:00", "source": "test", "symbol": S1},
    {"id": "n2", "title": "Other news", "content": "...", "url": "https://x/2",
     "publish_time": "2025-11-04 09:00:00", "source": "test", "symbol": S2},
]  # fmt: skip


def write_scenario(data_root: Path, *, windows: int = 4) -> dict[str, AgentWriter]:
    """Two agents over two days:

    - alpha (baseline): buys 1000 SH688008 @100 on day 1 10:30, sells them @120 on day 2 10:30.
    - beta (openai/gpt-x): always holds; tokens (100, 20) per window, latencies 1000/2000 ms;
      window 2 has an LLM error, window 3 an invalid tool call and a rejected order.
    """
    alpha = AgentWriter(data_root, "alpha")
    beta = AgentWriter(data_root, "beta", provider="openai", model="gpt-x")
    for w in (alpha, beta):
        w.seed("2025-11-03")
    for i, (dtime, count, prices) in enumerate(SCENARIO_TIMES[:windows]):
        snap = make_snapshot(dtime, prices, news=NEWS if i == 0 else NEWS[1:] if i == 2 else [])
        rel = write_snapshot(data_root, snap)
        orders = {0: [("BUY", S1, 1000)], 2: [("SELL", S1, 1000)]}.get(i, [])
        alpha.window(dtime, count, snap, rel, orders, text=f"alpha window {i}")
        beta.window(
            dtime,
            count,
            snap,
            rel,
            text=f"beta thinks {i}",
            tokens=(100, 20),
            latency_ms=1000.0 if i % 2 == 0 else 2000.0,
            llm_error=i == 1,
            invalid_tool_calls=1 if i == 2 else 0,
            rejected=[("BUY", S2, 150)] if i == 2 else [],
        )
    return {"alpha": alpha, "beta": beta}


def scenario_window(writers: dict[str, AgentWriter], data_root: Path, i: int) -> None:
    """Append window `i` of the scenario (for incremental-read tests)."""
    dtime, count, prices = SCENARIO_TIMES[i]
    snap = make_snapshot(dtime, prices, news=NEWS[1:] if i == 2 else [])
    rel = write_snapshot(data_root, snap)
    orders = {0: [("BUY", S1, 1000)], 2: [("SELL", S1, 1000)]}.get(i, [])
    writers["alpha"].window(dtime, count, snap, rel, orders, text=f"alpha window {i}")
    writers["beta"].window(dtime, count, snap, rel, text=f"beta thinks {i}", tokens=(100, 20),
                           latency_ms=1000.0 if i % 2 == 0 else 2000.0)  # fmt: skip


def scenario_config(data_root: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "description": "api test config",
        "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-05"},
        "symbols": ["SH688008", "SH688009", "SH688111"],
        "models": [
            {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"},
            {"signature": "mom", "provider": "baseline", "basemodel": "momentum"},
        ],
        "data_config": {"source": "demo", "seed": 42},
        "log_config": {"data_root": str(data_root)},
    }
    config.update(overrides)
    return config


@contextmanager
def arena_in_settings(root: Path) -> Iterator[str]:
    """The scenario config of data root `root` as a config in settings/ (removed afterwards);
    yields its arena id."""
    from settings.config import SETTINGS_DIR

    name = f"test_tmp_{uuid.uuid4().hex}"
    path = SETTINGS_DIR / f"{name}.json"
    path.write_text(json.dumps(scenario_config(root)), encoding="utf-8")
    try:
        yield name
    finally:
        path.unlink(missing_ok=True)
