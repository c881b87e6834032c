"""AStock Arena command line: `python main.py [config] [options]`.

Without `ONLY_SIGNATURE` in the environment this is the orchestrator: it loads and validates the
config, prints the plan, backs the data root up, optionally moves old data aside (`--fresh`),
spawns one agent process per runnable agent, shows progress and prints a summary table.
With `ONLY_SIGNATURE=<signature>` it runs that one agent in this process (what the children do).

Exit codes: 0 all agents completed, 1 an agent failed, 2 config error or data root in use by
another run, 3 no agent failed but some windows had no market data (not complete: a later run
retries them), 130/143 SIGINT/SIGTERM.
Imports are kept lazy: an agent process loads neither the orchestrator nor pandas.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from settings.config import (
    PROJECT_ROOT,
    SETTINGS_DIR,
    ArenaConfig,
    ArenaError,
    ConfigError,
    load_config,
    parse_config,
)
from settings.env import EnvSettings

DEFAULT_CONFIG = SETTINGS_DIR / "default_config.json"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_NO_DATA = 0, 1, 2, 3


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2025-11-03") from None


def _signature_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of signatures")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py",
        description="Run an AStock Arena: LLM and baseline agents trading China A-shares.",
        epilog="Environment: ONLY_SIGNATURE=<sig> runs that one agent in this process; "
        "RUNTIME_DIR moves the runtime_env_<sig>.json progress files (default settings/runtime); "
        "ARENA_BACKUP_DIR moves the automatic backups (default backups/). API keys come from "
        "the variables named by each model's api_key_env. Exit codes: 0 all agents completed, "
        "1 an agent failed, 2 config error or data root in use by another run, 3 some windows "
        "had no market data (a later run retries them), 130/143 interrupted by SIGINT/SIGTERM.",
    )
    p.add_argument(
        "config",
        nargs="?",
        default=str(DEFAULT_CONFIG),
        help="config JSON (default: settings/default_config.json); a bare name is also "
        "looked up in settings/",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start over: move each running agent's old data to agent_data/.moved/ (never deleted)",
    )
    p.add_argument("--init-date", type=_iso_date, help="override date_range.init_date")
    p.add_argument("--end-date", type=_iso_date, help="override date_range.end_date")
    p.add_argument(
        "--signatures", type=_signature_list, help="comma-separated agents to run (default: all)"
    )
    p.add_argument(
        "--no-backup", action="store_true", help="skip the automatic backup before the run"
    )
    p.add_argument(
        "--replay-llm",
        metavar="RUN_DIR",
        help="answer every model call from the recorded run whose data root is RUN_DIR (no "
        "network, no key); the config's data root must be another directory",
    )
    p.add_argument(
        "--replay-continue-live",
        action="store_true",
        help="with --replay-llm: at the first request that differs from the recording, "
        "continue with the real provider instead of stopping the agent",
    )
    return p


def resolve_config_path(text: str) -> Path:
    """The path as given (relative to the cwd), else relative to settings/."""
    p = Path(text).expanduser()
    if p.is_file() or p.is_absolute():
        return p.resolve()
    alt = SETTINGS_DIR / p
    return alt.resolve() if alt.is_file() else p.resolve()


def apply_overrides(
    config: ArenaConfig, init_date: date | None, end_date: date | None, source: str
) -> ArenaConfig:
    """The config with --init-date/--end-date applied, validated again (ConfigError)."""
    if init_date is None and end_date is None:
        return config
    data = config.model_dump(mode="json")
    if init_date is not None:
        data["date_range"]["init_date"] = init_date.isoformat()
    if end_date is not None:
        data["date_range"]["end_date"] = end_date.isoformat()
    return parse_config(data, f"{source} (with --init-date/--end-date)")


def child_args(args: argparse.Namespace) -> list[str]:
    """Flags an agent process needs to see the same config as the orchestrator."""
    out: list[str] = []
    if args.init_date is not None:
        out += ["--init-date", args.init_date.isoformat()]
    if args.end_date is not None:
        out += ["--end-date", args.end_date.isoformat()]
    if args.replay_llm:
        out += ["--replay-llm", str(Path(args.replay_llm).resolve())]
        if args.replay_continue_live:
            out.append("--replay-continue-live")
    return out


def main(argv: list[str] | None = None, env: EnvSettings | None = None) -> int:
    """`env`: the process environment (read here when not given)."""
    env = env if env is not None else EnvSettings.from_env()
    args = build_parser().parse_args(argv)
    config_path = resolve_config_path(args.config)
    try:
        config = load_config(config_path)
        config = apply_overrides(config, args.init_date, args.end_date, str(config_path))
        if args.replay_llm:
            from agent_engine.replay_setup import apply_replay, seed_snapshots

            config = apply_replay(config, Path(args.replay_llm), args.replay_continue_live)
            seed_snapshots(Path(args.replay_llm), config.data_root())
        elif args.replay_continue_live:
            raise ConfigError("--replay-continue-live needs --replay-llm RUN_DIR")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if env.only_signature:
        return run_one_agent(config, env, config_path, fresh=args.fresh)
    return run_orchestrator(config, config_path, args, env)


def run_one_agent(
    config: ArenaConfig, env: EnvSettings, config_path: Path, *, fresh: bool = False
) -> int:
    """`ONLY_SIGNATURE=<sig> python main.py`: run one agent in this process (the orchestrator
    never passes --fresh to its agents; a user running one agent by hand may)."""
    from agent_engine import crash_seam
    from agent_engine.agent_process import agent_main
    from agent_engine.agent_task import AgentTask

    crash_seam.arm(env.kill_after_writes)
    signature = env.only_signature
    if fresh and any(m.signature == signature for m in config.models):
        from agent_engine.orchestrator import fresh_stamp, move_aside

        moved = move_aside(config.data_root(), signature, fresh_stamp())
        if moved is not None:
            print(f"--fresh: moved {signature} records to {moved}", flush=True)

    return agent_main(AgentTask.from_env(config, config_path, env))


def run_orchestrator(
    config: ArenaConfig, config_path: Path, args: argparse.Namespace, env: EnvSettings
) -> int:
    """Hold the data root's arena lock for the whole run: one orchestrator per data root,
    however its path is spelled (a second one exits 2 naming the holder)."""
    from agent_engine.arena_lock import ArenaBusyError, ArenaLock

    lock = ArenaLock(
        config.data_root(), command=[Path(sys.argv[0]).name, *sys.argv[1:]], job_id=env.job_id
    )
    try:
        lock.acquire()
    except ArenaBusyError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as err:
        print(f"error: cannot lock data root {config.data_root()}: {err}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _orchestrate(config, config_path, args, env)
    finally:
        lock.release()


def _orchestrate(
    config: ArenaConfig, config_path: Path, args: argparse.Namespace, env: EnvSettings
) -> int:
    from agent_engine.fork_server import ForkServers

    # started now: their imports overlap with the planning below (ARENA_FORK_SERVER=0: off)
    fork_servers = ForkServers(dict(os.environ), enabled=env.fork_server != "0")
    fork_servers.prestart(sorted({m.provider for m in config.models if m.skip_reason() is None}))
    try:
        return _plan_and_run(config, config_path, args, env, fork_servers)
    finally:
        fork_servers.close()


def _plan_and_run(
    config: ArenaConfig,
    config_path: Path,
    args: argparse.Namespace,
    env: EnvSettings,
    fork_servers: object,
) -> int:
    from agent_engine import orchestrator as orch
    from agent_engine.data_plan import plan_data

    shown_path = _display_path(config_path)
    try:
        plan = orch.skip_running_agents(config, orch.build_plan(config, args.signatures))
        orch.check_data_source(config)
        days = orch.plan_trading_days(config)
        data = plan_data(config, days)
    except ArenaError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    print(orch.format_plan(config, plan, shown_path, days, data), flush=True)
    if not any(p.runs for p in plan):
        print("error: no agent can run (see the plan above)", file=sys.stderr)
        return EXIT_CONFIG
    clean_leftovers(config, env)
    if not args.no_backup:
        orch.auto_backup(config, backup_root=_backup_root(env))
    if args.fresh:
        stamp = orch.fresh_stamp()
        for entry in plan:
            if entry.runs:
                moved = orch.move_aside(config.data_root(), entry.signature, stamp)
                if moved is not None:
                    print(f"--fresh: moved {entry.signature} records to {moved}", flush=True)
    run = orch.ArenaRun(
        config=config,
        config_path=config_path,
        plan=plan,
        trading_days=days,
        child_args=child_args(args),
        source=data.source,
        env=env,
        child_env=dict(os.environ),  # the agents' environment (API keys, PATH, ...)
        fork_servers=fork_servers,
    )
    return orch.run_arena(run)


def _backup_root(env: EnvSettings) -> Path:
    from data_flow.backup import default_backup_root

    return default_backup_root(env)


def clean_leftovers(config: ArenaConfig, env: EnvSettings | None = None) -> None:
    """Delete what writes killed in an earlier run left behind: snapshot temp files and
    backup temp dirs (each only while holding the lock its writer holds, so never the file
    of a live writer). A failure here is reported; the run goes on."""
    from data_flow.backup import remove_stale_temp_dirs
    from data_flow.snapshot_store import remove_stale_temp_files

    try:
        backup_root = _backup_root(env if env is not None else EnvSettings.from_env())
        removed = remove_stale_temp_files(config.data_root()) + remove_stale_temp_dirs(backup_root)
    except OSError as err:
        print(f"warning: cleaning up temp files failed: {err}", file=sys.stderr, flush=True)
        return
    if removed:
        print(f"cleanup: removed {len(removed)} temp file(s) of interrupted writes", flush=True)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _exit_now(code: int) -> None:
    """End an agent process without the interpreter's teardown (~0.15 CPU s with an SDK
    loaded, times every agent): everything it wrote is closed and fsynced by then."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    process_env = EnvSettings.from_env()
    exit_code = main(env=process_env)
    if process_env.only_signature:
        _exit_now(exit_code)
    sys.exit(exit_code)
