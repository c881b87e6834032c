"""`main.py`'s summary: each agent's totals from its records (`record_stats`, through the
records fold the live API uses too), the table, the benchmark row, where the records are, how
to open the dashboard on them, and what a run with windows lacking data means for the exit
code."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from data_flow.live.snapshots import SnapshotIndex
from data_flow.records import paths
from data_flow.records.fold import AgentFold, LogStats
from data_flow.records.models import OUTCOME_DATA_UNAVAILABLE
from data_flow.records.read import read_events, window_complete
from settings.config import PROJECT_ROOT, ArenaConfig

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


@dataclass
class AgentSummary:
    signature: str
    status: str
    windows_done: int = 0
    windows_total: int = 0
    equity: Decimal | None = None
    return_pct: Decimal | None = None
    trades: int = 0
    rejected_orders: int = 0
    llm_errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    exit_code: int | None = None
    error: str | None = None
    no_data: int = 0
    """Planned windows without a record whose decision log ends with `data_unavailable`."""


@dataclass
class RecordStats:
    equity: Decimal | None = None
    trades: int = 0
    rejected_orders: int = 0
    llm_errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    windows_complete: int = 0
    windows_no_data: int = 0


def record_stats(
    data_root: Path,
    signature: str,
    planned: set[str] | None = None,
    snapshot_root: Path | None = None,
) -> RecordStats:
    """Totals of an agent's records, from the records fold (`data_flow.records.fold`), as the
    live API computes them: trades from position.jsonl; complete windows (a record and a final
    `window_end`: `window_complete`); rejected orders, LLM errors and tokens from the decision
    logs (every attempt, also of windows without a record); equity of the last window with one
    (the fold's single definition); windows without data from the logs without a record whose
    last `window_end` says `data_unavailable`."""
    fold = AgentFold(data_root, signature, SnapshotIndex(snapshot_root or data_root))
    fold.poll()
    totals = fold.log_totals()
    for path in paths.log_files(data_root, signature):
        wid = paths.window_id_of_log(path)
        if wid in fold.windows:
            continue
        log = LogStats()
        for ev in read_events(path):
            log.fold(ev)
        for key, value in log.totals().items():
            totals[key] += value
        if log.outcome == OUTCOME_DATA_UNAVAILABLE:
            stats_no_data = planned is None or wid in planned
            totals["no_data"] = totals.get("no_data", 0) + stats_no_data
    counted = fold.windows.keys() if planned is None else fold.windows.keys() & planned
    return RecordStats(
        equity=fold.last_equity(),
        trades=fold.trades,
        rejected_orders=totals["rejected_orders"],
        llm_errors=totals["llm_errors"],
        tokens_in=totals["tokens_in"],
        tokens_out=totals["tokens_out"],
        windows_complete=sum(1 for w in counted if window_complete(fold.log_path(fold.windows[w]))),
        windows_no_data=totals.get("no_data", 0),
    )


def benchmark_row(config: ArenaConfig) -> AgentSummary | None:
    """The equal-weight benchmark's row (as the API computes it), None before any window."""
    equity = benchmark_equity(config.data_root())
    if equity is None:
        return None
    ret = ((equity / config.agent_config.initial_cash - 1) * 100).quantize(Decimal("0.01"))
    return AgentSummary(BENCHMARK_ROW, "benchmark", equity=equity, return_pct=ret)


BENCHMARK_ROW = "benchmark-equal-weight"
SUMMARY_COLUMNS = (
    "agent",
    "status",
    "windows",
    "no data",
    "equity",
    "return %",
    "trades",
    "rejected",
    "llm errors",
    "tokens in",
    "tokens out",
)


def format_summary(
    rows: Sequence[AgentSummary], elapsed: float, benchmark: AgentSummary | None = None
) -> str:
    """The summary table; `benchmark` (equity and return only) is its last row."""
    table = [list(SUMMARY_COLUMNS)]
    for r in [*rows, *([benchmark] if benchmark is not None else [])]:
        if r.status == "skipped":
            table.append([r.signature, "skipped", *["-"] * (len(SUMMARY_COLUMNS) - 2)])
            continue
        if r.status == "benchmark":
            money = [f"{r.equity:,.2f}", f"{r.return_pct:+.2f}"]
            table.append([r.signature, r.status, "-", "-", *money, *["-"] * 5])
            continue
        table.append(
            [
                r.signature,
                r.status,
                f"{r.windows_done}/{r.windows_total}",
                str(r.no_data),
                "-" if r.equity is None else f"{r.equity:,.2f}",
                "-" if r.return_pct is None else f"{r.return_pct:+.2f}",
                str(r.trades),
                str(r.rejected_orders),
                str(r.llm_errors),
                str(r.tokens_in),
                str(r.tokens_out),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(SUMMARY_COLUMNS))]
    lines = [f"Summary ({elapsed:.1f} s):"]
    for n, row in enumerate(table):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
