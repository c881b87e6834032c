"""AStock Arena files source: the real STAR10 sample (skips when absent) and small written files
(byte-order marks, optional open/high/low carried into the snapshot and the prompt)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from agent_engine.broker import quotes_from_snapshot
from agent_engine.prompt import build_prompt
from data_flow.clock import SHANGHAI, at_window
from data_flow.errors import DataUnavailableError
from data_flow.snapshot_builder import build_snapshot
from data_flow.snapshot_store import content_hash, ensure_snapshot, load_snapshot
from data_flow.sources.files import FilesSource
from settings.config import DataConfig
from tests.llm_helpers import SYMBOLS, make_config, make_ctx

NEWS_HEADER = "title,content,publish_time,source,url,symbol,query,search_time\n"


def _day(d: date) -> tuple[datetime, datetime]:
    return at_window(d, "00:00"), at_window(d, "23:59")


@pytest.mark.sample_data
def test_hourly_bars_close_only_stamped_at_bar_end(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    bars = src.hourly_bars("SH688008", *_day(date(2025, 11, 17)))
    assert [b.time.strftime("%H:%M") for b in bars] == ["10:30", "11:30", "14:00", "15:00"]
    assert bars[0].time == datetime(2025, 11, 17, 10, 30, tzinfo=SHANGHAI)
    assert bars[0].close == 121.69
    assert bars[0].volume == 8492602.0
    assert bars[0].amount == 1040409133.0
    assert all(b.open is None and b.high is None and b.low is None for b in bars)


@pytest.mark.sample_data
def test_range_bounds_are_inclusive(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    start = at_window(date(2025, 11, 14), "15:00")
    end = at_window(date(2025, 11, 17), "10:30")
    bars = src.hourly_bars("SH688008", start, end)
    assert [(b.time, b.close) for b in bars] == [(start, 121.17), (end, 121.69)]


@pytest.mark.sample_data
def test_daily_section_optional_and_gaps(star10_dir: Path) -> None:
    src = FilesSource(star10_dir)
    daily = src.daily_bars("SH688008", date(2025, 11, 3), date(2025, 11, 7))
    assert [d.day for d in daily] == [date(2025, 11, d) for d in (3, 4, 5, 6, 7)]
    assert src.daily_bars("SH688256", date(2025, 9, 1), date(2025, 12, 31)) == []
    # SH688256's hourly data begins on 2025-09-22: nothing before it.
    assert src.hourly_bars("SH688256", *_day(date(2025, 9, 19))) == []
    assert len(src.hourly_bars("SH688256", *_day(date(2025, 9, 22)))) == 4
    assert src.hourly_bars("SH600000", *_day(date(2025, 11, 17))) == []


@pytest.mark.sample_data
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


def _write_stock(directory: Path, data: dict, encoding: str = "utf-8") -> None:
    text = json.dumps(data, ensure_ascii=False)
    (directory / "ai_stock_data.json").write_text(text, encoding=encoding)


def _hourly(stamp: str, close: float, **ohlc: float | None) -> dict:
    return {"date": stamp, "close": close, "vol": 100.0, "amount": close * 100, **ohlc}


def test_byte_order_mark_in_news_csv_and_stock_json_is_tolerated(tmp_path: Path) -> None:
    bars = {"SH688008": {"小时线行情": [_hourly("2025-11-17 10:30:00", 10.0)]}}
    _write_stock(tmp_path, bars)
    (tmp_path / "news.csv").write_text(
        NEWS_HEADER + "科创板大单,正文,2025-11-17 09:45:00,东方财富,https://x/1,SH688008,q,t\n",
        encoding="utf-8-sig",  # a leading BOM, as Excel writes it
    )
    assert (tmp_path / "news.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    [item] = FilesSource(tmp_path).news("SH688008", *_day(date(2025, 11, 17)))
    assert (item.title, item.content, item.url) == ("科创板大单", "正文", "https://x/1")

    _write_stock(tmp_path, bars, encoding="utf-8-sig")
    src = FilesSource(tmp_path)
    assert [b.close for b in src.hourly_bars("SH688008", *_day(date(2025, 11, 17)))] == [10.0]
    assert [n.title for n in src.news("SH688008", *_day(date(2025, 11, 17)))] == ["科创板大单"]


def test_news_csv_without_required_columns_is_a_clear_error(tmp_path: Path) -> None:
    _write_stock(tmp_path, {"SH688008": {"小时线行情": []}})
    (tmp_path / "news.csv").write_text("headline,when\nx,2025-11-17 09:45:00\n", encoding="utf-8")
    with pytest.raises(DataUnavailableError) as err:
        FilesSource(tmp_path).symbols()
    assert "news.csv lacks column(s) title, publish_time, symbol (header: headline, when)" in str(
        err.value
    )
    (tmp_path / "news.csv").write_bytes(b"")  # an empty file is no news, not an error
    assert FilesSource(tmp_path).news("SH688008", *_day(date(2025, 11, 17))) == []


def test_open_high_low_kept_when_present(tmp_path: Path) -> None:
    rows = [
        _hourly("2025-11-17 10:30:00", 10.0, open=9.8, high=10.2, low=9.7),
        _hourly("2025-11-17 11:30:00", 10.1, open=None, high=None, low=None),
        _hourly("2025-11-17 14:00:00", 10.3),
    ]
    daily = [{"date": "2025-11-14", "close": 9.9, "vol": 5.0, "amount": 50.0, "open": 9.5}]
    _write_stock(tmp_path, {"SH688008": {"小时线行情": rows, "日线行情": daily}})
    src = FilesSource(tmp_path)
    bars = src.hourly_bars("SH688008", *_day(date(2025, 11, 17)))
    assert [(b.open, b.high, b.low, b.close) for b in bars] == [
        (9.8, 10.2, 9.7, 10.0),
        (None, None, None, 10.1),
        (None, None, None, 10.3),
    ]
    assert [b.has_ohlc for b in bars] == [True, False, False]
    [day] = src.daily_bars("SH688008", date(2025, 11, 14), date(2025, 11, 14))
    assert (day.open, day.high, day.low, day.close) == (9.5, None, None, 9.9)


@pytest.mark.parametrize(
    ("ohlc", "message"),
    [
        ({"open": "9.8"}, "field 'open' is not a finite number: '9.8'"),
        ({"high": float("inf")}, "field 'high' is not a finite number: inf"),
        (
            {"open": 9.8, "high": 9.9, "low": 9.7},
            "inconsistent bar: open 9.8, high 9.9, low 9.7, close 10.0",
        ),
        (
            {"open": 9.6, "high": 10.2, "low": 9.7},
            "inconsistent bar: open 9.6, high 10.2, low 9.7, close 10.0",
        ),
    ],
)
def test_bad_open_high_low_is_a_clear_error(tmp_path: Path, ohlc: dict, message: str) -> None:
    _write_stock(
        tmp_path, {"SH688008": {"小时线行情": [_hourly("2025-11-17 10:30:00", 10.0, **ohlc)]}}
    )
    with pytest.raises(DataUnavailableError) as err:
        FilesSource(tmp_path).symbols()
    assert "SH688008 小时线行情[0]: " + message in str(err.value)


def test_ohlc_from_files_reaches_snapshot_and_prompt(tmp_path: Path, data_root: Path) -> None:
    """SH688008 has OHLC, SH688009 is close only, SH688111 has it on one of today's two bars."""
    data_dir = tmp_path / "files"
    data_dir.mkdir()
    prev = "2025-10-31 15:00:00"
    _write_stock(
        data_dir,
        {
            "SH688008": {
                "小时线行情": [
                    _hourly(prev, 98.0, open=97.0, high=98.5, low=96.0),
                    _hourly("2025-11-03 10:30:00", 100.0, open=99.0, high=101.5, low=98.5),
                    _hourly("2025-11-03 11:30:00", 101.2, open=100.0, high=102.0, low=99.2),
                    _hourly("2025-11-03 14:00:00", 105.0, open=101.0, high=110.0, low=90.0),
                ]
            },
            "SH688009": {
                "小时线行情": [
                    _hourly(prev, 50.0),
                    _hourly("2025-11-03 10:30:00", 51.0),
                    _hourly("2025-11-03 11:30:00", 52.0),
                ]
            },
            "SH688111": {
                "小时线行情": [
                    _hourly(prev, 20.0),
                    _hourly("2025-11-03 10:30:00", 20.5),
                    _hourly("2025-11-03 11:30:00", 21.0, open=20.5, high=21.2, low=20.4),
                ]
            },
        },
    )
    moment = datetime(2025, 11, 3, 11, 30, tzinfo=SHANGHAI)
    cfg = DataConfig(source="files", path=str(data_dir))
    result = ensure_snapshot(
        data_root,
        moment,
        SYMBOLS,
        lambda: build_snapshot(FilesSource(data_dir), moment, SYMBOLS, cfg),
        lock_timeout=10,
    )
    snapshot = result.snapshot
    assert load_snapshot(result.path) == snapshot  # schema and content hash validate
    assert snapshot["metadata"]["content_hash"] == content_hash(snapshot) == result.content_hash
    m = snapshot["market_data"]
    # Today's open is the first bar's, high/low span today's bars up to T (not the 14:00 bar).
    assert [m["SH688008"][k] for k in ("open", "high", "low", "current_price")] == [
        99.0,
        102.0,
        98.5,
        101.2,
    ]
    assert m["SH688008"]["recent_bars"][-1] == {
        "time": "2025-11-03 11:30:00",
        "open": 100.0,
        "high": 102.0,
        "low": 99.2,
        "close": 101.2,
        "volume": 100,
        "amount": 10120.0,
    }
    assert [m["SH688009"][k] for k in ("open", "high", "low")] == [None, None, None]
    assert all(
        set(b) == {"time", "close", "volume", "amount"} for b in m["SH688009"]["recent_bars"]
    )
    assert [m["SH688111"][k] for k in ("open", "high", "low")] == [None, None, None]
    assert m["SH688111"]["recent_bars"][-1]["open"] == 20.5

    ctx = make_ctx(make_config(data_root), "bh", snapshot, moment=moment)
    user = build_prompt(ctx, quotes_from_snapshot(snapshot)).user
    rows = {line.split(" | ")[0]: line for line in user.splitlines() if line.startswith("SH688")}
    assert rows["SH688008"] == (
        "SH688008 | 101.20 | 3.27 | 99.00 | 102.00 | 98.50 | 117.60/78.40 | 100 | - | 100.0 | - | "
        "-/-/-"
    )
    assert rows["SH688009"] == (
        "SH688009 | 52.00 | 4.00 | - | - | - | 60.00/40.00 | 100 | - | 100.0 | - | -/-/-"
    )
