"""Build (or find) one window's shared snapshot and print its path as the last line.

    python -m data_flow.prefetch --config star10_files.json --date 2025-11-17 --time 10:30
    python -m data_flow.prefetch --config settings/default_config.json --date 2025-11-17 \\
        --time 14:00 --data-root /tmp/arena

``--config`` is a config file path, or a name inside settings/. ``--data-root`` overrides the
config's ``log_config.data_root`` (e.g. for tests). Exit codes: 0 ok, 1 data unavailable or
snapshot error, 2 bad arguments or config (including a non-trading day or a date outside the
trading calendar).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import date
from pathlib import Path

from data_flow.clock import at_window, decision_time_text
from data_flow.errors import DataUnavailableError, SnapshotError
from settings.config import (
    TRADING_SESSIONS,
    ArenaConfig,
    ConfigError,
    LogConfig,
    load_config,
    resolve_settings_path,
)

EXIT_DATA = 1
EXIT_USAGE = 2


class UsageError(Exception):
    pass


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m data_flow.prefetch",
        description="Build or find the shared snapshot of one decision window.",
    )
    parser.add_argument("--config", required=True, help="config file (path or name in settings/)")
    parser.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    parser.add_argument("--time", required=True, help="decision time HH:MM (Beijing)")
    parser.add_argument("--data-root", help="override log_config.data_root (absolute path)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser.parse_args(argv)


def _load(config_arg: str, data_root: str | None) -> ArenaConfig:
    path = Path(config_arg)
    if not path.is_file():
        if path.is_absolute():
            raise ConfigError(f"config file not found: {path}")
        path = resolve_settings_path(config_arg)
    config = load_config(path)
    if data_root:
        root = Path(data_root).expanduser().resolve()
        config = config.model_copy(update={"log_config": LogConfig(data_root=str(root))})
    return config


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date: '{text}' is not a date like 2025-11-17") from None


def _parse_time(text: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise UsageError(f"--time: '{text}' is not a time like 10:30")
    m = _minutes(text)
    if not any(_minutes(a) < m <= _minutes(b) for a, b in TRADING_SESSIONS):
        raise UsageError(f"--time: {text} is outside trading hours (09:30-11:30, 13:00-15:00)")
    return text


def run(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        day = _parse_day(args.date)
        hhmm = _parse_time(args.time)
        config = _load(args.config, args.data_root)
        from data_flow.calendar import CalendarError, is_trading_day, next_trading_day

        try:
            trading = is_trading_day(day)
        except CalendarError as err:
            raise UsageError(str(err)) from None
        if not trading:
            raise UsageError(
                f"--date: {day.isoformat()} is not a trading day (XSHG); "
                f"next trading day: {next_trading_day(day).isoformat()}"
            )
    except (UsageError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE

    from data_flow.snapshot_store import ensure_window_snapshot

    moment = at_window(day, hhmm)
    try:
        result = ensure_window_snapshot(config, moment)
    except (DataUnavailableError, SnapshotError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DATA
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    meta = result.snapshot["metadata"]
    missing = meta["missing_symbols"]
    if missing:
        print(f"warning: no data at {hhmm} for {', '.join(missing)} (suspended)", file=sys.stderr)
    verb = "built" if result.created else "found"
    synthetic = " (synthetic)" if meta["synthetic"] else ""
    print(
        f"{verb} snapshot {decision_time_text(moment)}{synthetic}: "
        f"{len(result.snapshot['market_data'])} symbols, {meta['news_count']} news, "
        f"{len(missing)} missing, source {', '.join(meta['data_sources'])}"
    )
    print(result.path)
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
