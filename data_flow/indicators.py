"""Technical indicators with ``ta`` on an hourly close series.

RSI 14 (``rsi``) and RSI 3 (``rsi_short``), MACD 12/26/9 (macd, signal, histogram) and
Bollinger Bands 20/2 (upper, middle, lower; population std as in ``ta``). The caller passes only
bars stamped at or before the decision time; the values are those of the LAST bar of the
series, ``None`` while an indicator is still warming up. Values are rounded to 4 decimals.
pandas and ta are imported lazily (they cost about a second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

RSI_WINDOW = 14
RSI_SHORT_WINDOW = 3
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BB_WINDOW, BB_DEV = 20, 2
DECIMALS = 4


def _last(series: Any) -> float | None:
    if len(series) == 0:
        return None
    value = float(series.iloc[-1])
    return round(value, DECIMALS) if math.isfinite(value) else None


def empty_indicators() -> dict[str, Any]:
    return {
        "rsi": None,
        "rsi_short": None,
        "macd": {"macd": None, "signal": None, "histogram": None},
        "bb_upper": None,
        "bb_middle": None,
        "bb_lower": None,
    }


def compute_indicators(closes: Sequence[float]) -> dict[str, Any]:
    """Indicators at the last element of `closes` (oldest first)."""
    if len(closes) == 0:
        return empty_indicators()
    import pandas as pd
    from ta.momentum import RSIIndicator
    from ta.trend import MACD
    from ta.volatility import BollingerBands

    close = pd.Series([float(c) for c in closes], dtype="float64")
    macd = MACD(close, window_slow=MACD_SLOW, window_fast=MACD_FAST, window_sign=MACD_SIGNAL)
    bb = BollingerBands(close, window=BB_WINDOW, window_dev=BB_DEV)
    return {
        "rsi": _last(RSIIndicator(close, window=RSI_WINDOW).rsi()),
        "rsi_short": _last(RSIIndicator(close, window=RSI_SHORT_WINDOW).rsi()),
        "macd": {
            "macd": _last(macd.macd()),
            "signal": _last(macd.macd_signal()),
            "histogram": _last(macd.macd_diff()),
        },
        "bb_upper": _last(bb.bollinger_hband()),
        "bb_middle": _last(bb.bollinger_mavg()),
        "bb_lower": _last(bb.bollinger_lband()),
    }
