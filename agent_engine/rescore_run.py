"""Run a recorded agent's orders again through the arena's own run, under other rules.

`run_held_orders` makes a temporary data root holding the recorded run's snapshots, and runs
the agent there in replay mode with `HeldOrdersClient` instead of its model: in each window
the client asks, in one turn, for exactly the order calls the model made in that window
(`execute_trade`, `place_order`, `cancel_order`, with their recorded arguments and call ids,
so order ids match), then ends the window. Everything else is the run's code: the broker and
its rules, T+1, the liquidity cap, resting orders matched between windows, OCO, corporate
actions at their ex-dates, the ledger. A window without a recorded snapshot is built from
the config's data source, as a replay does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agent_engine.llm.base import LLMResponse, ToolCall
from agent_engine.replay_setup import copy_missing_snapshots
from settings.config import ArenaConfig, parse_config

ORDER_TOOLS = frozenset({"execute_trade", "place_order", "cancel_order"})


@dataclass(frozen=True, slots=True)
class HeldCall:
    """One recorded order call: its id, tool name and raw arguments."""

    call_id: str
    name: str
    arguments: str


class HeldOrdersClient:
    """An LLM client that replays a run's order calls, window by window (module docstring)."""

    provider = "rescore"
    model = "held-orders"

    def __init__(self, calls: Mapping[str, Sequence[HeldCall]]) -> None:
        self.calls = calls
        self.window_id = ""
        self.step = 0

    def begin_window(self, view: Any) -> None:
        self.window_id, self.step = view.window_id, 0

    def complete(
        self, system: str, messages: list[Any], tools: list[Any], key: Any = None
    ) -> LLMResponse:
        self.step = key.step if key is not None else self.step + 1
        held = self.calls.get(self.window_id, ()) if self.step == 1 else ()
        calls = [ToolCall(id=c.call_id, name=c.name, arguments=c.arguments) for c in held]
        return LLMResponse.local("" if calls else "orders held fixed", calls, self.model)


def rescore_config(config: ArenaConfig, signature: str, data_root: Path) -> ArenaConfig:
    """`config` for a held-orders run of `signature` into `data_root`: replay mode, that one
    agent, its own records and snapshots there."""
    data = config.model_dump(mode="json")
    data["mode"] = "replay"
    data["models"] = [m for m in data["models"] if m["signature"] == signature]
    for model in data["models"]:
        model["replay"] = None
    data["log_config"]["data_root"] = str(data_root)
    data["log_config"]["snapshot_root"] = None
    return parse_config(data, "rescore config")


@contextmanager
def held_orders_run(
    config: ArenaConfig,
    signature: str,
    calls: Mapping[str, Sequence[HeldCall]],
    days: Sequence[date],
    snapshot_stores: Sequence[Path],
) -> Iterator[Path]:
    """Run `signature` on `days` with its held order calls in a temporary data root; yields
    that data root (deleted afterwards). Raises RuntimeError when the run fails."""
    from agent_engine.run_windows import make_clock
    from agent_engine.runner import run_agent

    with tempfile.TemporaryDirectory(prefix="arena-rescore-") as tmp:
        root = Path(tmp) / "data"
        cfg = rescore_config(config, signature, root)
        for store in sorted(set(snapshot_stores)):
            copy_missing_snapshots(store, root)
        client = HeldOrdersClient(calls)
        code = run_agent(
            cfg,
            signature,
            make_clock(cfg),
            runtime_path=Path(tmp) / "runtime.json",
            trading_days=sorted(set(days)),
            client_factory=lambda _model, _agent: client,
        )
        if code not in (0, 3):  # 3: some windows had no data (recorded as such)
            raise RuntimeError(f"rescoring run of {signature} ended with exit code {code}")
        yield root
