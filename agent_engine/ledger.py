"""position.jsonl: the append-only ledger of one agent (one writer: the agent process).

Path: ``<data_root>/agent_data/<signature>/position/position.jsonl`` (`ledger_path`, from
`data_flow.records.paths`; readers: `data_flow.records`).
Records, one JSON line each, ids consecutive from 0:

- id 0, the seed: ``{"id":0,"date":init_date,"decision_time":null,"decision_count":0,
  "window_id":null,"positions":{"CASH":initial_cash},"this_action":{"action":"seed"},
  "schema_version":1,"ts_recorded":...}``
- one record per fill: ``this_action = {action: BUY|SELL, symbol, amount, price, notional,
  commission, stamp_duty, transfer_fee}``, ``positions`` = the portfolio after the fill and
  ``tool_call_id``, the id of the model's `execute_trade` call in the window's decision log
  (how a resumed window finds the fills it already made; absent in records written before
  the field existed);
- one record per corporate action applied before a window (`commit_corporate_action`,
  agent_engine/corporate_actions.py): ``this_action = {action: "dividend", key, symbol, ex_date,
  shares, cash_per_share, gross, tax, net, tax_rule, tax_lots}`` (cash += net) or ``{action:
  "bonus", key, symbol, ex_date, shares_before, bonus_per_share, new_shares, shares_after,
  avg_price_before, avg_price_after}``; `window_records` leaves them out;
- resting orders (agent_engine/resting_orders.py): ``this_action = {action: "order",
  order_id, state, ...}`` for a placement (state ``working``), a cancellation, an expiry or a
  rejection at fill time (cash and positions unchanged); a fill of a resting order is a BUY/SELL
  record with an ``order`` object ``{order_id, state, filled, remaining, bar_time}``. These
  records belong to the order book, not to the window's decision (`window_records` leaves
  them out);
- one record per window that ended without a fill: ``this_action = {action: "no_trade",
  reason, reason_code}`` with reason_code one of `NoTradeCode`.

Every non-seed record also has ``decision_time`` ('YYYY-MM-DD HH:MM:SS' Beijing),
``decision_count`` (1-based window index within the day), ``window_id`` ('YYYY-MM-DDTHH:MM')
and ``snapshot_hash``. Money is written as JSON numbers (``float(Decimal)``) and read back
with ``Decimal(str(x))``, exact at 0.01 / 0.0001 precision.

``positions.SYM.avg_price`` is the average cost per share *including buy fees*:
(previous avg × previous shares + buy notional + buy commission + transfer fee) / shares after
the buy, 4 dp half-up; sells leave it unchanged (their fees reduce the cash received instead).

Crash safety: each record is written as one line, flushed and fsynced. On open, a torn last
line (a writer killed mid-write) is cut off, every remaining record is validated (ids, seed,
cash continuity) and the portfolio is rebuilt from the last record, including each holding's
``sellable`` count; `Portfolio.roll_to` then unlocks T+1 shares on the next trading day. A
file without a valid seed or with a damaged record raises `CorruptRecordError`; the ledger
never resets silently. A file that is empty (e.g. killed while writing the seed) gets a seed.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent_engine import crash_seam
from agent_engine.corporate_actions import apply_record
from agent_engine.ledger_records import (
    CORPORATE_ACTIONS,
    SCHEMA_VERSION,
    TRADE_ACTIONS,
    LedgerAction,
    NoTradeCode,
    is_order_book_record,
    load_records,
    money,
    trade_action,
    validate_records,
)
from agent_engine.orders import Fill
from agent_engine.portfolio import Portfolio
from agent_engine.rules import q2
from data_flow.clock import SHANGHAI, decision_time_text, now_iso
from data_flow.errors import CorruptRecordError
from data_flow.fsio import JsonlAppender, repair_torn_tail
from data_flow.records.models import FEE_KEYS
from data_flow.records.paths import ledger_path, window_id_of
from data_flow.records.read import read_ledger

log = logging.getLogger(__name__)

__all__ = [
    "CORPORATE_ACTIONS",
    "FEE_KEYS",
    "SCHEMA_VERSION",
    "TRADE_ACTIONS",
    "Ledger",
    "LedgerAction",
    "NoTradeCode",
    "WindowRef",
    "is_order_book_record",
    "ledger_path",
    "load_records",
    "trade_action",
    "validate_records",
    "window_id_of",
]


@dataclass(frozen=True, slots=True)
class WindowRef:
    """The decision window a record belongs to.

    `Ledger.append_*` accept this, or any object with ``window_id``, ``moment`` (aware) and
    ``decision_index`` attributes (such as ``loop.WindowContext``).
    """

    window_id: str
    decision_time: datetime  # aware
    decision_count: int  # 1-based index of the window within its day

    @classmethod
    def at(cls, moment: datetime, decision_count: int) -> WindowRef:
        if moment.tzinfo is None:
            raise ValueError("decision time must be timezone-aware")
        return cls(window_id_of(moment), moment, decision_count)

    @property
    def day(self) -> date:
        return self.decision_time.astimezone(SHANGHAI).date()


def _as_window(window: Any) -> WindowRef:
    if isinstance(window, WindowRef):
        return window
    moment = getattr(window, "moment", None)
    index = getattr(window, "decision_index", None)
    window_id = getattr(window, "window_id", None)
    if isinstance(moment, datetime) and isinstance(index, int) and isinstance(window_id, str):
        if moment.tzinfo is None:
            raise ValueError("decision time must be timezone-aware")
        return WindowRef(window_id, moment, index)
    raise TypeError(
        "window must be a WindowRef or have window_id, moment and decision_index attributes"
    )


class Ledger:
    """Writer and in-memory index of one agent's position.jsonl.

    ``ledger.portfolio`` is the portfolio rebuilt from the file (or fresh from the seed);
    the runner passes it to the loop, which mutates it with ``portfolio.apply(fill)`` and then
    calls `append_trade` with it.
    """

    def __init__(self, path: Path, initial_cash: Decimal | int | str, init_date: date) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(self.path)
        records = read_ledger(self.path, strict=True)
        self._appender = JsonlAppender(self.path)
        try:
            if records:
                validate_records(records, self.path)
                self._check_seed_matches(records[0], Decimal(str(initial_cash)), init_date)
            elif self.path.stat().st_size > 0:
                raise CorruptRecordError(f"{self.path}: no readable records (no seed)")
            else:
                seed = self._seed_record(Decimal(str(initial_cash)), init_date)
                self._appender.append(seed)
                records = [seed]
        except BaseException:
            self._appender.close()
            raise
        self._records: list[dict[str, Any]] = records
        last = records[-1]
        day = None if last["id"] == 0 else date.fromisoformat(last["date"])
        try:
            self.portfolio = Portfolio.from_record(last["positions"], day)
        except ValueError as err:
            self._appender.close()
            raise CorruptRecordError(f"{self.path}: last record: {err}") from None
        self._cash = self.portfolio.cash

    # --- reading -------------------------------------------------------------------------
    @property
    def next_id(self) -> int:
        return len(self._records)

    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def last_record(self) -> dict[str, Any]:
        return self._records[-1]

    def windows_with_records(self) -> set[str]:
        """Window ids with at least one record. (Whether a window is complete is decided by
        its decision log: `decision_log.window_complete`.)"""
        return {r["window_id"] for r in self._records if r.get("window_id")}

    def window_records(self, window_id: str) -> list[dict[str, Any]]:
        """The decision records (fills, no_trade) of one window, oldest first; corporate
        actions applied before the window and order-book records (see `is_order_book_record`)
        are not the window's decision."""
        return [
            r
            for r in self._records
            if r.get("window_id") == window_id
            and r["this_action"].get("action") not in CORPORATE_ACTIONS
            and not is_order_book_record(r)
        ]

    def last_window_id(self) -> str | None:
        for rec in reversed(self._records):
            if rec.get("window_id"):
                return str(rec["window_id"])
        return None

    def trades(self) -> list[dict[str, Any]]:
        """Records of fills (BUY/SELL), oldest first."""
        return [r for r in self._records if r["this_action"].get("action") in TRADE_ACTIONS]

    def trade_count(self) -> int:
        return len(self.trades())

    def fees_paid(self) -> Decimal:
        return sum(
            (money(r["this_action"][k], k) for r in self.trades() for k in FEE_KEYS),
            Decimal("0"),
        )

    # --- writing -------------------------------------------------------------------------
    def append_trade(
        self,
        window: Any,
        fill: Fill,
        portfolio: Portfolio,
        snapshot_hash: str | None,
        tool_call_id: str | None = None,
    ) -> dict[str, Any]:
        """Record a fill that `portfolio` already includes (records made by hand; a run uses
        `commit_fill`); a portfolio whose cash does not follow from the last record raises
        ValueError.
        `tool_call_id` (the model's call that made the fill) is stored when given."""
        ref = _as_window(window)
        if fill.trade_date != ref.day:
            raise ValueError(f"fill dated {fill.trade_date} recorded in window {ref.window_id}")
        expected = q2(self._cash + fill.cash_delta)
        if portfolio.cash != expected:
            raise ValueError(
                f"portfolio cash {portfolio.cash} != {expected} (last recorded {self._cash} "
                f"{fill.cash_delta:+}): apply the fill to the portfolio before append_trade"
            )
        extra = {"tool_call_id": tool_call_id} if tool_call_id is not None else {}
        return self._append(ref, trade_action(fill), portfolio, snapshot_hash, extra)

    def commit_fill(
        self,
        window: Any,
        fill: Fill,
        portfolio: Portfolio,
        snapshot_hash: str | None,
        tool_call_id: str | None = None,
        order: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The one path by which a run changes a portfolio: write the fill's record, then apply
        the fill to `portfolio`, exactly once. A refused commit (a fill of another day, a
        portfolio that does not match the last record, a fill it cannot take) raises ValueError
        and leaves both the portfolio and the ledger as they were. `order`: the resting order's
        state after this fill, stored in the same record (so a fill and its order's state are
        written at once)."""
        ref = _as_window(window)
        if fill.trade_date != ref.day:
            raise ValueError(f"fill dated {fill.trade_date} recorded in window {ref.window_id}")
        if portfolio.cash != self._cash:
            raise ValueError(
                f"portfolio cash {portfolio.cash} != last recorded {self._cash}: "
                "the portfolio was changed outside the ledger"
            )
        after = copy.deepcopy(portfolio)
        after.apply(fill)
        extra: dict[str, Any] = {"tool_call_id": tool_call_id} if tool_call_id is not None else {}
        if order is not None:
            extra["order"] = order
        record = self._append(ref, trade_action(fill), after, snapshot_hash, extra)
        portfolio.apply(fill)
        return record

    def commit_corporate_action(
        self,
        window: Any,
        action: dict[str, Any],
        portfolio: Portfolio,
        snapshot_hash: str | None,
    ) -> dict[str, Any]:
        """Record a dividend/bonus `action` (agent_engine.corporate_actions) in `window`, then
        apply it to `portfolio`, exactly as `commit_fill` does for a fill; a refused commit
        raises ValueError and changes nothing."""
        ref = _as_window(window)
        if portfolio.cash != self._cash:
            raise ValueError(
                f"portfolio cash {portfolio.cash} != last recorded {self._cash}: "
                "the portfolio was changed outside the ledger"
            )
        after = copy.deepcopy(portfolio)
        apply_record(after, action)
        record = self._append(ref, action, after, snapshot_hash)
        apply_record(portfolio, action)
        return record

    def append_no_trade(
        self,
        window: Any,
        reason_code: NoTradeCode | str,
        reason: str,
        portfolio: Portfolio,
        snapshot_hash: str | None,
    ) -> dict[str, Any]:
        """Record a window that ended without a fill. `reason_code` must be a `NoTradeCode`."""
        ref = _as_window(window)
        code = NoTradeCode(reason_code)
        if portfolio.cash != self._cash:
            raise ValueError(
                f"portfolio cash {portfolio.cash} != last recorded {self._cash}: "
                "a fill was applied without append_trade"
            )
        action = {
            "action": LedgerAction.NO_TRADE.value,
            "reason": reason,
            "reason_code": code.value,
        }
        return self._append(ref, action, portfolio, snapshot_hash)

    def append_order(
        self,
        window: Any,
        action: dict[str, Any],
        portfolio: Portfolio,
        snapshot_hash: str | None,
        tool_call_id: str | None = None,
    ) -> dict[str, Any]:
        """Record a resting order's state change (``action["action"] == "order"``)."""
        if action.get("action") != LedgerAction.ORDER.value:
            raise ValueError(f"not an order action: {action.get('action')!r}")
        if portfolio.cash != self._cash:
            raise ValueError(
                f"portfolio cash {portfolio.cash} != last recorded {self._cash}: "
                "the portfolio was changed outside the ledger"
            )
        extra = {"tool_call_id": tool_call_id} if tool_call_id is not None else {}
        return self._append(_as_window(window), action, portfolio, snapshot_hash, extra)

    def close(self) -> None:
        self._appender.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------
    def _append(
        self,
        ref: WindowRef,
        action: dict[str, Any],
        portfolio: Portfolio,
        snapshot_hash: str | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record = {
            "id": self.next_id,
            "date": ref.day.isoformat(),
            "decision_time": decision_time_text(ref.decision_time),
            "decision_count": ref.decision_count,
            "window_id": ref.window_id,
            "positions": portfolio.to_record(),
            "this_action": action,
            "snapshot_hash": snapshot_hash,
            **(extra or {}),
            "schema_version": SCHEMA_VERSION,
            "ts_recorded": now_iso(),
        }
        self._appender.append(record)
        self._records.append(record)
        self._cash = portfolio.cash
        crash_seam.record_written()
        return record

    @staticmethod
    def _seed_record(initial_cash: Decimal, init_date: date) -> dict[str, Any]:
        return {
            "id": 0,
            "date": init_date.isoformat(),
            "decision_time": None,
            "decision_count": 0,
            "window_id": None,
            "positions": {"CASH": float(q2(initial_cash))},
            "this_action": {"action": LedgerAction.SEED.value},
            "schema_version": SCHEMA_VERSION,
            "ts_recorded": now_iso(),
        }

    def _check_seed_matches(self, seed: dict[str, Any], cash: Decimal, init_date: date) -> None:
        seed_cash = money(seed["positions"].get("CASH"), "seed CASH")
        if q2(seed_cash) != q2(cash) or seed.get("date") != init_date.isoformat():
            log.warning(
                "%s was seeded with %s on %s; config now says %s on %s — keeping the file",
                self.path,
                seed_cash,
                seed.get("date"),
                cash,
                init_date,
            )
