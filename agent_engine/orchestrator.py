"""Run an arena: plan the agents, submit one task per agent to an executor, supervise, summarize.

`main.py` (without `ONLY_SIGNATURE`) calls `run_arena`. Each agent is an `AgentTask`
(agent_task.py) run by an executor (executors/; by default `SubprocessExecutor`: one
`python main.py <config> ...` process group per agent, the task in `ONLY_SIGNATURE`,
`RUNTIME_ENV_PATH`, ...), so a terminal's Ctrl-C reaches only this process, which
forwards SIGINT/SIGTERM to every agent (`Executor.cancel`), waits a grace period, then SIGKILLs
what is left. On Linux each agent also asks for `PR_SET_PDEATHSIG=SIGTERM` (agent_process.py),
so even a SIGKILLed orchestrator leaves no orphan. Progress comes from the agents' runtime env
files (supervision.py); the summary from their records.

Replay runs also build the shared snapshots here, in a background thread that stays ahead of
the agents (`SnapshotPrefetcher`, snapshot_prefetch.py), so agent processes only read them and
never load pandas/ta.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from agent_engine.agent_task import AgentTask
from agent_engine.data_plan import DataPlan, format_data_plan
from agent_engine.executors.base import AgentHandle, Executor
from agent_engine.executors.subprocess import SubprocessExecutor
from agent_engine.run_report import (
    AgentSummary,
    RecordStats,
    benchmark_row,
    format_summary,
    record_stats,
)
from agent_engine.run_windows import plan_windows
from agent_engine.runtime_env import RuntimeEnv, read_runtime_env, runtime_env_path
from agent_engine.snapshot_prefetch import SnapshotPrefetcher
from agent_engine.supervision import (
    EXIT_NO_DATA,
    PER_AGENT_PROGRESS_MAX,
    PROGRESS_INTERVAL_SECONDS,
    StopFlag,
    _final_status,
    _progress_line,
    supervise,
)
from data_flow.clock import SHANGHAI
from settings.config import ArenaConfig, ConfigError
from settings.env import EnvSettings

__all__ = ["PER_AGENT_PROGRESS_MAX", "AgentProcess", "_progress_line"]

STOP_GRACE_SECONDS = 15.0


# --- plan -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanEntry:
    signature: str
    provider: str
    basemodel: str
    skip_reason: str | None

    @property
    def runs(self) -> bool:
        return self.skip_reason is None


def build_plan(config: ArenaConfig, signatures: Sequence[str] | None = None) -> list[PlanEntry]:
    """Which agents run and why the others are skipped. Unknown `signatures` → ConfigError."""
    known = [m.signature for m in config.models]
    if signatures:
        unknown = [s for s in signatures if s not in known]
        if unknown:
            raise ConfigError(
                f"--signatures: unknown signature(s) {', '.join(unknown)}; "
                f"the config has {', '.join(known)}"
            )
    plan = []
    for m in config.models:
        reason = m.skip_reason()
        if signatures and m.signature not in signatures:
            reason = "not selected (--signatures)"
        plan.append(PlanEntry(m.signature, m.provider, m.basemodel, reason))
    return plan


def format_plan(
    config: ArenaConfig,
    plan: Sequence[PlanEntry],
    config_path: str,
    trading_days: Sequence[date],
    data: DataPlan | None = None,
) -> str:
    """The plan; with `data`, also what the data covers and which trading days lack it."""
    dr = config.date_range
    n_windows = len(trading_days) * len(config.decision_windows)
    source = config.data_config.source
    if source == "files":
        source = f"files ({config.data_path()})"
    elif source == "demo":
        source = f"demo (synthetic, seed {config.data_config.seed})"
    running = [p for p in plan if p.runs]
    lines = [
        f"AStock Arena — config {config_path}",
        f"  mode {config.mode}, {dr.init_date} .. {dr.end_date}: {len(trading_days)} trading "
        f"day(s) × {len(config.decision_windows)} window(s) "
        f"({', '.join(config.decision_windows)}) = {n_windows} window(s) per agent",
        f"  data {source}; {len(config.symbols)} symbol(s); data root {config.data_root()}",
    ]
    if config.snapshot_root() != config.data_root():
        lines.append(f"  shared snapshots in {config.snapshot_root()}")
    if data is not None:
        lines += format_data_plan(data, trading_days, len(config.decision_windows))
    lines.append(f"Plan: {len(running)} agent(s) run, {len(plan) - len(running)} skipped")
    width = max((len(p.signature) for p in plan), default=0)
    for p in plan:
        if p.runs:
            lines.append(f"  run   {p.signature:<{width}}  ({p.provider}/{p.basemodel})")
        else:
            lines.append(f"  skip  {p.signature}: {p.skip_reason}")
    lines += cutoff_warnings(config, [p.signature for p in running])
    return "\n".join(lines)


def cutoff_warnings(config: ArenaConfig, signatures: Sequence[str]) -> list[str]:
    """Plan lines for model agents whose knowledge cutoff is after the start of a replay
    (they may know what happened) or unknown."""
    if config.mode != "replay":
        return []
    start = config.date_range.init_date
    out = []
    for m in config.models:
        if m.signature not in signatures or m.provider == "baseline":
            continue
        if m.knowledge_cutoff is None:
            out.append(
                f"  warning: {m.signature} has no knowledge_cutoff; its figures cannot be "
                "limited to windows after it"
            )
        elif start <= m.knowledge_cutoff:
            out.append(
                f"  warning: {m.signature}'s knowledge cutoff {m.knowledge_cutoff} is not "
                f"before the replay start {start}: it may know the outcome; see the "
                "post-cutoff figures"
            )
    return out


def skip_running_agents(config: ArenaConfig, plan: list[PlanEntry]) -> list[PlanEntry]:
    """Agents another process is running on this data root (their `agent.lock` is held) are
    skipped, so a second `main.py` never touches a live agent's files."""
    from filelock import FileLock, Timeout

    out = []
    for entry in plan:
        lock_file = config.data_root() / "agent_data" / entry.signature / "agent.lock"
        if entry.runs and lock_file.exists():
            lock = FileLock(str(lock_file), timeout=0, thread_local=False)
            try:
                lock.acquire()
                lock.release()
            except Timeout:
                entry = PlanEntry(
                    entry.signature, entry.provider, entry.basemodel,
                    "already running on this data root (another main.py)",
                )  # fmt: skip
            except OSError:
                pass
        out.append(entry)
    return out


