"""akshare (Eastmoney) source with an on-disk cache and bounded call times.

Calls (bare 6-digit codes, e.g. ``"688008"``):

- hourly: ``stock_zh_a_hist_min_em(symbol, start_date, end_date, period="60", adjust="")``,
  bars stamped at bar end; 成交量 is in lots of 100 shares (converted to shares);
- daily: ``stock_zh_a_hist(symbol, period="daily", start_date, end_date, adjust="", timeout)``;
- news: ``stock_news_em(symbol)`` (the ~10 latest stories; no date parameter).

Every call runs in a daemon worker thread joined with a deadline (most akshare functions have no
timeout and hang forever on a silent endpoint); a timeout, a network error (requests or
curl_cffi) or an unexpected response raises ``DataUnavailableError`` naming the call and the
symbol. Calls are spaced by ``min_interval`` seconds (the provider bans IPs that call too often).

Cache (``<data_root>/cache/akshare``), JSON, so a second run needs no network:

- ``hourly/<SYMBOL>/<YYYY-MM-DD>.json`` and ``daily/<SYMBOL>/<YYYY-MM-DD>.json``:
  ``{"symbol", "day", "fetched_at", "bars": [{"time", "open", "high", "low", "close", "volume",
  "amount"}]}`` (daily bars use "day" instead of "time"). Written only for finished trading days
  (before today, or today after 15:05 Beijing); an empty list records that the provider had
  nothing for that day (it serves only about a month of hourly bars). Delete a file to refetch.
- ``news/<SYMBOL>.json``: ``{"symbol", "fetched_at", "items": [{"title", "content",
  "publish_time", "source", "url"}]}``, all stories ever fetched. Refetched only when the cache
  was fetched before the requested end time.

Corporate actions (``stock_fhps_detail_em``), ST status (``stock_zh_a_st_em``) and stock names
and industries (``stock_individual_info_em``), with their cache files and rules:
`data_flow.sources.akshare_reference`.

akshare itself is imported lazily (it costs over a second).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from data_flow.clock import SHANGHAI, beijing, decision_time_text
from data_flow.corporate_actions import CorporateAction
from data_flow.errors import DataUnavailableError
from data_flow.fsio import atomic_write_json
from data_flow.sources.akshare_reference import AkshareReference
from data_flow.sources.base import Bar, Coverage, DailyBar, NewsItem
from data_flow.symbols import bare_code, parse_symbol

log = logging.getLogger(__name__)

DAY_DONE = dtime(15, 5)  # after this, today's bars are final and may be cached


def _network_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        import requests

        errors.append(requests.RequestException)
    except ImportError:  # pragma: no cover - requests comes with akshare
        pass
    try:
        from curl_cffi.requests.exceptions import RequestException as CurlRequestException

        errors.append(CurlRequestException)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


class AkshareSource:
    name = "akshare"
    synthetic = False

    def __init__(
        self,
        cache_dir: Path,
        timeout: float = 15.0,
        *,
        api: Any | None = None,
        min_interval: float = 0.5,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self.min_interval = min_interval
        self._api = api
        self._now = now or (lambda: datetime.now(SHANGHAI))
        self._last_call = 0.0
        self._call_lock = threading.Lock()
        self._memory: dict[tuple[str, str, date], list[dict[str, Any]]] = {}
        self._reference = AkshareReference(self)

    # --- calling akshare under a deadline -------------------------------------------------
    def _module(self) -> Any:
        if self._api is None:
            import akshare  # heavy: only when a fetch is needed

            self._api = akshare
        return self._api

    @staticmethod
    def _label(call: str, symbol: str) -> str:
        """How errors name a call: its code and the symbol, or a plain label (no symbol)."""
        try:
            return f"akshare {call}(symbol={bare_code(symbol)!r}) for {symbol}"
        except ValueError:
            return f"akshare {call}() for {symbol}"

    def _call(self, call: str, symbol: str, /, **kwargs: Any) -> Any:
        """`call(**kwargs)` under the deadline; `symbol` names it in errors (or a label)."""
        api = self._module()
        label = self._label(call, symbol)
        func = getattr(api, call, None)
        if not callable(func):
            raise DataUnavailableError(f"{label}: this akshare version has no {call}()")
        with self._call_lock:
            wait = self.min_interval - (time.monotonic() - self._last_call)
            if wait > 0:
                time.sleep(wait)
            self._last_call = time.monotonic()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = func(**kwargs)
            except BaseException as err:  # handed to the caller below
                outcome["error"] = err

        worker = threading.Thread(target=run, name=f"akshare-{call}-{symbol}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise DataUnavailableError(f"{label} timed out after {self.timeout:g}s (no response)")
        if "error" in outcome:
            err = outcome["error"]
            kind = "network error" if isinstance(err, _network_errors()) else "unexpected error"
            raise DataUnavailableError(
                f"{label} failed: {kind}: {type(err).__name__}: {err}"
            ) from err
        return outcome.get("value")

    # --- cache helpers ----------------------------------------------------------------------
    def _day_file(self, kind: str, symbol: str, day: date) -> Path:
        return self.cache_dir / kind / symbol / f"{day.isoformat()}.json"

    def _read_day(self, kind: str, symbol: str, day: date) -> list[dict[str, Any]] | None:
        key = (kind, symbol, day)
        if key in self._memory:
            return self._memory[key]
        path = self._day_file(kind, symbol, day)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            bars = data["bars"]
            if not isinstance(bars, list):
                raise TypeError("bars is not a list")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("ignoring unreadable akshare cache file %s: %s", path, err)
            return None
        self._memory[key] = bars
        return bars

    def _day_finished(self, day: date) -> bool:
        now = self._now().astimezone(SHANGHAI)
        return day < now.date() or (day == now.date() and now.time() >= DAY_DONE)

    def _store_day(self, kind: str, symbol: str, day: date, bars: list[dict[str, Any]]) -> None:
        if not self._day_finished(day):
            return
        payload = {
            "symbol": symbol,
            "day": day.isoformat(),
            "fetched_at": self._now().astimezone(SHANGHAI).isoformat(),
            "bars": bars,
        }
        atomic_write_json(self._day_file(kind, symbol, day), payload, indent=None)
        self._memory[(kind, symbol, day)] = bars

    def _frame_rows(self, frame: Any, call: str, symbol: str, columns: list[str]) -> list[dict]:
        if frame is None or len(frame) == 0:
            return []
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise DataUnavailableError(
                f"{self._label(call, symbol)}: response lacks columns {lacking}"
            )
        return list(frame.to_dict("records"))

    # --- hourly -------------------------------------------------------------------------------
    def _fetch_hourly(self, symbol: str, first: date, last: date) -> dict[date, list[dict]]:
        call = "stock_zh_a_hist_min_em"
        frame = self._call(
            call,
            symbol,
            symbol=bare_code(symbol),
            start_date=f"{first.isoformat()} 09:30:00",
            end_date=f"{last.isoformat()} 15:00:00",
            period="60",
            adjust="",
        )
        rows = self._frame_rows(frame, call, symbol, ["时间", "收盘", "成交量", "成交额"])
        out: dict[date, list[dict]] = {}
        for row in rows:
            try:
                stamp = beijing(str(row["时间"]))
            except ValueError:
                continue
            close = _num(row.get("收盘"))
            if close is None:
                continue
            out.setdefault(stamp.date(), []).append(
                {
                    "time": decision_time_text(stamp),
                    "open": _num(row.get("开盘")),
                    "high": _num(row.get("最高")),
                    "low": _num(row.get("最低")),
                    "close": close,
                    "volume": (_num(row.get("成交量")) or 0.0) * 100,
                    "amount": _num(row.get("成交额")) or 0.0,
                }
            )
        for bars in out.values():
            bars.sort(key=lambda b: b["time"])
        return out

    def _days_through_cache(
        self,
        kind: str,
        symbol: str,
        days: list[date],
        fetch: Callable[[str, date, date], dict[date, list[dict]]],
    ) -> dict[date, list[dict[str, Any]]]:
        """Rows per day from the cache; the missing days are fetched in one call and cached."""
        by_day: dict[date, list[dict[str, Any]]] = {}
        need: list[date] = []
        for day in days:
            cached = self._read_day(kind, symbol, day)
            if cached is None:
                need.append(day)
            else:
                by_day[day] = cached
        if need:
            fetched = fetch(symbol, need[0], need[-1])
            for day in need:
                by_day[day] = fetched.get(day, [])
                self._store_day(kind, symbol, day, by_day[day])
        return by_day

    def coverage(self, symbols: list[str]) -> Coverage:
        """Unknown until fetched: the provider serves only about a month of hourly bars, and
        asking it would cost a network round trip per symbol before the run starts."""
        return Coverage(known=False, note="akshare: unknown until fetched")

    def hourly_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        from data_flow.calendar import trading_days

        parse_symbol(symbol)
        days = trading_days(start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date())
        by_day = self._days_through_cache("hourly", symbol, days, self._fetch_hourly)
        out: list[Bar] = []
        for day in days:
            for b in by_day.get(day, []):
                bar = Bar(
                    time=beijing(b["time"]),
                    close=b["close"],
                    volume=b["volume"],
                    amount=b["amount"],
                    open=b.get("open"),
                    high=b.get("high"),
                    low=b.get("low"),
                )
                if start <= bar.time <= end:
                    out.append(bar)
        return out

    # --- daily ----------------------------------------------------------------------------
    def _fetch_daily(self, symbol: str, first: date, last: date) -> dict[date, list[dict]]:
        call = "stock_zh_a_hist"
        frame = self._call(
            call,
            symbol,
            symbol=bare_code(symbol),
            period="daily",
            start_date=first.strftime("%Y%m%d"),
            end_date=last.strftime("%Y%m%d"),
            adjust="",
            timeout=self.timeout,
        )
        rows = self._frame_rows(frame, call, symbol, ["日期", "收盘", "成交量", "成交额"])
        out: dict[date, list[dict]] = {}
        for row in rows:
            try:
                day = date.fromisoformat(str(row["日期"])[:10])
            except ValueError:
                continue
            close = _num(row.get("收盘"))
            if close is None:
                continue
            out[day] = [
                {
                    "day": day.isoformat(),
                    "open": _num(row.get("开盘")),
                    "high": _num(row.get("最高")),
                    "low": _num(row.get("最低")),
                    "close": close,
                    "volume": (_num(row.get("成交量")) or 0.0) * 100,
                    "amount": _num(row.get("成交额")) or 0.0,
                }
            ]
        return out

    def daily_bars(self, symbol: str, start: date, end: date) -> list[DailyBar]:
        from data_flow.calendar import trading_days

        parse_symbol(symbol)
        days = trading_days(start, end)
        by_day = self._days_through_cache("daily", symbol, days, self._fetch_daily)
        return [
            DailyBar(
                day=date.fromisoformat(b["day"]),
                close=b["close"],
                volume=b["volume"],
                amount=b["amount"],
                open=b.get("open"),
                high=b.get("high"),
                low=b.get("low"),
            )
            for day in days
            for b in by_day.get(day, [])
        ]

    # --- news -------------------------------------------------------------------------------
    def _news_file(self, symbol: str) -> Path:
        return self.cache_dir / "news" / f"{symbol}.json"

    def _read_news(self, symbol: str) -> dict[str, Any] | None:
        path = self._news_file(symbol)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            _aware(data["fetched_at"])
            if not isinstance(data["items"], list):
                raise TypeError("items is not a list")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("ignoring unreadable akshare news cache %s: %s", path, err)
            return None
        return data

    def _fetch_news(self, symbol: str, cached: dict[str, Any] | None) -> dict[str, Any]:
        call = "stock_news_em"
        frame = self._call(call, symbol, symbol=bare_code(symbol))
        rows = self._frame_rows(frame, call, symbol, ["新闻标题", "发布时间"])
        items = {(i.get("url") or i.get("title")): i for i in (cached or {}).get("items", [])}
        for row in rows:
            try:
                published = decision_time_text(beijing(str(row["发布时间"])))
            except ValueError:
                continue
            item = {
                "title": str(row.get("新闻标题") or "").strip(),
                "content": str(row.get("新闻内容") or "").strip(),
                "publish_time": published,
                "source": str(row.get("文章来源") or "").strip(),
                "url": str(row.get("新闻链接") or "").strip(),
            }
            key = item["url"] or item["title"]
            if key:
                items[key] = item
        data = {
            "symbol": symbol,
            "fetched_at": self._now().astimezone(SHANGHAI).isoformat(),
            "items": sorted(items.values(), key=lambda i: (i["publish_time"], i["url"])),
        }
        atomic_write_json(self._news_file(symbol), data, indent=None)
        return data

    def news(self, symbol: str, start: datetime, end: datetime) -> list[NewsItem]:
        parse_symbol(symbol)
        data = self._read_news(symbol)
        if data is None or _aware(data["fetched_at"]) < end:
            data = self._fetch_news(symbol, data)
        out: list[NewsItem] = []
        for raw in data["items"]:
            try:
                item = NewsItem(
                    title=raw["title"],
                    content=raw.get("content", ""),
                    publish_time=beijing(raw["publish_time"]),
                    source=raw.get("source", ""),
                    url=raw.get("url", ""),
                    symbol=symbol,
                )
            except (KeyError, TypeError, ValueError):
                continue
            if start <= item.publish_time <= end:
                out.append(item)
        return out

    # --- reference data (data_flow.sources.akshare_reference) -------------------------------
    def corporate_actions(self, symbol: str, as_of: date | None = None) -> list[CorporateAction]:
        return self._reference.corporate_actions(symbol, as_of)

    def is_st(self, symbol: str, day: date) -> bool:
        return self._reference.is_st(symbol, day)

    def stock_name(self, symbol: str) -> str | None:
        return self._reference.stock_name(symbol)

    def stock_industry(self, symbol: str) -> str | None:
        return self._reference.stock_industry(symbol)
