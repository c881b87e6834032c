"""Run one agent over the config's trading days × decision windows.

Replay and live are the same code with a different injected clock:
- replay (`ReplayClock`): every window of `date_range`, one after the other, instantly;
- live (`LiveClock`): waits (`clock.sleep_until`) for each window in Asia/Shanghai time on trading
  days; windows already past when the run reaches them are skipped (not recorded).

Resume: a window is complete once position.jsonl has ≥1 record for it; complete windows are
skipped, so trades are never re-executed. A window interrupted before its first record is run
again with `attempt` + 1, appending to its decision log.

Per window: ensure the shared snapshot (built once for all agents), roll the portfolio to the
day (T+1), call `loop.run_window`, update the runtime env file. A data failure becomes a
`no_trade` record with reason_code `data_unavailable`; any other exception fails the agent.
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

from agent_engine.decision_log import count_attempts, decision_log_path
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
    StopRequested,
    die_with_parent,
    install_stop_handlers,
)
from data_flow.clock import (
    SHANGHAI,
    Clock,
    LiveClock,
    ReplayClock,
    at_window,
    decision_time_text,
    now_iso,
)
from data_flow.errors import DataUnavailableError, SnapshotError
from data_flow.fsio import append_jsonl, iter_jsonl
from settings.config import AgentConfig, ArenaConfig, ArenaError, ModelConfig

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
LIVE_GRACE = timedelta(minutes=5)
"""Live mode: a window is still run when reached at most this long after its time."""
# Set by the orchestrator for each agent process:
TRADING_DAYS_ENV = "ARENA_TRADING_DAYS"  # the run's trading days (no calendar/pandas import here)
SPAWN_TIME_ENV = "ARENA_SPAWN_TIME"  # time.time() at spawn, for the start-up measurement
PREFETCH_ENV = "ARENA_PREFETCH"  # "1": the orchestrator builds the replay snapshots
PREFETCH_WAIT_SECONDS = 0.5
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
    snapshots_built: int = 0
    data_unavailable: int = 0
    startup_seconds: float | None = None
    decision_seconds: float = 0.0
    snapshot_seconds: float = 0.0
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
) -> int:
    """Run `signature` over the config's windows; returns the exit code (0 completed, 1 failed,
    128+signal when stopped by StopRequested). Never raises for failures of the agent itself:
    they go to the runtime env file (`last_error`) and the manifest (`run_end` status `failed`).
    `trading_days` (optional) replaces the calendar lookup (the orchestrator passes them);
    `sleep` is handed to the loop (retry backoff); `stats` is filled in when given;
    `client_factory` replaces `llm.factory.make_client` (tests, benchmarks)."""
    run = AgentRun(config, signature, clock, runtime_path, config_path, sleep, stats)
    run.client_factory = client_factory
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
                    "pid": os.getpid(),
                },
            )
            self._setup()
            st.startup_seconds = _seconds_since_process_start()
            complete = self.ledger.windows_with_records()
            st.windows_done = st.windows_already_done = sum(
                1 for w in windows if w.window_id in complete
            )
            self.runtime.update(
                status="running",
                windows_total=st.windows_total,
                windows_done=st.windows_done,
                startup_ms=None if st.startup_seconds is None else round(st.startup_seconds * 1e3),
            )
            for w in windows:
                if w.window_id not in complete:
                    self._maybe_run(w)
            status, code = "completed", EXIT_OK
        except StopRequested as stop:
            status, code, error = "stopped", 128 + stop.signum, str(stop)
        except (ArenaError, OSError) as err:
            error = f"{type(err).__name__}: {err}"
            log.error("agent %s failed: %s", self.signature, error)
        except Exception as err:  # a bug: fail this agent, keep the traceback in its output
            error = f"{type(err).__name__}: {err}"
            traceback.print_exc()
        finally:
            self._finish(status, error)
        return code

    def _setup(self) -> None:
        from agent_engine.broker import Broker
        from agent_engine.ledger import Ledger
        from agent_engine.llm.factory import make_client
        from agent_engine.loop import WindowContext, run_window
        from data_flow.snapshot_store import ensure_window_snapshot

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

    def _maybe_run(self, w: Window) -> None:
        """Wait for the window (live) or jump to it (replay), then run it."""
        if self.config.mode == "live" and self.clock.now() > w.moment + LIVE_GRACE:
            self.stats.windows_skipped += 1
            return
        self.clock.sleep_until(w.moment)
        st = self.stats
        self.current = w
        # One progress write per window (at its start; the run's end writes the final state).
        self.runtime.update(current_window=w.window_id, windows_done=st.windows_done)
        self._run(w)
        self.current = None
        st.windows_done += 1
        st.windows_run += 1
        st.processed.append(w.window_id)

    def _run(self, w: Window) -> None:
        st = self.stats
        log_path = decision_log_path(self.data_root, self.signature, w.moment)
        portfolio = self.ledger.portfolio
        portfolio.roll_to(w.day)
        t0 = time.perf_counter()
        self._await_prefetch(w)
        try:
            snap = self._ensure_snapshot(self.config, w.moment, self._source)
        except (DataUnavailableError, SnapshotError) as err:
            st.data_unavailable += 1
            log.warning("%s %s: data unavailable: %s", self.signature, w.window_id, err)
            reason = f"data unavailable: {err}"
            self._log_data_unavailable(w, log_path, reason, portfolio)
            self.ledger.append_no_trade(w, "data_unavailable", reason, portfolio, None)
            return
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
        self._run_window(ctx, self.client, sleep=self.sleep)
        st.decision_seconds += time.perf_counter() - t1

    def _await_prefetch(self, w: Window) -> None:
        """When the orchestrator prefetches snapshots (`ARENA_PREFETCH=1`, replay), give it a
        moment to create this window's file before building it here: an agent that builds
        loads pandas/ta for the rest of its life. The prefetcher normally holds the window's
        lock already (then the store waits on it); this covers the instant between two of its
        windows, when it may be preempted on a busy machine."""
        if not self._prefetched:
            return
        from data_flow.snapshot_store import snapshot_path

        path = snapshot_path(self.data_root, w.moment, list(self.config.symbols))
        deadline = time.monotonic() + PREFETCH_WAIT_SECONDS
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.005)

    def _log_data_unavailable(self, w: Window, log_path: Path, reason: str, portfolio: Any) -> None:
        """The decision log of a window without a snapshot: window_start + window_end."""
        from agent_engine.decision_log import DecisionLog

        with DecisionLog(log_path) as dlog:
            dlog.event(
                "window_start",
                signature=self.signature,
                provider=self.model.provider,
                model=self.model.basemodel,
                window_id=w.window_id,
                decision_time=decision_time_text(w.moment),
                decision_index=w.decision_index,
                decisions_per_day=w.decisions_per_day,
                snapshot_path=None,
                snapshot_hash=None,
                attempt=count_attempts(log_path) + 1,
            )
            dlog.event(
                "window_end",
                outcome="no_trade",
                final_text=reason,
                trades=0,
                rejected_orders=0,
                invalid_tool_calls=0,
                llm_errors=0,
                model_calls=0,
                tokens_in=0,
                tokens_out=0,
                latency_ms_total=0.0,
                duration_ms=0.0,
                equity=None,
                cash=float(portfolio.cash),
            )

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
                snapshots_built=st.snapshots_built,
                data_unavailable=st.data_unavailable,
                startup_ms=None if st.startup_seconds is None else round(st.startup_seconds * 1e3),
                decision_seconds=round(st.decision_seconds, 3),
                snapshot_seconds=round(st.snapshot_seconds, 3),
                peak_rss_kb=_peak_rss_kb(),
                cpu_seconds=_cpu_seconds(),
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
        )
    except StopRequested as stop:  # arrived before run_agent's own handler was in place
        return 128 + stop.signum
