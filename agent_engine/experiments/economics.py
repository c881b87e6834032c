"""Cost, latency, tokens and knowledge-cutoff figures of an experiment's models.

Per run they are model-stats' own (`data_flow.live.economics.economics_stats` and
`post_cutoff`, read by `records.read_usage`): inference cost from the run's tokens and the
pricing its `run_start` recorded (baselines 0, a model agent without pricing none), PnL net of
that cost, and the figures over the windows after the model's knowledge cutoff. Per model:
tokens and cost per decision and latency percentiles over all calls of all its runs (the same
function over the pooled counts), and mean/median with the report's bootstrap intervals of cost
per run, PnL, PnL net of cost and the post-cutoff return and PnL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_engine.experiments import stats
from data_flow.live.economics import Economics, economics_stats

POOLED = ("tokens_per_decision", "cost_per_decision_cny", "latency_p50_ms", "latency_p95_ms")


@dataclass(frozen=True)
class RunUsage:
    econ: Economics
    provider: str | None
    tokens_in: int
    tokens_out: int
    decisions: int
    latencies: tuple[float, ...]
    item: dict[str, Any]  # the run's model-stats item (economics_stats fields included)

    @classmethod
    def of(cls, item: dict[str, Any], latencies: list[float], econ: Economics) -> RunUsage:
        return cls(
            econ,
            item.get("provider"),
            int(item.get("tokens_in") or 0),
            int(item.get("tokens_out") or 0),
            int(item.get("windows_done") or 0),
            tuple(latencies),
            item,
        )

    @property
    def cost(self) -> float | None:
        return self.item.get("inference_cost_cny")

    @property
    def post(self) -> dict[str, Any] | None:
        return self.item.get("post_cutoff")


@dataclass(frozen=True)
class Sample:
    """One model's runs as the summaries need them."""

    usage: RunUsage
    initial: float
    returns: np.ndarray  # daily returns
    days: tuple[str, ...]  # the day of each daily return


SingleRun = tuple[Sequence[Sequence[float]], Callable[..., float]]


def summary(
    values: Sequence[float | None],
    seed: int,
    spec: Any,
    single: SingleRun | None = None,
) -> dict[str, Any]:
    """Mean and median over runs with bootstrap intervals (as the report's metrics); a single
    run gets its interval from a block bootstrap of `single` (daily returns, fn) when given."""
    level, reps = spec.confidence_level, spec.bootstrap_resamples
    sample = [float(v) for v in values if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {"n": len(sample), "mean": None, "mean_ci": None}
    out |= {"median": None, "median_ci": None, "method": None}
    if not sample:
        return out
    out["mean"], out["median"] = float(np.mean(sample)), float(np.median(sample))
    if len(sample) == 1:
        if single is not None:
            ci = stats.block_ci(single[0], single[1], level, reps, seed, spec.block_length)
            out |= {"mean_ci": ci, "median_ci": ci, "method": "block bootstrap of daily returns"}
        return out
    out["mean_ci"] = stats.bootstrap_ci(sample, "mean", level, reps, seed)
    out["median_ci"] = stats.bootstrap_ci(sample, "median", level, reps, seed + 1)
    out["method"] = "bootstrap over runs"
    return out


def _pnl_fn(initial: float, cost: float) -> Callable[[np.ndarray], float]:
    return lambda r: initial * stats.total_return_pct(r) / 100.0 - cost


def model_economics(sig: str, runs: Sequence[Sample], spec: Any) -> dict[str, Any]:
    """The cost/latency/token figures of one model over its runs."""
    usages = [r.usage for r in runs]
    out: dict[str, Any] = dict.fromkeys(POOLED)
    out["inference_cost_cny"] = None
    if usages:
        pooled = economics_stats(
            usages[0].econ,
            provider=usages[0].provider,
            tokens_in=sum(u.tokens_in for u in usages),
            tokens_out=sum(u.tokens_out for u in usages),
            decisions=sum(u.decisions for u in usages),
            latencies=[ms for u in usages for ms in u.latencies],
            points=[],
            initial=0.0,
            equity=0.0,
        )
        out |= {k: pooled[k] for k in (*POOLED, "inference_cost_cny")}
    costs = [u.cost for u in usages]
    priced = bool(usages) and all(c is not None for c in costs)
    seed = stats.sub_seed(spec.seed, sig, "economics")
    pnl_single = net_single = None
    if len(runs) == 1:
        one = runs[0]
        pnl_single = ([one.returns], _pnl_fn(one.initial, 0.0))
        if priced:
            net_single = ([one.returns], _pnl_fn(one.initial, float(costs[0] or 0.0)))
    out |= {
        "model_calls": sum(len(u.latencies) for u in usages),
        "decisions": sum(u.decisions for u in usages),
        "cost_per_run_cny": summary(costs if priced else [], seed, spec),
        "pnl_cny": summary([u.item.get("pnl_cny") for u in usages], seed + 2, spec, pnl_single),
        "pnl_net_of_cost_cny": summary(
            [u.item.get("pnl_net_of_cost_cny") for u in usages] if priced else [],
            seed + 4,
            spec,
            net_single,
        ),
    }
    return out


def model_cutoff(
    sig: str, runs: Sequence[Sample], spec: Any, configured: str | None, baseline: bool
) -> dict[str, Any]:
    """The model's knowledge cutoff (its runs' records, else `configured`), its "no cutoff"
    flag (model agents only) and its figures over the windows after the cutoff."""
    cutoff = runs[0].usage.econ.knowledge_cutoff if runs else configured
    out: dict[str, Any] = {
        "knowledge_cutoff": cutoff,
        "knowledge_cutoff_missing": not baseline and cutoff is None,
        "post_cutoff": None,
    }
    if cutoff is None:
        return out
    posts = [r.usage.post or {} for r in runs]
    seed = stats.sub_seed(spec.seed, sig, "post_cutoff")
    single: SingleRun | None = None
    if len(runs) == 1:
        after = [x for d, x in zip(runs[0].days, runs[0].returns, strict=True) if d > cutoff]
        single = ([after], stats.total_return_pct)
    out["post_cutoff"] = {
        "runs": sum(1 for p in posts if p.get("windows")),
        "windows": sum(int(p.get("windows") or 0) for p in posts),
        "return_pct": summary([p.get("return_pct") for p in posts], seed, spec, single),
        "pnl_cny": summary([p.get("pnl_cny") for p in posts], seed + 2, spec),
    }
    return out


def run_fields(usage: RunUsage) -> dict[str, Any]:
    """The cost and post-cutoff columns of one run's row."""
    post = usage.post or {}
    return {
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "decisions": usage.decisions,
        "inference_cost_cny": usage.cost,
        "pnl_cny": usage.item.get("pnl_cny"),
        "pnl_net_of_cost_cny": usage.item.get("pnl_net_of_cost_cny"),
        "post_cutoff_windows": post.get("windows"),
        "post_cutoff_return_pct": post.get("return_pct"),
    }


def warnings_for(sig: str, entry: dict[str, Any], baseline: bool, runs: int) -> list[str]:
    out = []
    if runs and not baseline and entry["economics"]["inference_cost_cny"] is None:
        out.append(f"{sig}: no pricing (or no fx_rates entry); cost and PnL net of cost left empty")
    if entry["knowledge_cutoff_missing"]:
        out.append(
            f"{sig}: no knowledge_cutoff; its figures cannot be restricted to windows after it"
        )
    post = entry["post_cutoff"]
    if runs and post is not None and post["windows"] == 0:
        out.append(f"{sig}: no window after its knowledge cutoff {entry['knowledge_cutoff']}")
    return out
