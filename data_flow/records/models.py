"""Typed records: ledger actions (a discriminated union on `action`) and decision-log events.

Ledger: `LedgerRecord.parse(dict)` gives `this_action` as one of `SeedAction`, `TradeAction`
(BUY/SELL), `NoTradeAction`, `DividendAction`, `BonusAction` (corporate actions),
`OrderAction` (a resting order's placement or state change; a fill's ``order`` object is
`LedgerRecord.order`), or
`UnknownAction` for a kind this version does not know (readers
never raise on it; `agent_engine.ledger.validate_records` rejects it). A new kind of record is
one new class registered in `ACTION_TYPES`.

Decision logs: every event is `{"type", "schema_version", "ts_recorded", ...}` (`event_dict`);
`window_end_fields` is the one constructor of a `window_end` (used by the loop, by the record
of a window without data and by the runner's record of an interrupted attempt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from data_flow.clock import now_iso

SCHEMA_VERSION = 1
EVENT_TYPES = ("window_start", "prompt", "model_error", "model_call", "tool_result", "window_end")
OUTCOME_INTERRUPTED = "interrupted"
OUTCOME_DATA_UNAVAILABLE = "data_unavailable"
INCOMPLETE_OUTCOMES = frozenset({OUTCOME_INTERRUPTED, OUTCOME_DATA_UNAVAILABLE})
"""`window_end` outcomes after which the window is resumed, not skipped."""
FEE_KEYS = ("commission", "stamp_duty", "transfer_fee")


def decimal_or_none(value: Any) -> Decimal | None:
    """A record's JSON number as an exact Decimal (`Decimal(str(x))`), None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _count(raw: dict[str, Any], key: str) -> int:
    """A record's whole-number field (shares, amounts); 0 when absent or not an int."""
    v = raw.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _money(raw: dict[str, Any], key: str) -> Decimal:
    """A record's money field as Decimal; 0 when absent or not a number."""
    return decimal_or_none(raw.get(key)) or Decimal("0")


# --- ledger ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeedAction:
    kind: ClassVar[str] = "seed"
    is_fill: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class TradeAction:
    side: str  # BUY | SELL
    symbol: str
    amount: int
    price: Decimal
    notional: Decimal
    fees: dict[str, Decimal]
    is_fill: ClassVar[bool] = True

    @property
    def kind(self) -> str:
        return self.side

    @property
    def fee_total(self) -> Decimal:
        return sum(self.fees.values(), Decimal("0"))

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TradeAction:
        return cls(
            side=str(raw.get("action")),
            symbol=str(raw.get("symbol")),
            amount=_count(raw, "amount"),
            price=_money(raw, "price"),
            notional=_money(raw, "notional"),
            fees={k: _money(raw, k) for k in FEE_KEYS},
        )


@dataclass(frozen=True, slots=True)
class NoTradeAction:
    reason: str | None = None
    reason_code: str | None = None
    kind: ClassVar[str] = "no_trade"
    is_fill: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class DividendAction:
    """A cash dividend credited at its ex-date (cash += net = gross - tax)."""

    symbol: str
    ex_date: str
    shares: int
    gross: Decimal
    tax: Decimal
    net: Decimal
    kind: ClassVar[str] = "dividend"
    is_fill: ClassVar[bool] = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> DividendAction:
        return cls(
            symbol=str(raw.get("symbol")),
            ex_date=str(raw.get("ex_date")),
            shares=_count(raw, "shares"),
            gross=_money(raw, "gross"),
            tax=_money(raw, "tax"),
            net=_money(raw, "net"),
        )


@dataclass(frozen=True, slots=True)
class BonusAction:
    """Bonus shares / conversion (送股/转增) added to a holding at its ex-date."""

    symbol: str
    ex_date: str
    new_shares: int
    shares_after: int
    kind: ClassVar[str] = "bonus"
    is_fill: ClassVar[bool] = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> BonusAction:
        return cls(
            symbol=str(raw.get("symbol")),
            ex_date=str(raw.get("ex_date")),
            new_shares=_count(raw, "new_shares"),
            shares_after=_count(raw, "shares_after"),
        )


def text_field(raw: dict[str, Any], key: str) -> str | None:
    """A non-empty text field, else None."""
    v = raw.get(key)
    return v if isinstance(v, str) and v else None


def whole_field(raw: dict[str, Any], key: str) -> int | None:
    """An integer (not bool) field, else None."""
    v = raw.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(frozen=True, slots=True)
class OrderAction:
    """A resting order's state change (agent_engine/resting_orders.py): `state` is the order's
    state after it (working, cancelled, expired, rejected); fills are BUY/SELL records with an
    ``order`` object instead (`OrderFill`). Cash and positions are unchanged.

    The placement (state working) carries the terms (symbol .. oco_with); a later change
    carries filled/remaining and, when it has them, reason, message and the bar's time."""

    order_id: str
    state: str
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    valid_days: int | None = None
    expires_on: str | None = None
    placed_at: str | None = None
    oco_with: str | None = None
    filled: int | None = None
    remaining: int | None = None
    reason: str | None = None
    message: str | None = None
    bar_time: str | None = None
    kind: ClassVar[str] = "order"
    is_fill: ClassVar[bool] = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> OrderAction:
        return cls(
            order_id=str(raw.get("order_id") or ""),
            state=str(raw.get("state") or ""),
            symbol=text_field(raw, "symbol"),
            side=text_field(raw, "side"),
            order_type=text_field(raw, "order_type"),
            quantity=whole_field(raw, "quantity"),
            price=decimal_or_none(raw.get("price")),
            valid_days=whole_field(raw, "valid_days"),
            expires_on=text_field(raw, "expires_on"),
            placed_at=text_field(raw, "placed_at"),
            oco_with=text_field(raw, "oco_with"),
            filled=whole_field(raw, "filled"),
            remaining=whole_field(raw, "remaining"),
            reason=text_field(raw, "reason"),
            message=text_field(raw, "message"),
            bar_time=text_field(raw, "bar_time"),
        )


