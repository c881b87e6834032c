"""Run an arena: plan the agents, spawn one process per agent, supervise, summarize.

`main.py` (without `ONLY_SIGNATURE`) calls `run_arena`. Each agent runs as
`python main.py <config> ...` with `ONLY_SIGNATURE=<signature>` and `RUNTIME_ENV_PATH=<file>`, in
its own process group (`start_new_session`), so a terminal's Ctrl-C reaches only this process, which
forwards SIGINT/SIGTERM to every agent group, waits a grace period, then SIGKILLs what is left. On
Linux each agent also asks for `PR_SET_PDEATHSIG=SIGTERM` (runner.agent_main), so even a SIGKILLed
orchestrator leaves no orphan. Progress comes from the agents' runtime env files; the summary
from their records.

Replay runs also build the shared snapshots here, in a background thread that stays ahead of
the agents (`SnapshotPrefetcher`), so agent processes only read them and never load pandas/ta.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from agent_engine.data_plan import DataPlan, format_data_plan
from agent_engine.decision_log import decision_log_path, window_complete
from agent_engine.runner import (
    EXIT_NO_DATA,
    PREFETCH_ENV,
    SPAWN_TIME_ENV,
    TRADING_DAYS_ENV,
    LazySource,
    plan_windows,
)
from agent_engine.runtime_env import (
    FINAL_STATUSES,
    RUNTIME_ENV_PATH_ENV,
    RuntimeEnv,
    read_runtime_env,
    runtime_env_path,
    write_state,
)
from agent_engine.stop_signals import PARENT_PID_ENV
from agent_engine.window_data import OUTCOME_DATA_UNAVAILABLE
from data_flow.clock import SHANGHAI, now_iso
from data_flow.fsio import iter_jsonl
from settings.config import PROJECT_ROOT, ArenaConfig, ConfigError

MAIN_PY = PROJECT_ROOT / "main.py"
ONLY_SIGNATURE_ENV = "ONLY_SIGNATURE"
STOP_GRACE_SECONDS = 15.0
POLL_SECONDS = 0.2
PROGRESS_INTERVAL_SECONDS = 5.0
PER_AGENT_PROGRESS_MAX = 12
"""Up to this many agents the progress line lists each; above, it shows totals."""


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


def auto_backup(config: ArenaConfig, *, out: TextIO | None = None) -> None:
    """Back the data root up before a run (data_flow.backup, when that module exists).

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
        result = create_backup(config.data_root(), reason="automatic, before main.py run")
    except Exception as err:  # the run must not depend on the backup
        print(f"warning: backup failed: {err}", file=sys.stderr, flush=True)
        return
    print(
        f"backup: {result.members} file(s), {result.bytes} bytes -> {result.backup_dir}",
        file=stream,
        flush=True,
    )


# --- snapshot prefetch (replay) ---------------------------------------------------------------
class SnapshotPrefetcher:
    """Replay mode: build the windows' shared snapshots in this process, in time order, while
    the agents run.

    It takes each window's snapshot lock before any agent gets there, so agents find the file
    (or wait on the lock and then read it) instead of building: agent processes then never load
    pandas/ta, and the market source is loaded once. Exactly one build per window still holds
    (the store's lock decides); an agent that overtakes the prefetcher simply builds itself.
    Failures are left to the agents (they record `data_unavailable` or fail themselves).
    """

    def __init__(
        self, config: ArenaConfig, trading_days: Sequence[date], source: Any = None
    ) -> None:
        self.config = config
        self.source = source  # the plan's source (files parsed once), else made on first use
        self.windows = plan_windows(trading_days, config.decision_windows)
        self.built = 0
        self.errors = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshot-prefetch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        from data_flow.snapshot_store import ensure_window_snapshot, snapshot_path

        started = time.perf_counter()
        source = self.source if self.source is not None else LazySource(self.config)
        root, symbols = self.config.snapshot_root(), list(self.config.symbols)
        for w in self.windows:
            if self._stop.is_set():
                break
            if snapshot_path(root, w.moment, symbols).exists():
                continue  # agents validate it when they read it
            try:
                result = ensure_window_snapshot(self.config, w.moment, source)
            except Exception as err:  # the agents will meet (and record) the same problem
                self.errors += 1
                if self.errors == 1:
                    print(f"snapshot prefetch: {w.window_id}: {err}", file=sys.stderr, flush=True)
                continue
            if result.created:
                self.built += 1
        self.seconds = time.perf_counter() - started


