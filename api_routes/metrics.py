"""`GET /metrics` (Prometheus text format) and the request-latency middleware.

Every app has its own CollectorRegistry. At each scrape the arena figures are read from the
records (through the arenas' live stores, so only appended bytes are parsed):

- `arena_jobs{state}`: jobs in the registry by state
- `arena_windows_done{arena,signature}`: windows recorded
- `arena_model_calls_total`, `arena_llm_errors_total`, `arena_invalid_tool_calls_total`,
  `arena_rejected_orders_total`, `arena_tokens_total{direction="in"|"out"}`
  (labels arena, signature, provider, model)
- `arena_model_latency_seconds{arena,signature,provider,model}`: histogram of model calls
- `arena_snapshot_build_seconds{arena}`: histogram of snapshot build times (metadata)
- `arena_api_request_duration_seconds{method,route,status}`: histogram of API requests

Arenas covered: every config arena (settings/*.json) whose data root exists; not experiment
cells (one experiment has many).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from agent_engine.jobs import JobStatus
from api_routes.deps import AppState

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BUILD_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)
REQUEST_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
AGENT_LABELS = ["arena", "signature", "provider", "model"]
COUNTERS = (
    ("model_calls", "arena_model_calls", "model calls (all attempts)"),
    ("llm_errors", "arena_llm_errors", "model calls that failed"),
    ("invalid_tool_calls", "arena_invalid_tool_calls", "invalid tool calls"),
    ("rejected_orders", "arena_rejected_orders", "orders the broker rejected"),
)

router = APIRouter()


def _histogram(
    name: str, doc: str, labels: list[str], buckets: Sequence[float]
) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, labels=labels)


def _add_observations(
    family: HistogramMetricFamily,
    labels: list[str],
    values: Iterable[float],
    buckets: Sequence[float],
) -> None:
    vals = sorted(values)
    cumulative = [(repr(b), float(sum(1 for v in vals if v <= b))) for b in buckets]
    family.add_metric(labels, [*cumulative, ("+Inf", float(len(vals)))], sum(vals))


class ArenaCollector(Collector):
    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("arena_jobs", "jobs in the registry by state", labels=["state"])
        counts = dict.fromkeys((s.value for s in JobStatus), 0)
        for job in self.state.jobs.all_jobs():
            counts[job.status] = counts.get(job.status, 0) + 1
        for status, n in sorted(counts.items()):
            jobs.add_metric([status], n)
        yield jobs

        windows = GaugeMetricFamily(
            "arena_windows_done", "windows recorded", labels=["arena", "signature"]
        )
        counters = {
            key: CounterMetricFamily(name, doc, labels=AGENT_LABELS) for key, name, doc in COUNTERS
        }
        tokens = CounterMetricFamily(
            "arena_tokens", "model tokens", labels=[*AGENT_LABELS, "direction"]
        )
        latency = _histogram(
            "arena_model_latency_seconds", "model call latency", AGENT_LABELS, LATENCY_BUCKETS
        )
        builds = _histogram(
            "arena_snapshot_build_seconds", "snapshot build time", ["arena"], BUILD_BUCKETS
        )
        for arena in self.state.arenas.config_arenas():
            if not arena.data_root.is_dir():
                continue
            store = self.state.store_of(None if arena.default else arena.id)
            for view in store.agent_views():
                totals = view.log_totals()
                provider, model = totals["provider"], totals["model"]
                if provider is None or model is None:
                    cfg_provider, cfg_model = arena.model_info(view.signature)
                    provider, model = provider or cfg_provider, model or cfg_model
                labels = [arena.id, view.signature, provider or "", model or ""]
                windows.add_metric([arena.id, view.signature], len(view.windows))
                for key, family in counters.items():
                    family.add_metric(labels, totals[key])
                tokens.add_metric([*labels, "in"], totals["tokens_in"])
                tokens.add_metric([*labels, "out"], totals["tokens_out"])
                calls = [ms / 1000 for wid in view.order for ms in view.windows[wid].log.latencies]
                _add_observations(latency, labels, calls, LATENCY_BUCKETS)
            seconds = [s.build_ms / 1000 for s in store.snapshots.all() if s.build_ms is not None]
            _add_observations(builds, [arena.id], seconds, BUILD_BUCKETS)
        yield windows
        yield from counters.values()
        yield tokens
        yield latency
        yield builds


def make_registry(state: AppState) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArenaCollector(state))
    requests = Histogram(
        "arena_api_request_duration_seconds",
        "API request latency",
        ["method", "route", "status"],
        buckets=REQUEST_BUCKETS,
        registry=registry,
    )
    return registry, requests


class RequestMetricsMiddleware:
    """Observes every HTTP request's duration, labelled by its route template (not its path)."""

    def __init__(self, app: Any, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.histogram.labels(scope.get("method", ""), template, str(status[0])).observe(
                time.perf_counter() - start
            )


@router.get("/metrics", name="metrics", response_class=Response, tags=["health"])
def metrics(request: Request) -> Response:
    """Prometheus text exposition format."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
