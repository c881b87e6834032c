"""TOOL_SPECS are generated from the tools' argument models and equal, byte for byte, the specs
that were written by hand before (so request digests of recorded runs stay the same)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from agent_engine.llm.request_digest import request_digest
from agent_engine.tool_args import TOOL_ARGS, TOOL_NAMES, TOOL_SPECS, ToolArgs, tool_spec

# The hand-written specs as they were sent to the models before generation (captured verbatim).
EXPECTED: list[dict[str, Any]] = [
    {
        "name": "get_stock_price",
        "description": (
            "Price of one stock as of the decision time: current price, change vs previous "
            "close, daily limit prices, today's open/high/low/volume so far, recent hourly bars "
            "and technical indicators (RSI14, RSI3, MACD 12/26/9, Bollinger 20/2)."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "e.g. SH688008"},
                "indicators": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["rsi", "rsi_short", "macd", "bollinger"]},
                    "description": "indicators to include (default: all)",
                },
            },
            "required": ["symbol"],
            "additionalProperties": False,
        },
    },
    {
        "name": "get_news",
        "description": (
            "News published in the last `hours` hours up to the decision time, newest first; "
            "optionally only for one symbol."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "e.g. SH688008 (optional)"},
                "hours": {"type": "integer", "minimum": 1, "description": "look-back window"},
            },
            "required": [],
            "additionalProperties": False,
        },
    },
    {
        "name": "get_portfolio",
        "description": (
            "Your cash, holdings (shares, sellable today, average cost, market value, "
            "unrealized PnL, weight) and total equity at the decision-time prices."
        ),
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
    {
        "name": "execute_trade",
        "description": (
            "Place a market order at the current price. BUY or SELL a whole number of shares; "
            "returns the fill (price, fees, cash after) or the rejection reason."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "e.g. SH688008"},
                "action": {"type": "string", "enum": ["BUY", "SELL"]},
                "quantity": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1_000_000_000,
                    "description": "shares",
                },
            },
            "required": ["symbol", "action", "quantity"],
            "additionalProperties": False,
        },
    },
    {
        "name": "calculate",
        "description": (
            "Evaluate arithmetic: numbers, + - * / // % **, parentheses, abs/min/max/round. "
            "At most 200 characters."
        ),
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "e.g. 125.5*200"}},
            "required": ["expression"],
            "additionalProperties": False,
        },
    },
]
# request_digest("m", {}, "s", [], specs) of the hand-written specs
EXPECTED_DIGEST = "e1c71be7225bdae76295ce88388176f79d821146dd9487bd25daed7e7d964f71"


def _as_dicts() -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "parameters": t.parameters}
        for t in TOOL_SPECS
    ]


def test_generated_specs_equal_the_hand_written_ones() -> None:
    assert _as_dicts() == EXPECTED
    assert TOOL_NAMES == (
        "get_stock_price",
        "get_news",
        "get_portfolio",
        "execute_trade",
        "calculate",
    )


def test_generated_specs_are_byte_identical_and_keep_the_request_digest() -> None:
    # key order too: the SDKs send the dicts as they are
    assert json.dumps(_as_dicts()) == json.dumps(EXPECTED)
    assert request_digest("m", {}, "s", [], TOOL_SPECS) == EXPECTED_DIGEST


def test_each_spec_follows_its_arguments_model() -> None:
    assert [t.name for t in TOOL_SPECS] == [m.tool_name for m in TOOL_ARGS]
    for spec, model in zip(TOOL_SPECS, TOOL_ARGS, strict=True):
        assert spec == tool_spec(model)
        assert spec.description == model.tool_description
        assert list(spec.parameters["properties"]) == list(model.model_fields)
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        assert spec.parameters.get("required", []) == required
        for name, field in model.model_fields.items():
            assert spec.parameters["properties"][name].get("description") == field.description


class _Example(ToolArgs):
    tool_name = "example"
    tool_description = "An example tool."
    text: str = Field(min_length=1, max_length=5, description="some text")
    count: Annotated[int, Field(ge=1, le=9)] | None = Field(default=None, description="how many")
    mode: str = Field(default="a", json_schema_extra={"enum": ["a", "b"]})
    tags: list[str] = Field(default_factory=list)


def test_tool_spec_trims_the_pydantic_schema_for_providers() -> None:
    spec = tool_spec(_Example)
    assert spec.name == "example" and spec.description == "An example tool."
    # no titles, defaults, length bounds or anyOf-with-null; keys in a fixed order
    assert json.dumps(spec.parameters) == json.dumps(
        {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "some text"},
                "count": {"type": "integer", "minimum": 1, "maximum": 9, "description": "how many"},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["text"],
            "additionalProperties": False,
        }
    )


def test_a_model_field_description_reaches_the_spec() -> None:
    class Described(ToolArgs):
        tool_name = "described"
        tool_description = "d"
        symbol: str = Field(description="a new description")

    assert tool_spec(Described).parameters["properties"]["symbol"] == {
        "type": "string",
        "description": "a new description",
    }
