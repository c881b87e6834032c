"""Configs and helpers for the `python main.py` end-to-end tests (real subprocesses, tmp data
roots, fake LLM servers on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.runner_helpers import FAKE_KEY

ANTHROPIC_FAKE_KEY = "sk-ant-test-fake-key-abcdef1234567890"
SYMBOLS = ["SH688008", "SH688009", "SH688111"]


def baseline(signature: str = "bh", strategy: str = "buy_and_hold") -> dict[str, Any]:
    return {"signature": signature, "provider": "baseline", "basemodel": strategy}


def openai_agent(signature: str, base_url: str, model: str | None = None) -> dict[str, Any]:
    return {
        "signature": signature,
        "provider": "openai",
        "basemodel": model or signature,
        "base_url": base_url,
        "api_key_env": "OPENAI_API_KEY",
        "parameters": {"temperature": 0.2},
    }


def anthropic_agent(signature: str, base_url: str, model: str | None = None) -> dict[str, Any]:
    return {
        "signature": signature,
        "provider": "anthropic",
        "basemodel": model or signature,
        "base_url": base_url,
        "api_key_env": "ANTHROPIC_API_KEY",
        "parameters": {"max_tokens": 500},
    }


# window ids of arena_config()'s default range (three trading days × three windows)
WINDOWS = [
    f"{day}T{hhmm}"
    for day in ("2025-11-03", "2025-11-04", "2025-11-05")
    for hhmm in ("10:30", "11:30", "14:00")
]


def arena_config(
    directory: Path,
    data_root: Path,
    models: list[dict[str, Any]],
    *,
    init: str = "2025-11-03",
    end: str = "2025-11-05",
    name: str = "arena.json",
    **overrides: Any,
) -> Path:
    config: dict[str, Any] = {
        "description": "end-to-end test arena",
        "date_range": {"init_date": init, "end_date": end},
        "symbols": SYMBOLS,
        "models": models,
        "agent_config": {"max_steps": 5, "max_retries": 1, "base_delay": 0.01, "max_delay": 0.05,
                         "timeout_seconds": 20},
        "data_config": {"source": "demo", "seed": 42},
        "log_config": {"data_root": str(data_root)},
    }  # fmt: skip
    config.update(overrides)
    path = directory / name
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def key_env() -> dict[str, str]:
    return {"OPENAI_API_KEY": FAKE_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_FAKE_KEY}


def text_step(text: str = "hold", delay: float = 0.0) -> dict[str, Any]:
    step: dict[str, Any] = {"kind": "text", "text": text}
    if delay:
        step["delay"] = delay
    return step


def trade_step(symbol: str, action: str, quantity: int, delay: float = 0.0) -> dict[str, Any]:
    step: dict[str, Any] = {
        "kind": "tool_calls",
        "calls": [
            {
                "name": "execute_trade",
                "arguments": {"symbol": symbol, "action": action, "quantity": quantity},
            }
        ],
    }
    if delay:
        step["delay"] = delay
    return step


def summary_rows(stdout: str) -> dict[str, list[str]]:
    """The summary table's rows by agent signature (cells split on whitespace)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Summary ("))
    rows = {}
    for line in lines[start + 3 :]:
        if not line.startswith("  "):
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return rows
