"""Corporate actions: dividends and bonus shares at the ex-date (exact cash, once across a
resume), the as-of view in snapshots (no look-ahead), ex-reference prices and ST limits."""

from __future__ import annotations

import json
import signal
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_engine.corporate_actions import (
    add_months,
    apply_due_actions,
    holding_period_rate,
)
from agent_engine.ledger import Ledger, WindowRef, load_records
from agent_engine.quotes import quotes_from_snapshot
from agent_engine.runner import StopRequested, make_clock, run_agent
from data_flow.clock import SHANGHAI
from data_flow.corporate_actions import CorporateAction, load_actions_file
from data_flow.errors import DataUnavailableError
from data_flow.records.models import BonusAction, DividendAction, LedgerRecord
from data_flow.snapshot_builder import build_snapshot
from data_flow.sources.files import FilesSource
from data_flow.symbols import price_limits
from settings.config import DataConfig, load_config
from tests.conftest import write_config
from tests.runner_helpers import ScriptedClient, positions, snapshot_for

DIVIDEND = {
    "symbol": "SH688008",
    "ex_date": "2025-10-22",
    "announce_date": "2025-10-15",
    "cash_per_share": 0.20,
    "bonus_per_share": 0,
}


def _star_with_actions(tmp_path: Path, star10_dir: Path, body: dict[str, Any]) -> Path:
    folder = tmp_path / "star"
    folder.mkdir()
    (folder / "ai_stock_data.json").symlink_to(star10_dir / "ai_stock_data.json")
    (folder / "corporate_actions.json").write_text(json.dumps(body), encoding="utf-8")
    return folder


def _star_config(tmp_path: Path, data_root: Path, star10_dir: Path, first: str, last: str) -> Any:
    """The STAR sample (SH688008, SH688009) from `first` to `last` with the 2025-10-22 dividend."""
    data = _star_with_actions(tmp_path, star10_dir, {"actions": [DIVIDEND]})
    cfg = write_config(
        tmp_path,
        data_root,
        date_range={"init_date": first, "end_date": last},
        symbols=["SH688008", "SH688009"],
        data_config={"source": "files", "path": str(data)},
    )
    return load_config(cfg)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- a replay of the STAR sample across the real ex-date -------------------------------------
def test_replay_across_ex_date_credits_dividend_once_across_a_resume(
    tmp_path: Path, data_root: Path, star10_dir: Path
) -> None:
    # Arrange: buy 200 SH688008 on 2025-10-21 10:30; stop in the first window of 2025-10-22
    config = _star_config(tmp_path, data_root, star10_dir, "2025-10-21", "2025-10-22")
    rt = tmp_path / "rt.json"

    def stop_in_ex_date_window(window: int, step: int) -> None:
        if window == 4:
            raise StopRequested(signal.SIGTERM)

    first = ScriptedClient("SH688008", 200, on_call=stop_in_ex_date_window)
    # Act: run, stopped after the dividend was applied; then resume to the end
    code1 = run_agent(
        config, "bh", make_clock(config), runtime_path=rt, client_factory=lambda m, a: first
    )
    resumed = ScriptedClient("SH688008", 200)
    resumed.bought = True
    code2 = run_agent(
        config, "bh", make_clock(config), runtime_path=rt, client_factory=lambda m, a: resumed
    )
    # Assert
    assert (code1, code2) == (128 + signal.SIGTERM, 0)
    records = positions(data_root, "bh")
    dividends = [r for r in records if r["this_action"]["action"] == "dividend"]
    assert len(dividends) == 1
    rec = dividends[0]
    # held 1 day (<= 1 month): 20 % of 200 × 0.20
    assert rec["this_action"] == {
        "action": "dividend",
        "key": "dividend:SH688008:2025-10-22",
        "symbol": "SH688008",
        "ex_date": "2025-10-22",
        "shares": 200,
        "cash_per_share": 0.2,
        "gross": 40.0,
        "tax": 8.0,
        "net": 32.0,
        "tax_rule": "holding_period",
        "tax_lots": [{"acquired": "2025-10-21", "shares": 200, "rate": 0.2}],
    }
    assert rec["window_id"] == "2025-10-22T10:30"
    before = records[rec["id"] - 1]["positions"]["CASH"]
    assert Decimal(str(rec["positions"]["CASH"])) == Decimal(str(before)) + Decimal("32.00")
    assert rec["positions"]["SH688008"]["shares"] == 200
    # the ledger validates (cash continuity accepts the record) and the record is typed
    load_records(data_root / "agent_data" / "bh" / "position" / "position.jsonl")
    assert LedgerRecord.parse(rec).action == DividendAction(
        "SH688008", "2025-10-22", 200, Decimal("40.0"), Decimal("8.0"), Decimal("32.0")
    )
    # the window's decision still got its own record after the dividend
    kinds = [r["this_action"]["action"] for r in records if r.get("window_id") == rec["window_id"]]
    assert kinds == ["dividend", "no_trade"]
    # snapshots: the action is announced before 10-21 -> upcoming on 10-21; the ex-date's
    # previous close is the ex-dividend reference price 139.00 - 0.20
    day1 = snapshot_for(data_root, "2025-10-21T10:30")
    assert day1["corporate_actions_upcoming"] == [DIVIDEND]
    assert day1["corporate_actions_effective"] == []
    day2 = snapshot_for(data_root, "2025-10-22T10:30")
    assert day2["corporate_actions_upcoming"] == []
    assert day2["corporate_actions_effective"] == [DIVIDEND]
    assert day2["market_data"]["SH688008"]["prev_close"] == 138.8
    assert day2["market_data"]["SH688009"]["st"] is False


