"""Statistics of an experiment (pure functions over floats; numpy, scipy, arch).

Definitions (also in the README):
- A *run* is one cell: one model, one repeat, one period. Per run: total return % (last
  window equity / initial cash − 1), Sharpe (daily returns, √252, rf 0), max drawdown %
  (window-level), win rate % (closed round trips, fees included), excess return % (total
  return − the equal-weight benchmark's total return over the same windows).
- Across runs (runs of all periods pooled): mean and median with a percentile bootstrap
  interval (`scipy.stats.bootstrap`, resampling runs, seeded). Runs where a metric is
  undefined (Sharpe with < 2 daily returns or zero volatility, win rate without a closed
  round trip) are left out of that metric's sample; `n` says how many counted.
- A model with a single run gets its intervals from a stationary block bootstrap of its daily
  returns (`arch.bootstrap.StationaryBootstrap`, mean block length `block_length`, default
  round(days^(1/3))); excess return resamples the model's and the benchmark's days together.
- P(A beats B): the probability that a run of A has a higher total return than a run of B of
  the same period, over all such pairs, a tie counting one half, so P(A>B) + P(B>A) = 1.
- Difference A − B: mean total return of A minus that of B, interval from a two-sample
  bootstrap (each model's runs resampled independently).
- Ranks: within each (period, repeat) where every model has a run, by total return, best = 1,
  ties share the best rank ("1, 2, 2, 4").
Every bootstrap is seeded from the experiment seed and the names involved, so a report
regenerated from the same records is identical.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

TRADING_DAYS_PER_YEAR = 252
MIN_RUNS_ADVISED = 10
MIN_SHARPE_DAYS = 20

Interval = tuple[float, float] | None


def sub_seed(seed: int, *names: str) -> int:
    """A stable seed for one bootstrap, from the experiment seed and what it is about."""
    text = ":".join((str(seed), *names)).encode()
    return int(hashlib.sha256(text).hexdigest()[:16], 16)


# --- per-run metrics over daily returns ----------------------------------------------------
def total_return_pct(returns: np.ndarray) -> float:
    return float((np.prod(1.0 + returns) - 1.0) * 100.0)


def sharpe(returns: np.ndarray) -> float:
    """Annualized Sharpe (rf 0); NaN with fewer than 2 returns or zero volatility."""
    if len(returns) < 2:
        return math.nan
    sd = float(np.std(returns, ddof=1))
    if sd <= 1e-15:
        return math.nan
    return float(np.mean(returns)) / sd * math.sqrt(TRADING_DAYS_PER_YEAR)


def max_drawdown_pct(returns: np.ndarray) -> float:
    path = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peaks = np.maximum.accumulate(path)
    return float(np.max((peaks - path) / peaks) * 100.0)


def excess_return_pct(returns: np.ndarray, bench: np.ndarray) -> float:
    return total_return_pct(returns) - total_return_pct(bench)


# --- intervals -----------------------------------------------------------------------------
def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def resolvable(n: int, level: float) -> bool:
    """Whether n runs can give a two-sided percentile interval at `level`: the most extreme
    resample (every draw the smallest run) must be rarer than one tail."""
    return n >= 2 and (1.0 / n) ** (n - 1) < (1.0 - level) / 2.0


def bootstrap_ci(
    values: Sequence[float], stat: str, level: float, resamples: int, seed: int
) -> Interval:
    """Percentile bootstrap over runs of the mean or median; None when unresolvable."""
    arr = np.asarray(values, dtype=float)
    if not resolvable(len(arr), level):
        return None
    if np.all(arr == arr[0]):
        return (float(arr[0]), float(arr[0]))
    from scipy.stats import bootstrap

    fn = _mean if stat == "mean" else _median
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(
            (arr,),
            fn,
            n_resamples=resamples,
            confidence_level=level,
            method="percentile",
            vectorized=True,
            rng=np.random.default_rng(seed),
        )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def diff_ci(
    a: Sequence[float], b: Sequence[float], level: float, resamples: int, seed: int
) -> Interval:
    """Interval of mean(a) − mean(b), each sample resampled independently."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not (resolvable(len(x), level) and resolvable(len(y), level)):
        return None
    if np.all(x == x[0]) and np.all(y == y[0]):
        d = float(x[0] - y[0])
        return (d, d)
    from scipy.stats import bootstrap

    def stat(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(p, axis=axis) - np.mean(q, axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(
            (x, y),
            stat,
            n_resamples=resamples,
            confidence_level=level,
            method="percentile",
            vectorized=True,
            paired=False,
            rng=np.random.default_rng(seed),
        )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def default_block_length(days: int) -> int:
    return max(1, round(days ** (1.0 / 3.0)))


def block_ci(
    series: Sequence[Sequence[float]],
    fn: Callable[..., float],
    level: float,
    resamples: int,
    seed: int,
    block: int | None = None,
) -> Interval:
    """Percentile interval of fn(*series) under a stationary block bootstrap of the days
    (all series resampled with the same blocks). None with fewer than 2 days."""
    arrays = [np.asarray(s, dtype=float) for s in series]
    days = len(arrays[0])
    if days < 2:
        return None
    from arch.bootstrap import StationaryBootstrap

    bs = StationaryBootstrap(
        block or default_block_length(days), *arrays, seed=np.random.default_rng(seed)
    )
    draws = bs.apply(lambda *xs: np.array([fn(*xs)]), reps=resamples)[:, 0]
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(draws, [tail, 100.0 - tail])
    return (float(lo), float(hi))


# --- comparisons ---------------------------------------------------------------------------
def prob_beats(a_by_period: dict[str, list[float]], b_by_period: dict[str, list[float]]) -> float:
    """P(a run of A beats a run of B of the same period); ties count 1/2. NaN without pairs."""
    score = 0.0
    pairs = 0
    for period, a_vals in a_by_period.items():
        b_vals = b_by_period.get(period, [])
        for x in a_vals:
            for y in b_vals:
                score += 1.0 if x > y else 0.5 if x == y else 0.0
                pairs += 1
    return score / pairs if pairs else math.nan


def min_ranks(values: dict[str, float]) -> dict[str, int]:
    """Rank by value, highest = 1, ties share the best rank."""
    return {k: 1 + sum(other > v for other in values.values()) for k, v in values.items()}


def fan(paths: Sequence[Sequence[float]], level: float) -> dict[str, list[float]]:
    """Median and central `level` band per time step over paths of equal length."""
    arr = np.asarray(paths, dtype=float)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, med, hi = np.percentile(arr, [tail, 50.0, 100.0 - tail], axis=0)
    return {"median": med.tolist(), "low": lo.tolist(), "high": hi.tolist()}


def clean(x: Any, digits: int = 6) -> Any:
    """JSON-ready: floats rounded, NaN/inf → None, tuples → lists (stable report bytes)."""
    if isinstance(x, float):
        return round(x, digits) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean(v, digits) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v, digits) for v in x]
    if isinstance(x, np.floating):
        return clean(float(x), digits)
    return x
