"""`GET /api/live/stream?arena=`: Server-Sent Events of what an arena appends.

One background poller per arena (an ArenaFeed polled in a worker thread every
`stream_poll_interval` seconds) serves every subscriber of that arena; subscribers read the
feed's ring buffer. Format per event: `id: <n>`, `event: <kind>`, `data: <json>`. A client that
reconnects with `Last-Event-ID: <n>` (or `?last_event_id=<n>`) gets the events after n, or
`event: reset` when n is no longer (or not yet) known. A new subscriber gets a `heartbeat`
right away (its subscription is live from then on) and one every `stream_heartbeat` seconds.
Streams end when the server shuts down (see `closing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from agent_engine.jobs import JobStatus
from api_routes.deps import AppState, ArenaQuery, StateDep
from api_routes.models import ERRORS
from api_routes.registry import Arena, config_arena_id
from data_flow.live.feed import ArenaFeed

HEARTBEAT = b"event: heartbeat\ndata: {}\n\n"
router = APIRouter()


class _Poller:
    def __init__(self, feed: ArenaFeed, interval: float) -> None:
        self.feed = feed
        self.interval = interval
        self.changed = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.task is None:
            await asyncio.to_thread(self.feed.poll)  # prime: existing records are no events
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if await asyncio.to_thread(self.feed.poll):
                async with self.changed:
                    self.changed.notify_all()


class StreamHub:
    """The pollers of one app, by arena id; stopped at shutdown."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.closing = threading.Event()  # set by the server's exit handler (api_server.main)
        self._pollers: dict[str, _Poller] = {}
        self._lock = asyncio.Lock()

    async def poller(self, arena: Arena) -> _Poller:
        async with self._lock:
            poller = self._pollers.get(arena.id)
            if poller is None:
                feed = ArenaFeed(
                    arena.data_root,
                    snapshot_root=arena.snapshot_root,
                    jobs=lambda watching: self._jobs_of(arena, watching),
                    capacity=self.state.settings.stream_buffer,
                )
                poller = _Poller(feed, self.state.settings.stream_poll_interval)
                self._pollers[arena.id] = poller
            await poller.start()
            return poller

    def _jobs_of(self, arena: Arena, watching: set[str]) -> list[dict[str, Any]]:
        """Jobs of this arena that run (or ran at the last poll), with their progress."""
        out = []
        root = str(arena.data_root)
        for job in self.state.jobs.all_jobs():
            mine = (
                config_arena_id(job.config_file) == arena.id
                if job.config_file
                else str(Path(job.data_root).resolve()) == root
            )
            if mine and (job.status == JobStatus.RUNNING or job.job_id in watching):
                out.append(
                    {
                        "job_id": job.job_id,
                        "status": job.status,
                        "arena": arena.id,
                        "agents": self.state.jobs.agents(job),
                    }
                )
        return out

    async def close(self) -> None:
        self.closing.set()
        for poller in self._pollers.values():
            if poller.task is not None:
                poller.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller.task


async def _events(
    request: Request, hub: StreamHub, poller: _Poller, last_id: int | None
) -> AsyncIterator[bytes]:
    feed = poller.feed
    yield b"retry: 3000\n\n"
    if last_id is None:
        last_id = feed.last_id
    yield HEARTBEAT
    heartbeat = hub.state.settings.stream_heartbeat
    loop = asyncio.get_running_loop()
    next_beat = loop.time() + heartbeat
    while not hub.closing.is_set():
        reset, events = feed.since(last_id)
        if reset:
            event = feed.reset_event()
            last_id = event.id
            yield event.sse()
            continue
        for event in events:
            last_id = event.id
            yield event.sse()
        if loop.time() >= next_beat:
            next_beat = loop.time() + heartbeat
            yield HEARTBEAT
        if await request.is_disconnected():
            return
        async with poller.changed:
            with contextlib.suppress(TimeoutError):
                # short waits: shutdown and disconnects are noticed within a second
                await asyncio.wait_for(poller.changed.wait(), min(1.0, heartbeat))


@router.get(
    "/api/live/stream",
    name="live_stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    tags=["live"],
)
async def live_stream(
    request: Request,
    st: StateDep,
    arena: ArenaQuery = None,
    last_event_id: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", include_in_schema=False)
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: `fill`, `window_end`, `decision`, `job`, `reset`, `heartbeat`."""
    target = await asyncio.to_thread(st.arena, arena)
    hub: StreamHub = request.app.state.streams
    poller = await hub.poller(target)
    resume = last_event_id
    if last_event_id_header and last_event_id_header.strip().isdigit():
        resume = int(last_event_id_header.strip())
    return StreamingResponse(
        _events(request, hub, poller, resume),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
