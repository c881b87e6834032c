"""Re-score a recorded run under other trading rules, without asking any model again.

`python -m agent_engine.rescore RUN_DIR --set trading_rules.commission_rate=0.001 ...`

Orders are held fixed: every order call the model made (`execute_trade`, `place_order`,
`cancel_order`, from the decision logs' `tool_result` events, every attempt, each call id once,
including the orders that were rejected at the time) is made again, in order, in the same
window, by the arena's own run under the changed rules on the recorded snapshots
(agent_engine/rescore_run.py): the same broker, resting-order matching, OCO, liquidity cap and
corporate actions as a run. Orders that become invalid are rejected and counted; the model is
not re-asked, so it cannot react to the new fees (a real run under those rules might have
traded differently). Final equity is marked at the last window's snapshot prices.

`--grid commission=0,0.0003,0.001 slippage=0,10,20` writes a fee x slippage table of the
return (CSV and a heat-map PNG) per agent into `--out` (default `RUN_DIR/rescore/`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent_engine.broker import Fill, Portfolio, quotes_from_snapshot
from agent_engine.ledger import FEE_KEYS, TRADE_ACTIONS, load_records
from agent_engine.ledger_records import fill_from_record
from agent_engine.manifest import manifest_path
from agent_engine.rescore_run import ORDER_TOOLS, HeldCall, held_orders_run
from agent_engine.tools import ERROR_REJECTED_ORDER
from data_flow.clock import SHANGHAI
from data_flow.fsio import read_jsonl
from data_flow.records.paths import agent_root, ledger_path, log_files
from data_flow.records.read import read_events
from settings.config import ArenaConfig, ConfigError, parse_config

EXIT_OK, EXIT_ERROR = 0, 2
SETTABLE = ("trading_rules.", "risk_management.", "agent_config.initial_cash")
GRID_KEYS = {
    "commission": "trading_rules.commission_rate",
    "slippage": "trading_rules.slippage_bps",
}


@dataclass
class RecordedWindow:
    """One window of a recorded run: its snapshot and the trade calls made in it, in order."""

    window_id: str
    moment: datetime
    snapshot_path: Path | None
    signature: str = ""
    rejected: int = 0  # orders rejected at the time
    calls: list[HeldCall] = field(default_factory=list)  # every order call, in order

    @property
    def orders(self) -> list[str]:
        """The arguments (raw JSON) of the window's `execute_trade` calls."""
        return [c.arguments for c in self.calls if c.name == "execute_trade"]


@dataclass
class Score:
    final_cash: Decimal
    final_equity: Decimal
    initial_cash: Decimal
    fees: Decimal
    commission: Decimal
    trades: int
    rejected: int
    dividends: Decimal = Decimal(0)  # net cash dividends credited
    fills: list[Fill] = field(default_factory=list)

    @property
    def return_pct(self) -> Decimal:
        return (self.final_equity / self.initial_cash - 1) * 100


def read_run(run_dir: Path, signature: str) -> tuple[ArenaConfig, list[RecordedWindow]]:
    """The agent's config (its last run_start in the manifest) and its recorded windows.

    All record reading of this module is here."""
    manifest = manifest_path(run_dir, signature)
    starts = [r for r in read_jsonl(manifest) if r.get("type") == "run_start"]
    if not starts:
        raise ConfigError(f"{signature}: no run_start in {manifest}")
    config = parse_config(starts[-1]["config"], f"{signature} manifest")
    windows: list[RecordedWindow] = []
    for path in log_files(run_dir, signature):
        window: RecordedWindow | None = None
        seen: set[str] = set()
        for ev in read_events(path):
            if ev.get("type") == "window_start" and window is None:
                moment = datetime.strptime(
                    ev["decision_time"] + " +0800", "%Y-%m-%d %H:%M:%S %z"
                ).astimezone(SHANGHAI)
                snap = ev.get("snapshot_path")
                window = RecordedWindow(
                    ev["window_id"],
                    moment,
                    None if snap is None else run_dir / snap,
                    signature,
                )
            elif ev.get("type") == "tool_result" and ev.get("name") in ORDER_TOOLS and window:
                call_id = str(ev.get("tool_call_id") or f"held_{len(seen) + 1}")
                if call_id in seen:  # a resumed window's result of a call already seen
                    continue
                seen.add(call_id)
                arguments = str(ev.get("arguments") or "")
                window.calls.append(HeldCall(call_id, str(ev["name"]), arguments))
                if ev["name"] == "execute_trade":
                    window.rejected += ev.get("error_kind") == ERROR_REJECTED_ORDER
        if window is not None:
            windows.append(window)
    windows.sort(key=lambda w: w.moment)
    return config, windows


