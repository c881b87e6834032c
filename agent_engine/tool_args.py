"""The function tools' interface: their specs (TOOL_SPECS) and their arguments' parsing,
bounds and the error messages the model reads.

Each tool's spec is generated from its arguments model (`tool_spec`): the JSON schema of the
model's fields (`Field(description=...)`, bounds, an enum) trimmed to what every provider
accepts, so the schema the model sees and the parser that checks its arguments cannot drift.

`parse_arguments(model_cls, tool, raw)` turns the model's raw JSON text into a validated
argument model or raises `ArgumentError(kind, message)`; nothing else escapes it, whatever the
model sends (invalid or deeply nested JSON, huge numbers, huge strings, thousands of fields).

Bounds (each breach is an `invalid_arguments` / `invalid_json` error naming the limit):
- raw arguments text: at most MAX_ARGUMENT_CHARS characters;
- whole numbers (`quantity`, `hours`): 1..MAX_WHOLE_NUMBER. A JSON string of digits ("100") or
  an integral float (100.0) is accepted; "abc", 1.5, -100, 0, true, NaN, Infinity, 1e30, "1e30"
  are not;
- `indicators`: at most MAX_INDICATORS entries;
- values quoted back in a message are cut to SHOWN_CHARS characters; at most MAX_REPORTED_ERRORS
  field errors are listed.
Symbols are not bounded here: any string is accepted and resolved by the toolbox, so a symbol of
any length gets the same "not a symbol of this arena" answer as any other unknown symbol.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)

from agent_engine.calc import MAX_EXPRESSION_CHARS
from agent_engine.llm.base import ToolSpec
from agent_engine.rules import MAX_ORDER_SHARES
from data_flow.textsafe import scrub

ERROR_INVALID_JSON = "invalid_json"
ERROR_INVALID_ARGUMENTS = "invalid_arguments"

INDICATOR_NAMES = ("rsi", "rsi_short", "macd", "bollinger")
MAX_ARGUMENT_CHARS = 10_000
MAX_WHOLE_NUMBER = MAX_ORDER_SHARES
MAX_INDICATORS = 16
MAX_REPORTED_ERRORS = 5
SHOWN_CHARS = 40


class ArgumentError(ValueError):
    """The arguments cannot be used; `message` is written for the model."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A short repr of `value` for a message, cut to about `limit` characters (never fails)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _whole_number(value: Any) -> int:
    limit = f"{MAX_WHOLE_NUMBER:,}"
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not a boolean ({value!r})")
    match = re.fullmatch(r"\s*(\d+)\s*", value) if isinstance(value, str) else None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif match is not None:
        digits = match.group(1).lstrip("0") or "0"
        if len(digits) > len(str(MAX_WHOLE_NUMBER)):
            raise ValueError(f"must be at most {limit}, got {shown(value)}")
        number = int(digits)
    else:
        raise ValueError(f"must be a whole number, got {shown(value)}")
    if number <= 0:
        raise ValueError(f"must be a positive whole number, got {shown(value)}")
    if number > MAX_WHOLE_NUMBER:
        raise ValueError(f"must be at most {limit}, got {shown(value)}")
    return number


def _indicator_list(value: Any) -> Any:
    if value is None or value is True:
        return list(INDICATOR_NAMES)
    if value is False:
        return []
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "all"):
            return list(INDICATOR_NAMES)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def indicator_names(value: list[str]) -> list[str]:
    """Canonical indicator names (aliases resolved, duplicates dropped); ValueError for an
    unknown one."""
    out: list[str] = []
    aliases = {"bb": "bollinger", "boll": "bollinger", "bollinger_bands": "bollinger"}
    for raw in value:
        name = aliases.get(raw.strip().lower(), raw.strip().lower())
        if name not in INDICATOR_NAMES:
            raise ValueError(
                f"unknown indicator {shown(raw)}; choose from {', '.join(INDICATOR_NAMES)}"
            )
        if name not in out:
            out.append(name)
    return out


