"""Portfolio (T+1, records, valuation), quotes from snapshots and broker helpers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from agent_engine.broker import (
    Broker,
    Fill,
    Holding,
    Order,
    OrderSide,
    Portfolio,
    Quote,
    quotes_from_snapshot,
)
from agent_engine.rules import RejectReason
from settings.config import RiskManagement, TradingRules

D = Decimal
D0, D1, D2 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
UNIVERSE = ["SH600000", "SH688008", "SZ300750"]


def make_broker(**rules: str) -> Broker:
    return Broker(TradingRules(**{k: D(v) for k, v in rules.items()}), RiskManagement(), UNIVERSE)


def buy(broker: Broker, p: Portfolio, symbol: str, qty: int, price: str, day: date) -> Fill:
    quotes = {symbol: Quote(symbol, D(price))}
    result = broker.execute(p, Order(symbol, OrderSide.BUY, qty), quotes, day)
    assert result.ok, result.message
    assert result.fill is not None
    p.apply(result.fill)
    return result.fill


def test_t1_first_buy_locked_until_next_trading_day() -> None:
    # Arrange
    broker, p = make_broker(), Portfolio(D("1000000"))
    p.roll_to(D0)
    # Act
    buy(broker, p, "SH688008", 1000, "100.00", D0)
    # Assert
    assert p.holdings["SH688008"].sellable == 0
    assert p.sellable_on("SH688008", D0) == 0
    assert p.sellable_on("SH688008", D1) == 1000  # a view; no mutation
    assert p.holdings["SH688008"].sellable == 0
    p.roll_to(D0)  # same day again: still locked
    assert p.holdings["SH688008"].sellable == 0
    p.roll_to(D1)
    assert p.holdings["SH688008"].sellable == 1000
    assert p.last_trade_date == D1


def test_t1_add_on_buy_locks_only_the_new_shares() -> None:
    broker, p = make_broker(), Portfolio(D("1000000"))
    buy(broker, p, "SH600000", 1000, "10.00", D0)
    p.roll_to(D1)
    buy(broker, p, "SH600000", 500, "11.00", D1)
    h = p.holdings["SH600000"]
    assert (h.shares, h.sellable, h.purchase_date) == (1500, 1000, D1)
    # Selling 1500 today fails; 1000 works.
    quotes = {"SH600000": Quote("SH600000", D("11.00"))}
    r = broker.execute(p, Order("SH600000", OrderSide.SELL, 1500), quotes, D1)
    assert r.reason is RejectReason.INSUFFICIENT_SELLABLE
    assert "500 were bought on 2025-11-04" in r.message
    assert broker.execute(p, Order("SH600000", OrderSide.SELL, 1000), quotes, D1).ok
    p.roll_to(D2)
    assert p.holdings["SH600000"].sellable == 1500


def test_apply_rolls_to_the_fill_date() -> None:
    broker, p = make_broker(), Portfolio(D("1000000"))
    buy(broker, p, "SH600000", 1000, "10.00", D0)
    # No explicit roll_to(D1): the next fill's date unlocks yesterday's shares first.
    buy(broker, p, "SH688008", 200, "100.00", D1)
    assert p.holdings["SH600000"].sellable == 1000
    assert p.holdings["SH688008"].sellable == 0
    assert p.last_trade_date == D1


def test_roll_backwards_is_a_bug() -> None:
    p = Portfolio(D("1"), last_trade_date=D1)
    with pytest.raises(ValueError, match="back"):
        p.roll_to(D0)


def test_round_trip_avg_and_cash() -> None:
    # buy 1000 @ 100.00: cash 899969.00, avg 100.0310
    # sell 400 @ 110.00 on D1: 44000.00; commission 13.20; stamp 22.00; transfer 0.44;
    # cash 899969.00 + 44000 - 35.64 = 943933.36; avg unchanged
    broker, p = make_broker(), Portfolio(D("1000000"))
    buy(broker, p, "SH688008", 1000, "100.00", D0)
    quotes = {"SH688008": Quote("SH688008", D("110.00"))}
    r = broker.execute(p, Order("SH688008", OrderSide.SELL, 400), quotes, D1)
    assert r.fill is not None
    assert (r.fill.commission, r.fill.stamp_duty, r.fill.transfer_fee) == (
        D("13.20"),
        D("22.00"),
        D("0.44"),
    )
    assert r.fill.total_fees == D("35.64")
    assert r.fill.cash_delta == D("43964.36")
    p.apply(r.fill)
    assert p.cash == D("943933.36")
    assert p.holdings["SH688008"] == Holding(600, 600, D("100.0310"), D0)
    # equity at 110.00: 943933.36 + 66000.00
    assert p.equity(quotes) == D("1009933.36")
    assert p.cost_value() == D("60018.60")


def test_apply_refuses_impossible_fills() -> None:
    p = Portfolio(D("100.00"))
    too_big = Fill("SH600000", OrderSide.BUY, 100, D("10.00"), D("1000.00"), D("5"), D("0"),
                   D("0.01"), D0)  # fmt: skip
    with pytest.raises(ValueError, match="negative"):
        p.apply(too_big)
    phantom_sell = Fill("SH600000", OrderSide.SELL, 100, D("10.00"), D("1000.00"), D("5"),
                        D("0.5"), D("0.01"), D0)  # fmt: skip
    with pytest.raises(ValueError, match="sellable"):
        p.apply(phantom_sell)
    assert p.cash == D("100.00")
    assert p.holdings == {}


def test_record_round_trip_keeps_sellable() -> None:
    broker, p = make_broker(), Portfolio(D("1000000"))
    buy(broker, p, "SH600000", 1000, "10.00", D0)
    p.roll_to(D1)
    buy(broker, p, "SH600000", 300, "10.50", D1)
    buy(broker, p, "SZ300750", 100, "250.00", D1)
    record = p.to_record()
    assert record == {
        # 1000000 - 10005.10 - (3150.00 + 5.00 + 0.03) - (25000 + 7.50 + 0.25)
        "CASH": 961832.12,
        # avg (10005.10 + 3155.03) / 1300 = 10.12317.. -> 10.1232
        "SH600000": {"shares": 1300, "sellable": 1000, "avg_price": 10.1232,
                     "purchase_date": "2025-11-04"},
        "SZ300750": {"shares": 100, "sellable": 0, "avg_price": 250.0775,
                     "purchase_date": "2025-11-04"},
    }  # fmt: skip
    back = Portfolio.from_record(record, D1)
    assert back == p
    back.roll_to(D2)
    assert back.holdings["SH600000"].sellable == 1300
    assert back.holdings["SZ300750"].sellable == 100


@pytest.mark.parametrize(
    "positions",
    [
        {},
        {"CASH": None},
        {"CASH": -1},
        {"CASH": "x"},
        {"CASH": 1.0, "SH600000": {"shares": 100}},
        {"CASH": 1.0, "SH600000": {"shares": 100, "sellable": 200, "avg_price": 1.0,
                                   "purchase_date": "2025-11-03"}},
        {"CASH": 1.0, "SH600000": {"shares": 0, "sellable": 0, "avg_price": 1.0,
                                   "purchase_date": "2025-11-03"}},
        {"CASH": 1.0, "SH600000": {"shares": 1.5, "sellable": 0, "avg_price": 1.0,
                                   "purchase_date": "2025-11-03"}},
        {"CASH": 1.0, "SH600000": {"shares": 100, "sellable": 0, "avg_price": 1.0,
                                   "purchase_date": "03/11/2025"}},
        {"CASH": 1.0, "SH600000": "100 shares"},
    ],
    ids=["empty", "null_cash", "negative_cash", "text_cash", "missing_fields",
         "sellable_gt_shares", "zero_shares", "fractional", "bad_date", "not_object"],
)  # fmt: skip
def test_from_record_rejects_malformed(positions: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Portfolio.from_record(positions, D0)


def test_valuation_fallbacks_for_missing_prices() -> None:
    p = Portfolio(
        D("1000.00"),
        {
            "SH600000": Holding(100, 100, D("9.0000"), D0),
            "SH688008": Holding(200, 200, D("50.0000"), D0),
            "SZ300750": Holding(100, 100, D("200.0000"), D0),
        },
    )
    quotes = {
        "SH600000": Quote("SH600000", D("10.00")),  # priced
        "SH688008": Quote("SH688008", None, prev_close=D("55.00")),  # suspended: prev close
        # SZ300750 absent: average cost
    }
    # 1000 + 100 × 10 + 200 × 55 + 100 × 200
    assert p.market_value(quotes) == D("32000.00")
    assert p.equity(quotes) == D("33000.00")


def test_quotes_from_snapshot() -> None:
    snapshot = {
        "market_data": {
            "SH688008": {"current_price": 125.5, "prev_close": 120.0, "limit_up": 144.0,
                         "limit_down": 96.0, "suspended": False},
            "SH600000": {"current_price": 2.25, "prev_close": 2.05, "limit_up": None,
                         "limit_down": None},
            "SZ300750": {"current_price": None, "prev_close": None, "suspended": True},
            "SH688009": {"current_price": 10.0, "suspended": True},
            "SH688111": {"current_price": 0, "prev_close": 10.0},
        }
    }  # fmt: skip
    quotes = quotes_from_snapshot(snapshot)
    assert quotes["SH688008"] == Quote("SH688008", D("125.50"), D("120.00"), D("144.00"),
                                       D("96.00"))  # fmt: skip
    # limits derived from prev_close with half-up rounding: 2.26 / 1.85
    assert quotes["SH600000"] == Quote("SH600000", D("2.25"), D("2.05"), D("2.26"), D("1.85"))
    assert quotes["SZ300750"] == Quote("SZ300750", None)
    assert quotes["SH688009"].price is None
    assert quotes["SH688111"].price is None
    assert quotes["SH688111"].limit_up == D("12.00")
    assert quotes_from_snapshot({}) == {}


@pytest.mark.parametrize(
    ("cash", "symbol", "price", "expected"),
    [
        # cap 50%: 4999 × 100.00 fits, 5000 does not (see the table test)
        ("1000000", "SH688008", "100.00", 4999),
        # cap binds: 500 × 10.00 = 5000.00, fees 5.05, cash after 5000.04, equity 10000.04,
        # 50% = 5000.02 >= 5000 (600 would be 6000 > 50% of ~9999)
        ("10005.09", "SH600000", "10.00", 500),
        # STAR: fewer than 200 affordable -> 0
        ("15000", "SH688008", "100.00", 0),
        # main board rounds down to whole lots: 4999 shares would fit the cap -> 4900
        ("99999", "SH600000", "10.00", 4900),
    ],
    ids=["star_cap", "main_cap", "star_below_min", "main_round_lot"],
)
def test_max_buy_quantity(cash: str, symbol: str, price: str, expected: int) -> None:
    broker, p = make_broker(), Portfolio(D(cash))
    quotes = {symbol: Quote(symbol, D(price))}
    most = broker.max_buy_quantity(p, symbol, quotes)
    assert most == expected
    if most:
        assert broker.execute(p, Order(symbol, OrderSide.BUY, most), quotes, D0).ok


def test_side_as_text_is_accepted() -> None:
    broker, p = make_broker(), Portfolio(D("1000000"))
    quotes = {"SH600000": Quote("SH600000", D("10.00"))}
    result = broker.execute(p, Order("SH600000", "buy", 100), quotes, D0)  # type: ignore[arg-type]
    assert result.ok
    assert result.fill is not None
    assert result.fill.side is OrderSide.BUY


def test_portfolio_cash_is_validated_and_quantized() -> None:
    assert Portfolio(899969.0).cash == D("899969.00")  # type: ignore[arg-type]
    assert Portfolio(D("0.005")).cash == D("0.01")
    with pytest.raises(ValueError, match="non-negative"):
        Portfolio(D("-1"))