def read_ledger(run_dir: Path, signature: str) -> list[dict[str, Any]]:
    return load_records(ledger_path(run_dir, signature))


def _snapshot(window: RecordedWindow) -> dict[str, Any] | None:
    if window.snapshot_path is None or not window.snapshot_path.is_file():
        return None
    data: dict[str, Any] = json.loads(window.snapshot_path.read_text(encoding="utf-8"))
    return data


def rescore(config: ArenaConfig, windows: Sequence[RecordedWindow]) -> Score:
    """Make the recorded order calls again under `config`'s rules (module docstring)."""
    if not windows:
        raise ConfigError("rescore: the run has no recorded windows")
    signature = windows[0].signature
    calls = {w.window_id: w.calls for w in windows}
    stores = [w.snapshot_path.parents[1] for w in windows if w.snapshot_path is not None]
    days = [w.moment.date() for w in windows]
    with held_orders_run(config, signature, calls, days, stores) as root:
        records = load_records(ledger_path(root, signature))
        rejected = sum(
            ev.get("type") == "tool_result"
            and ev.get("name") == "execute_trade"
            and ev.get("error_kind") == ERROR_REJECTED_ORDER
            for path in log_files(root, signature)
            for ev in read_events(path)
        )
    score = original_score(config, windows, records)
    score.rejected = rejected
    score.fills = [
        fill_from_record(r) for r in records if r["this_action"]["action"] in TRADE_ACTIONS
    ]
    return score


def original_score(
    config: ArenaConfig, windows: Sequence[RecordedWindow], records: list[dict[str, Any]]
) -> Score:
    """The recorded outcome, from the ledger, marked at the same last snapshot prices."""
    last = records[-1]
    day = date.fromisoformat(last["date"]) if last.get("date") else None
    portfolio = Portfolio.from_record(last["positions"], day)
    snapshots = [s for s in (_snapshot(w) for w in windows) if s is not None]
    quotes = quotes_from_snapshot(snapshots[-1]) if snapshots else {}
    trades = [r["this_action"] for r in records if r["this_action"]["action"] in TRADE_ACTIONS]
    return Score(
        final_cash=portfolio.cash,
        final_equity=portfolio.equity(quotes),
        initial_cash=config.agent_config.initial_cash,
        fees=sum((Decimal(str(a[k])) for a in trades for k in FEE_KEYS), Decimal(0)),
        commission=sum((Decimal(str(a["commission"])) for a in trades), Decimal(0)),
        trades=len(trades),
        rejected=sum(w.rejected for w in windows),
        dividends=sum(
            (
                Decimal(str(r["this_action"]["net"]))
                for r in records
                if r["this_action"]["action"] == "dividend"
            ),
            Decimal(0),
        ),
    )


def apply_settings(config: ArenaConfig, settings: Sequence[str]) -> ArenaConfig:
    """`config` with `dotted.path=value` settings applied and validated (ConfigError)."""
    data = config.model_dump(mode="json")
    for item in settings:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise ConfigError(f"--set {item!r}: expected dotted.path=value")
        if not path.startswith(SETTABLE):
            raise ConfigError(
                f"--set {path}: only trading_rules.*, risk_management.* and "
                "agent_config.initial_cash can change (orders are held fixed)"
            )
        *parents, key = path.split(".")
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(f"--set {path}: unknown key")
        node[key] = raw
    return parse_config(data, "rescore settings")


