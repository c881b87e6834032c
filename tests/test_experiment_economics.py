"""Cost, latency, tokens and knowledge-cutoff figures in the experiment report: an experiment
with a baseline, a priced scripted LLM with a cutoff and an unpriced one without, on the fake
server (fixed usage per reply, so the cost is exact)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from agent_engine.experiments import economics
from agent_engine.experiments.economics import RunUsage, Sample
from agent_engine.experiments.records import read_run
from agent_engine.experiments.report import FIGURES, write_report
from agent_engine.experiments.spec import Cell, Experiment, load_experiment
from data_flow.fsio import read_jsonl
from data_flow.live.economics import Economics, percentile, post_cutoff
from settings.config import PROJECT_ROOT
from tests.experiment_helpers import base_config, experiment, write_experiment
from tests.fake_llm_server import DEFAULT_USAGE, FakeLLMServer
from tests.main_helpers import key_env, openai_agent

pytestmark = pytest.mark.slow

CUTOFF = "2025-11-05"
FX_USD = Decimal(7)
PRICE_IN, PRICE_OUT = Decimal(10), Decimal(30)  # USD per million tokens
TOKENS_IN, TOKENS_OUT = DEFAULT_USAGE["prompt_tokens"], DEFAULT_USAGE["completion_tokens"]
# CNY per call: (100 × 10 + 10 × 30) × 7 / 1e6 = 0.0091 (model-stats gives costs to 4 decimals)
COST_PER_CALL = (TOKENS_IN * PRICE_IN + TOKENS_OUT * PRICE_OUT) * FX_USD / Decimal(10**6)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("econ")
    with FakeLLMServer(rule="trade") as server:
        priced = openai_agent("llm", server.openai_base_url)
        priced |= {
            "pricing": {"input_per_million": 10, "output_per_million": 30, "currency": "USD"},
            "knowledge_cutoff": CUTOFF,
        }
        models = [
            {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"},
            priced,
            openai_agent("nocut", server.openai_base_url),
        ]
        base = base_config(tmp / "data", models=models, fx_rates={"USD": 7})
        data = experiment(tmp / "data", base_config=base, models=["bh", "llm", "nocut"], repeats=2)
        path = write_experiment(tmp / "exps", "econ", data)
        proc = subprocess.run(
            [sys.executable, "-m", "agent_engine.experiment", "run", str(path), "--workers", "2"],
            cwd=PROJECT_ROOT, env={**os.environ, **key_env()},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    exp = load_experiment(str(path))
    report = json.loads((exp.root / "report.json").read_text())
    return {"exp": exp, "report": report}


def _model(report: dict[str, Any], sig: str) -> dict[str, Any]:
    return next(m for m in report["models"] if m["signature"] == sig)


def _rows(report: dict[str, Any], sig: str) -> list[dict[str, Any]]:
    return [r for r in report["runs"] if r["signature"] == sig]


def _cells(exp: Experiment, sig: str) -> list[Cell]:
    return [c for c in exp.cells() if c.signature == sig]


def _calls(cell: Cell) -> list[dict[str, Any]]:
    logs = sorted((cell.root / "agent_data" / cell.signature / "log").glob("*/*.jsonl"))
    return [e for p in logs for e in read_jsonl(p) if e["type"] == "model_call"]


def test_llm_cost_is_exact_from_the_fixed_usage(ran: dict[str, Any]) -> None:
    exp, report = ran["exp"], ran["report"]
    rows = {r["cell_id"]: r for r in _rows(report, "llm")}
    total_calls = 0
    latencies: list[float] = []
    for cell in _cells(exp, "llm"):
        calls = _calls(cell)
        assert len(calls) >= 10  # at least one call per window
        total_calls += len(calls)
        latencies += [float(c["latency_ms"]) for c in calls]
        row = rows[cell.cell_id]
        assert (row["tokens_in"], row["tokens_out"]) == (
            TOKENS_IN * len(calls),
            TOKENS_OUT * len(calls),
        )
        assert row["decisions"] == 10
        assert Decimal(str(row["inference_cost_cny"])) == COST_PER_CALL * len(calls)
    econ = _model(report, "llm")["economics"]
    assert econ["model_calls"] == total_calls and econ["decisions"] == 20
    assert Decimal(str(econ["inference_cost_cny"])) == COST_PER_CALL * total_calls
    assert Decimal(str(econ["cost_per_run_cny"]["mean"])) == COST_PER_CALL * total_calls / 2
    assert econ["cost_per_run_cny"]["n"] == 2
    per_decision = COST_PER_CALL * total_calls / 20
    assert Decimal(str(econ["cost_per_decision_cny"])) == round(per_decision, 6)
    assert econ["tokens_per_decision"] == round((TOKENS_IN + TOKENS_OUT) * total_calls / 20, 1)
    assert econ["latency_p50_ms"] == round(percentile(latencies, 50) or 0, 2)
    assert econ["latency_p95_ms"] == round(percentile(latencies, 95) or 0, 2)


def test_baselines_cost_nothing_and_are_not_flagged(ran: dict[str, Any]) -> None:
    report = ran["report"]
    bh = _model(report, "bh")
    assert bh["economics"]["inference_cost_cny"] == 0.0
    assert bh["economics"]["cost_per_run_cny"]["mean"] == 0.0
    assert bh["economics"]["pnl_net_of_cost_cny"]["mean"] == bh["economics"]["pnl_cny"]["mean"]
    assert (bh["knowledge_cutoff"], bh["knowledge_cutoff_missing"]) == (None, False)
    assert bh["post_cutoff"] is None
    for row in _rows(report, "bh"):
        assert row["inference_cost_cny"] == 0.0
        assert row["pnl_net_of_cost_cny"] == row["pnl_cny"]
    assert not [w for w in report["warnings"] if w.startswith("bh:") and "cutoff" in w]


def test_pnl_net_of_cost_is_pnl_minus_cost(ran: dict[str, Any]) -> None:
    exp, report = ran["exp"], ran["report"]
    rows = {r["cell_id"]: r for r in report["runs"]}
    nets, pnls, costs = [], [], []
    for cell in _cells(exp, "llm"):
        rec = read_run(cell.root, cell.snapshot_root, cell.signature)
        row = rows[cell.cell_id]
        pnl = Decimal(str(rec.points[-1].equity)) - Decimal(str(rec.initial))
        assert Decimal(str(row["pnl_cny"])) == pnl
        assert Decimal(str(row["pnl_net_of_cost_cny"])) == pnl - Decimal(
            str(row["inference_cost_cny"])
        )
        nets.append(row["pnl_net_of_cost_cny"])
        pnls.append(row["pnl_cny"])
        costs.append(row["inference_cost_cny"])
    assert pnls[0] != 0 or pnls[1] != 0  # the scripted model traded
    econ = _model(report, "llm")["economics"]
    assert econ["pnl_net_of_cost_cny"]["mean"] == pytest.approx(float(np.mean(nets)), abs=1e-6)
    assert econ["pnl_net_of_cost_cny"]["mean"] == pytest.approx(
        float(np.mean(pnls)) - float(np.mean(costs)), abs=1e-6
    )
    # no pricing: no cost, no net PnL, and a warning
    nocut = _model(report, "nocut")["economics"]
    assert nocut["inference_cost_cny"] is None and nocut["cost_per_decision_cny"] is None
    assert nocut["pnl_net_of_cost_cny"]["n"] == 0 and nocut["pnl_cny"]["n"] == 2
    assert nocut["tokens_per_decision"] is not None and nocut["latency_p50_ms"] is not None
    assert (
        "nocut: no pricing (or no fx_rates entry); cost and PnL net of cost left empty"
        in (report["warnings"])
    )


def test_post_cutoff_figures_use_only_windows_after_the_cutoff(ran: dict[str, Any]) -> None:
    exp, report = ran["exp"], ran["report"]
    rows = {r["cell_id"]: r for r in report["runs"]}
    returns = []
    for cell in _cells(exp, "llm"):
        rec = read_run(cell.root, cell.snapshot_root, cell.signature)
        start = [p.equity for p in rec.points if p.day <= CUTOFF][-1]
        end = rec.points[-1].equity
        row = rows[cell.cell_id]
        assert row["post_cutoff_windows"] == 4  # 11-06 and 11-07, two windows each
        expected = round((end / start - 1) * 100, 4)
        assert row["post_cutoff_return_pct"] == expected
        returns.append(expected)
    llm = _model(report, "llm")
    assert (llm["knowledge_cutoff"], llm["knowledge_cutoff_missing"]) == (CUTOFF, False)
    post = llm["post_cutoff"]
    assert (post["runs"], post["windows"]) == (2, 8)
    assert post["return_pct"]["n"] == 2
    assert post["return_pct"]["mean"] == pytest.approx(float(np.mean(returns)), abs=1e-6)
    nocut = _model(report, "nocut")
    assert (nocut["knowledge_cutoff_missing"], nocut["post_cutoff"]) == (True, None)
    assert all(r["post_cutoff_return_pct"] is None for r in _rows(report, "nocut"))
    assert (
        "nocut: no knowledge_cutoff; its figures cannot be restricted to windows after it"
        in (report["warnings"])
    )
    md = (exp.root / "report.md").read_text()
    assert "## Cost, latency and tokens" in md
    assert "| `nocut` | **no cutoff** | — | — | — | — |" in md
    assert "| `bh` | — (baseline) | — | — | — | — |" in md
    assert f"| `llm` | {CUTOFF} | 2 | 8 | " in md


def test_report_with_costs_regenerates_byte_identical(ran: dict[str, Any]) -> None:
    exp = ran["exp"]
    names = ["report.json", "report.md", *(f"figures/{f}" for f in FIGURES)]
    before = {n: (exp.root / n).read_bytes() for n in names}
    write_report(exp)
    assert {n: (exp.root / n).read_bytes() for n in names} == before


def _single(pre: list[float], post: list[float]) -> Sample:
    """One run of a model with a cutoff on day 2: daily returns before and after it."""
    rets = np.asarray(pre + post)
    days = tuple(f"2025-11-{d:02d}" for d in range(1, len(rets) + 1))
    equity = list(1000.0 * np.cumprod(1.0 + rets))
    points = list(zip(days, equity, strict=True))
    econ = Economics("openai", None, None, "2025-11-02")
    item = {"post_cutoff": post_cutoff("2025-11-02", points, 1000.0, equity[-1])}
    return Sample(RunUsage(econ, "openai", 0, 0, 0, (), item), 1000.0, rets, days)


def test_single_run_post_cutoff_interval_ignores_the_days_before_the_cutoff() -> None:
    class Spec:
        seed, confidence_level, bootstrap_resamples, block_length = 3, 0.95, 500, None

    post = [0.01, -0.02, 0.015, 0.004, -0.006, 0.012, 0.003, -0.001]
    calm = economics.model_cutoff("m", [_single([0.0, 0.0], post)], Spec, None, False)
    wild = economics.model_cutoff("m", [_single([0.5, -0.4], post)], Spec, None, False)
    fig = calm["post_cutoff"]["return_pct"]
    assert fig["method"] == "block bootstrap of daily returns"
    assert fig["mean"] == pytest.approx((np.prod(1 + np.asarray(post)) - 1) * 100, abs=1e-4)
    assert fig["mean_ci"] is not None and fig["mean_ci"][0] < fig["mean"] < fig["mean_ci"][1]
    # the same days after the cutoff give the same return and interval, whatever came before
    # (PnL differs: it is money, from a different starting equity)
    assert wild["post_cutoff"]["return_pct"] == fig
    assert calm["post_cutoff"]["windows"] == len(post)