# --- supervision ------------------------------------------------------------------------------
@dataclass
class AgentProcess:
    signature: str
    runtime_path: Path
    proc: Any  # subprocess.Popen or fork_server.ForkedProcess
    log_path: Path
    started: float
    exit_code: int | None = None
    ended: float | None = None


@dataclass
class ArenaRun:
    """Everything `run_arena` needs besides the config; `child_args` are passed to each agent."""

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
    fork_servers: Any = None
    """agent_engine.fork_server.ForkServers (made by run_arena when None; closed by it)."""


def _spawn_agent(run: ArenaRun, signature: str) -> AgentProcess:
    config = run.config
    data_root = config.data_root()
    rt_path = runtime_env_path(signature)
    days_text = ",".join(d.isoformat() for d in run.trading_days)
    n_windows = len(run.trading_days) * len(config.decision_windows)
    # The orchestrator writes the first state so progress is visible before the agent starts.
    RuntimeEnv(
        rt_path,
        signature=signature,
        config_path=str(run.config_path),
        data_root=data_root,
        windows_total=n_windows,
        pid=None,
    ).update(status="starting")
    env = dict(os.environ)
    env[ONLY_SIGNATURE_ENV] = signature
    env[RUNTIME_ENV_PATH_ENV] = str(rt_path)
    env[TRADING_DAYS_ENV] = days_text
    env[PARENT_PID_ENV] = str(os.getpid())
    env.setdefault("PYTHONUNBUFFERED", "1")
    env[SPAWN_TIME_ENV] = repr(time.time())
    if run.prefetch and config.mode == "replay":
        env[PREFETCH_ENV] = "1"
    else:
        env.pop(PREFETCH_ENV, None)
    log_path = data_root / "agent_data" / signature / "agent.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(MAIN_PY), str(run.config_path), *run.child_args]
    provider = config.model(signature).provider
    proc = run.fork_servers.launch(cmd, env, log_path, provider)  # agent_engine/fork_server.py
    return AgentProcess(signature, rt_path, proc, log_path, time.monotonic())


def _signal_group(agent: AgentProcess, sig: int) -> None:
    if agent.exit_code is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(agent.proc.pid, sig)


class _StopFlag:
    def __init__(self) -> None:
        self.signum: int | None = None
        self.deadline: float | None = None
        self.announced = False


def run_arena(run: ArenaRun, *, out: TextIO | None = None) -> int:
    """Spawn and supervise the agents of `run.plan`; print progress and the summary.

    Returns 0 when every agent completed, 1 when any failed, 3 when none failed but some
    planned windows have no data (column "no data"), 128+signal when stopped by SIGINT/SIGTERM.
    """
    stream = out if out is not None else sys.stdout

    def emit(text: str) -> None:
        print(text, file=stream, flush=True)

    stop = _StopFlag()
    agents: list[AgentProcess] = []

    def on_signal(signum: int, _frame: object) -> None:
        # Only flags and kill(2) here; the supervision loop does the printing.
        if stop.signum is None:
            stop.signum = signum
            stop.deadline = time.monotonic() + run.stop_grace
        else:  # a second signal: no more grace
            stop.deadline = 0.0
        for a in agents:
            _signal_group(a, signum)

    previous = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    started = time.monotonic()
    prefetcher = None
    if run.fork_servers is None:
        from agent_engine.fork_server import ForkServers

        run.fork_servers = ForkServers()
    try:
        for entry in run.plan:
            if entry.runs and stop.signum is None:
                agents.append(_spawn_agent(run, entry.signature))
        if run.prefetch and run.config.mode == "replay" and stop.signum is None:
            # started after the spawns: no fork while this process has a second thread
            prefetcher = SnapshotPrefetcher(run.config, run.trading_days, run.source)
            prefetcher.start()
        if stop.signum is not None:  # a signal arrived while spawning: forward it to all
            for a in agents:
                _signal_group(a, stop.signum)
        emit(
            f"started {len(agents)} agent process(es): "
            + ", ".join(f"{a.signature}[pid {a.proc.pid}]" for a in agents)
        )
        _supervise(agents, stop, run.progress_interval, started, emit)
    finally:
        if prefetcher is not None:
            prefetcher.stop()
        for a in agents:  # never leave a child behind, whatever happened above
            if a.proc.poll() is None:
                _signal_group(a, signal.SIGKILL)
                a.proc.wait()
        run.fork_servers.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
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


