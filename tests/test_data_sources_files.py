"""AStock Arena files source on the real STAR10 sample (skips when the sample is absent)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from data_flow.clock import SHANGHAI, at_window
from data_flow.errors import DataUnavailableError
from data_flow.sources.files import FilesSource

pytestmark = pytest.mark.sample_data


def _day(d: date) -> tuple[datetime, datetime]:
    return at_window(d, "00:00"), at_window(d, "23:59")


def test_hourly_bars_close_only_stamped_at_bar_end(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    bars = src.hourly_bars("SH688008", *_day(date(2025, 11, 17)))
    assert [b.time.strftime("%H:%M") for b in bars] == ["10:30", "11:30", "14:00", "15:00"]
    assert bars[0].time == datetime(2025, 11, 17, 10, 30, tzinfo=SHANGHAI)
    assert bars[0].close == 121.69
    assert bars[0].volume == 8492602.0
    assert bars[0].amount == 1040409133.0
    assert all(b.open is None and b.high is None and b.low is None for b in bars)


def test_range_bounds_are_inclusive(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    start = at_window(date(2025, 11, 14), "15:00")
    end = at_window(date(2025, 11, 17), "10:30")
    bars = src.hourly_bars("SH688008", start, end)
    assert [(b.time, b.close) for b in bars] == [(start, 121.17), (end, 121.69)]


def test_daily_section_optional_and_gaps(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    daily = src.daily_bars("SH688008", date(2025, 11, 3), date(2025, 11, 7))
    assert [d.day for d in daily] == [date(2025, 11, d) for d in (3, 4, 5, 6, 7)]
    assert src.daily_bars("SH688256", date(2025, 9, 1), date(2025, 12, 31)) == []
    # SH688256's hourly data begins on 2025-09-22: nothing before it.
    assert src.hourly_bars("SH688256", *_day(date(2025, 9, 19))) == []
    assert len(src.hourly_bars("SH688256", *_day(date(2025, 9, 22)))) == 4
    assert src.hourly_bars("SH600000", *_day(date(2025, 11, 17))) == []


def test_news_filtered_by_publish_time(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    items = src.news(
        "SH688008", at_window(date(2025, 11, 28), "00:00"), at_window(date(2025, 11, 28), "14:00")
    )
    assert sorted(n.publish_time.strftime("%H:%M:%S") for n in items) == ["13:22:46", "13:28:16"]
    assert all(n.symbol == "SH688008" for n in items)
    assert all(len(n.id) == 40 for n in items)


def test_missing_or_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match=r"ai_stock_data\.json not found"):
        FilesSource(tmp_path).hourly_bars("SH688008", *_day(date(2025, 11, 17)))
    bad = {
        "SH688008": {
            "小时线行情": [{"date": "2025-11-17 10:30:00", "close": "x", "vol": 1, "amount": 1}]
        }
    }
    (tmp_path / "ai_stock_data.json").write_text(
        json.dumps(bad, ensure_ascii=False), encoding="utf-8"
    )
    with pytest.raises(DataUnavailableError, match="close"):
        FilesSource(tmp_path).hourly_bars("SH688008", *_day(date(2025, 11, 17)))


def test_small_files_without_news(tmp_path: Path) -> None:
    data = {
        "SH688008": {
            "小时线行情": [
                {"date": "2025-11-17 11:30:00", "close": 10.5, "vol": 200.0, "amount": 2100.0},
                {"date": "2025-11-17 10:30:00", "close": 10.0, "vol": 100.0, "amount": 1000.0},
            ]
        }
    }
    (tmp_path / "ai_stock_data.json").write_text(
        json.dumps(data, ensure_ascii=False), encoding="utf-8"
    )
    src = FilesSource(tmp_path)
    bars = src.hourly_bars("SH688008", *_day(date(2025, 11, 17)))
    assert [b.close for b in bars] == [10.0, 10.5]  # sorted by time
    assert src.news("SH688008", *_day(date(2025, 11, 17))) == []
    assert src.symbols() == ["SH688008"]
