"""Order states (the declared transition table), order ids, and the one commit path that
changes a portfolio (`Ledger.commit_fill`)."""

from __future__ import annotations

import copy
import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agent_engine.broker import Broker, Order, OrderSide, Portfolio, Quote
from agent_engine.ledger import Ledger, WindowRef
from agent_engine.orders import TRANSITIONS, OrderState, OrderStateError, transition
from data_flow.clock import at_window
from settings.config import RiskManagement, TradingRules

DAY = date(2025, 11, 3)
QUOTES = {"SH600000": Quote("SH600000", Decimal("10.00"))}
_OPEN = (OrderState.WORKING, OrderState.PARTIALLY_FILLED)
_FROM_OPEN = (
    OrderState.PARTIALLY_FILLED,
    OrderState.FILLED,
    OrderState.CANCELLED,
    OrderState.EXPIRED,
    OrderState.REJECTED,
)
ALLOWED = {
    (OrderState.PLACED, OrderState.WORKING),
    (OrderState.PLACED, OrderState.FILLED),
    (OrderState.PLACED, OrderState.REJECTED),
    *((a, b) for a in _OPEN for b in _FROM_OPEN),
}


@pytest.mark.parametrize("current,new", list(itertools.product(OrderState, OrderState)))
def test_every_transition_is_allowed_or_refused_by_the_table(
    current: OrderState, new: OrderState
) -> None:
    if (current, new) in ALLOWED:
        assert transition(current, new) is new
    else:
        with pytest.raises(OrderStateError, match=f"{current.value} cannot become {new.value}"):
            transition(current, new)


def test_the_table_lists_every_state_and_final_states_have_no_moves() -> None:
    assert set(TRANSITIONS) == set(OrderState)
    assert TRANSITIONS[OrderState.FILLED] == TRANSITIONS[OrderState.REJECTED] == frozenset()
    with pytest.raises(OrderStateError, match=r"allowed: none \(final\)"):
        transition(OrderState.FILLED, OrderState.REJECTED)


def _broker() -> Broker:
    return Broker(TradingRules(), RiskManagement(), ["SH600000"])


def test_results_carry_the_order_id_and_status() -> None:
    portfolio = Portfolio(Decimal("100000"))
    broker = _broker()
    filled = broker.execute(portfolio, Order("SH600000", OrderSide.BUY, 100, "w#1"), QUOTES, DAY)
    rejected = broker.execute(portfolio, Order("SH600000", OrderSide.BUY, 150, "w#2"), QUOTES, DAY)
    assert (filled.order_id, filled.status) == ("w#1", OrderState.FILLED)
    assert (rejected.order_id, rejected.status) == ("w#2", OrderState.REJECTED)
    assert (
        broker.execute(portfolio, Order("SH600000", OrderSide.BUY, 100), QUOTES, DAY).order_id == ""
    )


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "position.jsonl", Decimal("100000"), DAY)


def _window() -> WindowRef:
    return WindowRef.at(at_window(DAY, "10:30"), 1)


def _fill(portfolio: Portfolio, quantity: int = 100) -> object:
    result = _broker().execute(portfolio, Order("SH600000", OrderSide.BUY, quantity), QUOTES, DAY)
    assert result.fill is not None
    return result.fill


def test_a_commit_applies_the_fill_exactly_once(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    portfolio = ledger.portfolio
    fill = _fill(portfolio)
    record = ledger.commit_fill(_window(), fill, portfolio, "hash", "call_1")  # type: ignore[arg-type]
    cash = Decimal("100000") - Decimal("1000.00") - fill.total_fees  # type: ignore[attr-defined]
    assert portfolio.cash == cash
    assert portfolio.holdings["SH600000"].shares == 100
    assert record["positions"] == portfolio.to_record()
    assert record["tool_call_id"] == "call_1"
    assert [r["this_action"]["action"] for r in ledger.records()] == ["seed", "BUY"]
    # the reloaded ledger agrees with the portfolio: nothing was applied twice
    ledger.close()
    again = _ledger(tmp_path)
    assert again.portfolio.cash == cash and again.portfolio.to_record() == record["positions"]


def test_a_refused_commit_leaves_portfolio_and_ledger_untouched(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    portfolio = ledger.portfolio
    fill = _fill(portfolio)
    before = copy.deepcopy(portfolio)
    other_day = WindowRef.at(at_window(date(2025, 11, 4), "10:30"), 1)
    with pytest.raises(ValueError, match="fill dated 2025-11-03 recorded in window 2025-11-04"):
        ledger.commit_fill(other_day, fill, portfolio, "hash")  # type: ignore[arg-type]
    too_big = _fill(Portfolio(Decimal("10000000")), 100000)
    with pytest.raises(ValueError, match="fill would make cash negative"):
        ledger.commit_fill(_window(), too_big, portfolio, "hash")  # type: ignore[arg-type]
    stray = copy.deepcopy(portfolio)
    stray.apply(fill)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the portfolio was changed outside the ledger"):
        ledger.commit_fill(_window(), fill, stray, "hash")  # type: ignore[arg-type]
    assert portfolio.to_record() == before.to_record() and portfolio.cash == before.cash
    assert [r["id"] for r in ledger.records()] == [0]