def _supervise(
    agents: list[AgentProcess],
    stop: _StopFlag,
    interval: float,
    started: float,
    emit: Callable[[str], None],
) -> None:
    """Wait for the agents, printing progress: a line when an agent's status changes, else at
    most every `interval` seconds when something moved. Processes are polled every
    POLL_SECONDS; runtime env files are read at most every `_read_interval` (it grows with the
    number of agents, so supervising 100 agents stays cheap)."""
    last_line = ""
    last_print = 0.0
    last_read = -1e9
    last_statuses: dict[str, str] = {}
    read_every = _read_interval(len(agents))
    while True:
        alive, exited = 0, False
        were_running = sum(a.exit_code is None for a in agents)
        for a in agents:
            if a.exit_code is None:
                code = a.proc.poll()
                if code is None:
                    alive += 1
                else:
                    a.exit_code = code
                    a.ended = time.monotonic()
                    exited = True
                    _settle_runtime_env(a)
        now = time.monotonic()
        if stop.signum is not None and not stop.announced:
            stop.announced = True
            emit(
                f"received {signal.Signals(stop.signum).name}: stopping {were_running} running "
                f"agent(s) (SIGKILL after {max(0.0, (stop.deadline or now) - now):.0f} s)"
            )
        if exited or alive == 0 or now - last_read >= read_every:
            last_read = now
            states = {a.signature: read_runtime_env(a.runtime_path) or {} for a in agents}
            statuses = {a.signature: _live_status(a, states[a.signature]) for a in agents}
            changed = statuses != last_statuses
            if len(agents) > PER_AGENT_PROGRESS_MAX and changed:
                for a in agents:
                    new = statuses[a.signature]
                    if new in FINAL_STATUSES and last_statuses.get(a.signature) != new:
                        emit(f"[{now - started:6.1f}s] agent {a.signature} {new}")
            line = _progress_line(agents, states, statuses)
            if line != last_line and (changed or now - last_print >= interval or alive == 0):
                emit(f"[{now - started:6.1f}s] {line}")
                last_line, last_print = line, now
            last_statuses = statuses
        if alive == 0:
            return
        if stop.deadline is not None and now > stop.deadline:
            emit(f"agents still running {int(now - started)} s in: sending SIGKILL")
            for a in agents:
                _signal_group(a, signal.SIGKILL)
            stop.deadline = None
        time.sleep(POLL_SECONDS)


def _read_interval(n_agents: int) -> float:
    return max(POLL_SECONDS, 0.02 * n_agents)


def _settle_runtime_env(agent: AgentProcess) -> None:
    """An agent that died without writing its final status (SIGKILL, crash at start-up):
    record it in its runtime env file for the progress readers (the agent is gone, so this
    process is the only writer now)."""
    state = read_runtime_env(agent.runtime_path) or {}
    if state.get("status") in FINAL_STATUSES or agent.exit_code is None:
        return
    status = _final_status(agent.exit_code, state)
    code = agent.exit_code
    reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    state.update(status=status, last_error=state.get("last_error") or reason, updated_at=now_iso())
    with contextlib.suppress(OSError):
        write_state(agent.runtime_path, state)


def _live_status(agent: AgentProcess, state: dict[str, Any]) -> str:
    if agent.exit_code is None:
        return str(state.get("status") or "starting")
    return _final_status(agent.exit_code, state)


def _final_status(exit_code: int, state: dict[str, Any]) -> str:
    if exit_code in (0, EXIT_NO_DATA):  # 3: completed, some windows had no data
        return "completed"
    if exit_code in (130, 143, -signal.SIGINT, -signal.SIGTERM):
        return "stopped"
    return "failed"


