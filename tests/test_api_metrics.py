"""Pure metric functions and decision-log folding used by the live endpoints."""

from __future__ import annotations

import math

import pytest

from data_flow.live.agents import LogStats
from data_flow.live.metrics import (
    RoundTripTracker,
    annualized_volatility_pct,
    daily_returns,
    max_drawdown_pct,
    series_stats,
    sharpe_ratio,
)


def test_daily_returns_use_each_days_last_window() -> None:
    points = [("d1", 101.0), ("d1", 102.0), ("d2", 99.96), ("d3", 99.96)]
    assert daily_returns(points, 100.0) == pytest.approx([0.02, -0.02, 0.0])


def test_vol_and_sharpe() -> None:
    rets = [0.01, -0.01, 0.02]
    mean = 0.02 / 3
    sd = math.sqrt(((0.01 - mean) ** 2 + (-0.01 - mean) ** 2 + (0.02 - mean) ** 2) / 2)
    assert annualized_volatility_pct(rets) == pytest.approx(sd * math.sqrt(252) * 100)
    assert sharpe_ratio(rets) == pytest.approx(mean / sd * math.sqrt(252))
    assert sharpe_ratio([0.01]) is None
    assert sharpe_ratio([0.01, 0.01]) is None  # zero volatility
    assert annualized_volatility_pct([]) is None


def test_max_drawdown_counts_initial_cash_as_first_peak() -> None:
    assert max_drawdown_pct([90.0, 120.0, 60.0, 130.0], 100.0) == pytest.approx(50.0)
    assert max_drawdown_pct([95.0], 100.0) == pytest.approx(5.0)
    assert max_drawdown_pct([], 100.0) == 0.0
    stats = series_stats([], 100.0)
    assert (stats.total_return_pct, stats.sharpe, stats.max_drawdown_pct) == (0.0, None, 0.0)


def test_round_trips_close_only_when_flat() -> None:
    t = RoundTripTracker()
    t.add("BUY", "A", 200, 2000.0, 5.0)
    t.add("BUY", "A", 100, 1100.0, 5.0)
    t.add("SELL", "A", 100, 1200.0, 6.0)
    assert t.closed == 0
    t.add("SELL", "A", 200, 2200.0, 7.0)  # proceeds 3387 vs cost 3110: a win
    t.add("BUY", "B", 100, 1000.0, 5.0)
    t.add("SELL", "B", 100, 1000.0, 5.5)  # flat price, fees: a loss
    t.add("SELL", "C", 100, 1000.0, 5.0)  # no position: ignored
    assert (t.closed, t.wins) == (2, 1)
    assert t.win_rate_pct() == 50.0
    assert t.realized_pnl == pytest.approx(277.0 - 10.5)
    assert RoundTripTracker().win_rate_pct() is None


def test_log_stats_resumed_window_counts_both_attempts() -> None:
    st = LogStats()
    events = [
        {"type": "window_start", "provider": "openai", "model": "m", "snapshot_path": "a/b.json"},
        {"type": "model_call", "usage": {"prompt_tokens": 10, "completion_tokens": 2},
         "latency_ms": 100.0, "error": None},
        {"type": "model_call", "usage": {"prompt_tokens": 5, "completion_tokens": 0},
         "latency_ms": 300.0, "error": {"kind": "timeout", "message": "t"}},
        {"type": "tool_result", "error_kind": "invalid_json"},
        # killed here; the resumed attempt completes
        {"type": "window_start", "provider": "openai", "model": "m2", "snapshot_path": "a/b.json"},
        {"type": "model_call", "usage": {"prompt_tokens": 7, "completion_tokens": 3},
         "latency_ms": 200.0, "error": None},
        {"type": "tool_result", "error_kind": "rejected_order"},
        {"type": "window_end", "tokens_in": 7, "tokens_out": 3, "llm_errors": 0,
         "invalid_tool_calls": 0, "rejected_orders": 1, "model_calls": 1},
    ]  # fmt: skip
    for ev in events:
        st.fold(ev)
    assert st.ended and st.model == "m2"
    assert st.totals() == {
        "model_calls": 3,
        "tokens_in": 22,
        "tokens_out": 5,
        "llm_errors": 1,
        "invalid_tool_calls": 1,
        "rejected_orders": 1,
    }
    assert st.latency_ms_sum / st.latency_calls == pytest.approx(200.0)
