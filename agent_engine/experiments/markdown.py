"""`report.md`: the intervals first, then the figures, the warnings and the details."""

from __future__ import annotations

from typing import Any

from agent_engine.experiments.report import LABELS, METRICS


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _ci(ci: list[float] | None, digits: int = 2) -> str:
    return "—" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _cell(metric: dict[str, Any], stat: str = "mean", digits: int = 2) -> str:
    if metric[stat] is None:
        return "—"
    return f"{_num(metric[stat], digits)} {_ci(metric[f'{stat}_ci'], digits)}"


def render_markdown(report: dict[str, Any]) -> str:
    s = report["settings"]
    level = f"{s['confidence_level']:.0%}"
    cells = report["cells"]
    out = [
        f"# Experiment `{report['experiment']}`",
        "",
        report["description"] or "",
        "",
        f"{len(s['models'])} models × {s['repeats']} repeats × {len(s['periods'])} period(s); "
        f"{cells['completed']} of {cells['total']} cells completed. Values are means over runs "
        f"with {level} bootstrap intervals in brackets (seed {s['seed']}, "
        f"{s['bootstrap_resamples']} resamples).",
        "",
        "| model | runs | "
        + " | ".join(LABELS[m] for m in METRICS)
        + " | median return % | mean rank |",
        "|---|---|" + "---|" * len(METRICS) + "---|---|",
    ]
    for m in report["models"]:
        row = [f"`{m['signature']}`", str(m["runs"])]
        row += [_cell(m["metrics"][k]) for k in METRICS]
        row.append(_cell(m["metrics"]["total_return_pct"], "median"))
        row.append(_num(m["rank"]["mean"]))
        out.append("| " + " | ".join(row) + " |")
    out += ["", "Benchmark (equal-weight buy and hold of the universe, fees ignored):", ""]
    for period, b in sorted(report["benchmark"].items()):
        out.append(f"- {period}: {_num(b['total_return_pct'])} % over {b['days']} trading days")
    out += _economics(report)
    out += _post_cutoff(report)
    out += [
        "",
        "![equity fan chart](figures/equity_fan.png)",
        "",
        "![rank distribution](figures/rank_distribution.png)",
        "",
        "![pairwise probability of beating](figures/pairwise.png)",
        "",
        "## Warnings",
        "",
    ]
    out += [f"- {w}" for w in report["warnings"]] or ["- none"]
    out += _pairwise(report, level)
    out += _ranks(report)
    out += _runs(report)
    out += [
        "",
        "## Definitions",
        "",
        "A run is one cell (model, repeat, period). Total return: last window equity valued at "
        "that window's snapshot prices over the initial cash. Sharpe: mean/stdev of daily "
        "returns × √252, risk-free 0. Max drawdown: largest peak-to-trough fall of the "
        "window equity. Win rate: closed round trips that made money, fees included. Excess "
        "return: total return minus the benchmark's. Intervals: percentile bootstrap over "
        "runs (scipy), or for a single run a stationary block bootstrap of its daily returns "
        "(arch). P(A beats B): share of same-period run pairs where A's total return is "
        "higher, ties counting one half. Ranks: per (period, repeat), ties share the best rank.",
        "",
    ]
    return "\n".join(out)


def _economics(report: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Cost, latency and tokens",
        "",
        "Cost in CNY from each run's tokens and its model's pricing (baselines 0, — without "
        "pricing); tokens and cost per decision and latency percentiles over all calls of all "
        "runs; PnL net of cost per run, mean with interval.",
        "",
        "| model | tokens/decision | cost/decision | latency p50 ms | latency p95 ms "
        "| cost/run | PnL | PnL net of cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        e = m["economics"]
        row = [
            f"`{m['signature']}`",
            _num(e["tokens_per_decision"], 1),
            _num(e["cost_per_decision_cny"], 6),
            _num(e["latency_p50_ms"]),
            _num(e["latency_p95_ms"]),
            _cell(e["cost_per_run_cny"], digits=4),
            _cell(e["pnl_cny"]),
            _cell(e["pnl_net_of_cost_cny"]),
        ]
        out.append("| " + " | ".join(row) + " |")
    return out


def _post_cutoff(report: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## After the knowledge cutoff",
        "",
        "Figures over the windows after each model's knowledge cutoff only (from the equity at "
        "the last window on or before the cutoff day to the final equity).",
        "",
        "| model | cutoff | runs | windows | return % | PnL |",
        "|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        post = m["post_cutoff"]
        if post is None:
            cutoff = "**no cutoff**" if m["knowledge_cutoff_missing"] else "— (baseline)"
            row = [cutoff, "—", "—", "—", "—"]
        else:
            row = [m["knowledge_cutoff"], str(post["runs"]), str(post["windows"])]
            row += [_cell(post["return_pct"]), _cell(post["pnl_cny"])]
        out.append(f"| `{m['signature']}` | " + " | ".join(row) + " |")
    return out


def _pairwise(report: dict[str, Any], level: str) -> list[str]:
    pw = report["pairwise"]
    sigs = pw["signatures"]
    out = [
        "",
        "## P(row beats column)",
        "",
        "| | " + " | ".join(f"`{s}`" for s in sigs) + " |",
        "|---|" + "---|" * len(sigs),
    ]
    for sig, row in zip(sigs, pw["p_beats"], strict=True):
        out.append(f"| `{sig}` | " + " | ".join(_num(v) for v in row) + " |")
    out += [
        "",
        f"## Mean total return difference, row − column, % with {level} interval",
        "",
        "| | " + " | ".join(f"`{s}`" for s in sigs) + " |",
        "|---|" + "---|" * len(sigs),
    ]
    for sig, row in zip(sigs, pw["mean_diff_pct"], strict=True):
        cells = ["—" if d is None else f"{_num(d['estimate'])} {_ci(d['ci'])}" for d in row]
        out.append(f"| `{sig}` | " + " | ".join(cells) + " |")
    return out


def _ranks(report: dict[str, Any]) -> list[str]:
    n = len(report["models"])
    out = [
        "",
        "## Rank distribution (count of repeats per rank)",
        "",
        "| model | " + " | ".join(str(i + 1) for i in range(n)) + " |",
        "|---|" + "---|" * n,
    ]
    for m in report["models"]:
        counts = " | ".join(str(c) for c in m["rank"]["distribution"])
        out.append(f"| `{m['signature']}` | {counts} |")
    return out


def _runs(report: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Runs",
        "",
        "| cell | seed | days | trades | return % | Sharpe | max DD % | win rate % | excess % "
        "| cost | PnL net of cost | post-cutoff return % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        vals = [_num(r[k]) for k in METRICS]
        vals += [_num(r["inference_cost_cny"], 4), _num(r["pnl_net_of_cost_cny"], 4)]
        vals.append(_num(r["post_cutoff_return_pct"]))
        head = f"| `{r['cell_id']}` | {r['seed']} | {r['days']} | {r['trades']} | "
        out.append(head + " | ".join(vals) + " |")
    return out
