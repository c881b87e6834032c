"""PNG figures of an experiment report (matplotlib, Agg backend), drawn from report.json data
only. Deterministic bytes: fixed size and dpi, no Software/date metadata."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

DPI = 100


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def equity_fan(report: dict[str, Any]) -> bytes:
    """Per period: each model's median return % per window and its central band; benchmark."""
    fans = report["fan"]
    level = report["settings"]["confidence_level"]
    n = max(1, len(fans))
    fig, axes = plt.subplots(n, 1, figsize=(10, 4.2 * n), squeeze=False)
    if not fans:
        axes[0][0].text(0.5, 0.5, "no completed runs", ha="center", va="center")
    for ax, (period, entry) in zip(axes[:, 0], sorted(fans.items()), strict=False):
        x = list(range(len(entry["times"])))
        for i, (sig, band) in enumerate(sorted(entry["models"].items())):
            color = f"C{i % 10}"
            ax.plot(x, band["median"], color=color, label=f"{sig} (median)")
            ax.fill_between(x, band["low"], band["high"], color=color, alpha=0.18, linewidth=0)
        if entry["benchmark"]:
            ax.plot(x, entry["benchmark"], "k--", linewidth=1, label="benchmark (equal weight)")
        ticks = x[:: max(1, len(x) // 8)]
        ax.set_xticks(ticks, [entry["times"][t][5:16] for t in ticks], fontsize=8)
        ax.set_title(f"Return % per window, median and {level:.0%} band across repeats — {period}")
        ax.set_ylabel("return %")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def rank_distribution(report: dict[str, Any]) -> bytes:
    """Stacked bars: how often each model finished 1st, 2nd, ... across (period, repeat)."""
    models = report["models"]
    sigs = [m["signature"] for m in models]
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(sigs) + 2), 4.5))
    bottoms = [0.0] * len(sigs)
    for rank in range(len(sigs)):
        heights = []
        for m in models:
            total = m["rank"]["groups"] or 1
            heights.append(m["rank"]["distribution"][rank] / total)
        ax.bar(sigs, heights, bottom=bottoms, label=f"rank {rank + 1}", color=f"C{rank % 10}")
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_ylabel("share of repeats")
    ax.set_ylim(0, 1)
    ax.set_title("Rank by total return across repeats (1 = best)")
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _png(fig)


def pairwise(report: dict[str, Any]) -> bytes:
    """Heat map of P(row beats column) over total return."""
    pw = report["pairwise"]
    sigs = pw["signatures"]
    grid = [[0.5 if v is None else v for v in row] for row in pw["p_beats"]]
    size = max(5.0, 1.1 * len(sigs) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(grid, cmap="RdBu", vmin=0, vmax=1)
    ax.set_xticks(range(len(sigs)), sigs, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(sigs)), sigs, fontsize=8)
    for i, row in enumerate(pw["p_beats"]):
        for j, v in enumerate(row):
            color = "white" if v is not None and abs(v - 0.5) > 0.3 else "black"
            text = "—" if v is None else f"{v:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_title("P(row beats column), total return, ties count ½")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _png(fig)


def render_figures(report: dict[str, Any]) -> dict[str, bytes]:
    return {
        "equity_fan.png": equity_fan(report),
        "rank_distribution.png": rank_distribution(report),
        "pairwise.png": pairwise(report),
    }
