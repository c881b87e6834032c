"""Hostile tool calls: every one gets a clear model-facing error and nothing raises.

Huge or non-finite numbers, huge strings, deep nesting, thousands of fields and lone UTF-16
surrogates, in every argument of every tool (issue 8, points 5, 6 and 22).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest

from agent_engine.broker import Fill
from agent_engine.llm.base import ToolCall
from agent_engine.tool_args import MAX_ARGUMENT_CHARS
from agent_engine.tools import ToolBox, ToolOutcome
from tests.test_tools_toolbox import make_box

TRADABLE = "Tradable symbols: SH688008, SH688009, SH688111."
BIG = "9" * 5000  # JSON integer above Python's 4300-digit conversion limit
HUGE_SYMBOL = json.dumps({"symbol": "S" * 10**7})  # 10 MB
HUGE_EXPRESSION = json.dumps({"expression": "1+" * 5_000_000 + "1"})


def too_long(raw: str) -> str:
    return (
        f"arguments are {len(raw):,} characters long; at most {MAX_ARGUMENT_CHARS:,} are accepted."
    )


def run(name: str, raw: str) -> tuple[ToolOutcome, list[Fill], ToolBox]:
    box, fills = make_box()
    return box.run(ToolCall(id="x", name=name, arguments=raw)), fills, box


def trade(quantity: str, symbol: str = '"SH688008"') -> str:
    return f'{{"symbol": {symbol}, "action": "BUY", "quantity": {quantity}}}'


def message_of(out: ToolOutcome) -> str:
    payload = json.loads(out.result)
    assert payload["error"] == out.error_kind
    return str(payload["message"])


QTY = "invalid arguments for execute_trade: quantity: "


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        # point 5: 1e30 used to raise decimal.InvalidOperation out of the broker
        (trade("1e30"), "invalid_arguments", QTY + "must be at most 1,000,000,000, got 1e+30"),
        (trade("1e20"), "invalid_arguments", QTY + "must be at most 1,000,000,000, got 1e+20"),
        (trade("1000000001"), "invalid_arguments",
         QTY + "must be at most 1,000,000,000, got 1000000001"),
        (trade("1" + "0" * 30), "invalid_arguments",
         QTY + "must be at most 1,000,000,000, got 1000000000000000000000000000000"),
        (trade('"1' + "0" * 30 + '"'), "invalid_arguments",
         QTY + "must be at most 1,000,000,000, got '1000000000000000000000000000000'"),
        (trade("1e308"), "invalid_arguments", QTY + "must be at most 1,000,000,000, got 1e+308"),
        (trade("NaN"), "invalid_arguments", QTY + "must be a whole number, got nan"),
        (trade("Infinity"), "invalid_arguments", QTY + "must be a whole number, got inf"),
        (trade("-Infinity"), "invalid_arguments", QTY + "must be a whole number, got -inf"),
        (trade("-0"), "invalid_arguments", QTY + "must be a positive whole number, got 0"),
        (trade("-0.0"), "invalid_arguments", QTY + "must be a positive whole number, got -0.0"),
        (trade("1e-30"), "invalid_arguments", QTY + "must be a whole number, got 1e-30"),
        (trade("true"), "invalid_arguments",
         QTY + "must be a whole number, not a boolean (True)"),
        (trade('"1e30"'), "invalid_arguments", QTY + "must be a whole number, got '1e30'"),
        (trade("[200]"), "invalid_arguments", QTY + "must be a whole number, got [200]"),
        (trade('{"n": 200}'), "invalid_arguments", QTY + "must be a whole number, got {'n': 200}"),
        (trade(BIG), "invalid_arguments", "arguments contain a number with far too many digits."),
        (trade('"' + BIG + '"'), "invalid_arguments",
         QTY + "must be at most 1,000,000,000, got '" + "9" * 40 + "'…"),
        ('{"symbol": "SH688008", "action": "BUY", "quantity": 200, "price": 1e308}',
         "invalid_arguments", "invalid arguments for execute_trade: price: unknown field"),
        # point 22: any length of symbol is an unknown symbol with the list
        (trade("200", '"' + "A" * 33 + '"'), "unknown_symbol",
         f"'{'A' * 33}' is not a symbol of this arena. {TRADABLE}"),
        (trade("200", '"' + "SH688008" * 1000 + '"'), "unknown_symbol",
         f"'{('SH688008' * 5)[:40]}'… is not a symbol of this arena. {TRADABLE}"),
        (trade("200", '"SH688008\\ud800"'), "unknown_symbol",
         f"'SH688008\ufffd' is not a symbol of this arena. {TRADABLE}"),
        (trade("200", "[" * 900 + "]" * 900), "invalid_arguments",
         "invalid arguments for execute_trade: symbol: Input should be a valid string"),
        ("[" * 4000 + "]" * 4000, "invalid_json", "arguments are nested too deeply."),
        (trade("[" * 4900 + "]" * 4900), "invalid_json", "arguments are nested too deeply."),
        ('{"symbol": "SH688008", "action": "' + "B" * 5000 + '", "quantity": 200}',
         "invalid_arguments", "invalid arguments for execute_trade: action must be BUY or SELL, "
         f"got '{'B' * 40}'…"),
    ],
)  # fmt: skip
def test_hostile_trade_arguments_get_exact_errors(raw: str, kind: str, message: str) -> None:
    out, fills, box = run("execute_trade", raw)
    assert (out.ok, out.error_kind, out.rejection, out.fill) == (False, kind, None, None)
    assert message_of(out) == message
    assert fills == [] and box.portfolio.cash == Decimal("1000000.00")


@pytest.mark.parametrize(
    ("name", "raw", "kind", "message"),
    [
        ("get_stock_price", json.dumps({"symbol": "SH688008", "indicators": ["rsi"] * 10**6}),
         "invalid_arguments",
         f"arguments are 7,000,038 characters long; at most {MAX_ARGUMENT_CHARS:,} are accepted."),
        ("get_stock_price", json.dumps({"symbol": "SH688008", "indicators": ["rsi"] * 17}),
         "invalid_arguments", "invalid arguments for get_stock_price: indicators: "
         "Value should have at most 16 items after validation, not 17"),
        ("get_stock_price", json.dumps({"symbol": "SH688008", "indicators": ["x" * 1000]}),
         "invalid_arguments", f"invalid arguments for get_stock_price: unknown indicator "
         f"'{'x' * 40}'…; choose from rsi, rsi_short, macd, bollinger"),
        ("get_stock_price", HUGE_SYMBOL, "invalid_arguments", too_long(HUGE_SYMBOL)),
        ("get_news", '{"hours": 1e30}', "invalid_arguments",
         "invalid arguments for get_news: hours: must be at most 1,000,000,000, got 1e+30"),
        ("get_news", '{"hours": NaN}', "invalid_arguments",
         "invalid arguments for get_news: hours: must be a whole number, got nan"),
        ("get_news", '{"symbol": "\\udfff"}', "unknown_symbol",
         f"'\ufffd' is not a symbol of this arena. {TRADABLE}"),
        ("calculate", HUGE_EXPRESSION, "invalid_arguments", too_long(HUGE_EXPRESSION)),
        ("calculate", '{"expression": "10**10**10"}', "invalid_arguments",
         "calculate: exponent magnitude exceeds 64"),
        ("calculate", '{"expression": "1e308*10"}', "invalid_arguments",
         "calculate: magnitude exceeds 1e+15"),
        ("calculate", '{"expression": "(1e-15)**-64"}', "invalid_arguments",
         "calculate: magnitude exceeds 1e+15"),
        ("calculate", '{"expression": "1+\\ud800"}', "invalid_arguments",
         "calculate: not a valid arithmetic expression: invalid character '\ufffd' (U+FFFD)"),
        ("get_portfolio", json.dumps({f"k{i}": 1 for i in range(900)}), "invalid_arguments",
         "invalid arguments for get_portfolio: k0: unknown field; k1: unknown field; "
         "k2: unknown field; k3: unknown field; k4: unknown field; and 895 more errors"),
        ("get_portfolio", json.dumps({"k" * 500: 1}), "invalid_arguments",
         f"invalid arguments for get_portfolio: {'k' * 40}…: unknown field"),
        ("get_portfolio\ud800", "{}", "unknown_tool",
         "unknown tool 'get_portfolio\\ud800'. Available tools: get_stock_price, get_news, "
         "get_portfolio, execute_trade, calculate, place_order, get_orders, cancel_order."),
        ("x" * 10**7, "{}", "unknown_tool",
         f"unknown tool '{'x' * 40}'…. Available tools: get_stock_price, get_news, "
         "get_portfolio, execute_trade, calculate, place_order, get_orders, cancel_order."),
    ],
)  # fmt: skip
def test_hostile_arguments_of_every_tool(name: str, raw: str, kind: str, message: str) -> None:
    started = time.perf_counter()
    out, fills, _ = run(name, raw)
    assert time.perf_counter() - started < 5.0  # bounded work, whatever the size
    assert (out.ok, out.error_kind) == (False, kind)
    assert message_of(out) == message
    assert fills == []


@pytest.mark.parametrize(
    "raw",
    [
        '{"symbol": "\\ud800", "action": "BUY", "quantity": 200}',
        '{"symbol": "\ud800", "action": "BUY", "quantity": 200}',
        '{"symbol": "SH688008", "action": "\\udc00", "quantity": 200}',
        '{"\\ud800": 1}',
        '{"expression": "\\ud83d\\ude00"}',
    ],
)
def test_results_with_lone_surrogates_are_valid_utf8(raw: str) -> None:
    for name in ("execute_trade", "calculate", "get_news"):
        out, _, _ = run(name, raw)
        assert not out.ok
        out.result.encode("utf-8")  # raises on a lone surrogate
        json.loads(out.result)


def test_an_unexpected_failure_in_a_tool_is_an_error_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, fills = make_box()

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise ArithmeticError("boom")

    monkeypatch.setattr(box.broker, "execute", explode)
    out = box.run(ToolCall(id="x", name="execute_trade", arguments=trade("200")))
    assert (out.ok, out.error_kind) == (False, "invalid_arguments")
    assert message_of(out) == (
        "'execute_trade' could not handle these arguments (ArithmeticError); "
        "check them and try again."
    )
    assert fills == []


def test_a_failure_to_record_a_fill_still_propagates() -> None:
    box, _ = make_box()

    def broken_disk(_fill: Fill) -> dict[str, Any]:
        raise OSError("disk full")

    box.record_fill = broken_disk
    with pytest.raises(OSError, match="disk full"):
        box.run(ToolCall(id="x", name="execute_trade", arguments=trade("200")))


def test_the_largest_allowed_quantity_is_a_clean_rejection() -> None:
    out, fills, _ = run("execute_trade", trade("1000000000"))
    assert out.error_kind == "rejected_order" and fills == []
    assert out.rejection is not None and out.rejection["reason"] == "insufficient_cash"
    assert json.loads(out.result)["message"].startswith(
        "Buying 1000000000 SH688008 at 100.00 costs 100,031,000,000.00"
    )
