"""AStock Arena files: ``ai_stock_data.json`` + ``news.csv``.

The format is that of ../shared/data/astock_star10 (the public AStock Arena sample).

``ai_stock_data.json`` is ``{symbol: {section: [rows]}}``; this source reads two sections:

- ``小时线行情`` hourly bars ``{"date": "2025-09-04 10:30:00", "close", "vol", "amount", "buy1"}``,
  stamped at bar end;
- ``日线行情`` daily bars ``{"date": "2025-09-03", "close", "vol", "amount", "buy1"}`` (may be
  absent for a symbol).

The sample's bars are close only. A row may also carry ``open``/``high``/``low``: each present,
non-null one must be a finite number and is kept on the bar (absent or null -> None); all
present ones must be consistent (``low <= open, close <= high``).

``news.csv`` columns: title, content, publish_time, source, url, symbol, query, search_time. Only
``publish_time`` decides visibility. Both files are read as UTF-8 with or without a byte-order
mark (spreadsheet exports often write one). Files are parsed once per source object.

An optional ``corporate_actions.json`` beside them lists dividends, bonus shares and ST periods
(format: `data_flow.corporate_actions`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from data_flow.clock import beijing
from data_flow.corporate_actions import ActionsFile, CorporateAction, load_actions_file
from data_flow.errors import DataUnavailableError
from data_flow.sources.base import Bar, Coverage, DailyBar, NewsItem

log = logging.getLogger(__name__)

STOCK_FILE = "ai_stock_data.json"
NEWS_FILE = "news.csv"
NAMES_FILE = "names.csv"  # optional: symbol,name[,industry]
NEWS_REQUIRED_COLUMNS = ("title", "publish_time", "symbol")
# utf-8-sig: reads plain UTF-8 and drops a leading byte-order mark.
ENCODING = "utf-8-sig"
HOURLY_SECTION = "小时线行情"
DAILY_SECTION = "日线行情"


@dataclass
class _Parsed:
    hourly: dict[str, list[Bar]] = field(default_factory=dict)
    hourly_times: dict[str, list[datetime]] = field(default_factory=dict)
    daily: dict[str, list[DailyBar]] = field(default_factory=dict)
    news: dict[str, list[NewsItem]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    industries: dict[str, str] = field(default_factory=dict)


def _number(row: dict[str, Any], key: str, where: str) -> float:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataUnavailableError(f"{where}: field '{key}' is not a finite number: {value!r}")
    return float(value)


def _ohlc(row: dict[str, Any], close: float, where: str) -> dict[str, float | None]:
    """The row's optional open/high/low (None when absent or null), checked for consistency."""
    out: dict[str, float | None] = {}
    for key in ("open", "high", "low"):
        out[key] = None if row.get(key) is None else _number(row, key, where)
    high, low, open_ = out["high"], out["low"], out["open"]
    prices = [close] if open_ is None else [open_, close]
    if (low is not None and low > min(prices)) or (high is not None and high < max(prices)):
        raise DataUnavailableError(
            f"{where}: inconsistent bar: open {open_}, high {high}, low {low}, close {close} "
            "(need low <= open, close <= high)"
        )
    return out


