"""Demo market: deterministic, plausible, inside board limits, history before the range."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from data_flow.calendar import trading_days
from data_flow.clock import SHANGHAI, at_window
from data_flow.sources.demo import DemoSource, base_price
from data_flow.symbols import board_of, price_limits

SYMS = ["SH688008", "SH600000", "SZ300750", "SZ000001"]


def test_bars_at_four_stamps_with_full_ohlc() -> None:
    bars = DemoSource(42).hourly_bars(
        "SH688008", at_window(date(2025, 11, 17), "00:00"), at_window(date(2025, 11, 17), "15:00")
    )
    assert [b.time.strftime("%H:%M") for b in bars] == ["10:30", "11:30", "14:00", "15:00"]
    for b in bars:
        assert b.open is not None and b.high is not None and b.low is not None
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.volume > 0 and b.volume % 100 == 0
        assert b.amount > 0
        assert Decimal(str(b.close)) == Decimal(str(b.close)).quantize(Decimal("0.01"))
    for a, b in pairwise(bars):
        assert b.open == a.close


def test_every_day_inside_board_limits() -> None:
    src = DemoSource(7)
    for sym in SYMS:
        daily = src.daily_bars(sym, date(2023, 1, 1), date(2025, 12, 31))
        assert len(daily) == len(trading_days(date(2023, 1, 3), date(2025, 12, 31)))
        for prev, cur in pairwise(daily):
            down, up = price_limits(Decimal(str(prev.close)), board_of(sym))
            assert float(down) <= cur.low <= cur.high <= float(up)
        closes = [d.close for d in daily]
        assert 0.3 * base_price(sym) < min(closes) and max(closes) < 3 * base_price(sym)


def test_deterministic_and_independent_of_requested_range() -> None:
    end = at_window(date(2025, 11, 17), "14:00")
    a = DemoSource(42).hourly_bars("SH688008", at_window(date(2025, 11, 10), "00:00"), end)
    other = DemoSource(42)
    other.hourly_bars(
        "SH688008", at_window(date(2023, 2, 1), "00:00"), at_window(date(2026, 6, 30), "15:00")
    )
    b = other.hourly_bars("SH688008", at_window(date(2025, 11, 10), "00:00"), end)
    assert a == b
    assert a[-1].time == end  # never beyond the requested end
    c = DemoSource(43).hourly_bars("SH688008", at_window(date(2025, 11, 10), "00:00"), end)
    assert [x.close for x in c] != [x.close for x in a]


def test_history_before_range_and_no_news() -> None:
    src = DemoSource(42)
    start = datetime(2025, 8, 1, tzinfo=SHANGHAI)
    bars = src.hourly_bars("SZ300750", start, at_window(date(2025, 11, 3), "10:30"))
    days = trading_days(date(2025, 8, 1), date(2025, 10, 31))
    assert len(bars) == 4 * len(days) + 1
    assert src.news("SZ300750", start, at_window(date(2025, 11, 3), "10:30")) == []
    assert DemoSource.synthetic is True
