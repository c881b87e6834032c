"""akshare source: bounded offline failure (for real: the network is closed here), hang
timeout, column conversion, and the on-disk cache serving a second run with no network."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from data_flow.clock import SHANGHAI, at_window
from data_flow.errors import DataUnavailableError
from data_flow.snapshot_builder import build_snapshot
from data_flow.sources.akshare_source import AkshareSource
from settings.config import DataConfig
from tests.akshare_helpers import AFTER, DAY, PREV, NoNetwork, Recording


class Hanging:
    """Calls block like a silent endpoint until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def stock_zh_a_hist_min_em(self, **kwargs: Any) -> Any:
        self.release.wait(30)
        return None


def test_offline_fails_fast_naming_call_and_symbol(tmp_path: Path) -> None:
    pytest.importorskip("akshare")
    import akshare  # noqa: F401  (import cost is not part of the bound)

    src = AkshareSource(tmp_path / "cache", timeout=10, min_interval=0)
    for fetch, call in (
        (
            lambda: src.hourly_bars("SH688008", at_window(DAY, "00:00"), at_window(DAY, "10:30")),
            "stock_zh_a_hist_min_em",
        ),
        (lambda: src.daily_bars("SH688008", PREV, PREV), "stock_zh_a_hist"),
        (
            lambda: src.news("SH688008", at_window(DAY, "00:00"), at_window(DAY, "10:30")),
            "stock_news_em",
        ),
    ):
        started = time.monotonic()
        with pytest.raises(DataUnavailableError) as info:
            fetch()
        assert time.monotonic() - started < 12
        message = str(info.value)
        assert call in message and "'688008'" in message and "SH688008" in message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.json"))


def test_silent_endpoint_times_out(tmp_path: Path) -> None:
    api = Hanging()
    src = AkshareSource(tmp_path, timeout=0.3, api=api, min_interval=0, now=AFTER)
    started = time.monotonic()
    try:
        with pytest.raises(
            DataUnavailableError,
            match=r"stock_zh_a_hist_min_em\(symbol='688008'\).*timed out after 0.3s",
        ):
            src.hourly_bars("SH688008", at_window(DAY, "00:00"), at_window(DAY, "15:00"))
    finally:
        api.release.set()
    assert time.monotonic() - started < 2


