"""Run one agent over the config's trading days × decision windows.

Replay and live are the same code with a different injected clock:
- replay (`ReplayClock`): every window of `date_range`, one after the other, instantly;
- live (`LiveClock`): waits (`clock.sleep_until`) for each window in Asia/Shanghai time on trading
  days; windows already past when the run reaches them are skipped (not recorded).

Resume: a window is complete only once its end is durably recorded (the last line of its
decision log is a `window_end` that is not `interrupted` or `data_unavailable`:
`decision_log.window_complete`);
complete windows are skipped. Any other window is run again with `attempt` + 1, appending to
its decision log; one with a conversation in its log continues it (agent_engine/resume.py),
so a fill already in the ledger is never executed again.
The windows after the last complete one run (see `windows_to_run`).

Per window: ensure the shared snapshot (built once for all agents), roll the portfolio to the
day (T+1), call `loop.run_window`, update the runtime env file. A window whose snapshot cannot be
built (data failure; in live mode after retrying until its deadline) gets only a decision log
with outcome `data_unavailable` (agent_engine.window_data): no ledger record, so it is not
complete and a later run retries it; the run goes on and ends with exit code 3
(`EXIT_NO_DATA`). Any other exception fails the agent.

Progress goes to `progress` (the agent process prints it: `agent.log` under the orchestrator):
the plan of the run, one line per window and a last line with the totals.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from agent_engine import progress as prog
from agent_engine.decision_log import count_attempts, decision_log_path, window_complete
from agent_engine.manifest import RunManifest
from agent_engine.runtime_env import (
    FINAL_STATUSES,
    RUNTIME_ENV_PATH_ENV,
    RuntimeEnv,
    read_runtime_env,
    runtime_env_path,
    write_state,
)
from agent_engine.stop_signals import (
    PARENT_PID_ENV,
    StopRequested,
    die_with_parent,
    install_stop_handlers,
)
from agent_engine.window_data import (
    DATA_ERRORS,
    await_prefetch,
    log_data_unavailable,
    with_live_retry,
)
from data_flow.clock import (
    SHANGHAI,
    Clock,
    LiveClock,
    ReplayClock,
    at_window,
    now_iso,
)
from data_flow.fsio import append_jsonl, iter_jsonl
from settings.config import AgentConfig, ArenaConfig, ArenaError, ModelConfig

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_NO_DATA = 0, 1, 2, 3
LIVE_GRACE = timedelta(minutes=5)
"""Live mode: a window is still run when reached at most this long after its time."""
# Set by the orchestrator for each agent process:
TRADING_DAYS_ENV = "ARENA_TRADING_DAYS"  # the run's trading days (no calendar/pandas import here)
SPAWN_TIME_ENV = "ARENA_SPAWN_TIME"  # time.time() at spawn, for the start-up measurement
PREFETCH_ENV = "ARENA_PREFETCH"  # "1": the orchestrator builds the replay snapshots
HEAVY_MODULES = ("pandas", "ta", "akshare", "exchange_calendars", "openai", "anthropic")
"""Reported in run_end: an agent should load only the SDK it uses, and pandas/ta/akshare only
when it built a snapshot itself."""


@dataclass(frozen=True)
class Window:
    day: date
    hhmm: str
    moment: datetime
    window_id: str
    decision_index: int
    decisions_per_day: int


def plan_windows(days: Iterable[date], hhmms: Sequence[str]) -> list[Window]:
    """Trading days × decision windows, in time order."""
    out = []
    for day in days:
        for i, hhmm in enumerate(hhmms, start=1):
            out.append(
                Window(day, hhmm, at_window(day, hhmm), f"{day.isoformat()}T{hhmm}", i, len(hhmms))
            )
    return out


def windows_to_run(windows: Sequence[Window], complete: set[str]) -> tuple[list[Window], int]:
    """(windows to run, number passed): the windows without a record after the last complete
    one. An incomplete window before it (it lacked data while later windows ran) is passed:
    running it now would move the portfolio back in time."""
    last = max((i for i, w in enumerate(windows) if w.window_id in complete), default=-1)
    passed = sum(1 for w in windows[: max(last, 0)] if w.window_id not in complete)
    return list(windows[last + 1 :]), passed


def agent_dir(data_root: Path, signature: str) -> Path:
    return data_root / "agent_data" / signature


def position_path(data_root: Path, signature: str) -> Path:
    return agent_dir(data_root, signature) / "position" / "position.jsonl"


def _window_open(log_path: Path) -> bool:
    """True when the last attempt in the log started but did not end."""
    open_ = False
    for ev in iter_jsonl(log_path):
        if ev.get("type") == "window_start":
            open_ = True
        elif ev.get("type") == "window_end":
            open_ = False
    return open_


def record_interrupted(log_path: Path, reason: str) -> None:
    """Close an open attempt in the decision log with `window_end` outcome `interrupted`."""
    if not _window_open(log_path):
        return
    append_jsonl(
        log_path,
        {
            "type": "window_end",
            "schema_version": 1,
            "ts_recorded": now_iso(),
            "outcome": "interrupted",
            "final_text": reason,
            "trades": 0,
            "rejected_orders": 0,
            "invalid_tool_calls": 0,
            "llm_errors": 0,
            "model_calls": 0,
            "tokens_in": 0,
            "tokens_out": 0,
            "latency_ms_total": 0.0,
            "duration_ms": 0.0,
            "equity": None,
            "cash": None,
        },
    )


@dataclass
class RunStats:
    windows_total: int = 0
    windows_done: int = 0
    windows_already_done: int = 0
    windows_run: int = 0
    windows_skipped: int = 0
    windows_passed: int = 0
    snapshots_built: int = 0
    data_unavailable: int = 0
    startup_seconds: float | None = None
    decision_seconds: float = 0.0
    snapshot_seconds: float = 0.0
    loop_cpu_started: float | None = None
    """CPU seconds of this process when its first window could start (bench/bench_scale.py)."""
    processed: list[str] = field(default_factory=list)


def _resolve_days(config: ArenaConfig, trading_days: Sequence[date] | None) -> list[date]:
    dr = config.date_range
    if trading_days is not None:
        return [d for d in trading_days if dr.init_date <= d <= dr.end_date]
    from data_flow.calendar import trading_days as calendar_days

    return list(calendar_days(dr.init_date, dr.end_date))


def _prompt_template_hash() -> str:
    from agent_engine.prompt import PROMPT_TEMPLATE_HASH

    return PROMPT_TEMPLATE_HASH


def run_agent(
    config: ArenaConfig,
    signature: str,
    clock: Clock,
    *,
    runtime_path: Path,
    config_path: str | Path | None = None,
    trading_days: Sequence[date] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stats: RunStats | None = None,
    client_factory: Callable[[ModelConfig, AgentConfig], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Run `signature` over the config's windows; returns the exit code (0 completed, 3
    completed but some windows had no data, 1 failed, 128+signal when stopped by
    StopRequested). Never raises for failures of the agent itself:
    they go to the runtime env file (`last_error`) and the manifest (`run_end` status `failed`).
    `trading_days` (optional) replaces the calendar lookup (the orchestrator passes them);
    `sleep` is handed to the loop (retry backoff); `stats` is filled in when given;
    `client_factory` replaces `llm.factory.make_client` (tests, benchmarks); `progress` gets
    the progress lines."""
    run = AgentRun(config, signature, clock, runtime_path, config_path, sleep, stats)
    run.client_factory = client_factory
    run.progress = progress or (lambda _line: None)
    return run.run(trading_days)