def test_snapshot_never_shows_an_action_announced_later(tmp_path: Path, star10_dir: Path) -> None:
    # Arrange: announced on 2025-10-21 (ex 2025-10-23)
    late = {**DIVIDEND, "announce_date": "2025-10-21", "ex_date": "2025-10-23"}
    source = FilesSource(_star_with_actions(tmp_path, star10_dir, {"actions": [late]}))
    cfg = DataConfig(source="files", path=str(tmp_path))
    # Act
    on_announce_day = build_snapshot(source, _at("2025-10-21 14:00"), ["SH688008"], cfg)
    next_day = build_snapshot(source, _at("2025-10-22 10:30"), ["SH688008"], cfg)
    # Assert
    assert on_announce_day["corporate_actions_upcoming"] == []
    assert next_day["corporate_actions_upcoming"] == [late]


# --- applying to a ledger directly -----------------------------------------------------------
def _snapshot_with(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"corporate_actions_effective": list(actions)}


def _ledger_with_buy(tmp_path: Path, symbol: str, quantity: int, price: str) -> Ledger:
    from agent_engine.broker import Broker, Order
    from agent_engine.quotes import Quote
    from settings.config import RiskManagement, TradingRules

    ledger = Ledger(tmp_path / "position.jsonl", Decimal("1000000"), date(2025, 1, 2))
    broker = Broker(TradingRules(), RiskManagement(single_stock_max_position=1), [symbol])
    quotes = {symbol: Quote(symbol, Decimal(price), Decimal(price))}
    day = date(2025, 6, 3)
    ledger.portfolio.roll_to(day)
    result = broker.execute(ledger.portfolio, Order(symbol, "BUY", quantity), quotes, day)
    assert result.fill is not None
    window = WindowRef.at(datetime(2025, 6, 3, 10, 30, tzinfo=SHANGHAI), 1)
    ledger.commit_fill(window, result.fill, ledger.portfolio, None)
    return ledger


