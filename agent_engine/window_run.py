"""The per-window part of an agent's run (`agent_engine.runner.AgentRun`).

Wait for or jump to a window, build its snapshot (live: retried until `LIVE_GRACE` after it),
settle resting orders, roll the portfolio (T+1), apply due corporate actions and run
`loop.run_window`; a window without data is recorded in its decision log only. The run loop,
setup and the run's end stay in `agent_engine.runner`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent_engine import progress as prog
from agent_engine.corporate_actions import apply_due_actions
from agent_engine.decision_log import count_attempts, decision_log_path
from agent_engine.lazy_source import LazySource
from agent_engine.run_stats import RunStats
from agent_engine.run_windows import Window
from agent_engine.runtime_env import RuntimeEnv
from agent_engine.window_data import (
    DATA_ERRORS,
    await_prefetch,
    log_data_unavailable,
    with_live_retry,
)
from data_flow.clock import Clock
from settings.config import ArenaConfig, ModelConfig

log = logging.getLogger("agent_engine.runner")

LIVE_GRACE = timedelta(minutes=5)
"""Live mode: a window is still run when reached at most this long after its time."""


class WindowRunner:
    """Runs one window at a time; `AgentRun` provides the state (set in its `_setup`)."""

    config: ArenaConfig
    model: ModelConfig
    signature: str
    data_root: Path
    clock: Clock
    sleep: Callable[[float], None]
    stats: RunStats
    runtime: RuntimeEnv
    progress: Callable[[str], None]
    current: Window | None
    ledger: Any
    broker: Any
    orders: Any
    client: Any
    _prefetched: bool
    _source: LazySource
    _ensure_snapshot: Callable[..., Any]
    _window_context: Callable[..., Any]
    _run_window: Callable[..., Any]

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
        t0 = time.perf_counter()
        try:
            snap = self._snapshot(w)
            self._settle_orders(w.moment, earlier_days_only=True)
            portfolio.roll_to(w.day)
        except DATA_ERRORS as err:
            portfolio.roll_to(w.day)
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
        apply_due_actions(
            self.ledger,
            portfolio,
            snap.snapshot,
            w,
            snap.content_hash,
            self.config.trading_rules.dividend_tax,
        )
        self._settle_orders(w.moment, (snap, w))  # today's bars, after the ex-date's actions
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
            orders=self.orders,
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

    def _settle_orders(
        self,
        until: datetime,
        current: tuple[Any, Window] | None = None,
        *,
        earlier_days_only: bool = False,
    ) -> None:
        """Match resting orders up to `until` (agent_engine/order_settle.py): the days before
        `until`'s day only, or (with `current`, the window's snapshot) today's bars only, or
        (neither: the end of a run) both."""
        from agent_engine.ledger import WindowRef
        from agent_engine.order_settle import settle_before, settle_earlier_days, settle_today

        def snapshot_at(moment: datetime) -> tuple[Any, str | None]:
            result = self._ensure_snapshot(self.config, moment, self._source)
            return result.snapshot, result.content_hash

        now = None
        if current is not None:
            snap, w = current
            ref = WindowRef(w.window_id, w.moment, w.decision_index)
            now = (snap.snapshot, snap.content_hash, ref)
        portfolio = self.ledger.portfolio
        if earlier_days_only:
            settle_earlier_days(self.orders, portfolio, until, snapshot_at)
        elif now is not None:
            settle_today(self.orders, portfolio, until, snapshot_at, now)
        else:
            settle_before(self.orders, portfolio, until, snapshot_at, None)
