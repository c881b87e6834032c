"""The end of `main.py`'s summary: the benchmark row, where the records are, how to open the
dashboard on them, and what a run with windows lacking data means for the exit code."""

from __future__ import annotations

import json
import shlex
import sys
from decimal import Decimal
from pathlib import Path

from settings.config import PROJECT_ROOT

DASHBOARD_DIST = PROJECT_ROOT / "frontend" / "dist"
DASHBOARD_URL = "http://127.0.0.1:8000/app/"


def benchmark_equity(data_root: Path) -> Decimal | None:
    """The equal-weight benchmark's equity at the last window, exactly as the API and the
    dashboard compute it (`data_flow.live.store.LiveStore`); None when there is no priced
    window yet."""
    from data_flow.live.store import LiveStore

    try:
        body = LiveStore(data_root).pnl_series(None, "market")
    except (OSError, ValueError):
        return None
    points = json.loads(body.raw)["benchmark"]["points"]
    if not points:
        return None
    return Decimal(str(points[-1]["equity"]))


def footer_lines(data_root: Path, signatures: list[str], no_data: int) -> list[str]:
    """Records location, dashboard command, and the meaning of windows without data."""
    root = shlex.quote(str(data_root))
    agents = "{" + ",".join(signatures) + "}" if len(signatures) > 1 else "".join(signatures)
    lines = [
        f"Records: {data_root / 'agent_data'}/{agents}/ — position/position.jsonl (ledger), "
        "log/<date>/<HH-MM-SS>.jsonl (decision logs), manifest.jsonl, agent.log",
        f"Dashboard: ARENA_DATA_ROOT={root} {shlex.quote(sys.executable)} "
        f"{shlex.quote(str(PROJECT_ROOT / 'api_server.py'))}, then open {DASHBOARD_URL}",
    ]
    if not (DASHBOARD_DIST / "index.html").is_file():
        lines[-1] += " (build it once first: cd frontend && npm ci && npm run build)"
    if no_data:
        lines.append(
            f"{no_data} window(s) had no market data (column 'no data'): not complete, a later "
            "run retries them (except those before an agent's last complete window); exit code 3"
        )
    return lines
