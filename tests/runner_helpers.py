"""Helpers for the runner/main tests: scripted in-process LLM clients, fake clocks, record
readers and the exact fee arithmetic of the default trading rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psutil

from agent_engine.llm.base import LLMResponse, ToolCall, Usage
from data_flow.clock import SHANGHAI
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT
from tests.waiting import wait_for as wait_for  # re-exported for main.py tests

CENT = Decimal("0.01")
FAKE_KEY = "sk-test-fake-key-1234567890abcdef"


class ScriptedClient:
    """An in-process LLMClient: buys `quantity` of `symbol` in the first window it sees, then
    answers without tool calls (hold). `on_call(window_index, step)` may raise to simulate
    a signal or a crash at a precise point."""

    provider = "scripted"
    model = "scripted-1"

    def __init__(
        self,
        symbol: str = "SH688008",
        quantity: int = 200,
        on_call: Callable[[int, int], None] | None = None,
    ) -> None:
        self.symbol = symbol
        self.quantity = quantity
        self.on_call = on_call
        self.windows = 0
        self.step = 0
        self.bought = False
        self.window_ids: list[str] = []

    def begin_window(self, ctx: Any) -> None:
        self.windows += 1
        self.step = 0
        self.window_ids.append(ctx.window_id)

    def complete(
        self, system: str, messages: list[Any], tools: list[Any], key: Any = None
    ) -> LLMResponse:
        self.step += 1
        if self.on_call is not None:
            self.on_call(self.windows, self.step)
        if not self.bought and self.step == 1:
            self.bought = True
            args = json.dumps({"symbol": self.symbol, "action": "BUY", "quantity": self.quantity})
            call = ToolCall(id=f"call-{self.windows}-1", name="execute_trade", arguments=args)
            return _response("", [call])
        return _response("hold", [])


def _response(text: str, calls: list[ToolCall]) -> LLMResponse:
    return LLMResponse(
        text=text,
        tool_calls=calls,
        finish_reason="tool_calls" if calls else "stop",
        usage=Usage(prompt_tokens=100, completion_tokens=10),
        model="scripted-1",
        response_id="resp-1",
        latency_ms=0.1,
        retries=0,
    )


class FakeLiveClock:
    """A clock whose `sleep_until` advances time instantly (no real waiting)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self.sleeps: list[datetime] = []

    def now(self) -> datetime:
        return self._now

    def sleep_until(self, moment: datetime) -> None:
        self.sleeps.append(moment)
        if moment > self._now:
            self._now = moment


def bj(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def buy_cash_delta(price: Decimal, quantity: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(notional, commission, transfer_fee, total cash out) under the default trading rules."""
    notional = q2(price * quantity)
    commission = max(q2(notional * Decimal("0.0003")), Decimal("5.00"))
    transfer = q2(notional * Decimal("0.00001"))
    return notional, commission, transfer, notional + commission + transfer


def positions(data_root: Path, signature: str) -> list[dict[str, Any]]:
    return read_jsonl(data_root / "agent_data" / signature / "position" / "position.jsonl")


def manifest(data_root: Path, signature: str) -> list[dict[str, Any]]:
    return read_jsonl(data_root / "agent_data" / signature / "manifest.jsonl")


def window_log(data_root: Path, signature: str, window_id: str) -> list[dict[str, Any]]:
    day, hhmm = window_id.split("T")
    path = data_root / "agent_data" / signature / "log" / day / f"{hhmm.replace(':', '-')}-00.jsonl"
    return read_jsonl(path)


def snapshot_for(data_root: Path, window_id: str) -> dict[str, Any]:
    day, hhmm = window_id.split("T")
    folder = data_root / "agent_data" / "shared" / "snapshots" / day
    (path,) = folder.glob(f"{hhmm.replace(':', '-')}-00_*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def assert_windows_exactly_once(records: list[dict[str, Any]], expected: list[str]) -> None:
    """Ids consecutive from 0; every expected window has records, in one contiguous run (a
    window is never processed twice); no record for any other window."""
    assert [r["id"] for r in records] == list(range(len(records)))
    seen: list[str] = []
    for r in records[1:]:
        if not seen or seen[-1] != r["window_id"]:
            seen.append(r["window_id"])
    assert seen == expected


# --- subprocess runs of main.py -------------------------------------------------------------
def main_env(runtime_dir: Path, **extra: str) -> dict[str, str]:
    from tests.conftest import REAL_KEY_VARS

    env = {k: v for k, v in os.environ.items() if k not in REAL_KEY_VARS}
    env.pop("ONLY_SIGNATURE", None)
    env["RUNTIME_DIR"] = str(runtime_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_main(
    args: list[str], env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py"), *args],
        env=env,
        cwd=str(PROJECT_ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_main(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    out = open(log_file, "wb")  # noqa: SIM115 - closed by the OS when the test ends
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "main.py"), *args],
        env=env,
        cwd=str(PROJECT_ROOT),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    raw = needle.encode()
    for p in root.rglob("*"):
        if p.is_file():
            try:
                if raw in p.read_bytes():
                    hits.append(p)
            except OSError:
                continue
    return hits


def alive_pids(pids: list[int]) -> list[int]:
    """The `pids` still running (zombies count as gone)."""
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out
