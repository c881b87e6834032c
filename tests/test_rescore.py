"""Re-scoring a recorded run under other rules, with the recorded orders held fixed."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from agent_engine.ledger import FEE_KEYS, TRADE_ACTIONS
from agent_engine.rescore import (
    apply_settings,
    main,
    original_score,
    read_ledger,
    read_run,
    rescore,
)
from settings.config import ConfigError
from tests.replay_helpers import SIG, record_run
from tests.runner_helpers import FAKE_KEY


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", FAKE_KEY)
    try:
        _cfg, root = record_run(tmp_path_factory.mktemp("rescore"))
    finally:
        mp.undo()
    return root


def _trades(run_dir: Path) -> list[dict]:
    return [
        r["this_action"]
        for r in read_ledger(run_dir, SIG)
        if r["this_action"]["action"] in TRADE_ACTIONS
    ]


def test_recorded_rules_reproduce_the_ledger_exactly(run_dir: Path) -> None:
    config, windows = read_run(run_dir, SIG)
    records = read_ledger(run_dir, SIG)
    score = rescore(config, windows)
    original = original_score(config, windows, records)
    trades = _trades(run_dir)
    assert len(trades) >= 3
    assert score.final_cash == Decimal(str(records[-1]["positions"]["CASH"]))
    assert (score.final_equity, score.fees, score.trades) == (
        original.final_equity,
        original.fees,
        original.trades,
    )
    # the rejected order of window 1 (150 STAR shares) is executed again and rejected again
    assert score.rejected == original.rejected == 1
    for fill, action in zip(score.fills, trades, strict=True):
        assert (fill.symbol, fill.side.value, fill.quantity) == (
            action["symbol"],
            action["action"],
            action["amount"],
        )
        assert [float(getattr(fill, k)) for k in FEE_KEYS] == [action[k] for k in FEE_KEYS]


def test_zero_commission_raises_final_cash_by_exactly_the_commission_paid(run_dir: Path) -> None:
    config, windows = read_run(run_dir, SIG)
    trades = _trades(run_dir)
    free = apply_settings(
        config, ["trading_rules.commission_rate=0", "trading_rules.min_commission=0"]
    )
    score = rescore(free, windows)
    original = original_score(config, windows, read_ledger(run_dir, SIG))
    paid = sum(Decimal(str(a["commission"])) for a in trades)
    assert paid > 0
    assert score.final_cash - original.final_cash == paid
    assert score.final_equity - original.final_equity == paid
    # order for order: the same fills, without commission, other fees unchanged
    assert len(score.fills) == len(trades)
    for fill, action in zip(score.fills, trades, strict=True):
        assert fill.commission == 0
        assert (fill.symbol, fill.quantity, float(fill.price), float(fill.notional)) == (
            action["symbol"],
            action["amount"],
            action["price"],
            action["notional"],
        )
        assert (float(fill.stamp_duty), float(fill.transfer_fee)) == (
            action["stamp_duty"],
            action["transfer_fee"],
        )


def test_orders_that_become_invalid_are_rejected_and_counted(run_dir: Path) -> None:
    config, windows = read_run(run_dir, SIG)
    poor = apply_settings(config, ["agent_config.initial_cash=1000"])
    score = rescore(poor, windows)
    assert score.trades == 0
    assert score.final_cash == Decimal("1000.00")
    orders = sum(len(w.orders) for w in windows)
    invalid = 1  # the malformed-JSON call is invalid, not a rejected order
    assert score.rejected == orders - invalid


def test_cli_prints_original_next_to_rescored(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            str(run_dir),
            "--set",
            "trading_rules.commission_rate=0.001",
            "--set",
            "trading_rules.slippage_bps=20",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"{SIG}: trading_rules.commission_rate=0.001 trading_rules.slippage_bps=20"
        " (orders held fixed)"
    )
    assert lines[1].split() == ["metric", "original", "rescored"]
    rows = {line.split()[0]: line.split()[-2:] for line in lines[2:]}
    assert rows["trades"][0] == str(len(_trades(run_dir)))
    assert rows["rejected"][0] == "1"
    fees = [Decimal(x.replace(",", "")) for x in rows["fees"]]
    assert fees[1] > fees[0]


def test_grid_writes_csv_and_heatmap(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = [str(run_dir), "--grid", "commission=0,0.0003,0.001", "slippage=0,10,20"]
    assert main([*args, "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / f"{SIG}_grid.csv").open()))
    assert [(r["commission_rate"], r["slippage_bps"]) for r in rows] == [
        (c, s) for c in ("0", "0.0003", "0.001") for s in ("0", "10", "20")
    ]
    config, windows = read_run(run_dir, SIG)
    recorded = original_score(config, windows, read_ledger(run_dir, SIG))
    at_recorded_rules = next(
        r for r in rows if (r["commission_rate"], r["slippage_bps"]) == ("0.0003", "0")
    )
    assert Decimal(at_recorded_rules["final_equity"]) == recorded.final_equity
    returns = [Decimal(r["return_pct"]) for r in rows]
    assert returns[0] == max(returns) and returns[-1] == min(returns)
    assert (out / f"{SIG}_grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("trading_rules.commision_rate=0", "trading_rules.commision_rate: unknown key"),
        ("models.0.basemodel=x", "only trading_rules.*, risk_management.*"),
        ("trading_rules.commission_rate=-1", "commission_rate: Input should be greater"),
        ("trading_rules", "expected dotted.path=value"),
    ],
)
def test_bad_settings_are_refused(run_dir: Path, setting: str, message: str) -> None:
    config, _windows = read_run(run_dir, SIG)
    with pytest.raises(ConfigError, match=message.replace("*", r"\*").replace(".", r"\.")):
        apply_settings(config, [setting])
    assert main([str(run_dir), "--set", setting]) == 2
