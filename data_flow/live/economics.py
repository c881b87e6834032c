"""Cost, latency, tokens and knowledge-cutoff figures of one agent for model-stats.

Pricing, FX rates and the knowledge cutoff come from the agent's own run record (the last
`run_start` in its manifest.jsonl: the config the run used), so the figures follow the records
rather than whatever config the API server has loaded. Baselines cost 0; a model agent without
`pricing` has no cost (null) and so no PnL net of cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from data_flow.fsio import read_jsonl
from data_flow.live.tail import FileStamp


@dataclass(frozen=True)
class Economics:
    provider: str | None
    input_cny_per_million: float | None
    output_cny_per_million: float | None
    knowledge_cutoff: str | None  # ISO date


NO_ECONOMICS = Economics(None, None, None, None)


def _economics_of(config: dict[str, Any], signature: str) -> Economics:
    model = next((m for m in config.get("models") or [] if m.get("signature") == signature), None)
    if not isinstance(model, dict):
        return NO_ECONOMICS
    pricing = model.get("pricing") if isinstance(model.get("pricing"), dict) else None
    cin = cout = None
    if pricing:
        currency = str(pricing.get("currency") or "USD")
        rates = config.get("fx_rates") or {}
        rate = Decimal(1) if currency == "CNY" else rates.get(currency)
        if rate is not None:
            cin = float(Decimal(str(pricing["input_per_million"])) * Decimal(str(rate)))
            cout = float(Decimal(str(pricing["output_per_million"])) * Decimal(str(rate)))
    cutoff = model.get("knowledge_cutoff")
    return Economics(model.get("provider"), cin, cout, str(cutoff) if cutoff else None)


class EconomicsCache:
    """`Economics` of each agent, re-read when its manifest.jsonl changes."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[FileStamp | None, Economics]] = {}

    def get(self, agent_dir: Path, signature: str) -> Economics:
        path = agent_dir / "manifest.jsonl"
        stamp = FileStamp.of(path)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        econ = read_economics(path, signature)
        self._cache[path] = (stamp, econ)
        return econ


def read_economics(manifest: Path, signature: str) -> Economics:
    """The record reading of this module: the config of the agent's last run_start."""
    starts = [r for r in read_jsonl(manifest) if r.get("type") == "run_start"]
    config = starts[-1].get("config") if starts else None
    return _economics_of(config, signature) if isinstance(config, dict) else NO_ECONOMICS


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def economics_stats(
    econ: Economics,
    *,
    provider: str | None,
    tokens_in: int,
    tokens_out: int,
    decisions: int,
    latencies: Sequence[float],
    points: Sequence[tuple[str, float]],  # (day, equity) per window, in time order
    initial: float,
    equity: float,
) -> dict[str, Any]:
    """The cost/latency/token/cutoff fields of one agent's model-stats item."""
    baseline = "baseline" in (provider, econ.provider)
    if baseline:
        cost: float | None = 0.0
    elif econ.input_cny_per_million is None or econ.output_cny_per_million is None:
        cost = None
    else:
        cost = (
            tokens_in * econ.input_cny_per_million + tokens_out * econ.output_cny_per_million
        ) / 1e6
    pnl = equity - initial
    per_decision = cost / decisions if cost is not None and decisions else None
    return {
        "tokens_per_decision": _r((tokens_in + tokens_out) / decisions, 1) if decisions else None,
        "inference_cost_cny": _r(cost, 4),
        "cost_per_decision_cny": _r(per_decision, 6),
        "latency_p50_ms": _r(percentile(latencies, 50), 2),
        "latency_p95_ms": _r(percentile(latencies, 95), 2),
        "pnl_cny": round(pnl, 2),
        "pnl_net_of_cost_cny": None if cost is None else round(pnl - cost, 4),
        "knowledge_cutoff": econ.knowledge_cutoff,
        "knowledge_cutoff_missing": not baseline and econ.knowledge_cutoff is None,
        "post_cutoff": post_cutoff(econ.knowledge_cutoff, points, initial, equity),
    }


def post_cutoff(
    cutoff: str | None, points: Sequence[tuple[str, float]], initial: float, equity: float
) -> dict[str, Any] | None:
    """Figures over the windows after the cutoff day only: from the equity at the last window
    on or before the cutoff (else the initial cash) to the final equity."""
    if cutoff is None:
        return None
    after = [p for p in points if p[0] > cutoff]
    if not after:
        return {"windows": 0, "return_pct": None, "pnl_cny": None}
    before = [eq for day, eq in points if day <= cutoff]
    start = before[-1] if before else initial
    return {
        "windows": len(after),
        "return_pct": round((equity / start - 1) * 100, 4) if start else None,
        "pnl_cny": round(equity - start, 2),
    }
