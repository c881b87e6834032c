"""`report.json`, `report.md` and figures of an experiment, from its completed cells.

Written to `<data_root>/experiments/<name>/` (figures in `figures/`). Nothing in them depends
on when they were made (no timestamps; seeded bootstraps; PNGs without a Software tag), so a
report regenerated from the same records is byte-identical.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent_engine.experiments import economics, stats
from agent_engine.experiments.economics import RunUsage, Sample
from agent_engine.experiments.records import (
    RunRecords,
    hash_mismatches,
    read_run,
    read_usage,
    store_hashes,
)
from agent_engine.experiments.run import cell_state
from agent_engine.experiments.spec import Cell, Experiment
from data_flow.fsio import atomic_write_bytes
from data_flow.live import metrics
from settings.config import PROJECT_ROOT

METRICS = ("total_return_pct", "sharpe", "max_drawdown_pct", "win_rate_pct", "excess_return_pct")
LABELS = {
    "total_return_pct": "total return %",
    "sharpe": "Sharpe",
    "max_drawdown_pct": "max drawdown %",
    "win_rate_pct": "win rate %",
    "excess_return_pct": "excess return %",
}
FIGURES = ("equity_fan.png", "rank_distribution.png", "pairwise.png")


@dataclass(frozen=True)
class Run:
    cell: Cell
    records: RunRecords
    returns: np.ndarray
    bench_returns: np.ndarray
    values: dict[str, float | None]
    usage: RunUsage

    def sample(self) -> Sample:
        days = tuple(dict.fromkeys(p.day for p in self.records.points))
        return Sample(self.usage, self.records.initial, self.returns, days)


def _run(cell: Cell, rec: RunRecords, usage: RunUsage) -> Run:
    pts = [(p.day, p.equity) for p in rec.points]
    bpts = [(p.day, p.equity) for p in rec.benchmark]
    rets = np.asarray(metrics.daily_returns(pts, rec.initial))
    brets = np.asarray(metrics.daily_returns(bpts, rec.initial))
    last = rec.points[-1].equity if rec.points else rec.initial
    blast = rec.benchmark[-1].equity if rec.benchmark else rec.initial
    total = metrics.total_return_pct(last, rec.initial)
    values = {
        "total_return_pct": total,
        "sharpe": metrics.sharpe_ratio(list(rets)),
        "max_drawdown_pct": metrics.max_drawdown_pct((p.equity for p in rec.points), rec.initial),
        "win_rate_pct": rec.win_rate_pct,
        "excess_return_pct": total - metrics.total_return_pct(blast, rec.initial),
    }
    return Run(cell, rec, rets, brets, values, usage)


def collect_runs(experiment: Experiment, warnings: list[str]) -> tuple[list[Run], list[str]]:
    """Completed cells whose decision logs all used their period's store; the ids of the rest."""
    runs: list[Run] = []
    missing: list[str] = []
    hashes = {p.id: store_hashes(experiment.snapshot_root(p)) for p in experiment.periods}
    for cell in experiment.cells():
        if cell_state(cell) != "completed":
            missing.append(cell.cell_id)
            continue
        rec = read_run(cell.root, cell.snapshot_root, cell.signature)
        bad = hash_mismatches(rec.snapshot_hashes, hashes[cell.period])
        if bad:
            warnings.append(
                f"cell {cell.cell_id}: {len(bad)} window(s) decided on a snapshot that is not "
                f"the one in the period's store (first: {bad[0][0]}); the cell is left out"
            )
            missing.append(cell.cell_id)
            continue
        usage = RunUsage.of(*read_usage(cell.root, cell.snapshot_root, cell.signature))
        runs.append(_run(cell, rec, usage))
    return runs, missing