def move_aside(data_root: Path, signature: str, stamp: str) -> Path | None:
    """`--fresh`: move `<data_root>/agent_data/<sig>` to `agent_data/.moved/<sig>-<stamp>`.

    Never deletes anything. Returns the new location, or None when there was nothing to move.
    """
    src = data_root / "agent_data" / signature
    if not src.exists():
        return None
    moved_root = data_root / "agent_data" / ".moved"
    moved_root.mkdir(parents=True, exist_ok=True)
    dst = moved_root / f"{signature}-{stamp}"
    n = 1
    while dst.exists():
        n += 1
        dst = moved_root / f"{signature}-{stamp}-{n}"
    src.rename(dst)
    return dst


def fresh_stamp() -> str:
    return datetime.now(SHANGHAI).strftime("%Y%m%dT%H%M%S")


def check_data_source(config: ArenaConfig) -> None:
    """Fail before any agent starts when the configured data cannot exist (ConfigError)."""
    path = config.data_path()
    if config.data_config.source == "files" and (path is None or not path.is_dir()):
        raise ConfigError(f"data_config.path: directory not found: {path}")


def plan_trading_days(config: ArenaConfig) -> list[date]:
    """Trading days of the config's date range (exchange calendar; raises ArenaError)."""
    from data_flow.calendar import trading_days

    return list(trading_days(config.date_range.init_date, config.date_range.end_date))


