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
day (T+1), apply the corporate actions that are due (dividends, bonus shares:
agent_engine/corporate_actions.py, exactly once), call `loop.run_window`, update the runtime
env file. A window whose snapshot cannot be built (data failure; in live mode after retrying
until its deadline) gets only a decision log with outcome `data_unavailable`
(agent_engine.window_data): no ledger record, so it is not complete and a later run retries it;
the run goes on and ends with exit code 3
(`EXIT_NO_DATA`). Any other exception fails the agent.

Progress goes to `progress` (the agent process prints it: `agent.log` under the orchestrator):
the plan of the run, one line per window and a last line with the totals.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from agent_engine import progress as prog
from agent_engine.agent_process import StopRequested, lock_agent
from agent_engine.agent_task import AgentTask
from agent_engine.decision_log import decision_log_path, window_complete
from agent_engine.lazy_source import LazySource
from agent_engine.manifest import RunManifest
from agent_engine.run_stats import (
    RunStats,
    cpu_seconds,
    run_end_fields,
    seconds_since_process_start,
)
from agent_engine.run_windows import (
    Window,
    agent_dir,
    make_clock,
    plan_windows,
    position_path,
    record_interrupted,
    run_days,
    windows_to_run,
)
from agent_engine.runtime_env import RuntimeEnv
from agent_engine.window_run import LIVE_GRACE, WindowRunner
from data_flow.clock import SHANGHAI, Clock
from settings.config import AgentConfig, ArenaConfig, ArenaError, ModelConfig

__all__ = [
    "EXIT_NO_DATA",
    "LIVE_GRACE",
    "AgentTask",
    "LazySource",
    "RunStats",
    "StopRequested",
    "Window",
    "agent_dir",
    "make_clock",
    "plan_windows",
    "position_path",
    "record_interrupted",
    "run_agent",
    "run_task",
    "windows_to_run",
]

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_NO_DATA = 0, 1, 2, 3


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
    """`run_task` of the task made of these arguments (an in-process run by hand: no
    supervising process, no prefetcher)."""
    task = AgentTask(
        config=config,
        signature=signature,
        runtime_path=runtime_path,
        config_path=None if config_path is None else Path(config_path),
        trading_days=None if trading_days is None else tuple(trading_days),
    )
    return run_task(
        task, clock, sleep=sleep, stats=stats, client_factory=client_factory, progress=progress
    )


def run_task(
    task: AgentTask,
    clock: Clock,
    *,
    sleep: Callable[[float], None] = time.sleep,
    stats: RunStats | None = None,
    client_factory: Callable[[ModelConfig, AgentConfig], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Run `task.signature` over the config's windows; returns the exit code (0 completed, 3
    completed but some windows had no data, 1 failed, 128+signal when stopped by
    StopRequested). Never raises for failures of the agent itself:
    they go to the runtime env file (`last_error`) and the manifest (`run_end` status `failed`).
    `task.trading_days` (optional) replaces the calendar lookup (the orchestrator passes them);
    `sleep` is handed to the loop (retry backoff); `stats` is filled in when given;
    `client_factory` replaces `llm.factory.make_client` (tests, benchmarks); `progress` gets
    the progress lines."""
    run = AgentRun(task, clock, sleep, stats)
    run.client_factory = client_factory
    run.progress = progress or (lambda _line: None)
    return run.run(task.trading_days)


class AgentRun(WindowRunner):
    """State of one agent process's run; see `run_agent`."""

    def __init__(
        self,
        task: AgentTask,
        clock: Clock,
        sleep: Callable[[float], None],
        stats: RunStats | None,
    ) -> None:
        config, signature, config_path = task.config, task.signature, task.config_path
        self.task = task
        self.config = config
        self.signature = signature
        self.model = config.model(signature)
        self.clock = clock
        self.sleep = sleep
        self.data_root = config.data_root()
        self.config_path = None if config_path is None else str(config_path)
        self.stats = stats if stats is not None else RunStats()
        self.runtime = RuntimeEnv(
            task.runtime_path,
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
        held, lock = lock_agent(agent_dir(self.data_root, self.signature), self.data_root)
        if not held:
            return EXIT_FAILED
        try:
            return self._run_locked(trading_days)
        finally:
            if lock is not None:
                lock.release()

    def _run_locked(self, trading_days: Sequence[date] | None) -> int:
        from agent_engine.llm.replay_client import ReplayDivergence

        st = self.stats
        status, code, error = "failed", EXIT_FAILED, None
        try:
            self.days = run_days(self.config, trading_days)
            windows = plan_windows(self.days, self.config.decision_windows)
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
            st.startup_seconds = seconds_since_process_start(self.task.spawn_time)
            st.loop_cpu_started = cpu_seconds()
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
            if self.config.mode != "live" and self.days:
                last = self.days[-1]
                self._settle_orders(datetime(last.year, last.month, last.day, 15, tzinfo=SHANGHAI))
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
        from agent_engine.resting_orders import OrderBook, OrderDesk
        from data_flow.snapshot_store import ensure_window_snapshot, remove_stale_temp_files

        if self.task.parent_pid is None:  # no orchestrator cleaned up for us
            try:
                remove_stale_temp_files(self.data_root)
            except OSError:
                log.warning("could not clean up snapshot temp files", exc_info=True)
        self._window_context = WindowContext
        self._run_window = run_window
        self._ensure_snapshot = ensure_window_snapshot
        self._source = LazySource(self.config)
        self._prefetched = self.task.prefetched
        cfg = self.config
        self.ledger = Ledger(
            position_path(self.data_root, self.signature),
            cfg.agent_config.initial_cash,
            cfg.date_range.init_date,
        )
        self.broker = Broker(cfg.trading_rules, cfg.risk_management, cfg.symbols)
        self.orders = OrderDesk(
            OrderBook.from_records(self.ledger.records()),
            self.ledger,
            self.broker,
            self.days,
            cfg.trading_rules.max_volume_participation,
        )
        factory = self.client_factory or make_client
        self.client = factory(self.model, cfg.agent_config)
        backoff_sleep = getattr(self.client, "backoff_sleep", None)
        if callable(backoff_sleep):  # a replay: recorded retries need no real backoff
            self.sleep = backoff_sleep

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
                **run_end_fields(st),
                spawn_time=self.task.spawn_time,
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


def _close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # closing is best effort
            log.debug("closing the LLM client failed", exc_info=True)
