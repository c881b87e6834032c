"""Helpers for the data-layer tests (tests/test_data_*.py)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from settings.config import DataConfig

SYMBOLS = ["SH688008", "SH688009", "SH688111"]


def demo_config_dict(data_root: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-05"},
        "symbols": list(SYMBOLS),
        "models": [{"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"}],
        "data_config": {"source": "demo", "seed": 42},
        "log_config": {"data_root": str(data_root)},
    }
    config.update(overrides)
    return config


def write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def counting_demo_build(
    counter_file: Path, moment: datetime, symbols: list[str], seed: int = 42
) -> dict[str, Any]:
    """Build a demo snapshot and record one line per build in `counter_file`."""
    from data_flow.snapshot_builder import build_snapshot
    from data_flow.sources.demo import DemoSource

    with open(counter_file, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return build_snapshot(DemoSource(seed), moment, symbols, DataConfig(source="demo", seed=seed))


def race_worker(
    data_root: str, counter_file: str, moment_iso: str, symbols: list[str], barrier: Any, out: Any
) -> None:
    """One of the racing processes: wait for all, then ensure the same window."""
    from data_flow.snapshot_store import ensure_snapshot, serialize

    moment = datetime.fromisoformat(moment_iso)
    barrier.wait(timeout=60)
    result = ensure_snapshot(
        Path(data_root),
        moment,
        symbols,
        lambda: counting_demo_build(Path(counter_file), moment, symbols),
        lock_timeout=60,
    )
    out.put(
        {
            "pid": os.getpid(),
            "created": result.created,
            "content": serialize(result.snapshot).decode("utf-8"),
            "file": result.path.read_text(encoding="utf-8"),
            "hash": result.content_hash,
        }
    )


def write_files_dataset(directory: Path, symbols: list[str], first: str, last: str) -> Path:
    """A small dataset in the AStock Arena files format (`ai_stock_data.json`, the format of
    astock_star10): the demo market's hourly and daily closes of `symbols` for the trading
    days first..last, nothing after `last`. Rewriting it with a later `last` "fixes" the
    data. No news.csv (the files source then has no news)."""
    from datetime import date

    from data_flow.clock import SHANGHAI
    from data_flow.sources.demo import DemoSource

    demo = DemoSource(42)
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    out: dict[str, Any] = {}
    for symbol in symbols:
        bars = demo.hourly_bars(
            symbol,
            datetime(start.year, start.month, start.day, tzinfo=SHANGHAI),
            datetime(end.year, end.month, end.day, 23, 59, tzinfo=SHANGHAI),
        )
        daily = demo.daily_bars(symbol, start, end)
        out[symbol] = {
            "小时线行情": [
                {"date": b.time.strftime("%Y-%m-%d %H:%M:%S"), "close": b.close,
                 "vol": b.volume, "amount": b.amount, "buy1": b.close}
                for b in bars
            ],
            "日线行情": [
                {"date": b.day.isoformat(), "close": b.close, "vol": b.volume,
                 "amount": b.amount, "buy1": b.close}
                for b in daily
            ],
        }  # fmt: skip
    write_json(directory / "ai_stock_data.json", out)
    return directory