def auto_backup(
    config: ArenaConfig, *, out: TextIO | None = None, backup_root: Path | None = None
) -> None:
    """Back the data root up before a run (data_flow.backup, when that module exists) into
    `backup_root` (default: data_flow.backup's).

    A failed backup is reported and the run goes on: the run itself only appends.
    """
    stream = out if out is not None else sys.stdout
    if not (config.data_root() / "agent_data").is_dir():
        print("backup: nothing to back up yet", file=stream, flush=True)
        return
    if importlib.util.find_spec("data_flow.backup") is None:
        print("backup: skipped (data_flow.backup not available)", file=stream, flush=True)
        return
    from data_flow.backup import create_backup

    try:
        result = create_backup(
            config.data_root(), reason="automatic, before main.py run", backup_root=backup_root
        )
    except Exception as err:  # the run must not depend on the backup
        print(f"warning: backup failed: {err}", file=sys.stderr, flush=True)
        return
    print(
        f"backup: {result.members} file(s), {result.bytes} bytes -> {result.backup_dir}",
        file=stream,
        flush=True,
    )


# --- supervision ---------------------------------------------------------------------------
AgentProcess = AgentHandle
"""An agent as the orchestrator sees it (the executor's handle)."""


@dataclass
class ArenaRun:
    """Everything `run_arena` needs besides the config. `executor` runs the agent tasks
    (default: one subprocess each, with `child_env` and `child_args`); `env` holds the
    settings read at the entry point (RUNTIME_DIR)."""

    config: ArenaConfig
    config_path: Path
    plan: list[PlanEntry]
    trading_days: list[date]
    child_args: list[str] = field(default_factory=list)
    progress_interval: float = PROGRESS_INTERVAL_SECONDS
    stop_grace: float = STOP_GRACE_SECONDS
    prefetch: bool = True
    source: Any = None
    """The market source the plan asked for coverage, reused by the prefetcher."""
    env: EnvSettings = field(default_factory=lambda: EnvSettings.of({}))
    child_env: dict[str, str] = field(default_factory=dict)
    executor: Executor | None = None
    run_id: str = ""
    fork_servers: Any = None
    """agent_engine.fork_server.ForkServers used by the default executor (main.py starts them
    before planning so their imports overlap with it; made and closed by run_arena if None)."""


def agent_task(run: ArenaRun, signature: str) -> AgentTask:
    """The task of one agent of the run."""
    return AgentTask(
        config=run.config,
        signature=signature,
        runtime_path=runtime_env_path(signature, run.env.runtime_dir),
        config_path=run.config_path,
        trading_days=tuple(run.trading_days),
        run_id=run.run_id,
        parent_pid=os.getpid(),
        spawn_time=time.time(),
        prefetched=run.prefetch and run.config.mode == "replay",
    )


def _spawn_agent(run: ArenaRun, executor: Executor, signature: str) -> AgentHandle:
    task = agent_task(run, signature)
    n_windows = len(run.trading_days) * len(run.config.decision_windows)
    # The orchestrator writes the first state so progress is visible before the agent starts.
    RuntimeEnv(
        task.runtime_path,
        signature=signature,
        config_path=str(run.config_path),
        data_root=run.config.data_root(),
        windows_total=n_windows,
        pid=None,
    ).update(status="starting")
    return executor.submit(dataclasses.replace(task, spawn_time=time.time()))


