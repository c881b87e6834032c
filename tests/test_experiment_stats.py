"""Statistics of experiments: exact values, tie handling, seeded (repeatable) intervals."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent_engine.experiments import stats


def test_prob_beats_counts_ties_as_half_and_sums_to_one() -> None:
    a = {"p": [1.0, 2.0, 3.0]}
    b = {"p": [2.0, 2.0]}
    # pairs: 1<2 (x2) → 0, 2=2 (x2) → 0.5 each, 3>2 (x2) → 1 each: (0+0+0.5+0.5+1+1)/6
    assert stats.prob_beats(a, b) == 3.0 / 6.0
    assert stats.prob_beats(a, b) + stats.prob_beats(b, a) == 1.0
    # pairs are formed only within a period
    assert stats.prob_beats({"p": [1.0], "q": [5.0]}, {"p": [2.0], "q": [4.0]}) == 0.5
    assert math.isnan(stats.prob_beats({"p": [1.0]}, {"q": [2.0]}))


@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=8),
    st.lists(st.integers(-5, 5), min_size=1, max_size=8),
)
def test_prob_beats_complement(xs: list[int], ys: list[int]) -> None:
    a = {"p": [float(x) for x in xs]}
    b = {"p": [float(y) for y in ys]}
    assert math.isclose(stats.prob_beats(a, b) + stats.prob_beats(b, a), 1.0, abs_tol=1e-12)


def test_min_ranks_ties_share_the_best_rank() -> None:
    assert stats.min_ranks({"a": 3.0, "b": 5.0, "c": 3.0, "d": 1.0}) == {
        "b": 1,
        "a": 2,
        "c": 2,
        "d": 4,
    }


def test_resolvable_needs_enough_runs_for_the_level() -> None:
    assert not stats.resolvable(1, 0.95)
    assert not stats.resolvable(2, 0.95)  # (1/2)^1 = 0.5 ≥ 0.025
    assert not stats.resolvable(3, 0.95)  # (1/3)^2 ≈ 0.111
    assert stats.resolvable(4, 0.95)  # (1/4)^3 ≈ 0.0156 < 0.025
    assert not stats.resolvable(4, 0.99)  # needs < 0.005
    assert stats.resolvable(5, 0.99)  # (1/5)^4 = 0.0016


def test_bootstrap_ci_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0, -0.5, 2.0, 0.3, 1.1, -1.2, 0.8]
    one = stats.bootstrap_ci(values, "mean", 0.95, 1000, seed=5)
    two = stats.bootstrap_ci(values, "mean", 0.95, 1000, seed=5)
    assert one == two and one is not None
    assert one[0] < float(np.mean(values)) < one[1]
    assert stats.bootstrap_ci([1.0, 1.0, 1.0, 1.0], "mean", 0.95, 1000, 5) == (1.0, 1.0)
    assert stats.bootstrap_ci([1.0, 2.0, 3.0], "mean", 0.95, 1000, 5) is None
    median = stats.bootstrap_ci(values, "median", 0.95, 1000, seed=5)
    assert median is not None and median[0] <= float(np.median(values)) <= median[1]


def test_diff_ci_same_distribution_contains_zero() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 12).tolist()
    b = rng.normal(0, 1, 12).tolist()
    ci = stats.diff_ci(a, b, 0.95, 2000, seed=3)
    assert ci is not None and ci[0] < 0 < ci[1]
    assert ci == stats.diff_ci(a, b, 0.95, 2000, seed=3)
    far = stats.diff_ci([x + 10 for x in a], b, 0.95, 2000, seed=3)
    assert far is not None and far[0] > 0


def test_block_bootstrap_of_daily_returns() -> None:
    rets = np.array([0.01, -0.005, 0.002, 0.004, -0.01, 0.003, 0.006, -0.002] * 4)
    ci = stats.block_ci([rets], stats.total_return_pct, 0.95, 500, seed=9)
    assert ci is not None and ci[0] < stats.total_return_pct(rets) < ci[1]
    assert ci == stats.block_ci([rets], stats.total_return_pct, 0.95, 500, seed=9)
    bench = rets * 0.5
    ex = stats.block_ci([rets, bench], stats.excess_return_pct, 0.95, 500, seed=9, block=3)
    assert ex is not None and ex[0] <= stats.excess_return_pct(rets, bench) <= ex[1]
    assert stats.block_ci([rets[:1]], stats.sharpe, 0.95, 500, seed=9) is None


def test_per_run_metrics_exact() -> None:
    rets = np.array([0.1, -0.5, 0.2])
    assert math.isclose(stats.total_return_pct(rets), (1.1 * 0.5 * 1.2 - 1) * 100)
    # path 1, 1.1, 0.55, 0.66: worst fall from the 1.1 peak to 0.55
    assert math.isclose(stats.max_drawdown_pct(rets), 50.0)
    assert math.isnan(stats.sharpe(np.array([0.01, 0.01])))
    assert stats.clean({"x": float("nan"), "y": [1.23456789, (2.0, 3.0)]}) == {
        "x": None,
        "y": [1.234568, [2.0, 3.0]],
    }


def test_fan_median_and_band() -> None:
    band = stats.fan([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0]], 0.5)
    assert band["median"] == [0.0, 2.0]
    assert band["low"] == [0.0, 1.5] and band["high"] == [0.0, 2.5]
