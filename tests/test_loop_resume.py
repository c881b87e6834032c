"""Resuming an interrupted window in-process: the interrupted state is cut out of an
uninterrupted run's own files (its ledger and decision log up to a step boundary), then
`run_window` continues it against the same deterministic fake model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_engine.broker import Broker, quotes_from_snapshot
from agent_engine.decision_log import read_events, window_complete
from agent_engine.ledger import Ledger, WindowRef
from agent_engine.llm.base import ToolCall
from agent_engine.llm.factory import make_client
from agent_engine.loop import WindowContext, run_window
from agent_engine.resume import recorded_fill_outcome
from agent_engine.tools import ToolBox
from data_flow.errors import CorruptRecordError
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import MOMENT, TEST_KEY, make_config, make_ctx, make_snapshot, market_row

KEY_ENV = "ARENA_TEST_FAKE_KEY"


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(rule="buy_each") as srv:
        yield srv


def _ctx(data_root: Path, server: FakeLLMServer) -> WindowContext:
    model = {
        "signature": "llm",
        "provider": "openai",
        "basemodel": "fake-model",
        "base_url": server.openai_base_url,
        "api_key_env": KEY_ENV,
    }
    return make_ctx(make_config(data_root, models=[model]), "llm")


def _run(ctx: WindowContext) -> str:
    client = make_client(ctx.model, ctx.config.agent_config)
    return run_window(ctx, client, sleep=lambda s: None).outcome


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _stable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "ts_recorded"} for r in records]


def _interrupted_copy(
    done: WindowContext, root: Path, server: FakeLLMServer, log_lines: int, ledger_lines: int
) -> WindowContext:
    """A data root holding the first lines of `done`'s decision log and ledger: the state a
    kill at that point leaves behind."""
    for src, keep in ((done.log_path, log_lines), (done.ledger.path, ledger_lines)):
        dest = root / src.relative_to(done.config.data_root())
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"".join(_lines(src)[:keep]))
    ctx = _ctx(root, server)
    ctx.attempt = 2
    return ctx


@pytest.fixture
def uninterrupted(tmp_path: Path, server: FakeLLMServer) -> tuple[WindowContext, list[Any]]:
    ctx = _ctx(tmp_path / "a", server)
    assert _run(ctx) == "traded"
    bodies = server.bodies("/chat/completions")
    server.requests.clear()
    return ctx, bodies


def test_a_fill_recorded_before_its_tool_result_is_rebuilt_not_repeated(
    tmp_path: Path, server: FakeLLMServer, uninterrupted: tuple[WindowContext, list[Any]]
) -> None:
    done, bodies = uninterrupted
    events = read_events(done.log_path)
    assert [e["type"] for e in events] == (
        ["window_start", "prompt"] + ["model_call", "tool_result"] * 3 + ["model_call"]
    ) + ["window_end"]
    assert [r["tool_call_id"] for r in done.ledger.trades()] == ["buy_1", "buy_2", "buy_3"]
    # killed after the 2nd fill's ledger record, before its tool_result: the log ends with
    # the 2nd model_call (5 lines), the ledger holds the seed and 2 fills (3 lines)
    ctx = _interrupted_copy(done, tmp_path / "b", server, 5, 3)
    assert not window_complete(ctx.log_path)

    assert _run(ctx) == "traded"

    assert _stable(ctx.ledger.records()) == _stable(done.ledger.records())
    resumed = read_events(ctx.log_path)
    assert [e["type"] for e in resumed[5:]] == [
        "window_start",
        "tool_result",
        "model_call",
        "tool_result",
        "model_call",
        "window_end",
    ]
    start, rebuilt, end = resumed[5], resumed[6], resumed[-1]
    assert (start["attempt"], start["resumed"], start["resumed_at_step"]) == (2, True, 3)
    original = events[5]
    assert rebuilt.pop("from_ledger") is True
    assert {k: v for k, v in rebuilt.items() if k != "ts_recorded"} == {
        k: v for k, v in original.items() if k != "ts_recorded"
    }
    assert (end["outcome"], end["trades"], end["model_calls"]) == ("traded", 2, 2)
    assert window_complete(ctx.log_path)
    # asked again with exactly the history of the uninterrupted run's 3rd and 4th calls
    again = server.bodies("/chat/completions")
    assert [b["messages"] for b in again] == [b["messages"] for b in bodies[2:]]


def test_a_window_killed_while_the_model_answered_asks_again_with_the_same_history(
    tmp_path: Path, server: FakeLLMServer, uninterrupted: tuple[WindowContext, list[Any]]
) -> None:
    done, bodies = uninterrupted
    # killed after the 1st tool_result (4 lines), waiting for the 2nd reply
    ctx = _interrupted_copy(done, tmp_path / "b", server, 4, 2)
    assert _run(ctx) == "traded"
    assert _stable(ctx.ledger.records()) == _stable(done.ledger.records())
    again = server.bodies("/chat/completions")
    assert [b["messages"] for b in again] == [b["messages"] for b in bodies[1:]]
    resumed = read_events(ctx.log_path)
    assert [e["type"] for e in resumed].count("window_end") == 1
    assert not any(e.get("from_ledger") for e in resumed)


def test_a_window_with_its_no_trade_record_is_closed_without_asking_again(
    tmp_path: Path,
) -> None:
    with FakeLLMServer(rule="answer") as srv:
        done = _ctx(tmp_path / "a", srv)
        assert _run(done) == "no_trade"
        # killed between the no_trade record and window_end
        ctx = _interrupted_copy(done, tmp_path / "b", srv, 3, 2)
        srv.requests.clear()
        assert _run(ctx) == "no_trade"
        assert srv.requests == []
    assert _stable(ctx.ledger.records()) == _stable(done.ledger.records())
    end = read_events(ctx.log_path)[-1]
    assert (end["type"], end["outcome"], end["model_calls"]) == ("window_end", "no_trade", 0)
    assert end["final_text"] == "Holding; no further trades."


def test_a_fill_that_matches_no_pending_call_stops_the_resume(
    tmp_path: Path, server: FakeLLMServer, uninterrupted: tuple[WindowContext, list[Any]]
) -> None:
    done, _ = uninterrupted
    # inconsistent: the log ends at the 1st tool_result but the ledger has 2 fills
    ctx = _interrupted_copy(done, tmp_path / "b", server, 4, 3)
    before = ctx.ledger.records()
    with pytest.raises(CorruptRecordError, match="match no pending execute_trade call"):
        _run(ctx)
    assert server.requests == []
    assert ctx.ledger.records() == before


def _toolbox(ledger: Ledger, broker: Broker, snapshot: dict[str, Any], day: date) -> ToolBox:
    ledger.portfolio.roll_to(day)
    quotes = quotes_from_snapshot(snapshot)
    moment = MOMENT.replace(year=day.year, month=day.month, day=day.day)

    def record_fill(fill: Any) -> dict[str, Any]:
        ledger.portfolio.apply(fill)
        ref = WindowRef.at(moment, 1)
        return dict(ledger.append_trade(ref, fill, ledger.portfolio, "h")["this_action"])

    return ToolBox(
        snapshot=snapshot,
        portfolio=ledger.portfolio,
        broker=broker,
        universe=["SH688008"],
        moment=moment,
        quotes=quotes,
        position_cap=Decimal("1"),
        news_lookback_hours=24,
        record_fill=record_fill,
    )


@pytest.mark.parametrize(
    ("price", "action", "quantity"),
    [
        (117.2, "BUY", 300),  # 50 bps slippage: clamped to limit-up 117.6, shown "117.60"
        (100.0, "BUY", 1000),
        (90.07, "SELL", 200),  # 300 shares left
    ],
)
def test_a_rebuilt_fill_result_is_the_toolbox_text_byte_for_byte(
    tmp_path: Path, price: float, action: str, quantity: int
) -> None:
    config = make_config(tmp_path)
    rules = config.trading_rules.model_copy(update={"slippage_bps": Decimal("50")})
    broker = Broker(rules, config.risk_management, ["SH688008"])
    ledger = Ledger(tmp_path / "position.jsonl", Decimal("1000000"), date(2025, 11, 3))
    if action == "SELL":  # hold 500 shares bought the day before
        held = make_snapshot({"SH688008": market_row(90.0, 90.0)})
        buy = json.dumps({"symbol": "SH688008", "action": "BUY", "quantity": 500})
        box = _toolbox(ledger, broker, held, date(2025, 11, 3))
        assert box.run(ToolCall("c0", "execute_trade", buy)).ok
    day = date(2025, 11, 4)
    snapshot = make_snapshot({"SH688008": market_row(price, 98.0)})
    box = _toolbox(ledger, broker, snapshot, day)
    args = json.dumps({"symbol": "SH688008", "action": action, "quantity": quantity})
    outcome = box.run(ToolCall("c1", "execute_trade", args))
    assert outcome.ok, outcome.result
    record = ledger.last_record()
    rebuilt = recorded_fill_outcome(record)
    assert rebuilt.result == outcome.result
    assert rebuilt.trade == outcome.trade and rebuilt.fill == outcome.fill
    if price == 117.2:
        assert '"price": 117.6,' in outcome.result and "at 117.60:" in outcome.result
    if action == "SELL":
        assert "; 300 shares left." in outcome.result