def _metric_summary(
    experiment: Experiment, sig: str, runs: list[Run], name: str, warnings: list[str]
) -> dict[str, Any]:
    spec = experiment.spec
    level, reps = spec.confidence_level, spec.bootstrap_resamples
    vals = [r.values[name] for r in runs]
    sample = [float(v) for v in vals if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {"n": len(sample), "mean": None, "mean_ci": None}
    out |= {"median": None, "median_ci": None, "method": None}
    if not sample:
        return out
    out["mean"], out["median"] = float(np.mean(sample)), float(np.median(sample))
    seed = stats.sub_seed(spec.seed, sig, name)
    if len(runs) == 1 and name != "win_rate_pct":
        run = runs[0]
        fns = {
            "total_return_pct": (stats.total_return_pct, [run.returns]),
            "sharpe": (stats.sharpe, [run.returns]),
            "max_drawdown_pct": (stats.max_drawdown_pct, [run.returns]),
            "excess_return_pct": (stats.excess_return_pct, [run.returns, run.bench_returns]),
        }
        fn, series = fns[name]
        ci = stats.block_ci(series, fn, level, reps, seed, spec.block_length)
        out |= {"mean_ci": ci, "median_ci": ci, "method": "block bootstrap of daily returns"}
        return out
    out["mean_ci"] = stats.bootstrap_ci(sample, "mean", level, reps, seed)
    out["median_ci"] = stats.bootstrap_ci(sample, "median", level, reps, seed + 1)
    out["method"] = "bootstrap over runs"
    if out["mean_ci"] is None and len(sample) >= 1:
        warnings.append(
            f"{sig}: {LABELS[name]} has {len(sample)} run(s), too few for a "
            f"{level:.0%} bootstrap interval (left empty)"
        )
    return out


def build_report(experiment: Experiment) -> dict[str, Any]:
    spec = experiment.spec
    level = spec.confidence_level
    warnings: list[str] = []
    runs, missing = collect_runs(experiment, warnings)
    cells = experiment.cells()
    sigs = [m.signature for m in experiment.models]
    if missing:
        warnings.insert(
            0,
            f"{len(missing)} of {len(cells)} cells are not completed; the report uses the "
            f"{len(runs)} completed ones",
        )
    by_model = {s: [r for r in runs if r.cell.signature == s] for s in sigs}
    models = []
    for sig in sigs:
        mruns = by_model[sig]
        n = len(mruns)
        if n == 0:
            warnings.append(f"{sig}: no completed run")
        elif n == 1:
            days = len(mruns[0].returns)
            warnings.append(
                f"{sig}: 1 run; its intervals come from a block bootstrap of its {days} daily "
                "returns, which says nothing about the model's run-to-run variation"
            )
        elif n < stats.MIN_RUNS_ADVISED:
            warnings.append(
                f"{sig}: {n} runs; percentile bootstrap intervals from fewer than "
                f"{stats.MIN_RUNS_ADVISED} runs tend to be narrower than {level:.0%}"
            )
        summary = {m: _metric_summary(experiment, sig, mruns, m, warnings) for m in METRICS}
        entry = {"signature": sig, "runs": n, "metrics": summary}
        models.append(entry | _economics(experiment, sig, mruns, warnings))
    _day_warnings(runs, warnings)
    ranks = _ranks(experiment, runs, sigs)
    for entry in models:
        entry["rank"] = ranks[entry["signature"]]
    report = {
        "experiment": experiment.name,
        "description": spec.description,
        "source": _shown(Path(experiment.source)),
        "settings": {
            "repeats": spec.repeats,
            "periods": [
                {"id": p.id, "init_date": str(p.init_date), "end_date": str(p.end_date)}
                for p in experiment.periods
            ],
            "models": sigs,
            "seed": spec.seed,
            "confidence_level": level,
            "bootstrap_resamples": spec.bootstrap_resamples,
            "block_length": spec.block_length,
        },
        "cells": {"total": len(cells), "completed": len(runs), "not_completed": missing},
        "snapshot_stores": _stores(experiment),
        "benchmark": _benchmark(experiment, runs),
        "models": models,
        "pairwise": _pairwise(experiment, runs, sigs),
        "fan": _fans(experiment, runs, sigs),
        "runs": [_run_row(r) for r in runs],
        "warnings": warnings,
    }
    return stats.clean(report)


def _economics(
    experiment: Experiment, sig: str, runs: list[Run], warnings: list[str]
) -> dict[str, Any]:
    """Cost, latency, tokens and the post-cutoff figures of one model (economics.py)."""
    config = next(m for m in experiment.models if m.signature == sig)
    baseline = config.provider == "baseline"
    cutoff = config.knowledge_cutoff.isoformat() if config.knowledge_cutoff else None
    samples = [r.sample() for r in runs]
    out = {"economics": economics.model_economics(sig, samples, experiment.spec)}
    out |= economics.model_cutoff(sig, samples, experiment.spec, cutoff, baseline)
    warnings += economics.warnings_for(sig, out, baseline, len(runs))
    return out


def _day_warnings(runs: list[Run], warnings: list[str]) -> None:
    seen: set[tuple[str, int]] = set()
    for r in runs:
        days = len(r.returns)
        key = (r.cell.period, days)
        if days < stats.MIN_SHARPE_DAYS and key not in seen:
            seen.add(key)
            warnings.append(
                f"period {r.cell.period}: Sharpe over {days} trading days (fewer than "
                f"{stats.MIN_SHARPE_DAYS}) is very noisy; a block bootstrap over so few days "
                "understates the uncertainty"
            )


def _ranks(experiment: Experiment, runs: list[Run], sigs: list[str]) -> dict[str, Any]:
    groups: dict[tuple[str, int], dict[str, float]] = {}
    for r in runs:
        key = (r.cell.period, r.cell.repeat)
        groups.setdefault(key, {})[r.cell.signature] = float(r.values["total_return_pct"] or 0)
    dist = {s: [0] * len(sigs) for s in sigs}
    for values in groups.values():
        if len(values) != len(sigs):
            continue
        for sig, rank in stats.min_ranks(values).items():
            dist[sig][rank - 1] += 1
    out = {}
    for sig in sigs:
        total = sum(dist[sig])
        mean = sum((i + 1) * c for i, c in enumerate(dist[sig])) / total if total else None
        out[sig] = {"groups": total, "mean": mean, "distribution": dist[sig]}
    return out


def _pairwise(experiment: Experiment, runs: list[Run], sigs: list[str]) -> dict[str, Any]:
    spec = experiment.spec
    returns: dict[str, dict[str, list[float]]] = {s: {} for s in sigs}
    for r in runs:
        value = float(r.values["total_return_pct"] or 0)
        returns[r.cell.signature].setdefault(r.cell.period, []).append(value)
    p_beats: list[list[float | None]] = []
    diffs: list[list[dict[str, Any] | None]] = []
    for a in sigs:
        row_p: list[float | None] = []
        row_d: list[dict[str, Any] | None] = []
        for b in sigs:
            if a == b:
                row_p.append(None)
                row_d.append(None)
                continue
            row_p.append(stats.prob_beats(returns[a], returns[b]))
            xa = [v for vals in returns[a].values() for v in vals]
            xb = [v for vals in returns[b].values() for v in vals]
            if not xa or not xb:
                row_d.append(None)
                continue
            seed = stats.sub_seed(spec.seed, "diff", a, b)
            ci = stats.diff_ci(xa, xb, spec.confidence_level, spec.bootstrap_resamples, seed)
            row_d.append({"estimate": float(np.mean(xa) - np.mean(xb)), "ci": ci})
        p_beats.append(row_p)
        diffs.append(row_d)
    return {"signatures": sigs, "p_beats": p_beats, "mean_diff_pct": diffs}


def _fans(experiment: Experiment, runs: list[Run], sigs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    level = experiment.spec.confidence_level
    for period in experiment.periods:
        pruns = [r for r in runs if r.cell.period == period.id]
        if not pruns:
            continue
        first = pruns[0].records
        times = [p.time for p in first.points]
        entry: dict[str, Any] = {
            "times": times,
            "benchmark": [
                metrics.total_return_pct(p.equity, first.initial) for p in first.benchmark
            ],
            "models": {},
        }
        for sig in sigs:
            paths = [
                [metrics.total_return_pct(p.equity, r.records.initial) for p in r.records.points]
                for r in pruns
                if r.cell.signature == sig and len(r.records.points) == len(times)
            ]
            if paths:
                entry["models"][sig] = stats.fan(paths, level)
        out[period.id] = entry
    return out


def _benchmark(experiment: Experiment, runs: list[Run]) -> dict[str, Any]:
    out = {}
    for period in experiment.periods:
        pruns = [r for r in runs if r.cell.period == period.id]
        if pruns:
            rec = pruns[0].records
            last = rec.benchmark[-1].equity if rec.benchmark else rec.initial
            out[period.id] = {
                "total_return_pct": metrics.total_return_pct(last, rec.initial),
                "days": len(pruns[0].bench_returns),
            }
    return out


def _stores(experiment: Experiment) -> dict[str, Any]:
    out = {}
    for period in experiment.periods:
        path = experiment.snapshot_root(period) / "store.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out[period.id] = {"windows": data.get("windows"), "builds_total": data.get("builds_total")}
    return out


def _run_row(r: Run) -> dict[str, Any]:
    c = r.cell
    row = {"cell_id": c.cell_id, "period": c.period, "signature": c.signature}
    row |= {"repeat": c.repeat, "seed": c.seed, "days": len(r.returns), "trades": r.records.trades}
    return row | dict(r.values) | economics.run_fields(r.usage)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def write_report(experiment: Experiment) -> dict[str, Any]:
    """Build the report and write report.json, report.md and the figures. Returns the report."""
    from agent_engine.experiments.figures import render_figures
    from agent_engine.experiments.markdown import render_markdown

    report = build_report(experiment)
    root = experiment.root
    text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    atomic_write_bytes(root / "report.json", (text + "\n").encode("utf-8"))
    for name, data in render_figures(report).items():
        atomic_write_bytes(root / "figures" / name, data)
    atomic_write_bytes(root / "report.md", render_markdown(report).encode("utf-8"))
    return report
