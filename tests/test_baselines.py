"""Baseline strategies: deterministic orders through the same loop, tools, broker and ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_engine.baselines import BaselineClient, lot_quantity
from agent_engine.decision_log import read_events
from agent_engine.llm.factory import make_client
from agent_engine.loop import run_window
from data_flow.clock import SHANGHAI
from settings.config import PROJECT_ROOT, ConfigError
from tests.llm_helpers import make_config, make_ctx, make_snapshot, market_row

DAY2 = datetime(2025, 11, 4, 10, 30, tzinfo=SHANGHAI)


def baseline_config(data_root: Path, strategy: str, **parameters: Any) -> Any:
    model = {
        "signature": "b",
        "provider": "baseline",
        "basemodel": strategy,
        "parameters": parameters,
    }
    return make_config(data_root, models=[model])


def actions(ctx: Any) -> list[tuple[str, str | None, int | None]]:
    return [
        (r["this_action"]["action"], r["this_action"].get("symbol"), r["this_action"].get("amount"))
        for r in ctx.ledger.records()[1:]
    ]


def test_lot_quantity() -> None:
    from decimal import Decimal

    assert lot_quantity("SH688008", Decimal("33000"), Decimal("100")) == 300
    assert lot_quantity("SH688008", Decimal("19999"), Decimal("100")) == 0  # STAR needs 200
    assert lot_quantity("SH600000", Decimal("19999"), Decimal("100")) == 100
    assert lot_quantity("SH600000", Decimal("5"), Decimal("0")) == 0


def test_buy_and_hold_equal_weight_then_hold(data_root: Path) -> None:
    config = baseline_config(data_root, "buy_and_hold")
    client = make_client(config.model("b"), config.agent_config)
    assert isinstance(client, BaselineClient) and client.provider == "baseline"
    ctx = make_ctx(config, "b")
    outcome = run_window(ctx, client)
    assert outcome.outcome == "traded" and outcome.trades == 3 and outcome.rejected_orders == 0
    assert actions(ctx) == [
        ("BUY", "SH688008", 3300),
        ("BUY", "SH688009", 6600),
        ("BUY", "SH688111", 16500),
    ]
    assert ctx.ledger.records()[-1]["positions"]["CASH"] == 9693.1
    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == [
        "window_start",
        "prompt",
        "model_call",
        "tool_result",
        "tool_result",
        "tool_result",
        "model_call",
        "window_end",
    ]
    assert events[0]["provider"] == "baseline" and events[0]["model"] == "buy_and_hold"
    assert events[2]["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}
    assert events[2]["text"].startswith("BUY 3300 SH688008 (equal weight 33.3%)")
    assert events[6]["text"] == "buy_and_hold: 3 order(s) filled, 0 not filled"
    # next day: everything is held, nothing to do
    ctx2 = make_ctx(config, "b", make_snapshot(moment=DAY2), moment=DAY2, ledger=ctx.ledger)
    outcome2 = run_window(ctx2, client)
    assert outcome2.outcome == "no_trade" and outcome2.model_calls == 1
    assert ctx.ledger.records()[-1]["this_action"] == {
        "action": "no_trade",
        "reason": "model chose to hold",
        "reason_code": "hold",
    }


def test_buy_and_hold_skips_suspended_and_buys_it_later(data_root: Path) -> None:
    config = baseline_config(data_root, "buy_and_hold")
    rows = {
        "SH688008": market_row(100.0, 98.0),
        "SH688009": market_row(None, 51.0, suspended=True),
        "SH688111": market_row(20.0, 20.0),
    }
    client = make_client(config.model("b"), config.agent_config)
    ctx = make_ctx(config, "b", make_snapshot(rows))
    run_window(ctx, client)
    assert actions(ctx) == [("BUY", "SH688008", 3300), ("BUY", "SH688111", 16500)]
    ctx2 = make_ctx(config, "b", make_snapshot(moment=DAY2), moment=DAY2, ledger=ctx.ledger)
    run_window(ctx2, client)
    assert actions(ctx)[-1] == ("BUY", "SH688009", 6600)


def test_momentum_buys_positive_top_k(data_root: Path) -> None:
    config = baseline_config(data_root, "momentum", top_k=2)
    ctx = make_ctx(config, "b")
    run_window(ctx, make_client(config.model("b"), config.agent_config))
    # recent returns: SH688008 +11.1%, SH688111 +5.3%, SH688009 -9.1%
    assert actions(ctx) == [("BUY", "SH688008", 4900), ("BUY", "SH688111", 24800)]
    # next day SH688008 turns down: its sellable shares are sold, nothing new is bought
    rows = {
        "SH688008": market_row(95.0, 100.0, closes=[100.0, 97.0, 95.0]),
        "SH688009": market_row(50.0, 51.0, closes=[55.0, 52.0, 50.0]),
        "SH688111": market_row(21.0, 20.0, closes=[20.0, 20.5, 21.0]),
    }
    ctx2 = make_ctx(config, "b", make_snapshot(rows, moment=DAY2), moment=DAY2, ledger=ctx.ledger)
    run_window(ctx2, make_client(config.model("b"), config.agent_config))
    assert actions(ctx)[2:] == [("SELL", "SH688008", 4900)]


def test_mean_reversion_rsi_thresholds(data_root: Path) -> None:
    config = baseline_config(data_root, "mean_reversion")
    client = make_client(config.model("b"), config.agent_config)
    ctx = make_ctx(config, "b")
    run_window(ctx, client)
    assert actions(ctx) == [("BUY", "SH688008", 1900)]  # RSI 25 < 30; SH688009 (75) not held
    rows = {
        "SH688008": market_row(110.0, 100.0, rsi=80.0),
        "SH688009": market_row(50.0, 51.0, rsi=50.0),
        "SH688111": market_row(20.0, 20.0, rsi=50.0),
    }
    ctx2 = make_ctx(config, "b", make_snapshot(rows, moment=DAY2), moment=DAY2, ledger=ctx.ledger)
    run_window(ctx2, client)
    assert actions(ctx)[1:] == [("SELL", "SH688008", 1900)]
    assert ctx.ledger.records()[-1]["this_action"]["stamp_duty"] == 104.5


def run_random(data_root: Path, seed: int) -> list[Any]:
    config = baseline_config(data_root, "random", seed=seed, trade_probability=1.0)
    client = make_client(config.model("b"), config.agent_config)
    ctx = make_ctx(config, "b")
    run_window(ctx, client)
    ctx2 = make_ctx(config, "b", make_snapshot(moment=DAY2), moment=DAY2, ledger=ctx.ledger)
    run_window(ctx2, client)
    return actions(ctx)


def test_random_is_reproducible_per_seed(tmp_path: Path) -> None:
    first = run_random(tmp_path / "a", 7)
    again = run_random(tmp_path / "b", 7)
    other = run_random(tmp_path / "c", 8)
    assert first == again
    assert first != other
    assert all(a in ("BUY", "SELL") for a, _, _ in first)


def test_unknown_strategy_and_bad_parameter() -> None:
    with pytest.raises(ConfigError):
        BaselineClient("yolo")
    with pytest.raises(ConfigError, match="top_k"):
        from agent_engine.baselines import plan_momentum

        plan_momentum(None, {"top_k": "many"})  # type: ignore[arg-type]


def test_complete_without_begin_window_holds() -> None:
    response = BaselineClient("momentum").complete("s", [], [])
    assert response.tool_calls == [] and response.text == "no window context was given; holding"


SUBPROCESS_CHECK = r"""
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.llm_helpers import make_config, make_ctx
from agent_engine.llm.factory import make_client
from agent_engine.loop import run_window
root = Path(tempfile.mkdtemp())
model = {{"signature": "b", "provider": "baseline", "basemodel": "momentum"}}
config = make_config(root, models=[model])
run_window(make_ctx(config, "b"), make_client(config.model("b"), config.agent_config))
heavy = ("openai", "anthropic", "pandas", "numpy", "ta", "akshare", "httpx2")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def test_baseline_agents_import_no_sdk_and_no_pandas() -> None:
    code = SUBPROCESS_CHECK.format(root=str(PROJECT_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


row_strategy = st.builds(
    lambda prev, move, rsi, suspended, closes: market_row(
        None if suspended else round(prev * (1 + move), 2),
        prev,
        closes=[round(c, 2) for c in closes],
        rsi=rsi,
        suspended=suspended,
    ),
    prev=st.floats(min_value=1.0, max_value=2000.0),
    move=st.sampled_from([-0.2, -0.05, 0.0, 0.03, 0.2]),  # incl. limit-down / limit-up
    rsi=st.none() | st.floats(min_value=0, max_value=100),
    suspended=st.booleans(),
    closes=st.lists(st.floats(min_value=1.0, max_value=2000.0), min_size=0, max_size=4),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strategy=st.sampled_from(["buy_and_hold", "momentum", "mean_reversion", "random"]),
    rows=st.lists(row_strategy, min_size=3, max_size=3),
)
def test_baseline_orders_always_fill(
    tmp_path_factory: pytest.TempPathFactory, strategy: str, rows: list
) -> None:
    root = tmp_path_factory.mktemp("prop")
    config = (
        baseline_config(root, strategy, trade_probability=1.0)
        if strategy == "random"
        else (baseline_config(root, strategy))
    )
    snapshot = make_snapshot(dict(zip(["SH688008", "SH688009", "SH688111"], rows, strict=True)))
    ctx = make_ctx(config, "b", snapshot)
    outcome = run_window(ctx, make_client(config.model("b"), config.agent_config))
    assert outcome.rejected_orders == 0 and outcome.invalid_tool_calls == 0
    assert outcome.outcome in ("traded", "no_trade")