class AgentRun:
    """State of one agent process's run; see `run_agent`."""

    def __init__(
        self,
        config: ArenaConfig,
        signature: str,
        clock: Clock,
        runtime_path: Path,
        config_path: str | Path | None,
        sleep: Callable[[float], None],
        stats: RunStats | None,
    ) -> None:
        self.config = config
        self.signature = signature
        self.model = config.model(signature)
        self.clock = clock
        self.sleep = sleep
        self.data_root = config.data_root()
        self.config_path = None if config_path is None else str(config_path)
        self.stats = stats if stats is not None else RunStats()
        self.runtime = RuntimeEnv(
            runtime_path,
            signature=signature,
            config_path=self.config_path,
            data_root=self.data_root,
            pid=os.getpid(),
        )
        self.manifest = RunManifest.open(self.data_root, signature)
        self.current: Window | None = None
        self.client_factory: Callable[[ModelConfig, AgentConfig], Any] | None = None
        self.progress: Callable[[str], None] = lambda _line: None

    def run(self, trading_days: Sequence[date] | None) -> int:
        held, lock = self._lock_agent()
        if not held:
            return EXIT_FAILED
        try:
            return self._run_locked(trading_days)
        finally:
            if lock is not None:
                lock.release()

    def _lock_agent(self) -> tuple[bool, Any]:
        """One process per agent and data root, so its records have a single writer.

        Returns (False, None) when another process holds the agent; (True, None) when no lock
        file can be made (the run goes on and meets, and reports, the same disk problem)."""
        from filelock import FileLock, Timeout

        path = agent_dir(self.data_root, self.signature) / "agent.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path), timeout=0, thread_local=False)
            lock.acquire()
        except Timeout:
            msg = f"agent {self.signature} is already running on {self.data_root} (lock {path})"
            log.error("%s", msg)
            sys.stderr.write(f"error: {msg}\n")
            return False, None
        except OSError:
            log.warning("cannot lock %s", path, exc_info=True)
            return True, None
        return True, lock

    def _run_locked(self, trading_days: Sequence[date] | None) -> int:
        from agent_engine.llm.replay_client import ReplayDivergence

        st = self.stats
        status, code, error = "failed", EXIT_FAILED, None
        try:
            windows = plan_windows(
                _resolve_days(self.config, trading_days), self.config.decision_windows
            )
            st.windows_total = len(windows)
            self.runtime.update(status="starting", windows_total=st.windows_total)
            self.manifest.start(
                self.config,
                config_path=self.config_path,
                prompt_template_hash=_prompt_template_hash(),
                extra={
                    "provider": self.model.provider,
                    "basemodel": self.model.basemodel,
                    # The run's seed (random baseline, providers with a `seed` parameter).
                    "seed": self.model.parameters.get("seed"),
                    "pid": os.getpid(),
                },
            )
            self._setup()
            st.startup_seconds = _seconds_since_process_start()
            st.loop_cpu_started = _cpu_seconds()
            complete = {
                w.window_id
                for w in windows
                if window_complete(decision_log_path(self.data_root, self.signature, w.moment))
            }
            st.windows_done = st.windows_already_done = sum(
                1 for w in windows if w.window_id in complete
            )
            todo, st.windows_passed = windows_to_run(windows, complete)
            self.progress(
                prog.plan_line(
                    self.signature,
                    [w.window_id for w in windows],
                    st.windows_already_done,
                    len(todo),
                    st.windows_passed,
                )
            )
            self.runtime.update(
                status="running",
                windows_total=st.windows_total,
                windows_done=st.windows_done,
                startup_ms=None if st.startup_seconds is None else round(st.startup_seconds * 1e3),
            )
            for w in todo:
                self._maybe_run(w)
            status, code = "completed", EXIT_NO_DATA if st.data_unavailable else EXIT_OK
        except StopRequested as stop:
            status, code, error = "stopped", 128 + stop.signum, str(stop)
        except ReplayDivergence as div:
            error = str(div)
            log.error("agent %s: %s", self.signature, error)
            sys.stderr.write(f"error: {self.signature}: {error}\n")
        except (ArenaError, OSError) as err:
            error = f"{type(err).__name__}: {err}"
            log.error("agent %s failed: %s", self.signature, error)
        except Exception as err:  # a bug: fail this agent, keep the traceback in its output
            error = f"{type(err).__name__}: {err}"
            traceback.print_exc()
        finally:
            self._finish(status, error)
            records = agent_dir(self.data_root, self.signature)
            self.progress(prog.final_line(self.signature, status, st, records, error))
        return code

    def _setup(self) -> None:
        from agent_engine.broker import Broker
        from agent_engine.ledger import Ledger
        from agent_engine.llm.factory import make_client
        from agent_engine.loop import WindowContext, run_window
        from data_flow.snapshot_store import ensure_window_snapshot, remove_stale_temp_files

        if not os.environ.get(PARENT_PID_ENV, "").strip():  # no orchestrator cleaned up for us
            try:
                remove_stale_temp_files(self.data_root)
            except OSError:
                log.warning("could not clean up snapshot temp files", exc_info=True)
        self._window_context = WindowContext
        self._run_window = run_window
        self._ensure_snapshot = ensure_window_snapshot
        self._source = LazySource(self.config)
        self._prefetched = (
            self.config.mode == "replay" and os.environ.get(PREFETCH_ENV, "").strip() == "1"
        )
        cfg = self.config
        self.ledger = Ledger(
            position_path(self.data_root, self.signature),
            cfg.agent_config.initial_cash,
            cfg.date_range.init_date,
        )
        self.broker = Broker(cfg.trading_rules, cfg.risk_management, cfg.symbols)
        factory = self.client_factory or make_client
        self.client = factory(self.model, cfg.agent_config)
        backoff_sleep = getattr(self.client, "backoff_sleep", None)
        if callable(backoff_sleep):  # a replay: recorded retries need no real backoff
            self.sleep = backoff_sleep

    def _maybe_run(self, w: Window) -> None:
        """Wait for the window (live) or jump to it (replay), then run it."""
        live = self.config.mode == "live"
        if live and self.clock.now() > w.moment + LIVE_GRACE:
            self.stats.windows_skipped += 1
            self.progress(f"{self.signature} {w.window_id}: skipped (past, live mode)")
            return
        if live and self.clock.now() < w.moment:
            self.progress(f"{self.signature}: waiting for {w.window_id}")
        self.clock.sleep_until(w.moment)
        st = self.stats
        self.current = w
        # One progress write per window (at its start; the run's end writes the final state).
        self.runtime.update(current_window=w.window_id, windows_done=st.windows_done)
        done = self._run(w)
        self.current = None
        st.windows_done += done
        st.windows_run += 1
        st.processed.append(w.window_id)

    def _snapshot(self, w: Window) -> Any:
        """The window's snapshot; live mode retries data errors until the window's deadline."""
        if self._prefetched:
            from data_flow.snapshot_store import snapshot_path

            await_prefetch(
                snapshot_path(self.config.snapshot_root(), w.moment, list(self.config.symbols))
            )

        def on_retry(err: Exception, wake: datetime) -> None:
            self.progress(prog.retry_line(self.signature, w.window_id, err, wake))

        deadline = w.moment + LIVE_GRACE if self.config.mode == "live" else None
        return with_live_retry(
            lambda: self._ensure_snapshot(self.config, w.moment, self._source),
            self.clock,
            deadline,
            on_retry,
        )

    def _run(self, w: Window) -> bool:
        """Run the window; False when it had no data (recorded in its decision log only)."""
        st = self.stats
        log_path = decision_log_path(self.data_root, self.signature, w.moment)
        portfolio = self.ledger.portfolio
        portfolio.roll_to(w.day)
        t0 = time.perf_counter()
        try:
            snap = self._snapshot(w)
        except DATA_ERRORS as err:
            st.data_unavailable += 1
            log.warning("%s %s: data unavailable: %s", self.signature, w.window_id, err)
            log_data_unavailable(
                log_path,
                signature=self.signature,
                provider=self.model.provider,
                model=self.model.basemodel,
                window=w,
                reason=f"data unavailable: {err}",
                cash=float(portfolio.cash),
            )
            self.progress(
                prog.no_data_line(
                    self.signature, w.window_id, err, st.windows_done, st.windows_total
                )
            )
            return False
        st.snapshot_seconds += time.perf_counter() - t0
        if snap.created:
            st.snapshots_built += 1
        t1 = time.perf_counter()
        ctx = self._window_context(
            config=self.config,
            model=self.model,
            moment=w.moment,
            window_id=w.window_id,
            decision_index=w.decision_index,
            decisions_per_day=w.decisions_per_day,
            snapshot=snap.snapshot,
            snapshot_path=snap.path,
            snapshot_hash=snap.content_hash,
            portfolio=portfolio,
            ledger=self.ledger,
            broker=self.broker,
            log_path=log_path,
            attempt=count_attempts(log_path) + 1,
        )
        result = self._run_window(ctx, self.client, sleep=self.sleep)
        st.decision_seconds += time.perf_counter() - t1
        done = st.windows_done + 1
        self.progress(
            prog.window_line(
                self.signature, w.window_id, result, portfolio.cash, done, st.windows_total
            )
        )
        return True

    def _finish(self, status: str, error: str | None) -> None:
        st, current = self.stats, self.current
        if current is not None:
            try:
                path = decision_log_path(self.data_root, self.signature, current.moment)
                record_interrupted(path, error or status)
            except OSError:
                log.exception("could not record the interrupted window")
        ledger = getattr(self, "ledger", None)
        if ledger is not None:
            ledger.close()
        client = getattr(self, "client", None)
        if client is not None:
            _close_client(client)
        try:
            self.manifest.end(
                status,
                st.windows_done,
                windows_total=st.windows_total,
                windows_already_done=st.windows_already_done,
                windows_run=st.windows_run,
                windows_skipped=st.windows_skipped,
                windows_passed=st.windows_passed,
                snapshots_built=st.snapshots_built,
                data_unavailable=st.data_unavailable,
                startup_ms=None if st.startup_seconds is None else round(st.startup_seconds * 1e3),
                decision_seconds=round(st.decision_seconds, 3),
                snapshot_seconds=round(st.snapshot_seconds, 3),
                peak_rss_kb=_peak_rss_kb(),
                cpu_seconds=_cpu_seconds(),
                loop_cpu_seconds=None
                if st.loop_cpu_started is None
                else round(_cpu_seconds() - st.loop_cpu_started, 3),
                spawn_time=os.environ.get(SPAWN_TIME_ENV) or None,
                heavy_modules=[m for m in HEAVY_MODULES if m in sys.modules],
                error=error,
            )
        except OSError:
            log.exception("could not write run_end to the manifest")
        self.runtime.update(
            status=status,
            windows_done=st.windows_done,
            windows_total=st.windows_total,
            current_window=current.window_id if current else None,
            last_error=error,
            snapshots_built=st.snapshots_built,
        )