def test_bonus_shares_ten_for_three_adjust_avg_and_unlock_t_plus_1(tmp_path: Path) -> None:
    # Arrange: 1055 SH688008 bought 2025-06-03; 10送3 ex 2025-06-10
    ledger = _ledger_with_buy(tmp_path, "SH688008", 1055, "10.00")
    avg = ledger.portfolio.holdings["SH688008"].avg_price
    bonus = {
        "symbol": "SH688008",
        "ex_date": "2025-06-10",
        "announce_date": "2025-06-01",
        "cash_per_share": 0,
        "bonus_per_share": 0.3,
    }
    ex = datetime(2025, 6, 10, 10, 30, tzinfo=SHANGHAI)
    ledger.portfolio.roll_to(ex.date())
    # Act
    written = apply_due_actions(
        ledger, ledger.portfolio, _snapshot_with(bonus), WindowRef.at(ex, 1), "h", "holding_period"
    )
    again = apply_due_actions(
        ledger, ledger.portfolio, _snapshot_with(bonus), WindowRef.at(ex, 1), "h", "holding_period"
    )
    # Assert: 1055 × 0.3 = 316.5 -> 316 new shares (fraction dropped)
    assert again == []
    assert [w["this_action"]["action"] for w in written] == ["bonus"]
    action = written[0]["this_action"]
    assert (action["new_shares"], action["shares_after"]) == (316, 1371)
    expected_avg = (avg * 1055 / 1371).quantize(Decimal("0.0001"))
    assert Decimal(str(action["avg_price_after"])) == expected_avg
    h = ledger.portfolio.holdings["SH688008"]
    assert (h.shares, h.avg_price) == (1371, expected_avg)
    assert ledger.portfolio.sellable_on("SH688008", date(2025, 6, 10)) == 1055
    assert ledger.portfolio.sellable_on("SH688008", date(2025, 6, 11)) == 1371
    assert LedgerRecord.parse(written[0]).action == BonusAction("SH688008", "2025-06-10", 316, 1371)
    ledger.close()
    # reopening rebuilds the same holding; the action is not applied twice
    reopened = Ledger(tmp_path / "position.jsonl", Decimal("1000000"), date(2025, 1, 2))
    assert reopened.portfolio.holdings["SH688008"].shares == 1371
    reopened.portfolio.roll_to(ex.date())
    assert (
        apply_due_actions(
            reopened, reopened.portfolio, _snapshot_with(bonus), WindowRef.at(ex, 2), None, "0"
        )
        == []
    )
    reopened.close()


def test_dividend_with_flat_tax_rate_and_with_bonus_in_one_action(tmp_path: Path) -> None:
    # Arrange: 1000 shares; 10派5送2 (0.5 cash, 0.2 bonus), flat 10 % tax
    ledger = _ledger_with_buy(tmp_path, "SH600000", 1000, "10.00")
    cash_before = ledger.portfolio.cash
    both = {
        "symbol": "SH600000",
        "ex_date": "2025-06-10",
        "announce_date": "2025-06-01",
        "cash_per_share": 0.5,
        "bonus_per_share": 0.2,
    }
    ex = WindowRef.at(datetime(2025, 6, 10, 10, 30, tzinfo=SHANGHAI), 1)
    ledger.portfolio.roll_to(ex.day)
    # Act
    written = apply_due_actions(
        ledger, ledger.portfolio, _snapshot_with(both), ex, None, Decimal("0.1")
    )
    # Assert: dividend on the shares before the bonus: 500.00 gross, 50.00 tax
    assert [w["this_action"]["action"] for w in written] == ["dividend", "bonus"]
    div = written[0]["this_action"]
    assert (div["gross"], div["tax"], div["net"], div["tax_rule"]) == (
        500.0,
        50.0,
        450.0,
        "flat 0.1",
    )
    assert ledger.portfolio.cash == cash_before + Decimal("450.00")
    assert ledger.portfolio.holdings["SH600000"].shares == 1200
    ledger.close()


@pytest.mark.parametrize(
    ("acquired", "ex_date", "rate"),
    [
        ("2025-09-22", "2025-10-22", "0.20"),  # held through 10-21: within 1 month
        ("2025-09-21", "2025-10-22", "0.20"),  # exactly 1 month
        ("2025-09-20", "2025-10-22", "0.10"),  # more than a month
        ("2024-10-21", "2025-10-22", "0.10"),  # exactly 1 year
        ("2024-10-20", "2025-10-22", "0"),  # more than a year
    ],
)
def test_dividend_tax_rate_by_holding_period(acquired: str, ex_date: str, rate: str) -> None:
    got = holding_period_rate(date.fromisoformat(acquired), date.fromisoformat(ex_date))
    assert got == Decimal(rate)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


# --- data files, ST and limits ---------------------------------------------------------------
def test_actions_file_errors_name_the_entry(tmp_path: Path) -> None:
    bad = {**DIVIDEND, "announce_date": "2025-10-22"}
    (tmp_path / "corporate_actions.json").write_text(json.dumps({"actions": [bad]}))
    with pytest.raises(DataUnavailableError, match=r"actions\[0\]: announce_date 2025-10-22 must"):
        load_actions_file(tmp_path)