def _progress_line(
    agents: Sequence[AgentProcess], states: dict[str, dict[str, Any]], statuses: dict[str, str]
) -> str:
    """Windows done per agent; above PER_AGENT_PROGRESS_MAX agents, totals and counts."""
    if len(agents) > PER_AGENT_PROGRESS_MAX:
        done = [int(states[a.signature].get("windows_done") or 0) for a in agents]
        total = sum(int(states[a.signature].get("windows_total") or 0) for a in agents)
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return (
            f"progress: {len(agents)} agents, {sum(done)}/{total} windows "
            f"(per agent {min(done)}..{max(done)}); {by_status}"
        )
    parts = []
    for a in agents:
        st = states[a.signature]
        text = f"{a.signature} {st.get('windows_done', 0)}/{st.get('windows_total', '?')}"
        if statuses[a.signature] != "running":
            text += f" {statuses[a.signature]}"
        parts.append(text)
    return "progress: " + " | ".join(parts)


# --- summary ----------------------------------------------------------------------------------
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


def record_stats(data_root: Path, signature: str, planned: set[str] | None = None) -> RecordStats:
    """Totals from an agent's records: trades from position.jsonl; complete windows (a record
    and a final `window_end`: `decision_log.window_complete`); rejected orders and LLM errors
    from the decision logs' `window_end` events; tokens from every `model_call` (also of
    interrupted attempts); equity from the last finished window; windows without data from the
    logs whose last `window_end` says `data_unavailable`."""
    agent_dir = data_root / "agent_data" / signature
    stats = RecordStats()
    windows: set[str] = set()
    for rec in iter_jsonl(agent_dir / "position" / "position.jsonl"):
        action = (rec.get("this_action") or {}).get("action")
        if action in ("BUY", "SELL"):
            stats.trades += 1
        if rec.get("window_id"):
            windows.add(str(rec["window_id"]))
    counted = windows if planned is None else windows & planned
    stats.windows_complete = sum(
        1
        for w in counted
        if window_complete(
            decision_log_path(
                data_root, signature, datetime.fromisoformat(w).replace(tzinfo=SHANGHAI)
            )
        )
    )
    log_dir = agent_dir / "log"
    files = sorted(log_dir.glob("*/*.jsonl")) if log_dir.is_dir() else []
    for path in files:
        outcome = None
        for ev in _summary_events(path):
            if ev.get("type") == "model_call":
                usage = ev.get("usage") or {}
                stats.tokens_in += int(usage.get("prompt_tokens") or 0)
                stats.tokens_out += int(usage.get("completion_tokens") or 0)
            else:
                stats.rejected_orders += int(ev.get("rejected_orders") or 0)
                stats.llm_errors += int(ev.get("llm_errors") or 0)
                if ev.get("outcome") != "interrupted" and ev.get("equity") is not None:
                    stats.equity = Decimal(str(ev["equity"]))
                outcome = ev.get("outcome")
        wid = f"{path.parent.name}T{path.stem[:5].replace('-', ':')}"
        if outcome == OUTCOME_DATA_UNAVAILABLE and wid not in windows:
            stats.windows_no_data += planned is None or wid in planned
    return stats


_SUMMARY_PREFIXES = (b'{"type":"model_call"', b'{"type":"window_end"')


def _summary_events(path: Path) -> list[dict[str, Any]]:
    """The `model_call` and `window_end` events of a decision log. Lines are written with
    "type" first, so the big `prompt`/`tool_result` lines are skipped without parsing them."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for raw in data.split(b"\n"):
        if raw.startswith(_SUMMARY_PREFIXES):
            try:
                ev = json.loads(raw)
            except ValueError:  # a torn last line
                continue
            if isinstance(ev, dict):
                out.append(ev)
    return out


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
        stats = record_stats(config.data_root(), entry.signature, planned)
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


def benchmark_row(config: ArenaConfig) -> AgentSummary | None:
    """The equal-weight benchmark's row (as the API computes it), None before any window."""
    from agent_engine.run_report import benchmark_equity

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
