"""Replay mode: the orchestrator builds the windows' shared snapshots ahead of the agents
(`SnapshotPrefetcher`), so agent processes only read them and never load pandas/ta."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from agent_engine.lazy_source import LazySource
from agent_engine.run_windows import plan_windows
from settings.config import ArenaConfig


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