def test_st_main_board_limit_is_five_percent_star_keeps_twenty() -> None:
    assert price_limits(Decimal("10.00"), "main", st=True) == (Decimal("9.50"), Decimal("10.50"))
    assert price_limits(Decimal("10.00"), "star", st=True) == (Decimal("8.00"), Decimal("12.00"))
    snap = {"market_data": {"SH600000": {"current_price": 10.2, "prev_close": 10.0, "st": True}}}
    quote = quotes_from_snapshot(snap)["SH600000"]
    assert (quote.limit_down, quote.limit_up) == (Decimal("9.50"), Decimal("10.50"))


def test_st_flag_from_the_actions_file_sets_snapshot_limits(
    tmp_path: Path, star10_dir: Path
) -> None:
    # Arrange: SH688008 ST from 2025-10-22 (a STAR stock: the limit stays ±20 %)
    body = {"st": [{"symbol": "SH688008", "from": "2025-10-22", "to": None}]}
    source = FilesSource(_star_with_actions(tmp_path, star10_dir, body))
    cfg = DataConfig(source="files", path=str(tmp_path))
    # Act
    before = build_snapshot(source, _at("2025-10-21 10:30"), ["SH688008"], cfg)
    on = build_snapshot(source, _at("2025-10-22 10:30"), ["SH688008"], cfg)
    # Assert
    assert before["market_data"]["SH688008"]["st"] is False
    entry = on["market_data"]["SH688008"]
    assert entry["st"] is True
    assert (entry["limit_down"], entry["limit_up"]) == (111.2, 166.8)
    assert CorporateAction.from_record(DIVIDEND).cash_per_share == Decimal("0.2")


def test_prompt_lists_upcoming_ex_dates_and_st_status() -> None:
    from agent_engine.prompt import _market_table

    row = {"current_price": 10.2, "prev_close": 10.0, "suspended": False, "st": True,
           "name": "浦发银行", "industry": "银行"}  # fmt: skip
    snap = {"market_data": {"SH600000": row}, "corporate_actions_upcoming": [DIVIDEND]}
    text = _market_table(snap, ["SH600000"])
    assert text.splitlines()[1].startswith("SH600000 浦发银行 (银行) | 10.20 |")
    assert "| ST (risk warning; see its limit prices)" in text
    assert text.endswith(
        "Announced corporate actions (held at the close before the ex-date to receive them):\n"
        "- SH688008 ex-date 2025-10-22: cash dividend 0.2000 CNY/share before tax"
    )
    assert "Announced" not in _market_table({"market_data": {"SH600000": row}}, ["SH600000"])


def test_benchmark_gets_dividends_and_bonus_shares_once() -> None:
    from data_flow.live.benchmark import _apply_actions

    shares = {"SH688008": 100.0}
    applied: set[tuple[str, str]] = set()
    both = {**DIVIDEND, "bonus_per_share": 0.5}
    cash = _apply_actions([both], shares, applied, "2025-10-21")
    again = _apply_actions([both], shares, applied, "2025-10-21")
    before_start = _apply_actions(
        [{**both, "ex_date": "2025-10-01"}], shares, applied, "2025-10-21"
    )
    assert (cash, again, before_start) == (pytest.approx(20.0), 0.0, 0.0)
    assert shares == {"SH688008": 150.0}


class _BuyThenStop:
    """Buys 200 SH688008 in its first window; in the window `stop_window` places a stop-loss
    SELL of all 200 at `stop`, valid 2 days; otherwise holds."""

    provider, model = "scripted", "scripted-1"

    def __init__(self, stop_window: str, stop: str) -> None:
        self.stop_window, self.stop = stop_window, stop
        self.window_id = ""
        self.step = 0

    def begin_window(self, ctx: Any) -> None:
        self.window_id, self.step = ctx.window_id, 0

    def complete(self, system: str, messages: list[Any], tools: list[Any], key: Any = None) -> Any:
        from agent_engine.llm.base import ToolCall
        from tests.runner_helpers import _response

        self.step += 1
        if self.step > 1:
            return _response("hold", [])
        if self.window_id == "2025-10-20T10:30":
            args = {"symbol": "SH688008", "action": "BUY", "quantity": 200}
            return _response("", [ToolCall("c1", "execute_trade", json.dumps(args))])
        if self.window_id == self.stop_window:
            args = {
                "symbol": "SH688008",
                "action": "SELL",
                "quantity": 200,
                "order_type": "stop_loss",
                "price": float(self.stop),
                "valid_days": 2,
            }
            return _response("", [ToolCall("c2", "place_order", json.dumps(args))])
        return _response("hold", [])


