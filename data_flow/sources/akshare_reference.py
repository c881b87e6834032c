"""akshare reference data: corporate actions, ST status, stock names and industries.

Used by `AkshareSource` (all calls go through its ``_call``: deadline, spacing, errors naming
the call). Cache files live beside the bars in the source's cache dir.

**Corporate actions** — ``stock_fhps_detail_em(symbol)`` (Eastmoney 分红送配详情, one row per
report period's plan). A row counts when it has an ex-date (除权除息日) and a non-zero
``bonus_per_share = 送转股份-送转总比例 / 10`` (送股 + 转增, shares per 10 held) or
``cash_per_share = 现金分红-现金分红比例 / 10`` (pre-tax CNY per 10 shares); NaN/NaT cells count as
absent. Rights issues (配股) are not modelled. ``announce_date`` never leaks the future: the
ex-date is fixed by the implementation announcement, which precedes the record date (股权登记日),
so it is 最新公告日期 when that is before the ex-date, else the record date when that is before the
ex-date, else the day before the ex-date. Duplicates: rows of the same report period (报告期) and
ex-date are one event listed twice, the one with the latest 最新公告日期 is kept (ties: the larger
amounts); different report periods on one ex-date are added up (cash and bonus; the later
announce date). Cache ``corporate_actions/<SYMBOL>.json`` = ``{"symbol", "fetched_at",
"actions": [...]}``, refetched when missing or unreadable or fetched on a Beijing date before the
asking trade date; a failed refetch serves the older cache (with a warning), a failed first fetch
raises `DataUnavailableError`.

**ST** — ``stock_zh_a_st_em()`` is the risk-warning board *now*, so the list fetched on Beijing
day D stands for D only: ``st/<YYYY-MM-DD>.json`` = ``{"day", "fetched_at", "codes"}``. Today's
list is fetched once a day; another day uses exactly its own list, and without one ST is unknown:
False, with one warning per run (a later list for an earlier day would be look-ahead).

**Names and industries** — ``stock_individual_info_em(symbol, timeout)`` items 股票简称 and 行业,
cached in ``info/<SYMBOL>.json`` once (delete to refresh). The name is today's: leading ST
markers (and the ex-date markers XD/XR/DR) are stripped so a current status never shows in a
past snapshot. A failed fetch gives None and a warning (names are optional).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_flow.clock import SHANGHAI
from data_flow.corporate_actions import CorporateAction
from data_flow.errors import DataUnavailableError
from data_flow.fsio import atomic_write_json
from data_flow.symbols import bare_code, parse_symbol

if TYPE_CHECKING:
    from data_flow.sources.akshare_source import AkshareSource

log = logging.getLogger(__name__)

ACTIONS_CALL = "stock_fhps_detail_em"
ST_CALL = "stock_zh_a_st_em"
ST_LABEL = "the risk-warning board"
INFO_CALL = "stock_individual_info_em"
TOTAL_BONUS = "送转股份-送转总比例"
CASH = "现金分红-现金分红比例"
EX_DATE = "除权除息日"
RECORD_DATE = "股权登记日"
LATEST_NOTICE = "最新公告日期"
REPORT_PERIOD = "报告期"
NAME_PREFIX = re.compile(r"^(?:\s*(?:S\*ST|SST|\*ST|ST|XD|XR|DR)\s*)+")


def _cell_date(value: Any) -> date | None:
    """A frame cell as a date: date/datetime/Timestamp/ISO text; None for None, NaN, NaT."""
    if value is None or isinstance(value, float | int):
        return None
    try:
        if value != value:  # NaT
            return None
    except (TypeError, ValueError):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _per_ten(value: Any) -> Decimal:
    """A per-10-shares amount as a per-share Decimal (exact from its text); 0 when absent."""
    if value is None or isinstance(value, bool):
        return Decimal("0")
    if isinstance(value, float) and not math.isfinite(value):
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal("0")
    if not amount.is_finite() or amount <= 0:
        return Decimal("0")
    return amount / 10


def _announce_date(ex: date, latest: date | None, record: date | None) -> date:
    """The first day the ex-date is surely public (see the module docstring)."""
    if latest is not None and latest < ex:
        return latest
    if record is not None and record < ex:
        return record
    return ex - timedelta(days=1)


@dataclass(frozen=True)
class _Row:
    period: date | None
    ex: date
    announced: date
    latest: date | None
    cash: Decimal
    bonus: Decimal


def parse_actions(symbol: str, rows: list[dict[str, Any]]) -> list[CorporateAction]:
    """`stock_fhps_detail_em` rows as one CorporateAction per ex-date, oldest first."""
    events: dict[tuple[date | None, date], _Row] = {}
    for raw in rows:
        ex = _cell_date(raw.get(EX_DATE))
        if ex is None:
            continue  # a plan not (yet) implemented
        cash, bonus = _per_ten(raw.get(CASH)), _per_ten(raw.get(TOTAL_BONUS))
        if cash == 0 and bonus == 0:
            continue
        latest = _cell_date(raw.get(LATEST_NOTICE))
        announced = _announce_date(ex, latest, _cell_date(raw.get(RECORD_DATE)))
        row = _Row(_cell_date(raw.get(REPORT_PERIOD)), ex, announced, latest, cash, bonus)
        key = (row.period, ex)
        kept = events.get(key)
        if kept is None or _rank(row) > _rank(kept):
            events[key] = row
    merged: dict[date, CorporateAction] = {}
    for row in sorted(events.values(), key=lambda r: (r.ex, r.period or date.min)):
        before = merged.get(row.ex)
        if before is None:
            merged[row.ex] = CorporateAction(symbol, row.ex, row.announced, row.cash, row.bonus)
        else:
            merged[row.ex] = CorporateAction(
                symbol,
                row.ex,
                max(before.announce_date, row.announced),
                before.cash_per_share + row.cash,
                before.bonus_per_share + row.bonus,
            )
    return [merged[ex] for ex in sorted(merged)]


def _rank(row: _Row) -> tuple[date, Decimal, Decimal]:
    return (row.latest or date.min, row.cash, row.bonus)


def clean_name(name: str) -> str:
    """The name without leading ST / ex-date markers: ``"*ST 海润"`` -> ``"海润"``."""
    return NAME_PREFIX.sub("", name).strip()


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as err:
        log.warning("ignoring unreadable akshare %s cache %s: %s", what, path, err)
        return None
    return data


def _fetched_day(text: Any) -> date:
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI).date()


class AkshareReference:
    """Reference data of one `AkshareSource` (its calls, clock and cache dir)."""

    def __init__(self, source: AkshareSource) -> None:
        self._src = source
        self._lock = threading.Lock()
        self._actions: dict[str, tuple[date, list[CorporateAction]]] = {}
        self._st: dict[date, frozenset[str]] = {}
        self._st_warned = False
        self._info: dict[str, dict[str, str | None]] = {}

    @property
    def _root(self) -> Path:
        return self._src.cache_dir

    def _now(self) -> datetime:
        return self._src._now().astimezone(SHANGHAI)

    def _rows(self, frame: Any, call: str, symbol: str, columns: list[str]) -> list[dict]:
        if frame is None or len(frame) == 0:
            return []
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            label = self._src._label(call, symbol)
            raise DataUnavailableError(f"{label}: response lacks columns {lacking}")
        return list(frame.to_dict("records"))

    # --- corporate actions ----------------------------------------------------------------
    def _actions_file(self, symbol: str) -> Path:
        return self._root / "corporate_actions" / f"{symbol}.json"

    def _read_actions(self, symbol: str) -> tuple[date, list[CorporateAction]] | None:
        path = self._actions_file(symbol)
        data = _read_json(path, "corporate actions")
        if data is None:
            return None
        try:
            fetched = _fetched_day(data["fetched_at"])
            raw = data["actions"]
            if not isinstance(raw, list):
                raise TypeError("actions is not a list")
            actions = [CorporateAction.from_record(a, f"actions[{i}]") for i, a in enumerate(raw)]
        except (KeyError, TypeError, ValueError) as err:
            log.warning("ignoring unreadable akshare corporate actions cache %s: %s", path, err)
            return None
        return fetched, actions

    def _fetch_actions(self, symbol: str) -> tuple[date, list[CorporateAction]]:
        frame = self._src._call(ACTIONS_CALL, symbol, symbol=bare_code(symbol))
        rows = self._rows(frame, ACTIONS_CALL, symbol, [TOTAL_BONUS, CASH, EX_DATE, RECORD_DATE])
        actions = parse_actions(symbol, rows)
        now = self._now()
        payload = {
            "symbol": symbol,
            "fetched_at": now.isoformat(),
            "actions": [a.to_record() for a in actions],
        }
        atomic_write_json(self._actions_file(symbol), payload, indent=None)
        return now.date(), actions

    def corporate_actions(self, symbol: str, as_of: date | None = None) -> list[CorporateAction]:
        """Every known action of `symbol` (the snapshot builder applies the as-of view). Fresh
        enough when fetched on or after `as_of` (None: today)."""
        parse_symbol(symbol)
        wanted = as_of or self._now().date()
        memo = self._actions.get(symbol)
        if memo is None or memo[0] < wanted:
            memo = self._read_actions(symbol) or memo
        if memo is None or memo[0] < wanted:
            try:
                memo = self._fetch_actions(symbol)
            except DataUnavailableError as err:
                if memo is None:
                    raise
                log.warning(
                    "akshare: corporate actions of %s: using the cache fetched on %s (%s)",
                    symbol,
                    memo[0].isoformat(),
                    err,
                )
                memo = (wanted, memo[1])  # no second attempt for this trade date in this run
        self._actions[symbol] = memo
        return list(memo[1])

    # --- ST status ------------------------------------------------------------------------
    def _st_file(self, day: date) -> Path:
        return self._root / "st" / f"{day.isoformat()}.json"

    def _read_st(self, day: date) -> frozenset[str] | None:
        path = self._st_file(day)
        data = _read_json(path, "ST")
        if data is None:
            return None
        codes = data.get("codes")
        if data.get("day") != day.isoformat() or not isinstance(codes, list):
            log.warning("ignoring akshare ST cache %s: not the list of %s", path, day)
            return None
        return frozenset(str(c) for c in codes)

    def _fetch_st(self, day: date) -> frozenset[str]:
        frame = self._src._call(ST_CALL, ST_LABEL)
        rows = self._rows(frame, ST_CALL, ST_LABEL, ["代码", "名称"])
        found = {str(r["代码"]).strip() for r in rows}
        codes = sorted(c for c in found if re.fullmatch(r"\d{6}", c))
        if not codes:
            raise DataUnavailableError(
                f"{self._src._label(ST_CALL, ST_LABEL)}: no stock codes in the response"
            )
        payload = {"day": day.isoformat(), "fetched_at": self._now().isoformat(), "codes": codes}
        atomic_write_json(self._st_file(day), payload, indent=None)
        return frozenset(codes)

    def _st_codes(self, day: date) -> frozenset[str] | None:
        with self._lock:
            if day in self._st:
                return self._st[day]
            codes = self._read_st(day)
            if codes is None and day == self._now().date():
                codes = self._fetch_st(day)
            if codes is not None:
                self._st[day] = codes
            elif not self._st_warned:
                self._st_warned = True
                log.warning(
                    "akshare: no risk-warning (ST) list cached for %s (the board is only known "
                    "for the day it was fetched): ST status unknown, treated as not ST",
                    day.isoformat(),
                )
            return codes

    def is_st(self, symbol: str, day: date) -> bool:
        code = bare_code(symbol)
        codes = self._st_codes(day)
        return codes is not None and code in codes

    # --- names and industries ---------------------------------------------------------------
    def _info_file(self, symbol: str) -> Path:
        return self._root / "info" / f"{symbol}.json"

    def _fetch_info(self, symbol: str) -> dict[str, str | None]:
        frame = self._src._call(
            INFO_CALL, symbol, symbol=bare_code(symbol), timeout=self._src.timeout
        )
        rows = self._rows(frame, INFO_CALL, symbol, ["item", "value"])
        items = {str(r["item"]).strip(): r["value"] for r in rows}

        def text(key: str) -> str | None:
            value = items.get(key)
            if not isinstance(value, str):
                return None
            value = value.strip()
            return value if value and value != "-" else None

        raw_name = text("股票简称")
        info = {"name": clean_name(raw_name) if raw_name else None, "industry": text("行业")}
        if info["name"] is None and info["industry"] is None:
            raise DataUnavailableError(
                f"{self._src._label(INFO_CALL, symbol)}: no 股票简称 or 行业 in the response"
            )
        payload = {"symbol": symbol, "fetched_at": self._now().isoformat(), **info}
        atomic_write_json(self._info_file(symbol), payload, indent=None)
        return info

    def _stock_info(self, symbol: str) -> dict[str, str | None]:
        with self._lock:
            if symbol in self._info:
                return self._info[symbol]
            data = _read_json(self._info_file(symbol), "info")
            if data is not None:
                info = {k: v if isinstance(v, str) and v else None for k, v in data.items()}
                info = {"name": info.get("name"), "industry": info.get("industry")}
            else:
                try:
                    info = self._fetch_info(symbol)
                except DataUnavailableError as err:
                    log.warning("akshare: no name/industry for %s: %s", symbol, err)
                    info = {"name": None, "industry": None}  # once per run
            self._info[symbol] = info
            return info

    def stock_name(self, symbol: str) -> str | None:
        return self._stock_info(symbol)["name"]

    def stock_industry(self, symbol: str) -> str | None:
        return self._stock_info(symbol)["industry"]
