"""Output of `python -m agent_engine.rescore --grid`: a CSV and a heat-map PNG of the return
for each (commission rate, slippage) pair. matplotlib is imported here only (Agg backend)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from data_flow.fsio import atomic_write_bytes, atomic_write_text

COLUMNS = (
    "commission_rate", "slippage_bps", "final_equity", "return_pct", "fees", "trades", "rejected",
)  # fmt: skip


def grid_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in COLUMNS})
    return buf.getvalue()


def grid_png(signature: str, rows: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    commissions = list(dict.fromkeys(str(r["commission_rate"]) for r in rows))
    slippages = list(dict.fromkeys(str(r["slippage_bps"]) for r in rows))
    value = {(str(r["commission_rate"]), str(r["slippage_bps"])): r["return_pct"] for r in rows}
    matrix = [[float(value[(c, s)]) for s in slippages] for c in commissions]
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(slippages), 1.4 + 0.8 * len(commissions)))
    image = ax.imshow(matrix, cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(slippages)), slippages)
    ax.set_yticks(range(len(commissions)), commissions)
    ax.set_xlabel("slippage (bps)")
    ax.set_ylabel("commission rate")
    ax.set_title(f"{signature}: return % (orders held fixed)")
    for i, row in enumerate(matrix):
        for j, cell in enumerate(row):
            ax.text(j, i, f"{cell:.2f}", ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def write_grid(out: Path, signature: str, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{signature}_grid.csv"
    png_path = out / f"{signature}_grid.png"
    atomic_write_text(csv_path, grid_csv(rows))
    atomic_write_bytes(png_path, grid_png(signature, rows))
    return csv_path, png_path
