"""Small experiment files for the experiment tests (demo market, temp data roots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SYMBOLS = ["SH688008", "SH688009", "SH688111"]


def base_config(data_root: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-05"},
        "symbols": SYMBOLS,
        "decision_windows": ["10:30", "14:00"],
        "models": [
            {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"},
            {"signature": "random-a", "provider": "baseline", "basemodel": "random"},
            {"signature": "random-b", "provider": "baseline", "basemodel": "random"},
        ],
        "data_config": {"source": "demo", "seed": 42},
        "log_config": {"data_root": str(data_root)},
    }
    config.update(overrides)
    return config


def experiment(data_root: Path, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": "test experiment",
        "base_config": base_config(data_root),
        "models": ["bh", "random-a", "random-b"],
        "repeats": 4,
        "periods": [{"name": "p1", "init_date": "2025-11-03", "end_date": "2025-11-07"}],
        "seed": 11,
        "bootstrap_resamples": 500,
    }
    data.update(overrides)
    return data


def write_experiment(directory: Path, name: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