def _money(x: Decimal) -> str:
    return f"{x:,.2f}"


def format_table(signature: str, original: Score, rescored: Score, settings: Sequence[str]) -> str:
    rows = [
        ("final equity", _money(original.final_equity), _money(rescored.final_equity)),
        ("final cash", _money(original.final_cash), _money(rescored.final_cash)),
        ("return %", f"{original.return_pct:.4f}", f"{rescored.return_pct:.4f}"),
        ("fees", _money(original.fees), _money(rescored.fees)),
        ("dividends", _money(original.dividends), _money(rescored.dividends)),
        ("trades", str(original.trades), str(rescored.trades)),
        ("rejected", str(original.rejected), str(rescored.rejected)),
    ]
    lines = [f"{signature}: {' '.join(settings) or '(recorded rules)'} (orders held fixed)"]
    lines.append(f"  {'metric':<14}{'original':>18}{'rescored':>18}")
    lines += [f"  {name:<14}{a:>18}{b:>18}" for name, a, b in rows]
    return "\n".join(lines)


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or name not in GRID_KEYS or not values:
            raise ConfigError(f"--grid {item!r}: expected commission=a,b,... or slippage=a,b,...")
        grid[name] = [v.strip() for v in values.split(",") if v.strip()]
    for name in GRID_KEYS:
        grid.setdefault(name, [])
    return grid


def run_grid(
    config: ArenaConfig, windows: Sequence[RecordedWindow], grid: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One rescore per (commission, slippage) pair; empty axes keep the recorded value."""
    rules = config.trading_rules
    commissions = grid["commission"] or [str(rules.commission_rate)]
    slippages = grid["slippage"] or [str(rules.slippage_bps)]
    rows = []
    for c in commissions:
        for s in slippages:
            cfg = apply_settings(
                config, [f"{GRID_KEYS['commission']}={c}", f"{GRID_KEYS['slippage']}={s}"]
            )
            score = rescore(cfg, windows)
            rows.append(
                {
                    "commission_rate": c,
                    "slippage_bps": s,
                    "final_equity": score.final_equity,
                    "return_pct": round(score.return_pct, 4),
                    "fees": score.fees,
                    "trades": score.trades,
                    "rejected": score.rejected,
                }
            )
    return rows


def signatures_in(run_dir: Path) -> list[str]:
    base = agent_root(run_dir)
    return (
        sorted(p.name for p in base.iterdir() if manifest_path(run_dir, p.name).is_file())
        if base.is_dir()
        else []
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m agent_engine.rescore",
        description="Re-execute a run's recorded orders under other trading rules (the models "
        "are not asked again: orders are held fixed).",
    )
    p.add_argument("run_dir", type=Path, help="the recorded run's data root")
    p.add_argument("--signature", action="append", help="agent(s) to rescore (default: all)")
    p.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="PATH=VALUE",
        help="e.g. trading_rules.commission_rate=0.001 (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--grid", nargs="+", metavar="AXIS=V1,V2", help="commission=... slippage=... table"
    )
    p.add_argument("--out", type=Path, help="grid output directory (default RUN_DIR/rescore)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_dir: Path = args.run_dir.expanduser().resolve()
    try:
        signatures = args.signature or signatures_in(run_dir)
        if not signatures:
            raise ConfigError(f"no agent with a manifest under {run_dir / 'agent_data'}")
        grid = parse_grid(args.grid) if args.grid else None
        for signature in signatures:
            config, windows = read_run(run_dir, signature)
            if grid is not None:
                from agent_engine.rescore_grid import write_grid

                rows = run_grid(apply_settings(config, args.settings), windows, grid)
                out = args.out or run_dir / "rescore"
                csv_path, png_path = write_grid(out, signature, rows)
                print(f"{signature}: wrote {csv_path} and {png_path}")
                continue
            original = original_score(config, windows, read_ledger(run_dir, signature))
            rescored = rescore(apply_settings(config, args.settings), windows)
            print(format_table(signature, original, rescored, args.settings))
    except (ConfigError, OSError, ValueError, KeyError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