def test_dividend_is_credited_before_a_resting_order_fills_on_the_ex_date(
    tmp_path: Path, data_root: Path, star10_dir: Path
) -> None:
    # Arrange: 200 SH688008 held through 2025-10-21's close (139.00); a stop-loss at 137.00
    # placed at 10-21 14:00 triggers on the first bar of the ex-date (10:30 close 136.75)
    config = _star_config(tmp_path, data_root, star10_dir, "2025-10-20", "2025-10-22")
    client = _BuyThenStop("2025-10-21T14:00", "137.00")
    # Act
    code = run_agent(
        config,
        "bh",
        make_clock(config),
        runtime_path=tmp_path / "rt.json",
        client_factory=lambda m, a: client,
    )
    # Assert: the holder at the close before the ex-date gets the dividend, recorded before
    # the ex-date's fill (was: the fill came first and the dividend was skipped)
    assert code == 0
    records = positions(data_root, "bh")
    ex_day = [
        (r["window_id"], r["this_action"]["action"], r["this_action"].get("amount"))
        for r in records
        if r["date"] == "2025-10-22"
    ]
    assert ex_day[:3] == [
        ("2025-10-22T10:30", "dividend", None),
        ("2025-10-22T10:30", "SELL", 200),
        ("2025-10-22T10:30", "no_trade", None),
    ]
    dividend = next(r for r in records if r["this_action"]["action"] == "dividend")
    assert (dividend["this_action"]["shares"], dividend["this_action"]["net"]) == (200, 32.0)
    sell = next(r for r in records if r["this_action"]["action"] == "SELL")
    assert sell["this_action"]["price"] == 136.75
    assert Decimal(str(sell["positions"]["CASH"])) > Decimal(str(dividend["positions"]["CASH"]))


@pytest.mark.parametrize(
    ("symbol", "listing_date", "sellable_from", "old_only_days", "all_days"),
    [
        # Shenzhen lists bonus shares on the ex-date: all sellable at once
        ("SZ000001", None, "2025-06-13", [], ["2025-06-13"]),
        # Shanghai: the next trading day (ex Friday -> Monday)
        ("SH600000", None, "2025-06-16", ["2025-06-13"], ["2025-06-16"]),
        # the data's 红股上市日 wins over the rule
        ("SH600000", "2025-06-18", "2025-06-18", ["2025-06-13", "2025-06-17"], ["2025-06-18"]),
    ],
)
def test_bonus_shares_become_sellable_on_their_listing_date(
    tmp_path: Path,
    symbol: str,
    listing_date: str | None,
    sellable_from: str,
    old_only_days: list[str],
    all_days: list[str],
) -> None:
    # Arrange: 1000 shares bought 2025-06-03; 10转5 ex Friday 2025-06-13
    ledger = _ledger_with_buy(tmp_path, symbol, 1000, "10.00")
    bonus = {
        "symbol": symbol,
        "ex_date": "2025-06-13",
        "announce_date": "2025-06-05",
        "cash_per_share": 0,
        "bonus_per_share": 0.5,
        "listing_date": listing_date,
    }
    ex = datetime(2025, 6, 13, 10, 30, tzinfo=SHANGHAI)
    ledger.portfolio.roll_to(ex.date())
    # Act
    (written,) = apply_due_actions(
        ledger, ledger.portfolio, _snapshot_with(bonus), WindowRef.at(ex, 1), "h", "0"
    )
    # Assert
    assert written["this_action"]["sellable_from"] == sellable_from
    portfolio = ledger.portfolio
    for day in old_only_days:
        assert portfolio.sellable_on(symbol, date.fromisoformat(day)) == 1000, day
    for day in all_days:
        assert portfolio.sellable_on(symbol, date.fromisoformat(day)) == 1500, day
    # the ledger rebuilds the same T+1 state
    ledger.close()
    reopened = Ledger(tmp_path / "position.jsonl", Decimal("1000000"), date(2025, 1, 2))
    for day in old_only_days:
        assert reopened.portfolio.sellable_on(symbol, date.fromisoformat(day)) == 1000, day
    for day in all_days:
        assert reopened.portfolio.sellable_on(symbol, date.fromisoformat(day)) == 1500, day
    reopened.close()


