"""`python -m agent_engine.experiment run|status|report <name> [--workers K]
[--executor local|ray [--address auto|HOST:PORT]]`.

<name> is an experiment in `settings/experiments/<name>.json`, or a path to such a file.
- run: build each period's snapshot store, run every unfinished cell (`main.py` per cell,
  K at a time, here or as Ray tasks on a cluster), then write the report. Exit 0 all cells
  completed, 1 a cell failed or was skipped (missing API key), 2 bad experiment file, data
  error or no Ray, 130 interrupted.
- status: one line per cell (completed, failed, interrupted, pending, blocked); exit 0.
- report: write report.json, report.md and figures/ from the completed cells; exit 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from settings.config import ArenaError, ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m agent_engine.experiment",
        description="Run grids of repeated arenas (models × repeats × periods) and report "
        "statistics with confidence intervals.",
        epilog="Exit codes: 0 ok, 1 a cell failed or was skipped, 2 bad experiment or data "
        "error, 130 interrupted.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every unfinished cell, then write the report")
    run.add_argument("name", help="experiment name (settings/experiments/<name>.json) or path")
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="cells run at once (default: 1 locally, the cluster's CPUs with --executor ray)",
    )
    run.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: main.py subprocesses here (default); ray: Ray tasks on a cluster "
        '(pip install -e ".[ray]")',
    )
    run.add_argument(
        "--address",
        default=None,
        help="with --executor ray: 'auto' (the cluster started here with `ray start`) or "
        "HOST:PORT; default RAY_ADDRESS or a new local Ray",
    )
    run.add_argument("--no-report", action="store_true", help="do not write the report")
    for command, text in (("status", "state of every cell"), ("report", "write the report")):
        sp = sub.add_parser(command, help=text)
        sp.add_argument("name", help="experiment name or path to its .json file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from agent_engine.experiments.run import EXIT_CONFIG, run_experiment, status_rows
    from agent_engine.experiments.spec import load_experiment

    if args.command == "run" and args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "run" and args.address is not None and args.executor != "ray":
        print("error: --address needs --executor ray", file=sys.stderr)
        return EXIT_CONFIG
    try:
        experiment = load_experiment(args.name)
        if args.command == "status":
            rows = status_rows(experiment)
            for row in rows:
                secs = "" if row["seconds"] is None else f" {row['seconds']:.1f} s"
                print(f"{row['cell_id']}  {row['state']}  seed={row['seed']}{secs}")
            done = sum(r["state"] == "completed" for r in rows)
            print(f"{done}/{len(rows)} cells completed; records in {experiment.root}")
            return 0
        code = 0
        if args.command == "run":
            executor, workers = _executor(args)
            code = run_experiment(experiment, workers=workers, executor=executor, emit=_emit)
            if code not in (0, 1) or args.no_report:
                return code
        from agent_engine.experiments.report import write_report

        report = write_report(experiment)
        print(f"report: {experiment.root / 'report.md'}")
        for warning in report["warnings"]:
            print(f"warning: {warning}")
        return code
    except ArenaError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG


def _executor(args: argparse.Namespace) -> tuple[Any, int]:
    """The chosen executor and how many cells it runs at once. ConfigError without Ray."""
    from agent_engine.experiments.executor import LocalProcessExecutor
    from settings.env import process_environ

    if args.executor == "local":
        return LocalProcessExecutor(environ=process_environ()), args.workers or 1
    if importlib.util.find_spec("ray") is None:
        raise ConfigError('--executor ray needs Ray: pip install -e ".[ray]"')
    from agent_engine.experiments.ray_executor import RayExecutor

    executor = RayExecutor(args.address)
    return executor, args.workers or executor.connect()


def _emit(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
