"""Tools answer from the window's snapshot and portfolio; bad calls become error results."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from agent_engine.broker import Broker, Fill, Portfolio, quotes_from_snapshot
from agent_engine.ledger import trade_action
from agent_engine.llm.base import ToolCall
from agent_engine.tools import TOOL_NAMES, TOOL_SPECS, ToolBox, normalize_symbol
from settings.config import RiskManagement, TradingRules
from tests.llm_helpers import MOMENT, SYMBOLS, make_snapshot, market_row


def make_box(
    snapshot: dict[str, Any] | None = None, cash: str = "1000000"
) -> tuple[ToolBox, list[Fill]]:
    snapshot = snapshot or make_snapshot()
    portfolio = Portfolio(cash=Decimal(cash))
    portfolio.roll_to(MOMENT.date())
    fills: list[Fill] = []

    def record_fill(fill: Fill) -> dict[str, Any]:
        portfolio.apply(fill)
        fills.append(fill)
        return trade_action(fill)

    box = ToolBox(
        snapshot=snapshot,
        portfolio=portfolio,
        broker=Broker(TradingRules(), RiskManagement(), SYMBOLS),
        universe=SYMBOLS,
        moment=MOMENT,
        quotes=quotes_from_snapshot(snapshot),
        position_cap=Decimal("0.5"),
        news_lookback_hours=72,
        record_fill=record_fill,
    )
    return box, fills


def call(box: ToolBox, name: str, arguments: Any) -> Any:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return box.run(ToolCall(id="c1", name=name, arguments=raw))


def test_specs_are_json_schema_objects() -> None:
    assert TOOL_NAMES == (
        "get_stock_price",
        "get_news",
        "get_portfolio",
        "execute_trade",
        "calculate",
        "place_order",
        "get_orders",
        "cancel_order",
    )
    for spec in TOOL_SPECS:
        assert spec.parameters["type"] == "object"
        assert spec.parameters["additionalProperties"] is False
    trade = next(s for s in TOOL_SPECS if s.name == "execute_trade")
    assert trade.parameters["required"] == ["symbol", "action", "quantity"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SH688008", "SH688008"),
        ("sh688008", "SH688008"),
        (" Sh688008 ", "SH688008"),
        ("688008", "SH688008"),
        ("688008.SH", "SH688008"),
        ("688008sh", "SH688008"),
        ("SH.688008", "SH688008"),
        ("SZ688008", None),  # wrong exchange: not in the universe
        ("600000", None),
        ("AAPL", None),
        ("", None),
        (123, None),
    ],
)
def test_normalize_symbol(text: Any, expected: str | None) -> None:
    assert normalize_symbol(text, SYMBOLS) == expected


def test_bare_code_is_refused_when_ambiguous() -> None:
    assert normalize_symbol("000001", ["SH000001", "SZ000001"]) is None
    assert normalize_symbol("SZ000001", ["SH000001", "SZ000001"]) == "SZ000001"


def test_get_stock_price_returns_snapshot_values() -> None:
    box, _ = make_box()
    out = call(box, "get_stock_price", {"symbol": "sh688008", "indicators": ["rsi", "macd"]})
    assert out.ok and out.error_kind is None
    data = json.loads(out.result)
    assert data["symbol"] == "SH688008"
    assert data["as_of"] == "2025-11-03 10:30:00"
    assert data["current_price"] == 100.0
    assert data["limit_up"] == 117.6
    assert data["indicators"] == {
        "rsi": 25.0,
        "macd": {"macd": 1.2, "signal": 0.8, "histogram": 0.4},
    }
    assert data["your_position"] == {"shares": 0, "sellable": 0}
    assert [b["close"] for b in data["recent_bars"]] == [90.0, 95.0, 100.0]


def test_symbol_sent_as_a_number() -> None:
    box, _ = make_box()
    data = json.loads(call(box, "get_stock_price", {"symbol": 688008}).result)
    assert data["symbol"] == "SH688008"


def test_get_stock_price_defaults_to_all_indicators_and_hides_future_bars() -> None:
    snap = make_snapshot()
    snap["market_data"]["SH688008"]["recent_bars"].append(
        {"time": "2025-11-03 11:30:00", "close": 999.0}
    )
    box, _ = make_box(snap)
    data = json.loads(call(box, "get_stock_price", {"symbol": "SH688008"}).result)
    assert set(data["indicators"]) == {
        "rsi",
        "rsi_short",
        "macd",
        "bb_upper",
        "bb_middle",
        "bb_lower",
    }
    assert 999.0 not in [b["close"] for b in data["recent_bars"]]


def test_get_news_window_and_symbol_filter() -> None:
    box, _ = make_box()
    data = json.loads(call(box, "get_news", {}).result)
    # default look-back 72 h: the 2025-10-30 15:00 item (91.5 h before T) is out
    assert out_titles(data) == ["SH688008 wins a big order"]
    assert data["hours"] == 72
    data = json.loads(call(box, "get_news", {"hours": 2}).result)
    assert [n["title"] for n in data["news"]] == ["SH688008 wins a big order"]
    data = json.loads(call(box, "get_news", {"symbol": "688009", "hours": "100"}).result)
    assert [n["title"] for n in data["news"]] == ["Old news about SH688009"]
    assert data["note"] == "the arena keeps news of the last 72 hours only"
    # news published after T never comes back, whatever the arguments
    data = json.loads(call(box, "get_news", {"symbol": "SH688008", "hours": 720}).result)
    assert "Future news must never be visible" not in out_titles(data)


def out_titles(data: dict[str, Any]) -> list[str]:
    return [n["title"] for n in data["news"]]


def test_get_portfolio_values_holdings_at_snapshot_prices() -> None:
    box, fills = make_box()
    assert call(box, "execute_trade", {"symbol": "SH688008", "action": "BUY", "quantity": 1000}).ok
    data = json.loads(call(box, "get_portfolio", "").result)
    assert data == {
        "as_of": "2025-11-03 10:30:00",
        "cash": 899969.0,
        "market_value": 100000.0,
        "equity": 999969.0,
        "holdings": [
            {
                "symbol": "SH688008",
                "shares": 1000,
                "sellable": 0,
                "avg_price": 100.031,
                "last_price": 100.0,
                "market_value": 100000.0,
                "unrealized_pnl": -31.0,
                "unrealized_pnl_pct": -0.03,
                "weight_pct": 10.0,
            }
        ],
        "max_position_pct": 50.0,
    }
    assert len(fills) == 1


def test_execute_trade_fill_applies_and_reports() -> None:
    box, fills = make_box()
    out = call(box, "execute_trade", {"symbol": "688008", "action": "buy", "quantity": "200"})
    assert out.ok and out.error_kind is None and out.rejection is None
    assert out.trade == {
        "action": "BUY",
        "symbol": "SH688008",
        "amount": 200,
        "price": 100.0,
        "notional": 20000.0,
        "commission": 6.0,
        "stamp_duty": 0.0,
        "transfer_fee": 0.2,
    }
    data = json.loads(out.result)
    assert data["status"] == "filled" and data["cash_after"] == 979993.8
    assert box.portfolio.cash == Decimal("979993.80")
    assert fills[0].quantity == 200


def test_execute_trade_rejection_is_reported_not_raised() -> None:
    box, fills = make_box()
    out = call(box, "execute_trade", {"symbol": "SH688008", "action": "SELL", "quantity": 200})
    assert not out.ok and out.error_kind == "rejected_order"
    assert out.rejection == {
        "reason": "no_position",
        "message": "You hold no SH688008, so there is nothing to sell (no short selling).",
        "symbol": "SH688008",
        "action": "SELL",
        "quantity": 200,
    }
    assert json.loads(out.result)["reason"] == "no_position"
    out = call(box, "execute_trade", {"symbol": "SH688008", "action": "BUY", "quantity": 100})
    assert out.rejection is not None and out.rejection["reason"] == "below_minimum"
    assert fills == []


def test_suspended_symbol_is_a_rejection() -> None:
    snap = make_snapshot(
        {
            "SH688008": market_row(None, 98.0, suspended=True),
            "SH688009": market_row(50.0, 51.0),
            "SH688111": market_row(20.0, 20.0),
        }
    )
    box, _ = make_box(snap)
    out = call(box, "execute_trade", {"symbol": "SH688008", "action": "BUY", "quantity": 200})
    assert out.error_kind == "rejected_order" and out.rejection["reason"] == "suspended"


@pytest.mark.parametrize(
    ("name", "raw", "kind", "message"),
    [
        ("buy_everything", "{}", "unknown_tool", "unknown tool 'buy_everything'"),
        ("", "{}", "unknown_tool", "unknown tool ''"),
        ("execute_trade", "{symbol: SH688008}", "invalid_json", "arguments are not valid JSON"),
        (
            "execute_trade",
            "[1, 2]",
            "invalid_arguments",
            "arguments must be a JSON object, got list",
        ),
        ("execute_trade", "null", "invalid_arguments", "symbol: required field is missing"),
        ("execute_trade", '"BUY"', "invalid_arguments", "must be a JSON object, got str"),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "BUY", "quantity": "abc"}',
            "invalid_arguments",
            "quantity: must be a whole number, got 'abc'",
        ),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "BUY", "quantity": 1.5}',
            "invalid_arguments",
            "quantity: must be a whole number, got 1.5",
        ),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "BUY", "quantity": -100}',
            "invalid_arguments",
            "quantity: must be a positive whole number, got -100",
        ),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "BUY", "quantity": true}',
            "invalid_arguments",
            "quantity: must be a whole number, not a boolean (True)",
        ),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "HOLD", "quantity": 200}',
            "invalid_arguments",
            "action must be BUY or SELL, got 'HOLD'",
        ),
        (
            "execute_trade",
            '{"symbol": "SH688008", "action": "BUY", "quantity": 200, "price": 99}',
            "invalid_arguments",
            "price: unknown field",
        ),
        (
            "execute_trade",
            '{"symbol": "TSLA", "action": "BUY", "quantity": 200}',
            "unknown_symbol",
            "'TSLA' is not a symbol of this arena. Tradable symbols: SH688008, SH688009, SH688111.",
        ),
        ("get_stock_price", '{"symbol": "SH600000"}', "unknown_symbol", "'SH600000' is not"),
        (
            "get_stock_price",
            '{"symbol": "SH688008", "indicators": ["kdj"]}',
            "invalid_arguments",
            "unknown indicator 'kdj'",
        ),
        ("get_news", '{"symbol": "XYZ"}', "unknown_symbol", "'XYZ' is not a symbol"),
        ("get_news", '{"hours": 0}', "invalid_arguments", "hours: must be a positive whole number"),
        ("get_portfolio", '{"verbose": true}', "invalid_arguments", "verbose: unknown field"),
        (
            "calculate",
            '{"expression": "9**9**9"}',
            "invalid_arguments",
            "exponent magnitude exceeds 64",
        ),
        (
            "calculate",
            '{"expression": "__import__(\'os\')"}',
            "invalid_arguments",
            "only abs, min, max",
        ),
        ("calculate", "{}", "invalid_arguments", "expression: required field is missing"),
    ],
)
def test_bad_calls_become_error_results(name: str, raw: str, kind: str, message: str) -> None:
    box, fills = make_box()
    out = box.run(ToolCall(id="x", name=name, arguments=raw))
    assert not out.ok
    assert out.error_kind == kind
    payload = json.loads(out.result)
    assert payload["error"] == kind
    assert message in payload["message"]
    assert fills == []


def test_calculate() -> None:
    box, _ = make_box()
    out = call(box, "calculate", {"expression": "1000000*0.2/125.5"})
    assert out.ok
    assert json.loads(out.result) == {"expression": "1000000*0.2/125.5", "result": "1593.625498"}