def _seconds_since_process_start() -> float | None:
    """Wall time since this process was spawned: from `ARENA_SPAWN_TIME` (set by the
    orchestrator just before it starts the process), else from /proc (Linux), else None."""
    spawn = os.environ.get(SPAWN_TIME_ENV, "").strip()
    if spawn:
        try:
            return max(0.0, time.time() - float(spawn))
        except ValueError:
            pass
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime since boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _peak_rss_kb() -> int | None:
    """This process's own peak resident set size in kB: `VmHWM` of /proc/self/status.
    (`ru_maxrss` is only the fallback where /proc is missing: Linux carries it over fork and
    exec, so an agent would report its orchestrator's peak.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):
        return None


def _cpu_seconds() -> float:
    t = os.times()
    return round(t.user + t.system, 3)


class LazySource:
    """The config's market data source, created on first use and then kept for the process.

    Agents that only read snapshots never create it (so never import pandas/ta/akshare); an
    agent that builds several snapshots reuses one source and its in-memory caches."""

    def __init__(self, config: ArenaConfig) -> None:
        self._config = config
        self._source: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._source is None:
            from data_flow.sources import make_source

            self._source = make_source(self._config)
        return getattr(self._source, name)


def _close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # closing is best effort
            log.debug("closing the LLM client failed", exc_info=True)


# --- process entry point (ONLY_SIGNATURE=<sig> python main.py) ---------------------------------
def record_abandoned(rt_path: Path, reason: str) -> None:
    """The orphan guard is about to end this process: leave a final state (`stopped`) in the
    runtime env file unless the run already wrote one."""
    state = read_runtime_env(rt_path)
    if state is None or state.get("status") in FINAL_STATUSES:
        return
    state.update(
        status="stopped", last_error=state.get("last_error") or reason, updated_at=now_iso()
    )
    write_state(rt_path, state)


def parse_trading_days(text: str | None) -> list[date] | None:
    if not text:
        return None
    return [date.fromisoformat(part) for part in text.split(",") if part]


def make_clock(config: ArenaConfig) -> Clock:
    if config.mode == "live":
        return LiveClock()
    start = config.date_range.init_date
    return ReplayClock(datetime(start.year, start.month, start.day, tzinfo=SHANGHAI))


def _print_progress(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def agent_main(config: ArenaConfig, signature: str, config_path: Path) -> int:
    """Body of an agent process: check the agent can run, then `run_agent` in-process."""
    logging.basicConfig(
        level=logging.WARNING,
        format=f"%(asctime)s {signature} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        model = config.model(signature)
    except ArenaError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_CONFIG
    reason = model.skip_reason()
    if reason is not None:
        sys.stderr.write(f"error: {signature} cannot run: {reason}\n")
        return EXIT_CONFIG
    env_path = os.environ.get(RUNTIME_ENV_PATH_ENV, "").strip()
    rt_path = Path(env_path).resolve() if env_path else runtime_env_path(signature)
    install_stop_handlers()
    if not die_with_parent(lambda reason: record_abandoned(rt_path, reason)):
        sys.stderr.write("error: the orchestrator is gone; not starting\n")
        return 128 + signal.SIGTERM
    try:
        days = parse_trading_days(os.environ.get(TRADING_DAYS_ENV))
    except ValueError:
        days = None
    try:
        return run_agent(
            config,
            signature,
            make_clock(config),
            runtime_path=rt_path,
            config_path=config_path,
            trading_days=days,
            progress=_print_progress,
        )
    except StopRequested as stop:  # arrived before run_agent's own handler was in place
        return 128 + stop.signum
