"""AStock Arena HTTP API: jobs, live data, backups.

Run: `python api_server.py [--host 127.0.0.1] [--port 8000]` or `uvicorn api_server:app`.
OpenAPI docs at /docs (Swagger UI served from the app itself, no CDN); the built dashboard
(frontend/dist) is served at /app/ when present.

Environment (read once, when the app is created):
- ARENA_DATA_ROOT: the data root this server serves (live data, job registry, backups source).
  Default: the data root of settings/default_config.json. Runs whose config names another
  data root are allowed; "already running" (409) is checked per data root.
- ARENA_API_TOKEN: when set, every POST needs `Authorization: Bearer <token>`; without it the
  server refuses to listen on a non-loopback address.
- ARENA_CORS_ORIGINS: comma-separated allowed origins (default http://localhost:5173).
- ARENA_ALLOWED_HOSTS: comma-separated Host names served besides localhost, 127.0.0.1, [::1]
  and the bind host (other Host headers get 400; see api_guard.py).
- ARENA_BACKUP_DIR: where backups go (default <project>/backups), see data_flow/backup.py.
- ARENA_STOP_GRACE_SECONDS: SIGTERM -> SIGKILL grace when stopping a job (default 5).

This module imports data_flow, settings and agent_engine.jobs only: never the agent loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from api_guard import (
    CrossSiteGuardMiddleware,
    LoopbackOnlyMiddleware,
    allowed_hosts,
    host_guard,
)
from api_routes import arenas, backups, jobs, live, metrics, stream
from api_routes.deps import VERSION, ApiSettings, AppState
from api_routes.experiments import experiments_router
from api_routes.logs import uvicorn_log_config
from api_routes.metrics import RequestMetricsMiddleware, make_registry
from api_routes.stream import StreamHub

__all__ = ["ApiSettings", "create_app", "is_loopback", "main"]


DOCS_ASSETS_URL = "/docs-assets"
PRECOMPRESSED_PATHS = frozenset({"/api/live/pnl-series", "/api/live/model-stats"})
NO_GZIP_PATHS = PRECOMPRESSED_PATHS | {"/api/live/stream"}  # an event stream is not buffered


class SelectiveGZipMiddleware:
    """Starlette's GZipMiddleware, except for paths that compress their own cached bodies."""

    def __init__(self, app: Any, skip_paths: frozenset[str]) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=5)
        self.skip = skip_paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") not in self.skip:
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# --- app -----------------------------------------------------------------------------------
def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    state = AppState(settings)
    hub = StreamHub(state)
    registry, request_seconds = make_registry(state)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.jobs.reconcile()
        yield
        await hub.close()
        state.close()

    # FastAPIOffline: /docs and /redoc load their scripts and styles from the app itself
    # (fastapi-offline ships them), so the docs work offline and no page points to a CDN.
    app = FastAPIOffline(
        title="AStock Arena API",
        version=VERSION,
        description="LLMs trading China A-shares in a fair simulated arena.",
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,
        static_url=DOCS_ASSETS_URL,
    )
    app.state.arena = state
    app.state.streams = hub
    app.state.metrics_registry = registry
    app.include_router(experiments_router())
    # Large bodies (recent decisions, stock detail) are gzipped for clients that accept it; the
    # hot endpoints bypass this (they serve bodies compressed once per data version).
    app.add_middleware(SelectiveGZipMiddleware, skip_paths=NO_GZIP_PATHS)
    # Cross-site POSTs: JSON bodies only, no foreign Origin (inside CORS: its headers stay).
    app.add_middleware(CrossSiteGuardMiddleware, allowed_origins=settings.cors_origins)
    if not settings.token:
        app.add_middleware(LoopbackOnlyMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
    )
    app.add_middleware(RequestMetricsMiddleware, histogram=request_seconds)
    # Outermost: an unknown Host (DNS rebinding) gets 400 before anything else runs.
    app.add_middleware(host_guard, hosts=settings.allowed_hosts)
    for module in (jobs, live, stream, arenas, backups, metrics):
        app.include_router(module.router)

    # Mounted even before the dashboard is built (check_dir=False): a later `npm run build`
    # is served without restarting the server; until then /app/ answers 404.
    app.mount(
        "/app",
        DashboardFiles(directory=settings.frontend_dist, html=True, check_dir=False),
        name="app",
    )

    for route in app.routes:  # stable operation ids = route names
        if isinstance(route, APIRoute):
            route.operation_id = route.name
    return app


class DashboardFiles(StaticFiles):
    """frontend/dist as static files; a clear 404 (not a 500) while it is not built yet."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.directory is None or not os.path.isdir(self.directory):  # noqa: ASYNC240 (one stat)
            hint = "dashboard not built: run `cd frontend && npm ci && npm run build`"
            await PlainTextResponse(hint, status_code=404)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """`api_server.app` (for `uvicorn api_server:app`), built on first access, not at import."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- CLI -----------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="api_server.py", description="AStock Arena API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--log-json",
        action="store_true",
        default=os.environ.get("ARENA_LOG_JSON", "").strip().lower() in ("1", "true", "yes"),
        help="log one JSON object per line (also: ARENA_LOG_JSON=1)",
    )
    args = parser.parse_args(argv)
    settings = ApiSettings.from_env()
    settings = dataclasses.replace(
        settings, allowed_hosts=allowed_hosts(settings.allowed_hosts, bind_host=args.host)
    )
    if not is_loopback(args.host) and not settings.token:
        sys.stderr.write(
            f"refusing to listen on {args.host}: set ARENA_API_TOKEN to serve beyond loopback\n"
        )
        return 2
    app = create_app(settings)
    kwargs: dict[str, Any] = {"log_level": args.log_level}
    if args.log_json:
        kwargs["log_config"] = uvicorn_log_config(args.log_level)
    config = uvicorn.Config(app, host=args.host, port=args.port, **kwargs)
    _Server(config, app.state.streams).run()
    return 0


class _Server(uvicorn.Server):
    """Ends the live event streams on SIGINT/SIGTERM (else they would hold shutdown open)."""

    def __init__(self, config: uvicorn.Config, hub: StreamHub) -> None:
        super().__init__(config)
        self.hub = hub

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.hub.closing.set()
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    sys.exit(main())
