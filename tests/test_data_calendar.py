"""XSHG trading calendar: holidays, bounds (clear error past 2026-12-31), decision times."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from data_flow.calendar import (
    CalendarError,
    calendar_bounds,
    decision_times,
    is_trading_day,
    next_trading_day,
    previous_trading_day,
    trading_days,
    trading_days_back,
)
from data_flow.clock import SHANGHAI
from data_flow.errors import DataUnavailableError


def test_national_day_holiday_is_closed() -> None:
    days = trading_days(date(2025, 9, 29), date(2025, 10, 10))
    assert days == [date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 9), date(2025, 10, 10)]


def test_weekends_and_spring_festival_2026() -> None:
    assert not is_trading_day(date(2025, 11, 15))  # Saturday
    assert is_trading_day(date(2025, 11, 17))
    assert not is_trading_day(date(2026, 2, 18))  # Spring Festival
    assert next_trading_day(date(2025, 11, 14)) == date(2025, 11, 17)
    assert previous_trading_day(date(2025, 11, 17)) == date(2025, 11, 14)
    assert previous_trading_day(date(2025, 10, 9)) == date(2025, 9, 30)
    assert trading_days_back(date(2025, 11, 17), 5) == date(2025, 11, 10)


def test_past_calendar_end_is_a_clear_error() -> None:
    assert calendar_bounds()[1] == date(2026, 12, 31)
    with pytest.raises(CalendarError, match=r"2027-01-04 is outside the XSHG trading calendar"):
        is_trading_day(date(2027, 1, 4))
    with pytest.raises(DataUnavailableError):
        trading_days(date(2026, 12, 1), date(2027, 1, 31))
    with pytest.raises(CalendarError):
        next_trading_day(date(2026, 12, 31))


def test_decision_times_are_aware_beijing() -> None:
    times = decision_times(date(2025, 11, 17), ["10:30", "11:30", "14:00"])
    assert times == [
        datetime(2025, 11, 17, 10, 30, tzinfo=SHANGHAI),
        datetime(2025, 11, 17, 11, 30, tzinfo=SHANGHAI),
        datetime(2025, 11, 17, 14, 0, tzinfo=SHANGHAI),
    ]
    assert all(t.utcoffset() is not None for t in times)
