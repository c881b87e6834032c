"""Builders for the agent-loop tests: a hand-made snapshot, a config, a window context."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent_engine.broker import Broker
from agent_engine.decision_log import decision_log_path
from agent_engine.ledger import Ledger, ledger_path
from agent_engine.loop import WindowContext
from data_flow.clock import SHANGHAI, decision_time_text
from settings.config import ArenaConfig, parse_config

SYMBOLS = ["SH688008", "SH688009", "SH688111"]
MOMENT = datetime(2025, 11, 3, 10, 30, tzinfo=SHANGHAI)
TEST_KEY = "sk-test-SECRET-key-0123456789"


def bars(closes: list[float], day: str = "2025-11-03") -> list[dict[str, Any]]:
    times = ["10:30:00", "11:30:00", "14:00:00", "15:00:00"]
    out = []
    for i, close in enumerate(closes):
        out.append(
            {
                "time": f"2025-10-{20 + i // 4:02d} {times[i % 4]}",
                "close": close,
                "volume": 1_000_000 * (i + 1),
                "amount": close * 1_000_000 * (i + 1),
            }
        )
    out[-1]["time"] = f"{day} 10:30:00"
    return out


def market_row(
    price: float | None,
    prev_close: float,
    *,
    closes: list[float] | None = None,
    rsi: float | None = 50.0,
    suspended: bool = False,
) -> dict[str, Any]:
    limit_up = round(prev_close * 1.2, 2)
    limit_down = round(prev_close * 0.8, 2)
    return {
        "current_price": price,
        "bar_time": None if price is None else "2025-11-03 10:30:00",
        "open": prev_close,
        "high": max(prev_close, price or prev_close),
        "low": min(prev_close, price or prev_close),
        "volume": 123400,
        "amount": 1.5e7,
        "prev_close": prev_close,
        "change_pct": None if price is None else round((price / prev_close - 1) * 100, 2),
        "limit_up": limit_up,
        "limit_down": limit_down,
        "suspended": suspended,
        "recent_bars": bars(closes or [prev_close, price or prev_close]),
        "indicators": {
            "rsi": rsi,
            "rsi_short": 55.0,
            "macd": {"macd": 1.2, "signal": 0.8, "histogram": 0.4},
            "bb_upper": 128.0,
            "bb_middle": 125.0,
            "bb_lower": 122.0,
        },
    }


def make_snapshot(
    rows: dict[str, dict[str, Any]] | None = None,
    news: list[dict[str, Any]] | None = None,
    moment: datetime = MOMENT,
) -> dict[str, Any]:
    rows = rows or {
        "SH688008": market_row(100.0, 98.0, closes=[90.0, 95.0, 100.0], rsi=25.0),
        "SH688009": market_row(50.0, 51.0, closes=[55.0, 52.0, 50.0], rsi=75.0),
        "SH688111": market_row(20.0, 20.0, closes=[19.0, 19.5, 20.0], rsi=50.0),
    }
    if news is None:
        news = [
            {
                "id": "n1",
                "title": "SH688008 wins a big order",
                "content": "Details of the order. " * 5,
                "publish_time": "2025-11-03 09:45:00",
                "source": "test",
                "url": "http://example.invalid/1",
                "symbol": "SH688008",
            },
            {
                "id": "n2",
                "title": "Old news about SH688009",
                "content": "Old.",
                "publish_time": "2025-10-30 15:00:00",
                "source": "test",
                "url": "http://example.invalid/2",
                "symbol": "SH688009",
            },
            {
                "id": "n3",
                "title": "Future news must never be visible",
                "content": "From the future.",
                "publish_time": "2025-11-03 11:00:00",
                "source": "test",
                "url": "http://example.invalid/3",
                "symbol": "SH688008",
            },
        ]
    snap: dict[str, Any] = {
        "schema_version": 1,
        "timestamp": decision_time_text(moment),
        "timezone": "Asia/Shanghai",
        "trade_date": moment.date().isoformat(),
        "symbols_signature": "|".join(sorted(rows)),
        "market_data": rows,
        "news": news,
        "metadata": {"schema_version": 1, "data_sources": ["test"], "synthetic": True},
    }
    canonical = json.dumps(snap, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    snap["metadata"]["content_hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    return snap


def make_config(
    data_root: Path, *, models: list[dict[str, Any]] | None = None, **agent: Any
) -> ArenaConfig:
    agent_config = {
        "max_steps": 6,
        "max_retries": 3,
        "base_delay": 0.01,
        "max_delay": 0.05,
        "timeout_seconds": 5.0,
    }
    agent_config.update(agent)
    return parse_config(
        {
            "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-05"},
            "symbols": SYMBOLS,
            "models": models
            or [{"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"}],
            "agent_config": agent_config,
            "data_config": {"source": "demo"},
            "log_config": {"data_root": str(data_root)},
        }
    )


def make_ctx(
    config: ArenaConfig,
    signature: str,
    snapshot: dict[str, Any] | None = None,
    *,
    moment: datetime = MOMENT,
    decision_index: int = 1,
    ledger: Ledger | None = None,
) -> WindowContext:
    data_root = config.data_root()
    snapshot = snapshot or make_snapshot(moment=moment)
    snap_path = data_root / "agent_data" / "shared" / "snapshots" / "2025-11-03" / "10-30-00_x.json"
    snap_path.parent.mkdir(parents=True, exist_ok=True)
    snap_path.write_text(json.dumps(snapshot), encoding="utf-8")
    if ledger is None:
        ledger = Ledger(
            ledger_path(data_root, signature),
            config.agent_config.initial_cash,
            config.date_range.init_date,
        )
    ledger.portfolio.roll_to(moment.date())
    return WindowContext(
        config=config,
        model=config.model(signature),
        moment=moment,
        window_id=moment.strftime("%Y-%m-%dT%H:%M"),
        decision_index=decision_index,
        decisions_per_day=len(config.decision_windows),
        snapshot=snapshot,
        snapshot_path=snap_path,
        snapshot_hash=snapshot["metadata"]["content_hash"],
        portfolio=ledger.portfolio,
        ledger=ledger,
        broker=Broker(config.trading_rules, config.risk_management, config.symbols),
        log_path=decision_log_path(data_root, signature, moment),
    )


def money(x: float) -> Decimal:
    return Decimal(str(x))