def test_listing_date_before_the_ex_date_is_refused() -> None:
    raw = {**DIVIDEND, "bonus_per_share": 0.3, "listing_date": "2025-10-21"}
    with pytest.raises(ValueError, match="listing_date 2025-10-21 is before ex_date 2025-10-22"):
        CorporateAction.from_record(raw)


def test_rescore_applies_the_dividend_and_reproduces_the_recorded_cash(
    tmp_path: Path, data_root: Path, star10_dir: Path
) -> None:
    from agent_engine.rescore import format_table, original_score, read_ledger, read_run, rescore

    # Arrange: a recorded run holding 200 SH688008 across the 2025-10-22 dividend
    config = _star_config(tmp_path, data_root, star10_dir, "2025-10-21", "2025-10-22")
    client = ScriptedClient("SH688008", 200)
    assert (
        run_agent(
            config,
            "bh",
            make_clock(config),
            runtime_path=tmp_path / "rt.json",
            client_factory=lambda m, a: client,
        )
        == 0
    )
    # Act: rescore under the recorded rules
    recorded_config, windows = read_run(data_root, "bh")
    original = original_score(recorded_config, windows, read_ledger(data_root, "bh"))
    rescored = rescore(recorded_config, windows)
    # Assert: the same cash to the cent, the dividend (net 32.00) included in both
    assert rescored.dividends == original.dividends == Decimal("32.00")
    assert rescored.final_cash == original.final_cash
    assert rescored.final_equity == original.final_equity
    assert "dividends" in format_table("bh", original, rescored, [])
    # a flat 0 % tax: exactly the 8.00 of tax more
    untaxed = recorded_config.model_copy(
        update={
            "trading_rules": recorded_config.trading_rules.model_copy(
                update={"dividend_tax": Decimal("0")}
            )
        }
    )
    assert rescore(untaxed, windows).final_cash == original.final_cash + Decimal("8.00")


def test_rescore_makes_resting_orders_again_through_the_run(
    tmp_path: Path, data_root: Path, star10_dir: Path
) -> None:
    from agent_engine.rescore import apply_settings, original_score, read_ledger, read_run, rescore

    # Arrange: the recorded run of the ex-date stop-loss (a market BUY, a resting stop-loss
    # SELL filled at 10:30 on the ex-date, the dividend before it)
    config = _star_config(tmp_path, data_root, star10_dir, "2025-10-20", "2025-10-22")
    client = _BuyThenStop("2025-10-21T14:00", "137.00")
    run = run_agent(
        config, "bh", make_clock(config), runtime_path=tmp_path / "rt.json",
        client_factory=lambda m, a: client,
    )  # fmt: skip
    assert run == 0
    recorded_config, windows = read_run(data_root, "bh")
    records = read_ledger(data_root, "bh")
    original = original_score(recorded_config, windows, records)
    # Act
    same = rescore(recorded_config, windows)
    free = rescore(
        apply_settings(
            recorded_config, ["trading_rules.commission_rate=0", "trading_rules.min_commission=0"]
        ),
        windows,
    )
    # Assert: under the recorded rules the same ledger outcome to the cent, the resting fill
    # included; without commission, exactly the commission of both fills more
    assert [(f.side.value, f.quantity, f.price) for f in same.fills] == [
        ("BUY", 200, Decimal(str(records[1]["this_action"]["price"]))),
        ("SELL", 200, Decimal("136.75")),
    ]
    assert (same.final_cash, same.dividends, same.fees) == (
        original.final_cash,
        Decimal("32.00"),
        original.fees,
    )
    paid = sum(
        (Decimal(str(r["this_action"]["commission"])) for r in records
         if r["this_action"]["action"] in ("BUY", "SELL")),
        Decimal(0),
    )  # fmt: skip
    assert paid > 0
    assert free.final_cash - original.final_cash == paid
