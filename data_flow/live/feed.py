"""What is appended to an arena's records, as numbered events (the API's live push).

`ArenaFeed.poll()` folds appended ledger lines and decision-log lines with the same incremental
readers as the API (AgentView over JsonlTail) and turns what changed into events:

- `fill`: a ledger BUY/SELL record: {signature, window_id, decision_time, action, symbol,
  amount, price, notional, fees...}
- `window_end`: a window whose decision log ended: {signature, window_id, decision_time,
  outcome, equity, cash, trades, ...} (the log's `window_end` event fields)
- `decision`: the same window as one item of /api/live/recent-decisions
- `job`: a job of this arena changed status or progress: {job_id, status, agents}
- `reset`: an agent's ledger was replaced or shrank; clients should refetch everything

The first poll only reads what is already there (no events). Event ids are consecutive
integers from 1; the last `capacity` events are kept for clients that resume.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_flow.live.agents import FILL_ACTIONS, AgentView
from data_flow.live.decisions import decision_item
from data_flow.live.snapshots import SnapshotIndex
from data_flow.live.store import SIGNATURE_RE, dumps

JobsFn = Callable[[set[str]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    data: bytes  # JSON

    def sse(self) -> bytes:
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.id, self.kind.encode(), self.data)


class ArenaFeed:
    def __init__(
        self,
        data_root: Path,
        *,
        snapshot_root: Path | None = None,
        jobs: JobsFn | None = None,
        capacity: int = 1000,
    ) -> None:
        self.data_root = data_root.resolve()
        self.agent_root = self.data_root / "agent_data"
        self._snapshots = SnapshotIndex(snapshot_root or self.data_root)
        self._jobs = jobs
        self._lock = threading.Lock()
        self._views: dict[str, AgentView] = {}
        self._dir_mtime = -1
        self._seen: dict[str, dict[str, tuple[int, bool]]] = {}  # sig -> wid -> (actions, final)
        self._job_state: dict[str, bytes] = {}
        self._job_status: dict[str, str] = {}
        self._events: deque[Event] = deque(maxlen=capacity)
        self.last_id = 0
        self.primed = False

    # --- events --------------------------------------------------------------------------
    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        self.last_id += 1
        self._events.append(Event(self.last_id, kind, dumps(data)))

    def since(self, last_id: int) -> tuple[bool, list[Event]]:
        """Events after `last_id`; (True, []) when that id is unknown (too old or from an
        earlier server) so the client must refetch."""
        with self._lock:
            if last_id > self.last_id:
                return True, []
            oldest = self._events[0].id if self._events else self.last_id + 1
            if last_id < oldest - 1:
                return True, []
            return False, [e for e in self._events if e.id > last_id]

    def reset_event(self) -> Event:
        return Event(self.last_id, "reset", b'{"reason":"resume point unknown; refetch"}')

    # --- polling -------------------------------------------------------------------------
    def poll(self) -> int:
        """Read what was appended; returns the number of new events."""
        with self._lock:
            before = self.last_id
            self._discover()
            for sig in sorted(self._views):
                self._poll_agent(self._views[sig])
            if self._jobs is not None:
                self._poll_jobs()
            self.primed = True
            return self.last_id - before

    def _discover(self) -> None:
        try:
            mtime = os.stat(self.agent_root).st_mtime_ns
        except OSError:
            return
        if mtime == self._dir_mtime:
            return
        self._dir_mtime = mtime
        for entry in sorted(os.scandir(self.agent_root), key=lambda e: e.name):
            name = entry.name
            known = name in self._views
            if not known and name != "shared" and entry.is_dir() and SIGNATURE_RE.match(name):
                self._views[name] = AgentView(self.data_root, name, self._snapshots)
                self._seen[name] = {}

    def _poll_agent(self, view: AgentView) -> None:
        old_windows = len(view.order)
        if not view.poll():
            return
        seen = self._seen[view.signature]
        if len(view.order) < old_windows or any(w not in view.windows for w in seen):
            seen.clear()  # the ledger was replaced: start over without replaying it
            seen.update({w: (len(v.actions), v.log_final) for w, v in view.windows.items()})
            if self.primed:
                self._emit("reset", {"signature": view.signature})
            return
        for wid in view.order:
            win = view.windows[wid]
            n_before, final_before = seen.get(wid, (0, False))
            if (len(win.actions), win.log_final) == (n_before, final_before):
                continue
            seen[wid] = (len(win.actions), win.log_final)
            if not self.primed:
                continue
            base = {"signature": view.signature, "window_id": wid}
            for action in win.actions[n_before:]:
                if action.get("action") in FILL_ACTIONS:
                    self._emit("fill", base | {"decision_time": win.decision_time} | action)
            if win.log_final and not final_before:
                events = view.read_log_events(win)
                end = next((e for e in reversed(events) if e.get("type") == "window_end"), {})
                fields = {k: v for k, v in end.items() if k not in ("type", "ts_recorded")}
                self._emit("window_end", base | {"decision_time": win.decision_time} | fields)
                self._emit("decision", decision_item(view.signature, win, events))

    def _poll_jobs(self) -> None:
        assert self._jobs is not None
        watching = {jid for jid, status in self._job_status.items() if status == "running"}
        for job in self._jobs(watching):
            raw = json.dumps(job, sort_keys=True).encode()
            if self._job_state.get(job["job_id"]) == raw:
                continue
            self._job_state[job["job_id"]] = raw
            self._job_status[job["job_id"]] = str(job.get("status"))
            if self.primed:
                self._emit("job", job)
