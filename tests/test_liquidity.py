"""Liquidity of market orders: one bar's volume bounds what an agent's market orders of a
window fill, across several orders and after a resume (agent_engine/liquidity.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_engine.liquidity import capped_quantity, shares_traded_on_bars
from agent_engine.llm.base import ToolCall
from agent_engine.loop import _volume_used, run_window
from agent_engine.quotes import quotes_from_snapshot
from agent_engine.rules import Board
from tests.llm_helpers import make_config, make_ctx, make_snapshot, market_row
from tests.runner_helpers import _response

BAR = "2025-11-03 10:30:00"


class ThreeBuys:
    """One turn with three market BUYs of SH688008 (300, 300, 200), then stops."""

    provider, model = "scripted", "scripted-1"

    def __init__(self) -> None:
        self.step = 0

    def complete(self, system: str, messages: list[Any], tools: list[Any], key: Any = None) -> Any:
        self.step += 1
        if self.step > 1:
            return _response("done", [])
        calls = [
            ToolCall(f"c{i}", "execute_trade", json.dumps({"symbol": "SH688008", "action": "BUY",
                                                           "quantity": q}))
            for i, q in enumerate((300, 300, 200))
        ]  # fmt: skip
        return _response("", calls)


def thin_snapshot(last_bar_volume: int) -> dict[str, Any]:
    row = market_row(100.0, 98.0, closes=[90.0, 95.0, 100.0])
    row["recent_bars"][-1]["volume"] = last_bar_volume
    return make_snapshot(
        {
            "SH688008": row,
            "SH688009": market_row(50.0, 51.0),
            "SH688111": market_row(20.0, 20.0),
        }
    )


def test_quote_carries_the_volume_of_the_bar_at_the_decision_time() -> None:
    quotes = quotes_from_snapshot(thin_snapshot(5000))
    assert quotes["SH688008"].bar_volume == 5000
    no_bar = {"market_data": {"SH688008": {"current_price": 10, "bar_time": BAR}}}
    assert quotes_from_snapshot(no_bar)["SH688008"].bar_volume is None


def test_market_orders_of_one_window_share_the_bar_allowance(data_root: Path) -> None:
    # Arrange: the 10:30 bar traded 5000 shares -> 500 per window at the default 10 %
    config = make_config(data_root)
    ctx = make_ctx(config, "bh", thin_snapshot(5000))
    # Act
    outcome = run_window(ctx, ThreeBuys())
    # Assert: 300 fill; then 200 of 300 (STAR: any whole number from 200); then nothing
    fills = [
        (r["this_action"]["action"], r["this_action"]["amount"])
        for r in ctx.ledger.records()
        if r["this_action"]["action"] == "BUY"
    ]
    assert fills == [("BUY", 300), ("BUY", 200)]
    assert (outcome.trades, outcome.rejected_orders) == (2, 1)
    results = [
        json.loads(e["result"])
        for e in _events(ctx.log_path)
        if e["type"] == "tool_result" and e["name"] == "execute_trade"
    ]
    assert results[1]["message"].startswith("Partially filled: 200 of the 300 shares asked.")
    assert results[2] == {
        "status": "rejected",
        "reason": "liquidity",
        "message": results[2]["message"],
    }
    assert "at most 0 more shares" in results[2]["message"]
    # a resumed window starts from what the ledger says was already traded against the bar
    assert _volume_used(ctx) == {"SH688008": 500}


def _events(path: Path) -> list[dict[str, Any]]:
    from agent_engine.decision_log import read_events

    return read_events(path)


def test_shares_traded_on_bars_counts_market_and_same_bar_resting_fills() -> None:
    def rec(window: str, action: str, symbol: str, amount: int, bar: str | None = None) -> dict:
        out: dict[str, Any] = {
            "window_id": window,
            "this_action": {"action": action, "symbol": symbol, "amount": amount},
        }
        if bar is not None:
            out["order"] = {"order_id": "x", "bar_time": bar}
        return out

    records = [
        rec("2025-11-03T10:30", "BUY", "SH688008", 300),  # market fill of the window
        rec("2025-11-03T10:30", "SELL", "SH688008", 200, bar=BAR),  # resting fill, same bar
        rec("2025-11-03T10:30", "BUY", "SH688008", 400, bar="2025-11-03 15:00:00"),  # other bar
        rec("2025-10-31T14:00", "BUY", "SH688008", 900),  # another window
        rec("2025-11-03T10:30", "BUY", "SH688009", 100),
        {"window_id": "2025-11-03T10:30", "this_action": {"action": "no_trade"}},
    ]
    used = shares_traded_on_bars(records, "2025-11-03T10:30", {"SH688008": BAR, "SH688009": BAR})
    assert used == {"SH688008": 500, "SH688009": 100}


def test_capped_quantity_by_board() -> None:
    assert capped_quantity(Board.MAIN, 5000, 4235) == 4200
    assert capped_quantity(Board.MAIN, 5000, 99) == 0
    assert capped_quantity(Board.MAIN, 150, 1000) == 150  # the whole order fits: not rounded
    assert capped_quantity(Board.STAR, 1000, 234) == 234
    assert capped_quantity(Board.STAR, 1000, 199) == 0
    assert capped_quantity(Board.CHINEXT, 300, None) == 300  # no volume: no limit
    assert capped_quantity(Board.MAIN, 300, -5) == 0
