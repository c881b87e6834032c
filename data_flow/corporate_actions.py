"""Corporate actions (cash dividends, bonus shares / splits) and ST status: data and as-of views.

The arena trades on raw (unadjusted) prices, so a cash dividend or a bonus issue is applied to
the portfolio at its ex-date (agent_engine.corporate_actions) instead of being hidden in an
adjusted price series.

One `CorporateAction` per symbol and ex-date: ``cash_per_share`` (pre-tax CNY per share) and
``bonus_per_share`` (new shares per held share: 送股 + 转增, 10送3 -> 0.3). It is known from its
``announce_date``: a snapshot of trade date D lists it only when ``announce_date < D`` (an
announcement of day D may come after the decision time, so it counts from the next day).
``listing_date`` (optional, 红股上市日) is the first day the bonus shares can be sold; absent, the
exchange's rule gives it (`bonus_listing_date`: Shenzhen lists them on the ex-date, Shanghai and
Beijing on the next trading day).

The files source reads an optional ``corporate_actions.json`` beside ``ai_stock_data.json``::

    {"actions": [{"symbol": "SH688008", "ex_date": "2025-10-22", "announce_date": "2025-10-15",
                  "cash_per_share": 0.20, "bonus_per_share": 0, "listing_date": null}],
     "st": [{"symbol": "SH600001", "from": "2025-01-01", "to": "2025-12-31"}]}

``st`` lists the periods (inclusive; ``to`` null or absent: open-ended) in which a stock is
ST / *ST. Both keys are optional; a malformed file raises `DataUnavailableError` naming the
entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from data_flow.errors import DataUnavailableError
from data_flow.symbols import parse_symbol

ACTIONS_FILE = "corporate_actions.json"
CENT = Decimal("0.01")
EFFECTIVE_LOOKBACK_DAYS = 30
"""A snapshot lists the actions whose ex-date is at most this many days back (`effective`), so
a run that had no window on an ex-date still applies it at its next window."""


@dataclass(frozen=True, slots=True)
class CorporateAction:
    symbol: str
    ex_date: date
    announce_date: date
    cash_per_share: Decimal = Decimal("0")
    bonus_per_share: Decimal = Decimal("0")
    listing_date: date | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "symbol": self.symbol,
            "ex_date": self.ex_date.isoformat(),
            "announce_date": self.announce_date.isoformat(),
            "cash_per_share": float(self.cash_per_share),
            "bonus_per_share": float(self.bonus_per_share),
        }
        if self.listing_date is not None:  # only when known: older snapshots keep their hash
            record["listing_date"] = self.listing_date.isoformat()
        return record

    @classmethod
    def from_record(cls, raw: Any, where: str = "corporate action") -> CorporateAction:
        """Parse (and validate) one action; raises ValueError naming the problem."""
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: not an object")
        symbol = raw.get("symbol")
        try:
            parse_symbol(symbol)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        ex = _day(raw.get("ex_date"), f"{where} ex_date")
        announced = _day(raw.get("announce_date"), f"{where} announce_date")
        if announced >= ex:
            raise ValueError(f"{where}: announce_date {announced} must be before ex_date {ex}")
        cash = _amount(raw.get("cash_per_share", 0), f"{where} cash_per_share")
        bonus = _amount(raw.get("bonus_per_share", 0), f"{where} bonus_per_share")
        if cash == 0 and bonus == 0:
            raise ValueError(f"{where}: cash_per_share and bonus_per_share are both 0")
        listing = None
        if raw.get("listing_date") is not None:
            listing = _day(raw.get("listing_date"), f"{where} listing_date")
            if listing < ex:
                raise ValueError(f"{where}: listing_date {listing} is before ex_date {ex}")
        return cls(str(symbol), ex, announced, cash, bonus, listing)


@dataclass(frozen=True, slots=True)
class StPeriod:
    symbol: str
    start: date
    end: date | None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a date YYYY-MM-DD") from None


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{where}: {value!r} is not a number")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{where}: {value!r} must be a non-negative number")
    return d


def ex_reference_price(prev_close: Decimal, action: CorporateAction) -> Decimal:
    """The exchange's ex-rights/ex-dividend reference price, the ex-date's previous close:
    (prev_close - cash_per_share) / (1 + bonus_per_share), 0.01 half-up."""
    ref = (prev_close - action.cash_per_share) / (1 + action.bonus_per_share)
    return ref.quantize(CENT, rounding=ROUND_HALF_UP)


def bonus_listing_date(action: CorporateAction) -> date:
    """The first day the bonus shares of `action` can be sold: its ``listing_date`` when the
    data gives one, else the exchange's rule for 红股上市日: Shenzhen lists them on the ex-date,
    Shanghai on the next trading day."""
    if action.listing_date is not None:
        return action.listing_date
    exchange, _ = parse_symbol(action.symbol)
    if exchange == "SZ":
        return action.ex_date
    from data_flow.calendar import next_trading_day

    return next_trading_day(action.ex_date)


def upcoming(actions: Iterable[CorporateAction], day: date) -> list[CorporateAction]:
    """Known on trade date `day` (announced before it) with an ex-date after it."""
    return sorted(
        (a for a in actions if a.announce_date < day < a.ex_date),
        key=lambda a: (a.ex_date, a.symbol),
    )


def effective(actions: Iterable[CorporateAction], day: date) -> list[CorporateAction]:
    """Ex-date on or before `day`, at most `EFFECTIVE_LOOKBACK_DAYS` back."""
    return sorted(
        (a for a in actions if 0 <= (day - a.ex_date).days <= EFFECTIVE_LOOKBACK_DAYS),
        key=lambda a: (a.ex_date, a.symbol),
    )


@dataclass(frozen=True, slots=True)
class ActionsFile:
    actions: tuple[CorporateAction, ...] = ()
    st: tuple[StPeriod, ...] = ()

    def for_symbol(self, symbol: str) -> list[CorporateAction]:
        return [a for a in self.actions if a.symbol == symbol]

    def is_st(self, symbol: str, day: date) -> bool:
        return any(p.symbol == symbol and p.covers(day) for p in self.st)


def load_actions_file(folder: Path) -> ActionsFile:
    """`corporate_actions.json` in `folder` (empty when absent); raises DataUnavailableError for
    a malformed file."""
    path = Path(folder) / ACTIONS_FILE
    if not path.exists():
        return ActionsFile()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        raw_actions = data.get("actions", [])
        raw_st = data.get("st", [])
        if not isinstance(raw_actions, list) or not isinstance(raw_st, list):
            raise ValueError("'actions' and 'st' must be lists")
        actions = [
            CorporateAction.from_record(a, f"actions[{i}]") for i, a in enumerate(raw_actions)
        ]
        seen: set[tuple[str, date]] = set()
        for a in actions:
            if (a.symbol, a.ex_date) in seen:
                raise ValueError(f"two actions of {a.symbol} on {a.ex_date}: merge them")
            seen.add((a.symbol, a.ex_date))
        periods = [_st_period(p, f"st[{i}]") for i, p in enumerate(raw_st)]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
        raise DataUnavailableError(f"{path}: {err}") from None
    return ActionsFile(tuple(actions), tuple(periods))


def _st_period(raw: Any, where: str) -> StPeriod:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: not an object")
    try:
        parse_symbol(raw.get("symbol"))
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    start = _day(raw.get("from"), f"{where} from")
    end = None if raw.get("to") is None else _day(raw.get("to"), f"{where} to")
    if end is not None and end < start:
        raise ValueError(f"{where}: 'to' {end} is before 'from' {start}")
    return StPeriod(str(raw["symbol"]), start, end)


def source_actions(source: object, symbol: str, as_of: date) -> list[CorporateAction]:
    """`source.corporate_actions(symbol, as_of)` when the source offers it, else []. `as_of` is
    the trade date asking: a source that fetches may refresh what it fetched before that day
    (the snapshot still lists only what was announced before it)."""
    probe = getattr(source, "corporate_actions", None)
    return list(probe(symbol, as_of)) if callable(probe) else []


def source_is_st(source: object, symbol: str, day: date) -> bool:
    """`source.is_st(symbol, day)` when the source offers it, else False."""
    probe = getattr(source, "is_st", None)
    return bool(probe(symbol, day)) if callable(probe) else False