def test_fetch_converts_and_caches_then_second_run_needs_no_network(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "akshare"
    api = Recording()
    src = AkshareSource(cache, timeout=5, api=api, min_interval=0, now=AFTER)
    bars = src.hourly_bars("SH688008", at_window(PREV, "00:00"), at_window(DAY, "11:30"))
    assert [b.time.strftime("%m-%d %H:%M") for b in bars] == [
        "11-14 10:30", "11-14 11:30", "11-14 14:00", "11-14 15:00", "11-17 10:30", "11-17 11:30",
    ]  # fmt: skip
    assert (bars[0].open, bars[0].close, bars[0].high, bars[0].low) == (10.0, 10.05, 10.08, 9.98)
    assert bars[0].volume == 100000.0  # 1000 lots of 100 shares
    assert api.calls[0][1]["symbol"] == "688008" and api.calls[0][1]["period"] == "60"
    daily = src.daily_bars("SH688008", PREV, PREV)
    assert daily[0].close == 10.35 and daily[0].volume == 400600.0
    assert api.calls[1][1]["timeout"] == 5 and api.calls[1][1]["start_date"] == "20251114"
    news = src.news("SH688008", at_window(DAY, "00:00"), at_window(DAY, "10:30"))
    assert [n.title for n in news] == ["早"]
    stored = json.loads((cache / "hourly" / "SH688008" / "2025-11-17.json").read_text("utf-8"))
    assert len(stored["bars"]) == 4 and stored["bars"][0]["volume"] == 100000.0

    again = AkshareSource(cache, timeout=5, api=NoNetwork(), min_interval=0, now=AFTER)
    assert again.hourly_bars("SH688008", at_window(PREV, "00:00"), at_window(DAY, "11:30")) == bars
    assert again.daily_bars("SH688008", PREV, PREV) == daily
    assert again.news("SH688008", at_window(DAY, "00:00"), at_window(DAY, "10:30")) == news


def test_unfinished_day_is_not_cached(tmp_path: Path) -> None:
    during = lambda: datetime(2025, 11, 17, 11, 0, tzinfo=SHANGHAI)  # noqa: E731
    src = AkshareSource(tmp_path, timeout=5, api=Recording(), min_interval=0, now=during)
    src.hourly_bars("SH688008", at_window(PREV, "00:00"), at_window(DAY, "10:30"))
    assert (tmp_path / "hourly" / "SH688008" / "2025-11-14.json").exists()
    assert not (tmp_path / "hourly" / "SH688008" / "2025-11-17.json").exists()


def _write_cache(cache: Path, symbol: str) -> None:
    def day_bars(d: date, base: float) -> list[dict[str, Any]]:
        return [
            {"time": f"{d.isoformat()} {t}:00", "open": base, "high": base + 0.5, "low": base - 0.5,
             "close": base + 0.1 * i, "volume": 10000.0, "amount": 1.0e6}
            for i, t in enumerate(("10:30", "11:30", "14:00", "15:00"))
        ]  # fmt: skip

    from data_flow.calendar import trading_days, trading_days_back

    first = trading_days_back(DAY, 120)
    for i, d in enumerate(trading_days(first, DAY)):
        bars = day_bars(d, 20.0 + (i % 5)) if d >= date(2025, 10, 1) else []
        payload = {
            "symbol": symbol,
            "day": d.isoformat(),
            "fetched_at": "2025-12-01T09:00:00+08:00",
            "bars": bars,
        }
        path = cache / "hourly" / symbol / f"{d.isoformat()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload), encoding="utf-8")
    daily = {
        "symbol": symbol,
        "day": PREV.isoformat(),
        "fetched_at": "2025-12-01T09:00:00+08:00",
        "bars": [{"day": PREV.isoformat(), "close": 21.5, "volume": 1.0, "amount": 1.0}],
    }
    (cache / "daily" / symbol).mkdir(parents=True, exist_ok=True)
    (cache / "daily" / symbol / f"{PREV.isoformat()}.json").write_text(json.dumps(daily), "utf-8")
    item = {"title": "t", "content": "c", "publish_time": "2025-11-17 09:00:00"}
    news = {
        "symbol": symbol,
        "fetched_at": "2025-12-01 09:00:00",  # naive: read as Beijing time
        "items": [{**item, "source": "s", "url": "u"}],
    }
    (cache / "news").mkdir(parents=True, exist_ok=True)
    (cache / "news" / f"{symbol}.json").write_text(json.dumps(news), "utf-8")
    # reference data (data_flow.sources.akshare_reference): no actions, a name, no ST list
    fetched = "2025-12-01T09:00:00+08:00"
    for kind, body in (
        ("corporate_actions", {"symbol": symbol, "fetched_at": fetched, "actions": []}),
        ("info", {"symbol": symbol, "fetched_at": fetched, "name": "澜起科技", "industry": None}),
    ):
        (cache / kind).mkdir(parents=True, exist_ok=True)
        (cache / kind / f"{symbol}.json").write_text(json.dumps(body), "utf-8")


def test_snapshot_from_prepopulated_cache_without_network(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "akshare"
    _write_cache(cache, "SH688008")
    src = AkshareSource(cache, api=NoNetwork(), min_interval=0, now=AFTER)
    snap = build_snapshot(src, at_window(DAY, "11:30"), ["SH688008"], DataConfig(source="akshare"))
    entry = snap["market_data"]["SH688008"]
    assert entry["current_price"] == entry["recent_bars"][-1]["close"]
    assert entry["bar_time"] == "2025-11-17 11:30:00"
    assert entry["prev_close"] == 21.5  # the daily bar wins over the last hourly close
    assert (entry["limit_down"], entry["limit_up"]) == (17.2, 25.8)
    assert entry["indicators"]["rsi"] is not None
    assert [n["title"] for n in snap["news"]] == ["t"]
    assert (entry["name"], "industry" in entry, entry["st"]) == ("澜起科技", False, False)
    assert (snap["corporate_actions_upcoming"], snap["corporate_actions_effective"]) == ([], [])
    assert (
        snap["metadata"]["data_sources"] == ["akshare"] and snap["metadata"]["synthetic"] is False
    )