def run_arena(run: ArenaRun, *, out: TextIO | None = None) -> int:
    """Spawn and supervise the agents of `run.plan`; print progress and the summary.

    Returns 0 when every agent completed, 1 when any failed, 3 when none failed but some
    planned windows have no data (column "no data"), 128+signal when stopped by SIGINT/SIGTERM.
    """
    stream = out if out is not None else sys.stdout

    def emit(text: str) -> None:
        print(text, file=stream, flush=True)

    stop = StopFlag()
    agents: list[AgentHandle] = []
    own_fork_servers = run.executor is None and run.fork_servers is None
    if own_fork_servers:
        from agent_engine.fork_server import ForkServers

        run = dataclasses.replace(
            run, fork_servers=ForkServers(run.child_env, enabled=run.env.fork_server != "0")
        )
    executor = run.executor or SubprocessExecutor(
        run.child_env, run.child_args, fork_servers=run.fork_servers
    )
    if not run.run_id:
        run = dataclasses.replace(run, run_id=f"{os.getpid()}-{fresh_stamp()}")

    def on_signal(signum: int, _frame: object) -> None:
        # Only flags and kill(2) here; the supervision loop does the printing.
        if stop.signum is None:
            stop.signum = signum
            stop.deadline = time.monotonic() + run.stop_grace
        else:  # a second signal: no more grace
            stop.deadline = 0.0
        for a in agents:
            executor.cancel(a, signum)

    previous = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    started = time.monotonic()
    prefetcher = None
    try:
        for entry in run.plan:
            if entry.runs and stop.signum is None:
                agents.append(_spawn_agent(run, executor, entry.signature))
        if run.prefetch and run.config.mode == "replay" and stop.signum is None:
            # started after the spawns: no fork while this process has a second thread
            prefetcher = SnapshotPrefetcher(run.config, run.trading_days, run.source)
            prefetcher.start()
        if stop.signum is not None:  # a signal arrived while spawning: forward it to all
            for a in agents:
                executor.cancel(a, stop.signum)
        emit(
            f"started {len(agents)} agent process(es): "
            + ", ".join(f"{a.signature}[pid {a.pid}]" for a in agents)
        )
        supervise(executor, agents, stop, run.progress_interval, started, emit)
    finally:
        if prefetcher is not None:
            prefetcher.stop()
        for a in agents:  # never leave a child behind, whatever happened above
            if executor.poll(a) is None:
                executor.cancel(a, signal.SIGKILL)
                executor.wait(a)
        for s, handler in previous.items():
            signal.signal(s, handler)
        if own_fork_servers and run.fork_servers is not None:
            run.fork_servers.close()
    if prefetcher is not None:
        prefetcher.join(timeout=5)
        emit(f"snapshots built by the prefetcher: {prefetcher.built} ({prefetcher.seconds:.1f} s)")
    planned = {w.window_id for w in plan_windows(run.trading_days, run.config.decision_windows)}
    rows = [summarize_agent(run.config, entry, agents, planned) for entry in run.plan]
    emit(format_summary(rows, time.monotonic() - started, benchmark_row(run.config)))
    for row in rows:
        if row.status == "failed" and row.error:
            emit(f"agent {row.signature} failed: {row.error}")
    from agent_engine.run_report import footer_lines

    no_data = sum(r.no_data for r in rows)
    ran = [r.signature for r in rows if r.status != "skipped"]
    for line in footer_lines(run.config.data_root(), ran, no_data):
        emit(line)
    if stop.signum is not None:
        return 128 + stop.signum
    if any(r.status == "failed" for r in rows):
        return 1
    return EXIT_NO_DATA if no_data else 0


# --- summary ----------------------------------------------------------------------------------
def summarize_agent(
    config: ArenaConfig,
    entry: PlanEntry,
    agents: Sequence[AgentProcess],
    planned: set[str] | None = None,
) -> AgentSummary:
    if not entry.runs:
        return AgentSummary(entry.signature, "skipped", error=entry.skip_reason)
    agent = next((a for a in agents if a.signature == entry.signature), None)
    state = (read_runtime_env(agent.runtime_path) if agent else None) or {}
    if agent is None or agent.exit_code is None:
        status, code = "stopped", None
    else:
        code = agent.exit_code
        status = _final_status(code, state)
    try:
        stats = record_stats(config.data_root(), entry.signature, planned, config.snapshot_root())
    except (OSError, ValueError) as err:  # unreadable records: still print the summary
        stats = RecordStats()
        state = {**state, "last_error": state.get("last_error") or f"records unreadable: {err}"}
    initial = config.agent_config.initial_cash
    ret = None
    if stats.equity is not None:
        ret = ((stats.equity / initial - 1) * 100).quantize(Decimal("0.01"))
    error = None
    if status == "failed":
        error = state.get("last_error") if state.get("status") == "failed" else None
        if error is None and code is not None and code < 0:
            error = f"killed by {signal.Signals(-code).name}"
        elif error is None:
            error = f"exit code {code}"
        if agent is not None:
            error += f" (output: {agent.log_path})"
    return AgentSummary(
        signature=entry.signature,
        status=status,
        windows_done=stats.windows_complete,
        windows_total=int(state.get("windows_total") or 0),
        equity=stats.equity,
        return_pct=ret,
        trades=stats.trades,
        rejected_orders=stats.rejected_orders,
        llm_errors=stats.llm_errors,
        tokens_in=stats.tokens_in,
        tokens_out=stats.tokens_out,
        exit_code=code,
        error=error,
        no_data=stats.windows_no_data,
    )
