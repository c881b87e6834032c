"""The ledger's record vocabulary and validation: action kinds, the fill record, cash continuity.

`agent_engine.ledger.Ledger` writes these records (the format is in its module doc) and
re-exports these names; `validate_records` / `load_records` check a whole file on open.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent_engine.orders import Fill
from agent_engine.rules import OrderSide, q2, to_decimal
from data_flow.errors import CorruptRecordError
from data_flow.records.read import read_ledger

SCHEMA_VERSION = 1


class LedgerAction(StrEnum):
    SEED = "seed"
    BUY = "BUY"
    SELL = "SELL"
    NO_TRADE = "no_trade"
    DIVIDEND = "dividend"
    BONUS = "bonus"
    ORDER = "order"


class NoTradeCode(StrEnum):
    HOLD = "hold"
    LLM_ERROR = "llm_error"
    ALL_REJECTED = "all_rejected"
    DATA_UNAVAILABLE = "data_unavailable"


TRADE_ACTIONS = frozenset({LedgerAction.BUY.value, LedgerAction.SELL.value})
CORPORATE_ACTIONS = frozenset({LedgerAction.DIVIDEND.value, LedgerAction.BONUS.value})


def trade_action(fill: Fill) -> dict[str, Any]:
    """The ``this_action`` of a fill's record (also logged as the decision log's ``trade``)."""
    return {
        "action": fill.side.value,
        "symbol": fill.symbol,
        "amount": fill.quantity,
        "price": float(fill.price),
        "notional": float(fill.notional),
        "commission": float(fill.commission),
        "stamp_duty": float(fill.stamp_duty),
        "transfer_fee": float(fill.transfer_fee),
    }


def fill_from_record(record: dict[str, Any]) -> Fill:
    """The `Fill` of a BUY/SELL record (the inverse of `trade_action`; fill prices are whole
    cents). Raises CorruptRecordError for a money field that is not a number."""
    action = record["this_action"]

    def money(key: str) -> Decimal:
        value = to_decimal(action.get(key))
        if value is None:
            raise CorruptRecordError(f"ledger record {record.get('id')}: bad {key}")
        return value

    return Fill(
        symbol=str(action["symbol"]),
        side=OrderSide(action["action"]),
        quantity=int(action["amount"]),
        price=q2(money("price")),
        notional=money("notional"),
        commission=money("commission"),
        stamp_duty=money("stamp_duty"),
        transfer_fee=money("transfer_fee"),
        trade_date=date.fromisoformat(record["date"]),
    )


def is_order_book_record(record: dict[str, Any]) -> bool:
    """A resting order's record: an `order` action or a fill with an ``order`` object."""
    action = record.get("this_action")
    kind = action.get("action") if isinstance(action, dict) else None
    return kind == LedgerAction.ORDER.value or isinstance(record.get("order"), dict)


def money(value: Any, where: str) -> Decimal:
    """A record's money field as Decimal; CorruptRecordError when it is not a number."""
    d = to_decimal(value)
    if d is None:
        raise CorruptRecordError(f"{where}: {value!r} is not a number")
    return d


def _action_cash_delta(action: dict[str, Any], where: str) -> Decimal:
    notional = money(action.get("notional"), f"{where} notional")
    fees = sum(
        (
            money(action.get(k), f"{where} {k}")
            for k in ("commission", "stamp_duty", "transfer_fee")
        ),
        Decimal("0"),
    )
    if action.get("action") == LedgerAction.BUY:
        return -(notional + fees)
    return notional - fees


def validate_records(records: list[dict[str, Any]], path: Path) -> None:
    """Raise CorruptRecordError unless `records` is a well-formed ledger (see module doc)."""
    if not records:
        raise CorruptRecordError(f"{path}: no records")
    previous_cash: Decimal | None = None
    for index, rec in enumerate(records):
        where = f"{path}: record {index}"
        if rec.get("id") != index or isinstance(rec.get("id"), bool):
            raise CorruptRecordError(f"{where} has id {rec.get('id')!r}, expected {index}")
        version = rec.get("schema_version")
        if version != SCHEMA_VERSION:
            raise CorruptRecordError(f"{where} has unsupported schema_version {version!r}")
        action = rec.get("this_action")
        positions = rec.get("positions")
        if not isinstance(action, dict) or not isinstance(positions, dict):
            raise CorruptRecordError(f"{where} lacks this_action/positions objects")
        kind = action.get("action")
        if (index == 0) != (kind == LedgerAction.SEED):
            expected = "the seed" if index == 0 else "not a seed"
            raise CorruptRecordError(f"{where} has action {kind!r}; it must be {expected}")
        if kind not in {a.value for a in LedgerAction}:
            raise CorruptRecordError(f"{where} has unknown action {kind!r}")
        try:
            date.fromisoformat(rec.get("date", ""))
        except (TypeError, ValueError):
            raise CorruptRecordError(f"{where} has invalid date {rec.get('date')!r}") from None
        cash = money(positions.get("CASH"), f"{where} positions.CASH")
        if previous_cash is not None:
            delta = Decimal("0")
            if kind in TRADE_ACTIONS:
                delta = _action_cash_delta(action, where)
            elif kind == LedgerAction.DIVIDEND:
                delta = money(action.get("net"), f"{where} net")
            if q2(previous_cash + delta) != q2(cash):
                raise CorruptRecordError(
                    f"{where}: CASH {cash} does not follow from the previous {previous_cash} "
                    f"and this action ({delta:+})"
                )
        previous_cash = cash


def load_records(path: Path) -> list[dict[str, Any]]:
    """Validated records of an existing ledger (a torn last line is ignored, not repaired)."""
    records = read_ledger(path, strict=True)
    validate_records(records, path)
    return records