def _news_item(row: dict[str, Any]) -> NewsItem | None:
    """One news.csv row as a NewsItem; None when its publish_time is missing or unparsable."""
    try:
        return NewsItem(
            title=(row.get("title") or "").strip(),
            content=(row.get("content") or "").strip(),
            publish_time=beijing(row["publish_time"]),
            source=(row.get("source") or "").strip(),
            url=(row.get("url") or "").strip(),
            symbol=(row.get("symbol") or "").strip(),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class FilesSource:
    """Reads AStock Arena data files from a directory."""

    name = "files"
    synthetic = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._parsed: _Parsed | None = None
        self._actions: ActionsFile | None = None
        self._lock = threading.Lock()

    # --- parsing (once) -------------------------------------------------------------------
    def _data(self) -> _Parsed:
        with self._lock:
            if self._parsed is None:
                self._parsed = self._parse()
            return self._parsed

    def _parse(self) -> _Parsed:
        stock_file = self.path / STOCK_FILE
        try:
            raw = json.loads(stock_file.read_text(encoding=ENCODING))
        except FileNotFoundError:
            raise DataUnavailableError(f"files source: {stock_file} not found") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataUnavailableError(f"files source: cannot read {stock_file}: {err}") from None
        if not isinstance(raw, dict):
            raise DataUnavailableError(f"files source: {stock_file} is not a JSON object")
        parsed = _Parsed()
        for symbol, sections in raw.items():
            if not isinstance(sections, dict):
                continue
            bars = self._parse_hourly(symbol, sections.get(HOURLY_SECTION) or [], stock_file)
            parsed.hourly[symbol] = bars
            parsed.hourly_times[symbol] = [b.time for b in bars]
            parsed.daily[symbol] = self._parse_daily(
                symbol, sections.get(DAILY_SECTION) or [], stock_file
            )
        parsed.news = self._parse_news(self.path / NEWS_FILE)
        parsed.names, parsed.industries = _parse_names(self.path / NAMES_FILE)
        return parsed

    def stock_name(self, symbol: str) -> str | None:
        """From the optional names.csv beside the stock file (None without one)."""
        return self._data().names.get(symbol)

    def stock_industry(self, symbol: str) -> str | None:
        """The optional `industry` column of names.csv (None without one)."""
        return self._data().industries.get(symbol)

    @staticmethod
    def _parse_hourly(symbol: str, rows: list[Any], where: Path) -> list[Bar]:
        by_time: dict[datetime, Bar] = {}
        for i, row in enumerate(rows):
            ctx = f"{where}: {symbol} {HOURLY_SECTION}[{i}]"
            try:
                stamp = beijing(str(row["date"]))
            except (KeyError, TypeError, ValueError):
                raise DataUnavailableError(f"{ctx}: bad or missing 'date'") from None
            close = _number(row, "close", ctx)
            by_time[stamp] = Bar(
                time=stamp,
                close=close,
                volume=_number(row, "vol", ctx),
                amount=_number(row, "amount", ctx),
                **_ohlc(row, close, ctx),
            )
        return [by_time[t] for t in sorted(by_time)]

    @staticmethod
    def _parse_daily(symbol: str, rows: list[Any], where: Path) -> list[DailyBar]:
        by_day: dict[date, DailyBar] = {}
        for i, row in enumerate(rows):
            ctx = f"{where}: {symbol} {DAILY_SECTION}[{i}]"
            try:
                day = date.fromisoformat(str(row["date"])[:10])
            except (KeyError, TypeError, ValueError):
                raise DataUnavailableError(f"{ctx}: bad or missing 'date'") from None
            close = _number(row, "close", ctx)
            by_day[day] = DailyBar(
                day=day,
                close=close,
                volume=_number(row, "vol", ctx),
                amount=_number(row, "amount", ctx),
                **_ohlc(row, close, ctx),
            )
        return [by_day[d] for d in sorted(by_day)]

    @staticmethod
    def _parse_news(news_file: Path) -> dict[str, list[NewsItem]]:
        out: dict[str, list[NewsItem]] = {}
        try:
            fh = news_file.open(encoding=ENCODING, newline="")
        except FileNotFoundError:
            log.warning("files source: %s not found; no news", news_file)
            return out
        try:
            with fh:
                reader = csv.DictReader(fh)
                header = reader.fieldnames
                if header is None:
                    log.warning("files source: %s is empty; no news", news_file)
                    return out
                lacking = [c for c in NEWS_REQUIRED_COLUMNS if c not in header]
                if lacking:
                    raise DataUnavailableError(
                        f"files source: {news_file} lacks column(s) {', '.join(lacking)} "
                        f"(header: {', '.join(header)})"
                    )
                for line_no, row in enumerate(reader, start=2):
                    item = _news_item(row)
                    if item is None:
                        log.warning(
                            "files source: skipping bad row at %s line %d", news_file, line_no
                        )
                    elif item.dedup_key:
                        out.setdefault(item.symbol, []).append(item)
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise DataUnavailableError(f"files source: cannot read {news_file}: {err}") from None
        return out

    def coverage(self, symbols: list[str]) -> Coverage:
        """The days with at least one hourly bar of `symbols` (parses the files once;
        DataUnavailableError when they cannot be read)."""
        data = self._data()
        days = frozenset(t.date() for s in symbols for t in data.hourly_times.get(s, []))
        return Coverage(
            first=min(days, default=None),
            last=max(days, default=None),
            days=days,
            note=f"hourly bars in {self.path / STOCK_FILE}",
        )

    # --- MarketDataSource -----------------------------------------------------------------
    def symbols(self) -> list[str]:
        return sorted(self._data().hourly)

    def hourly_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        data = self._data()
        bars = data.hourly.get(symbol, [])
        times = data.hourly_times.get(symbol, [])
        return bars[bisect_left(times, start) : bisect_right(times, end)]

    def daily_bars(self, symbol: str, start: date, end: date) -> list[DailyBar]:
        return [b for b in self._data().daily.get(symbol, []) if start <= b.day <= end]

    def news(self, symbol: str, start: datetime, end: datetime) -> list[NewsItem]:
        return [n for n in self._data().news.get(symbol, []) if start <= n.publish_time <= end]

    # --- corporate actions and ST status (optional corporate_actions.json) ----------------
    def _actions_file(self) -> ActionsFile:
        with self._lock:
            if self._actions is None:
                self._actions = load_actions_file(self.path)
            return self._actions

    def corporate_actions(self, symbol: str, as_of: date | None = None) -> list[CorporateAction]:
        """Every action of `symbol` in the file (the snapshot builder applies the as-of view;
        a file never changes during a run, so `as_of` changes nothing here)."""
        return self._actions_file().for_symbol(symbol)

    def is_st(self, symbol: str, day: date) -> bool:
        return self._actions_file().is_st(symbol, day)


def _parse_names(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(names, industries) from `names.csv` (header `symbol,name[,industry]`); absent file:
    none. Rows without a symbol or name are skipped; an unreadable file or a missing column is
    a clear error."""
    try:
        text = path.read_text(encoding=ENCODING)
    except FileNotFoundError:
        return {}, {}
    except (OSError, UnicodeDecodeError) as err:
        raise DataUnavailableError(f"files source: cannot read {path}: {err}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not {"symbol", "name"} <= set(reader.fieldnames or []):
        raise DataUnavailableError(f"files source: {path} needs the columns symbol,name")
    out: dict[str, str] = {}
    industries: dict[str, str] = {}
    for row in reader:
        symbol, name = (row.get("symbol") or "").strip(), (row.get("name") or "").strip()
        if symbol and name:
            out[symbol] = name
            industry = (row.get("industry") or "").strip()
            if industry:
                industries[symbol] = industry
    return out, industries
