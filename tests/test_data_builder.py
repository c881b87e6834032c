"""Snapshot builder: as of T, always. Every window of the sample, plus demo determinism,
missing data reporting, news rules, and a lying source."""

from __future__ import annotations

import csv
import json
import logging
import time
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from ta.momentum import RSIIndicator
from ta.trend import MACD
from ta.volatility import BollingerBands

from data_flow.calendar import previous_trading_day, trading_days, trading_days_back
from data_flow.clock import SHANGHAI, at_window, beijing
from data_flow.errors import DataUnavailableError
from data_flow.indicators import empty_indicators
from data_flow.snapshot_builder import HISTORY_TRADING_DAYS, build_snapshot
from data_flow.snapshot_store import content_hash, validate_snapshot
from data_flow.sources.base import Bar, DailyBar, NewsItem
from data_flow.sources.demo import DemoSource
from data_flow.sources.files import FilesSource
from settings.config import STAR10_SYMBOLS, ConfigError, DataConfig

WINDOWS = ["10:30", "11:30", "14:00"]
FILES_CFG = DataConfig(source="files", path="unused")


def _r4(series: pd.Series) -> float | None:
    v = float(series.iloc[-1])
    return None if v != v else round(v, 4)


def _expected_indicators(closes: list[float]) -> dict:
    if not closes:
        return empty_indicators()
    s = pd.Series(closes, dtype="float64")
    macd = MACD(s, window_slow=26, window_fast=12, window_sign=9)
    bb = BollingerBands(s, window=20, window_dev=2)
    return {
        "rsi": _r4(RSIIndicator(s, window=14).rsi()),
        "rsi_short": _r4(RSIIndicator(s, window=3).rsi()),
        "macd": {
            "macd": _r4(macd.macd()),
            "signal": _r4(macd.macd_signal()),
            "histogram": _r4(macd.macd_diff()),
        },
        "bb_upper": _r4(bb.bollinger_hband()),
        "bb_middle": _r4(bb.bollinger_mavg()),
        "bb_lower": _r4(bb.bollinger_lband()),
    }


@pytest.mark.slow
@pytest.mark.sample_data
def test_every_window_of_the_sample_is_as_of_t(star10_dir: Path) -> None:
    started = time.monotonic()
    raw = json.loads((star10_dir / "ai_stock_data.json").read_text(encoding="utf-8"))
    hourly = {s: sorted(raw[s]["小时线行情"], key=lambda r: r["date"]) for s in STAR10_SYMBOLS}
    with (star10_dir / "news.csv").open(encoding="utf-8", newline="") as fh:
        news_rows = list(csv.DictReader(fh))
    first = min(r[0]["date"][:10] for r in hourly.values())
    last = max(r[-1]["date"][:10] for r in hourly.values())
    days = trading_days(date.fromisoformat(first), date.fromisoformat(last))
    source = FilesSource(star10_dir)
    windows = 0
    saw_news = saw_missing = False
    for day in days:
        for hhmm in WINDOWS:
            moment = at_window(day, hhmm)
            t_text = moment.strftime("%Y-%m-%d %H:%M:%S")
            history_from = trading_days_back(day, HISTORY_TRADING_DAYS).isoformat()
            snap = build_snapshot(source, moment, STAR10_SYMBOLS, FILES_CFG)
            windows += 1
            assert snap["timestamp"] == t_text
            validate_snapshot(snap)
            for sym, entry in snap["market_data"].items():
                visible = [r for r in hourly[sym] if history_from <= r["date"] <= t_text]
                today = [r for r in visible if r["date"][:10] == day.isoformat()]
                assert all(b["time"] <= t_text for b in entry["recent_bars"])
                assert entry["recent_bars"] == [
                    {
                        "time": r["date"],
                        "close": r["close"],
                        "volume": int(r["vol"]),
                        "amount": r["amount"],
                    }
                    for r in visible[-8:]
                ]
                if today:
                    assert entry["current_price"] == today[-1]["close"]
                    assert entry["bar_time"] == today[-1]["date"] <= t_text
                    assert entry["volume"] == int(sum(r["vol"] for r in today))
                    assert entry["suspended"] is False
                else:
                    assert entry["current_price"] is None and entry["suspended"] is True
                    assert sym in snap["metadata"]["missing_symbols"]
                    saw_missing = True
                prev = previous_trading_day(day).isoformat()
                prev_bars = [r for r in hourly[sym] if r["date"][:10] == prev]
                prev_daily = [r for r in raw[sym].get("日线行情", []) if r["date"] == prev]
                expected_prev = prev_bars[-1]["close"] if prev_bars else None
                assert entry["prev_close"] == (
                    prev_daily[0]["close"] if prev_daily else expected_prev
                )
                assert entry["indicators"] == _expected_indicators([r["close"] for r in visible])
            lookback = (moment - timedelta(hours=72)).strftime("%Y-%m-%d %H:%M:%S")
            expected_urls = {r["url"] for r in news_rows if lookback <= r["publish_time"] <= t_text}
            assert {n["url"] for n in snap["news"]} == expected_urls
            assert all(lookback <= n["publish_time"] <= t_text for n in snap["news"])
            times = [n["publish_time"] for n in snap["news"]]
            assert times == sorted(times, reverse=True)
            saw_news = saw_news or bool(snap["news"])
    assert windows == 3 * len(days) > 200
    assert saw_news and saw_missing
    assert time.monotonic() - started < 60