@dataclass(frozen=True, slots=True)
class OrderFill:
    """The ``order`` object of a BUY/SELL record that filled (part of) a resting order: the
    order's state, filled and remaining shares after this fill, and the bar it filled on."""

    order_id: str
    state: str
    filled: int
    remaining: int
    bar_time: str | None

    @classmethod
    def parse(cls, raw: Any) -> OrderFill | None:
        if not isinstance(raw, dict) or not text_field(raw, "order_id"):
            return None
        return cls(
            order_id=str(raw["order_id"]),
            state=str(raw.get("state") or ""),
            filled=_count(raw, "filled"),
            remaining=_count(raw, "remaining"),
            bar_time=text_field(raw, "bar_time"),
        )


@dataclass(frozen=True, slots=True)
class UnknownAction:
    kind: str
    is_fill: ClassVar[bool] = False


LedgerAction = (
    SeedAction
    | TradeAction
    | NoTradeAction
    | DividendAction
    | BonusAction
    | OrderAction
    | UnknownAction
)
ACTION_TYPES: dict[str, Any] = {
    "seed": lambda raw: SeedAction(),
    "BUY": TradeAction.parse,
    "SELL": TradeAction.parse,
    "no_trade": lambda raw: NoTradeAction(
        raw.get("reason") if isinstance(raw.get("reason"), str) else None,
        raw.get("reason_code") if isinstance(raw.get("reason_code"), str) else None,
    ),
    "dividend": DividendAction.parse,
    "bonus": BonusAction.parse,
    "order": OrderAction.parse,
}
TRADE_KINDS = frozenset({"BUY", "SELL"})


def parse_action(raw: Any) -> LedgerAction:
    """The typed `this_action` of a ledger record (tolerant: never raises)."""
    if not isinstance(raw, dict):
        return UnknownAction("")
    kind = raw.get("action")
    build = ACTION_TYPES.get(kind) if isinstance(kind, str) else None
    return build(raw) if build is not None else UnknownAction(str(kind))


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    id: int | None
    date: str | None
    decision_time: str | None  # 'YYYY-MM-DD HH:MM:SS' Beijing
    window_id: str | None
    positions: dict[str, Any]
    action: LedgerAction
    snapshot_hash: str | None
    raw: dict[str, Any] = field(repr=False)
    order: OrderFill | None = None
    """A fill of a resting order: its ``order`` object (None for other records)."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> LedgerRecord:
        positions = raw.get("positions")
        rid = raw.get("id")
        wid = raw.get("window_id")
        return cls(
            id=rid if isinstance(rid, int) and not isinstance(rid, bool) else None,
            date=str(raw["date"]) if raw.get("date") is not None else None,
            decision_time=str(raw["decision_time"]) if raw.get("decision_time") else None,
            window_id=str(wid) if wid else None,
            positions=positions if isinstance(positions, dict) else {},
            action=parse_action(raw.get("this_action")),
            snapshot_hash=raw.get("snapshot_hash")
            if isinstance(raw.get("snapshot_hash"), str)
            else None,
            raw=raw,
            order=OrderFill.parse(raw.get("order")),
        )

    @property
    def cash(self) -> Decimal | None:
        return decimal_or_none(self.positions.get("CASH"))

    def holdings(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.positions.items() if k != "CASH" and isinstance(v, dict)}


# --- decision logs -----------------------------------------------------------------------------
def event_dict(type_: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A decision-log event with its common head (`type` first, then schema and time)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown decision-log event type {type_!r}")
    return {"type": type_, "schema_version": SCHEMA_VERSION, "ts_recorded": now_iso(), **fields}


def window_end_fields(
    outcome: str,
    final_text: str | None,
    *,
    trades: int = 0,
    rejected_orders: int = 0,
    invalid_tool_calls: int = 0,
    llm_errors: int = 0,
    model_calls: int = 0,
    model_attempts: int | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    latency_ms_total: float = 0.0,
    duration_ms: float = 0.0,
    equity: float | None = None,
    cash: float | None = None,
) -> dict[str, Any]:
    """The fields of a `window_end` event, in their recorded order. `model_attempts` (calls
    including retried failures) is written only by the loop, which knows it."""
    out: dict[str, Any] = {
        "outcome": outcome,
        "final_text": final_text,
        "trades": trades,
        "rejected_orders": rejected_orders,
        "invalid_tool_calls": invalid_tool_calls,
        "llm_errors": llm_errors,
        "model_calls": model_calls,
    }
    if model_attempts is not None:
        out["model_attempts"] = model_attempts
    out.update(
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms_total=latency_ms_total,
        duration_ms=duration_ms,
        equity=equity,
        cash=cash,
    )
    return out
