"""Indicators: ta values at the last bar, null during warm-up, prefix-stable."""

from __future__ import annotations

import pandas as pd
from ta.momentum import RSIIndicator
from ta.trend import MACD
from ta.volatility import BollingerBands

from data_flow.indicators import compute_indicators, empty_indicators

CLOSES = [100 + ((i * 37) % 11) - ((i * 13) % 7) * 0.5 for i in range(60)]


def test_warm_up_is_null() -> None:
    assert compute_indicators([]) == empty_indicators()
    ind = compute_indicators(CLOSES[:20])
    assert ind["rsi"] is not None and ind["rsi_short"] is not None
    assert ind["bb_middle"] == round(sum(CLOSES[:20]) / 20, 4)
    assert ind["macd"] == {"macd": None, "signal": None, "histogram": None}
    ind = compute_indicators(CLOSES[:19])
    assert ind["bb_upper"] is None and ind["bb_middle"] is None and ind["bb_lower"] is None
    ind = compute_indicators(CLOSES[:33])
    assert ind["macd"]["macd"] is not None and ind["macd"]["signal"] is None
    ind = compute_indicators(CLOSES[:34])
    assert None not in ind["macd"].values()


def test_values_equal_ta_at_last_bar() -> None:
    s = pd.Series(CLOSES)
    macd = MACD(s, window_slow=26, window_fast=12, window_sign=9)
    bb = BollingerBands(s, window=20, window_dev=2)
    assert compute_indicators(CLOSES) == {
        "rsi": round(float(RSIIndicator(s, window=14).rsi().iloc[-1]), 4),
        "rsi_short": round(float(RSIIndicator(s, window=3).rsi().iloc[-1]), 4),
        "macd": {
            "macd": round(float(macd.macd().iloc[-1]), 4),
            "signal": round(float(macd.macd_signal().iloc[-1]), 4),
            "histogram": round(float(macd.macd_diff().iloc[-1]), 4),
        },
        "bb_upper": round(float(bb.bollinger_hband().iloc[-1]), 4),
        "bb_middle": round(float(bb.bollinger_mavg().iloc[-1]), 4),
        "bb_lower": round(float(bb.bollinger_lband().iloc[-1]), 4),
    }


def test_later_bars_do_not_change_earlier_values() -> None:
    full = pd.Series(CLOSES)
    rsi_full = RSIIndicator(full, window=14).rsi()
    for n in (15, 30, 45):
        assert compute_indicators(CLOSES[:n])["rsi"] == round(float(rsi_full.iloc[n - 1]), 4)