@pytest.mark.sample_data
def test_missing_day_is_reported_not_papered_over(
    star10_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = FilesSource(star10_dir)
    with caplog.at_level(logging.WARNING):
        snap = build_snapshot(
            source, at_window(date(2025, 9, 19), "10:30"), STAR10_SYMBOLS, FILES_CFG
        )
    late = ["SH688047", "SH688256", "SH688271", "SH688303", "SH688617"]
    assert snap["metadata"]["missing_symbols"] == late
    entry = snap["market_data"]["SH688256"]
    assert (
        entry["suspended"] is True and entry["current_price"] is None and entry["bar_time"] is None
    )
    assert "SH688256" in caplog.text and "suspended" in caplog.text
    with pytest.raises(DataUnavailableError, match="no bar at or before 2026-01-05 10:30:00"):
        build_snapshot(source, at_window(date(2026, 1, 5), "10:30"), STAR10_SYMBOLS, FILES_CFG)
    with pytest.raises(DataUnavailableError, match="not a trading day"):
        build_snapshot(source, at_window(date(2025, 11, 15), "10:30"), STAR10_SYMBOLS, FILES_CFG)


@pytest.mark.sample_data
def test_star10_limit_prices(star10_dir: Path) -> None:
    snap = build_snapshot(
        FilesSource(star10_dir), at_window(date(2025, 11, 17), "10:30"), ["SH688008"], FILES_CFG
    )
    e = snap["market_data"]["SH688008"]
    # prev close 121.17: x1.2 = 145.404 -> 145.40, x0.8 = 96.936 -> 96.94; 121.69/121.17-1 = 0.429 %
    assert (e["prev_close"], e["limit_up"], e["limit_down"], e["change_pct"]) == (
        121.17,
        145.4,
        96.94,
        0.43,
    )
    assert (e["open"], e["high"], e["low"]) == (None, None, None)


def test_demo_window_is_deterministic_and_complete() -> None:
    cfg = DataConfig(source="demo", seed=42)
    syms = ["SH688008", "SH600000", "SZ300750"]
    moment = at_window(date(2025, 11, 17), "11:30")
    first = build_snapshot(DemoSource(42), moment, syms, cfg)
    later_first = DemoSource(42)
    build_snapshot(later_first, at_window(date(2025, 12, 22), "14:00"), syms, cfg)
    second = build_snapshot(later_first, moment, syms, cfg)
    dump = lambda s: json.dumps(s["market_data"], sort_keys=True, separators=(",", ":"))  # noqa: E731
    assert dump(first) == dump(second)
    assert first["metadata"]["synthetic"] is True and first["metadata"]["data_sources"] == ["demo"]
    assert first["news"] == [] and first["metadata"]["missing_symbols"] == []
    for e in first["market_data"].values():
        assert e["bar_time"] == "2025-11-17 11:30:00"
        assert None not in (e["open"], e["high"], e["low"], e["prev_close"])
        assert e["low"] <= e["current_price"] <= e["high"]
        assert e["limit_down"] <= e["low"] and e["high"] <= e["limit_up"]
        pct = (Decimal(str(e["current_price"])) / Decimal(str(e["prev_close"])) - 1) * 100
        assert e["change_pct"] == float(pct.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        assert None not in e["indicators"]["macd"].values() and e["indicators"]["rsi"] is not None
        assert all({"open", "high", "low"} <= set(b) for b in e["recent_bars"])
    assert content_hash(first) == first["metadata"]["content_hash"]


class LyingSource:
    """Returns data after the requested end: the builder must drop it."""

    name = "liar"
    synthetic = True

    def hourly_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        day = end.date()
        return [
            Bar(time=at_window(day, t), close=10.0 + i, volume=100.0, amount=1000.0)
            for i, t in enumerate(("10:30", "11:30", "14:00", "15:00"))
        ]

    def daily_bars(self, symbol: str, start, end) -> list[DailyBar]:  # type: ignore[no-untyped-def]
        return [DailyBar(day=end + timedelta(days=1), close=99.0, volume=1.0, amount=1.0)]

    def news(self, symbol: str, start: datetime, end: datetime) -> list[NewsItem]:
        def item(n: int, when: datetime, url: str) -> NewsItem:
            return NewsItem(f"title{n}", "c", when, "src", url, symbol)

        return [
            item(1, end - timedelta(hours=1), "u1"),
            item(2, end + timedelta(minutes=1), "u2"),  # future
            item(3, end - timedelta(hours=100), "u3"),  # too old
            item(4, end - timedelta(hours=2), "u1"),  # duplicate url
            item(5, end - timedelta(minutes=5), ""),  # no url: dedup by title
        ]


def test_builder_drops_future_bars_and_news() -> None:
    moment = at_window(date(2025, 11, 17), "11:30")
    snap = build_snapshot(LyingSource(), moment, ["SH688008", "SH688009"], DataConfig(max_news=5))
    e = snap["market_data"]["SH688008"]
    assert e["current_price"] == 11.0 and e["bar_time"] == "2025-11-17 11:30:00"
    assert [b["time"][11:16] for b in e["recent_bars"]] == ["10:30", "11:30"]
    assert e["prev_close"] is None and e["limit_up"] is None and e["change_pct"] is None
    assert [(n["title"], n["symbol"]) for n in snap["news"]] == [
        ("title5", "SH688008"),
        ("title4", "SH688008"),
    ]
    assert snap["metadata"]["news_count"] == 2
    capped = build_snapshot(LyingSource(), moment, ["SH688008"], DataConfig(max_news=1))
    assert [n["title"] for n in capped["news"]] == ["title5"]
    assert beijing(snap["news"][0]["publish_time"]) <= moment.astimezone(SHANGHAI)


def test_unsupported_board_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SH510300 is not on a supported A-share board"):
        build_snapshot(
            DemoSource(1), at_window(date(2025, 11, 17), "10:30"), ["SH510300"], DataConfig()
        )