def _symbol_text(value: Any) -> Any:
    """A bare code sent as a JSON number (688008) is read as the 6-digit text "688008"."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999_999:
        return f"{value:06d}"
    return value


# The bounds that `_whole_number` enforces (with its own messages), shown in the tool specs; a
# constraint must sit before the validator to appear in the schema as minimum/maximum.
Hours = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]
Shares = Annotated[int, Field(ge=1, le=MAX_WHOLE_NUMBER), BeforeValidator(_whole_number)]
SymbolText = Annotated[str, BeforeValidator(_symbol_text), Field(min_length=1)]


class ToolArgs(BaseModel):
    """The arguments of one tool. Its spec (`tool_spec`) is generated from the fields: types,
    bounds and `Field(description=...)`; `tool_name` and `tool_description` name the tool."""

    model_config = ConfigDict(extra="forbid")
    tool_name: ClassVar[str]
    tool_description: ClassVar[str]


IndicatorName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(INDICATOR_NAMES)})]


class GetStockPriceArgs(ToolArgs):
    tool_name = "get_stock_price"
    tool_description = (
        "Price of one stock as of the decision time: current price, change vs previous "
        "close, daily limit prices, today's open/high/low/volume so far, recent hourly bars "
        "and technical indicators (RSI14, RSI3, MACD 12/26/9, Bollinger 20/2)."
    )
    symbol: SymbolText = Field(description="e.g. SH688008")
    indicators: Annotated[
        list[IndicatorName], BeforeValidator(_indicator_list), Field(max_length=MAX_INDICATORS)
    ] = Field(
        default_factory=lambda: list(INDICATOR_NAMES),
        description="indicators to include (default: all)",
    )

    def names(self) -> list[str]:
        return indicator_names(self.indicators)


class GetNewsArgs(ToolArgs):
    tool_name = "get_news"
    tool_description = (
        "News published in the last `hours` hours up to the decision time, newest first; "
        "optionally only for one symbol."
    )
    symbol: SymbolText | None = Field(default=None, description="e.g. SH688008 (optional)")
    hours: Hours | None = Field(default=None, description="look-back window")


class GetPortfolioArgs(ToolArgs):
    tool_name = "get_portfolio"
    tool_description = (
        "Your cash, holdings (shares, sellable today, average cost, market value, "
        "unrealized PnL, weight) and total equity at the decision-time prices."
    )


class ExecuteTradeArgs(ToolArgs):
    tool_name = "execute_trade"
    tool_description = (
        "Place a market order at the current price. BUY or SELL a whole number of shares; "
        "returns the fill (price, fees, cash after) or the rejection reason."
    )
    symbol: SymbolText = Field(description="e.g. SH688008")
    # any text is parsed (case-insensitive, checked by the toolbox); the model is shown the enum
    action: str = Field(json_schema_extra={"enum": ["BUY", "SELL"]})
    quantity: Shares = Field(description="shares")


class CalculateArgs(ToolArgs):
    tool_name = "calculate"
    tool_description = (
        "Evaluate arithmetic: numbers, + - * / // % **, parentheses, abs/min/max/round. "
        f"At most {MAX_EXPRESSION_CHARS} characters."
    )
    expression: Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_CHARS)] = Field(
        description="e.g. 125.5*200"
    )


TOOL_ARGS: tuple[type[ToolArgs], ...] = (
    GetStockPriceArgs,
    GetNewsArgs,
    GetPortfolioArgs,
    ExecuteTradeArgs,
    CalculateArgs,
)

# The keys of a property's schema sent to providers, in this order. Titles, defaults and length
# bounds are left out (every provider accepts the rest; the bounds are enforced when parsing and
# named in the error message the model gets).
_PROVIDER_KEYS = ("type", "items", "enum", "minimum", "maximum", "description")


def _provider_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """One property's pydantic schema trimmed for providers: an optional field (``anyOf`` with
    null) is sent as its non-null type, and only `_PROVIDER_KEYS` are kept."""
    if "$ref" in schema:
        raise TypeError(f"tool arguments must be plain JSON types, got a reference {schema}")
    branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        schema = {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    return {
        key: _provider_schema(schema[key]) if key == "items" else schema[key]
        for key in _PROVIDER_KEYS
        if key in schema
    }


def tool_spec(model_cls: type[ToolArgs]) -> ToolSpec:
    """The function-tool spec of one tool, generated from its arguments model."""
    schema = model_cls.model_json_schema()
    properties = {name: _provider_schema(p) for name, p in schema["properties"].items()}
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if properties:
        parameters["required"] = list(schema.get("required", ()))
    parameters["additionalProperties"] = schema.get("additionalProperties", True)
    return ToolSpec(
        name=model_cls.tool_name, description=model_cls.tool_description, parameters=parameters
    )


TOOL_SPECS: list[ToolSpec] = [tool_spec(m) for m in TOOL_ARGS]
TOOL_NAMES = tuple(t.name for t in TOOL_SPECS)


def _json_object(raw: Any) -> dict[str, Any]:
    text = raw.strip() if isinstance(raw, str) else ""
    if text in ("", "null"):
        return {}
    if len(text) > MAX_ARGUMENT_CHARS:
        raise ArgumentError(
            ERROR_INVALID_ARGUMENTS,
            f"arguments are {len(text):,} characters long; at most {MAX_ARGUMENT_CHARS:,} "
            "are accepted.",
        )
    try:
        value = json.loads(text)
    except RecursionError:
        raise ArgumentError(ERROR_INVALID_JSON, "arguments are nested too deeply.") from None
    except json.JSONDecodeError as err:
        raise ArgumentError(
            ERROR_INVALID_JSON,
            f"arguments are not valid JSON ({err}). Send a JSON object, e.g. "
            '{"symbol": "SH688008"}.',
        ) from None
    except ValueError:  # an integer of more than 4300 digits
        raise ArgumentError(
            ERROR_INVALID_ARGUMENTS, "arguments contain a number with far too many digits."
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArgumentError(
            ERROR_INVALID_ARGUMENTS,
            f"arguments must be a JSON object, got {type(value).__name__}.",
        )
    # an escaped lone surrogate ("\ud800") becomes U+FFFD, like everywhere else
    return scrub(value) if "\\u" in text or not text.isascii() else value


def _validation_message(err: ValidationError) -> str:
    errors = err.errors(include_url=False, include_input=False)
    parts = []
    for e in errors[:MAX_REPORTED_ERRORS]:
        loc = ".".join(p if isinstance(p, str) else str(p) for p in e["loc"]) or "arguments"
        loc = loc if len(loc) <= SHOWN_CHARS else loc[:SHOWN_CHARS] + "…"
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        parts.append(f"{loc}: {msg}")
    if len(errors) > MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_REPORTED_ERRORS} more errors")
    return "; ".join(parts)


def parse_arguments(model_cls: type[ToolArgs], tool: str, raw: Any) -> Any:
    """The validated `model_cls` for the raw arguments text; ArgumentError otherwise."""
    arguments = _json_object(raw)
    try:
        return model_cls.model_validate(arguments)
    except ValidationError as err:
        raise ArgumentError(
            ERROR_INVALID_ARGUMENTS, f"invalid arguments for {tool}: {_validation_message(err)}"
        ) from None
    except RecursionError:
        raise ArgumentError(
            ERROR_INVALID_ARGUMENTS, f"invalid arguments for {tool}: nested too deeply"
        ) from None
