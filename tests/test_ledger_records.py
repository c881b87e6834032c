"""position.jsonl records: exact shapes, rebuild on open, torn tails and corrupt files."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent_engine.broker import Broker, Order, OrderSide, Portfolio, Quote
from agent_engine.ledger import (
    Ledger,
    NoTradeCode,
    WindowRef,
    ledger_path,
    load_records,
    trade_action,
    window_id_of,
)
from data_flow.clock import at_window
from data_flow.errors import CorruptRecordError
from data_flow.fsio import read_jsonl
from settings.config import RiskManagement, TradingRules

D = Decimal
D0, D1 = date(2025, 11, 3), date(2025, 11, 4)
CASH = D("1000000")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")
W1 = WindowRef.at(at_window(D0, "10:30"), 1)
W2 = WindowRef.at(at_window(D0, "11:30"), 2)
W3 = WindowRef.at(at_window(D0, "14:00"), 3)
W4 = WindowRef.at(at_window(D1, "10:30"), 1)
QUOTES = {"SH688008": Quote("SH688008", D("100.00"))}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return ledger_path(tmp_path, "agent-x")


def broker() -> Broker:
    return Broker(TradingRules(), RiskManagement(), ["SH688008", "SH600000"])


def trade(ledger: Ledger, window: WindowRef, side: OrderSide, qty: int) -> dict[str, Any]:
    p = ledger.portfolio
    p.roll_to(window.day)
    result = broker().execute(p, Order("SH688008", side, qty), QUOTES, window.day)
    assert result.fill is not None, result.message
    p.apply(result.fill)
    return ledger.append_trade(window, result.fill, p, "h1")


def strip_ts(record: dict[str, Any]) -> dict[str, Any]:
    assert TS.match(record["ts_recorded"]), record["ts_recorded"]
    return {k: v for k, v in record.items() if k != "ts_recorded"}


def test_path_and_window_id(tmp_path: Path) -> None:
    assert ledger_path(tmp_path, "gpt") == tmp_path / "agent_data/gpt/position/position.jsonl"
    assert window_id_of(at_window(D0, "14:00")) == "2025-11-03T14:00"
    assert W3.day == D0


def test_seed_trade_and_no_trade_records_exact(path: Path) -> None:
    # Arrange / Act
    with Ledger(path, CASH, D0) as ledger:
        trade(ledger, W1, OrderSide.BUY, 1000)
        ledger.append_no_trade(W2, "hold", "model chose to hold", ledger.portfolio, "h2")
    # Assert: the exact lines on disk
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [strip_ts(x) for x in lines] == [
        {"id": 0, "date": "2025-11-03", "decision_time": None, "decision_count": 0,
         "window_id": None, "positions": {"CASH": 1000000.0}, "this_action": {"action": "seed"},
         "schema_version": 1},
        # 1000 × 100.00 = 100000.00; commission 30.00; transfer 1.00; cash 899969.00;
        # avg (100000 + 31) / 1000 = 100.0310
        {"id": 1, "date": "2025-11-03", "decision_time": "2025-11-03 10:30:00",
         "decision_count": 1, "window_id": "2025-11-03T10:30",
         "positions": {"CASH": 899969.0, "SH688008": {"shares": 1000, "sellable": 0,
                                                     "avg_price": 100.031,
                                                     "purchase_date": "2025-11-03"}},
         "this_action": {"action": "BUY", "symbol": "SH688008", "amount": 1000, "price": 100.0,
                         "notional": 100000.0, "commission": 30.0, "stamp_duty": 0.0,
                         "transfer_fee": 1.0},
         "snapshot_hash": "h1", "schema_version": 1},
        {"id": 2, "date": "2025-11-03", "decision_time": "2025-11-03 11:30:00",
         "decision_count": 2, "window_id": "2025-11-03T11:30",
         "positions": {"CASH": 899969.0, "SH688008": {"shares": 1000, "sellable": 0,
                                                     "avg_price": 100.031,
                                                     "purchase_date": "2025-11-03"}},
         "this_action": {"action": "no_trade", "reason": "model chose to hold",
                         "reason_code": "hold"},
         "snapshot_hash": "h2", "schema_version": 1},
    ]  # fmt: skip


def test_reopen_rebuilds_portfolio_and_ids_continue(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger:
        trade(ledger, W1, OrderSide.BUY, 1000)
        ledger.append_no_trade(W2, NoTradeCode.LLM_ERROR, "llm_error: 500", ledger.portfolio, None)
    with Ledger(path, CASH, D0) as again:
        assert again.next_id == 3
        assert again.portfolio.cash == D("899969.00")
        h = again.portfolio.holdings["SH688008"]
        assert (h.shares, h.sellable, h.avg_price, h.purchase_date) == (1000, 0, D("100.0310"), D0)
        assert again.portfolio.last_trade_date == D0
        assert again.windows_with_records() == {"2025-11-03T10:30", "2025-11-03T11:30"}
        assert again.last_window_id() == "2025-11-03T11:30"
        assert again.trade_count() == 1
        assert again.fees_paid() == D("31.00")
        # Same day: T+1 still locks the shares after the rebuild.
        r = broker().execute(again.portfolio, Order("SH688008", OrderSide.SELL, 1000), QUOTES, D0)
        assert not r.ok
        # Next trading day: roll_to unlocks them; sell all.
        # 100000.00; commission 30.00; stamp 50.00; transfer 1.00; cash 899969 + 99919 = 999888
        rec = trade(again, W4, OrderSide.SELL, 1000)
        assert rec["id"] == 3
        assert rec["positions"] == {"CASH": 999888.0}
    with Ledger(path, CASH, D0) as third:
        assert third.portfolio == Portfolio(D("999888.00"), {}, D1)
        assert [r["id"] for r in third.records()] == [0, 1, 2, 3]
        assert [r["this_action"]["action"] for r in third.trades()] == ["BUY", "SELL"]
        assert third.fees_paid() == D("112.00")


def test_sellable_stored_for_add_on_and_unlocked_next_day(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger:
        trade(ledger, W1, OrderSide.BUY, 1000)
        trade(ledger, W4, OrderSide.BUY, 500)  # D1: the first 1000 are sellable, 500 are not
        assert ledger.last_record()["positions"]["SH688008"]["sellable"] == 1000
    with Ledger(path, CASH, D0) as again:
        h = again.portfolio.holdings["SH688008"]
        assert (h.shares, h.sellable, h.purchase_date) == (1500, 1000, D1)
        again.portfolio.roll_to(date(2025, 11, 5))
        assert h.sellable == 1500


def test_empty_or_torn_seed_only_file_gets_a_seed(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"id":0,"date":"2025-11-0')  # killed while writing the seed
    with Ledger(path, CASH, D0) as ledger:
        assert ledger.next_id == 1
    assert [r["id"] for r in read_jsonl(path, strict=True)] == [0]


def test_hand_made_torn_tail_is_tolerated_then_repaired(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger:
        trade(ledger, W1, OrderSide.BUY, 1000)
    whole = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"id":2,"date":"2025-11-03","positions":{"CASH":8999')
    # Readers skip the torn line without repairing it.
    assert [r["id"] for r in read_jsonl(path)] == [0, 1]
    assert [r["id"] for r in load_records(path)] == [0, 1]
    assert path.read_bytes() != whole
    # Opening the ledger cuts it off before the next append.
    with Ledger(path, CASH, D0) as ledger:
        assert path.read_bytes() == whole
        ledger.append_no_trade(W2, "hold", "hold", ledger.portfolio, None)
    records = read_jsonl(path, strict=True)
    assert [r["id"] for r in records] == [0, 1, 2]
    assert path.read_bytes().startswith(whole)


def _seed_line(**changes: Any) -> dict[str, Any]:
    seed = {"id": 0, "date": "2025-11-03", "decision_time": None, "decision_count": 0,
            "window_id": None, "positions": {"CASH": 1000000.0},
            "this_action": {"action": "seed"}, "schema_version": 1, "ts_recorded": "x"}  # fmt: skip
    seed.update(changes)
    return seed


def _no_trade_line(id_: int, cash: float, **changes: Any) -> dict[str, Any]:
    rec = {"id": id_, "date": "2025-11-03", "decision_time": "2025-11-03 10:30:00",
           "decision_count": 1, "window_id": "2025-11-03T10:30", "positions": {"CASH": cash},
           "this_action": {"action": "no_trade", "reason": "x", "reason_code": "hold"},
           "snapshot_hash": None, "schema_version": 1, "ts_recorded": "x"}  # fmt: skip
    rec.update(changes)
    return rec


CORRUPT = [
    ("no_seed_first_is_trade", [_no_trade_line(0, 1000000.0)], "seed"),
    ("seed_not_id_0", [_seed_line(id=1)], "expected 0"),
    ("id_gap", [_seed_line(), _no_trade_line(2, 1000000.0)], "expected 1"),
    ("duplicate_id", [_seed_line(), _no_trade_line(0, 1000000.0)], "expected 1"),
    ("second_seed", [_seed_line(), _seed_line(id=1)], "not a seed"),
    ("cash_jump", [_seed_line(), _no_trade_line(1, 1000001.0)], "does not follow"),
    ("newer_schema", [_seed_line(schema_version=2)], "schema_version"),
    ("unknown_action", [_seed_line(), _no_trade_line(1, 1e6, this_action={"action": "X"})],
     "unknown action"),
    ("bad_date", [_seed_line(date="yesterday")], "date"),
    ("bad_cash", [_seed_line(positions={"CASH": "lots"})], "not a number"),
    ("not_objects", [_seed_line(positions=None)], "positions"),
]  # fmt: skip


@pytest.mark.parametrize(("lines", "match"), [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_corrupt_files_raise_never_reset(
    path: Path, lines: list[dict[str, Any]], match: str
) -> None:
    path.parent.mkdir(parents=True)
    text = "".join(json.dumps(x) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptRecordError, match=match):
        Ledger(path, CASH, D0)
    assert path.read_text(encoding="utf-8") == text  # untouched


def test_damaged_middle_line_raises(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger:
        trade(ledger, W1, OrderSide.BUY, 1000)
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0][:20]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CorruptRecordError, match="line 1"):
        Ledger(path, CASH, D0)


def test_blank_but_nonempty_file_raises(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CorruptRecordError, match="no seed"):
        Ledger(path, CASH, D0)


def test_config_change_keeps_the_file(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    Ledger(path, CASH, D0).close()
    with caplog.at_level(logging.WARNING), Ledger(path, D("5000"), D1) as ledger:
        assert ledger.portfolio.cash == CASH
    assert "keeping the file" in caplog.text


def test_append_trade_requires_the_applied_portfolio(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger:
        p = ledger.portfolio
        result = broker().execute(p, Order("SH688008", OrderSide.BUY, 200), QUOTES, D0)
        assert result.fill is not None
        with pytest.raises(ValueError, match="apply the fill"):
            ledger.append_trade(W1, result.fill, p, None)  # forgot p.apply(fill)
        with pytest.raises(ValueError, match="recorded in window"):
            ledger.append_trade(W4, result.fill, p, None)  # fill of D0 in a D1 window
        p.apply(result.fill)
        with pytest.raises(ValueError, match="without append_trade"):
            ledger.append_no_trade(W1, "hold", "x", p, None)
        ledger.append_trade(W1, result.fill, p, None)
        assert ledger.next_id == 2


def test_unknown_reason_code_is_a_bug(path: Path) -> None:
    with Ledger(path, CASH, D0) as ledger, pytest.raises(ValueError):
        ledger.append_no_trade(W1, "bored", "x", ledger.portfolio, None)


@pytest.mark.parametrize("code", list(NoTradeCode), ids=str)
def test_every_no_trade_code_is_written(path: Path, code: NoTradeCode) -> None:
    with Ledger(path, CASH, D0) as ledger:
        rec = ledger.append_no_trade(W1, code.value, "why", ledger.portfolio, "h")
    assert rec["this_action"] == {"action": "no_trade", "reason": "why", "reason_code": code.value}


def test_window_context_like_objects_are_accepted(path: Path) -> None:
    ctx = SimpleNamespace(
        moment=at_window(D0, "14:00"), decision_index=3, window_id="2025-11-03T14:00"
    )
    with Ledger(path, CASH, D0) as ledger:
        rec = ledger.append_no_trade(ctx, "hold", "x", ledger.portfolio, None)
        with pytest.raises(TypeError):
            ledger.append_no_trade(object(), "hold", "x", ledger.portfolio, None)
    assert (rec["window_id"], rec["decision_time"], rec["decision_count"], rec["date"]) == (
        "2025-11-03T14:00",
        "2025-11-03 14:00:00",
        3,
        "2025-11-03",
    )


def test_money_round_trips_exactly_through_json(path: Path) -> None:
    # 201 × 33.33 = 6699.33; commission 5.00; transfer 0.07; cash 993295.60;
    # avg (6699.33 + 5.07) / 201 = 33.35522.. -> 33.3552
    quotes = {"SH688008": Quote("SH688008", D("33.33"))}
    with Ledger(path, CASH, D0) as ledger:
        result = broker().execute(ledger.portfolio, Order("SH688008", "BUY", 201), quotes, D0)
        assert result.fill is not None
        ledger.portfolio.apply(result.fill)
        rec = ledger.append_trade(W1, result.fill, ledger.portfolio, None)
        assert rec["this_action"] == trade_action(result.fill)
        original = ledger.portfolio
    with Ledger(path, CASH, D0) as again:
        assert again.portfolio == original
        assert again.portfolio.cash == D("993295.60")
        assert again.portfolio.holdings["SH688008"].avg_price == D("33.3552")


def test_last_line_missing_only_its_newline_is_not_counted(path: Path) -> None:
    """Readers agree with the repair: a last line without newline is torn even if it parses."""
    from data_flow.fsio import read_jsonl, repair_torn_tail

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"id":0}\n{"id":1}')
    assert read_jsonl(path) == [{"id": 0}]
    assert repair_torn_tail(path) == len(b'{"id":1}')
    assert read_jsonl(path) == [{"id": 0}]
