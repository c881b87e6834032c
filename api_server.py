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
import hmac
import ipaddress
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_engine.jobs import ActiveRunError, Job, JobManager, JobStartError
from api_guard import (
    CrossSiteGuardMiddleware,
    LoopbackOnlyMiddleware,
    allowed_hosts,
    host_guard,
)
from api_routes.experiments import experiments_router
from data_flow.backup import BackupError, create_backup
from data_flow.live.store import Body, LiveStore
from settings.config import (
    PROJECT_ROOT,
    SETTINGS_DIR,
    SIGNATURE_RE,
    SYMBOL_RE,
    ArenaConfig,
    ConfigError,
    load_config,
    resolve_settings_path,
)

log = logging.getLogger("api_server")

VERSION = "0.1.0"
DEFAULT_CONFIG = "default_config.json"
DOCS_ASSETS_URL = "/docs-assets"
SIGNATURE_PATTERN = SIGNATURE_RE.pattern
SYMBOL_PATTERN = SYMBOL_RE.pattern
JSON = "application/json"


# --- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiSettings:
    data_root: Path
    token: str | None = None
    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost:5173"])
    allowed_hosts: list[str] = field(default_factory=allowed_hosts)
    frontend_dist: Path = PROJECT_ROOT / "frontend" / "dist"
    stop_grace_seconds: float = 5.0
    live_refresh_interval: float = 0.0

    @classmethod
    def from_env(cls) -> ApiSettings:
        env = os.environ
        root_text = env.get("ARENA_DATA_ROOT", "").strip()
        if root_text:
            data_root = Path(root_text).expanduser().resolve()
        else:
            try:
                data_root = load_config(SETTINGS_DIR / DEFAULT_CONFIG).data_root()
            except ConfigError:
                data_root = PROJECT_ROOT / "data_flow"
        origins = [o.strip() for o in env.get("ARENA_CORS_ORIGINS", "").split(",") if o.strip()]
        hosts = [h.strip() for h in env.get("ARENA_ALLOWED_HOSTS", "").split(",") if h.strip()]
        return cls(
            data_root=data_root,
            token=env.get("ARENA_API_TOKEN", "").strip() or None,
            cors_origins=origins or ["http://localhost:5173"],
            allowed_hosts=allowed_hosts(hosts),
            stop_grace_seconds=float(env.get("ARENA_STOP_GRACE_SECONDS", "5") or 5),
        )


# --- response models -----------------------------------------------------------------------
class Health(BaseModel):
    status: str
    version: str
    data_root: str
    active_jobs: int


class RunTradingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config_path: str | None = Field(default=None, max_length=255)
    init_date: date | None = None
    end_date: date | None = None
    signatures: list[str] | None = Field(default=None, max_length=64)

    @field_validator("signatures")
    @classmethod
    def _sigs(cls, v: list[str] | None) -> list[str] | None:
        for s in v or []:
            if not SIGNATURE_RE.match(s):
                raise ValueError(f"signatures: '{s}' is not a valid signature")
        return v


class RunTradingResponse(BaseModel):
    job_id: str
    pid: int | None
    status: str
    started_at: str


class AgentProgress(BaseModel):
    signature: str
    status: str  # starting, running, completed, failed, stopped, or skipped (see skip_reason)
    windows_done: int
    windows_total: int | None = None
    skip_reason: str | None = None


class JobPublic(BaseModel):
    job_id: str
    status: str
    pid: int | None
    config_path: str
    data_root: str
    started_at: str
    ended_at: str | None
    exit_code: int | None
    error: str | None = None
    init_date: str | None = None
    end_date: str | None = None
    signatures: list[str] = []
    agents: list[AgentProgress]
    log_tail: list[str]


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class PnlPoint(BaseModel):
    window_id: str
    time: str
    equity: float
    return_pct: float


class PnlSeries(BaseModel):
    signature: str
    points: list[PnlPoint]


class PnlResponse(BaseModel):
    valuation: Literal["market", "cost"]
    series: list[PnlSeries]
    benchmark: PnlSeries


class HoldingView(BaseModel):
    symbol: str
    shares: int
    sellable: int
    avg_price: float
    last_price: float | None
    market_value: float
    unrealized_pnl: float
    unrealized_pnl_pct: float | None
    purchase_date: str | None = None


class PositionsResponse(BaseModel):
    signature: str
    as_of: str | None
    cash: float
    equity: float
    holdings: list[HoldingView]


class SeriesStatsView(BaseModel):
    signature: str
    total_return_pct: float
    annualized_volatility_pct: float | None
    sharpe: float | None
    max_drawdown_pct: float


class ModelStat(SeriesStatsView):
    provider: str | None
    model: str | None
    win_rate_pct: float | None
    round_trips: int
    trades: int
    fees_paid: float
    cash: float
    equity: float
    initial_cash: float
    last_action: str | None
    last_update: str | None
    tokens_in: int
    tokens_out: int
    llm_errors: int
    invalid_tool_calls: int
    rejected_orders: int
    model_calls: int
    mean_latency_ms: float | None
    windows_done: int


class ModelStatsResponse(BaseModel):
    data: list[ModelStat]
    benchmark: SeriesStatsView
    updated_at: str


class ToolCallView(BaseModel):
    name: str | None
    arguments: Any = None
    result: Any = None
    ok: bool
    error_kind: str | None


class DecisionView(BaseModel):
    signature: str
    window_id: str
    decision_time: str
    outcome: str | None
    reasoning: str | None
    error: str | None = None  # "kind: message" of the window's last failed model call
    tool_calls: list[ToolCallView]
    tool_calls_left_off: int = 0
    trades: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    tokens_in: int
    tokens_out: int
    llm_errors: int
    invalid_tool_calls: int
    duration_ms: float | None = None
    latency_ms_total: float | None = None
    truncated: bool = False  # texts cut / tool calls left off (data_flow/live/decisions.py)


class DecisionsResponse(BaseModel):
    data: list[DecisionView]
    count: int
    left_off: int = 0  # items within `limit` left off to keep the page under its byte cap


class PricePoint(BaseModel):
    time: str
    price: float | None
    indicators: dict[str, Any] | None


class StockTrade(BaseModel):
    signature: str
    time: str
    action: str
    amount: int | None
    price: float | None


class StockDetail(BaseModel):
    symbol: str
    prices: list[PricePoint]
    news: list[dict[str, Any]]
    trades: list[StockTrade]


class NewsResponse(BaseModel):
    data: list[dict[str, Any]]
    count: int


class SymbolsResponse(BaseModel):
    data: list[str]
    count: int


class ModelInfoView(BaseModel):
    signature: str
    provider: str
    basemodel: str
    enabled: bool
    status: Literal["ready", "missing_key", "disabled"]
    skip_reason: str | None
    has_records: bool


class ModelsResponse(BaseModel):
    data: list[ModelInfoView]


class ConfigInfo(BaseModel):
    config_path: str
    description: str
    init_date: str
    end_date: str
    mode: str
    source: str
    agents: list[str]


class ConfigsResponse(BaseModel):
    data: list[ConfigInfo]


class BackupResponse(BaseModel):
    backup_dir: str
    archive: str
    manifest: str
    members: int
    bytes: int


class ErrorResponse(BaseModel):
    detail: Any


# --- state and dependencies ----------------------------------------------------------------
class AppState:
    """Everything a request needs; created lazily on first use (or by the lifespan hook)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: JobManager | None = None
        self._store: LiveStore | None = None

    @property
    def jobs(self) -> JobManager:
        if self._jobs is None:
            with self._lock:
                if self._jobs is None:
                    self._jobs = JobManager(
                        self.settings.data_root, grace_seconds=self.settings.stop_grace_seconds
                    )
        return self._jobs

    @property
    def store(self) -> LiveStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = LiveStore(
                        self.settings.data_root,
                        model_info=_config_model_info,
                        min_refresh_interval=self.settings.live_refresh_interval,
                    )
        return self._store

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()


def _config_model_info(signature: str) -> tuple[str | None, str | None]:
    try:
        model = load_config(SETTINGS_DIR / DEFAULT_CONFIG).model(signature)
    except ConfigError:
        return None, None
    return model.provider, model.basemodel


async def get_state(request: Request) -> AppState:
    # async on purpose: a sync dependency would cost a threadpool hop per request
    return request.app.state.arena


StateDep = Annotated[AppState, Depends(get_state)]


async def require_token(request: Request, state: StateDep) -> None:
    token = state.settings.token
    if not token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
        raise HTTPException(
            status_code=401,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _job_public(state: AppState, job: Job) -> JobPublic:
    return JobPublic(
        job_id=job.job_id,
        status=job.status,
        pid=job.pid,
        config_path=job.config_path,
        data_root=job.data_root,
        started_at=job.started_at,
        ended_at=job.ended_at,
        exit_code=job.exit_code,
        error=job.error,
        init_date=job.init_date,
        end_date=job.end_date,
        signatures=job.signatures,
        agents=[AgentProgress.model_validate(a) for a in state.jobs.agents(job)],
        log_tail=state.jobs.log_tail(job),
    )


def _json_body(request: Request, body: Body) -> Response:
    """A cached JSON body; gzip-encoded (precomputed once per data version) when accepted."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            content=body.gzip,
            media_type=JSON,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(content=body.raw, media_type=JSON, headers={"Vary": "Accept-Encoding"})


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=what)


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
POST_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse, "description": "foreign Origin"},
    415: {"model": ErrorResponse, "description": "Content-Type is not application/json"},
}

SignatureQuery = Annotated[str | None, Query(pattern=SIGNATURE_PATTERN, max_length=64)]
RequiredSignature = Annotated[str, Query(pattern=SIGNATURE_PATTERN, max_length=64)]


PRECOMPRESSED_PATHS = frozenset({"/api/live/pnl-series", "/api/live/model-stats"})


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

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.jobs.reconcile()
        yield
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
    app.include_router(experiments_router())
    # Large bodies (recent decisions, stock detail) are gzipped for clients that accept it; the
    # hot endpoints bypass this (they serve bodies compressed once per data version).
    app.add_middleware(SelectiveGZipMiddleware, skip_paths=PRECOMPRESSED_PATHS)
    # Cross-site POSTs: JSON bodies only, no foreign Origin (inside CORS: its headers stay).
    app.add_middleware(CrossSiteGuardMiddleware, allowed_origins=settings.cors_origins)
    if not settings.token:
        app.add_middleware(LoopbackOnlyMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Outermost: an unknown Host (DNS rebinding) gets 400 before anything else runs.
    app.add_middleware(host_guard, hosts=settings.allowed_hosts)

    @app.get("/", name="health", response_model=Health, tags=["health"])
    def health(st: StateDep) -> Health:
        return Health(
            status="ok",
            version=VERSION,
            data_root=str(st.settings.data_root),
            active_jobs=st.jobs.active_count(),
        )

    # --- jobs ---
    @app.post(
        "/api/run-trading",
        name="run_trading",
        response_model=RunTradingResponse,
        responses={**POST_ERRORS, 409: {"model": ErrorResponse}},
        dependencies=[Depends(require_token)],
        tags=["jobs"],
    )
    def run_trading(st: StateDep, req: RunTradingRequest) -> RunTradingResponse:
        path = req.config_path
        if not path:
            raise HTTPException(422, "config_path: required (relative to settings/)")
        if req.init_date and req.end_date and req.end_date < req.init_date:
            raise HTTPException(422, "end_date: must not be before init_date")
        try:
            job = st.jobs.start(
                path,
                init_date=req.init_date.isoformat() if req.init_date else None,
                end_date=req.end_date.isoformat() if req.end_date else None,
                signatures=req.signatures,
            )
        except ConfigError as err:
            raise HTTPException(422, str(err)) from None
        except ActiveRunError as err:
            raise HTTPException(409, str(err)) from None
        except JobStartError as err:
            raise HTTPException(503, str(err)) from None
        return RunTradingResponse(
            job_id=job.job_id, pid=job.pid, status=job.status, started_at=job.started_at
        )

    @app.get("/api/jobs", name="list_jobs", response_model=JobsPublic, tags=["jobs"])
    def list_jobs(st: StateDep) -> JobsPublic:
        data = [_job_public(st, j) for j in st.jobs.all_jobs()]
        return JobsPublic(data=data, count=len(data))

    @app.get(
        "/api/job/{job_id}",
        name="get_job",
        response_model=JobPublic,
        responses=ERRORS,
        tags=["jobs"],
    )
    def get_job(st: StateDep, job_id: str) -> JobPublic:
        job = st.jobs.get(job_id)
        if job is None:
            raise _not_found(f"unknown job {job_id!r}")
        return _job_public(st, job)

    @app.post(
        "/api/stop/{job_id}",
        name="stop_job",
        response_model=JobPublic,
        responses=POST_ERRORS,
        dependencies=[Depends(require_token)],
        tags=["jobs"],
    )
    def stop_job(st: StateDep, job_id: str) -> JobPublic:
        job = st.jobs.stop(job_id)
        if job is None:
            raise _not_found(f"unknown job {job_id!r}")
        return _job_public(st, job)

    # --- live data ---
    @app.get(
        "/api/live/pnl-series",
        name="pnl_series",
        response_model=PnlResponse,
        responses=ERRORS,
        tags=["live"],
    )
    async def pnl_series(
        request: Request,
        st: StateDep,
        signature: SignatureQuery = None,
        valuation: Literal["market", "cost"] = "market",
    ) -> Response:
        try:
            body = st.store.pnl_series(signature, valuation)
        except KeyError:
            raise _not_found(f"unknown signature {signature!r}") from None
        return _json_body(request, body)

    @app.get(
        "/api/live/model-stats",
        name="model_stats",
        response_model=ModelStatsResponse,
        responses=ERRORS,
        tags=["live"],
    )
    async def model_stats(
        request: Request, st: StateDep, signature: SignatureQuery = None
    ) -> Response:
        try:
            body = st.store.model_stats(signature)
        except KeyError:
            raise _not_found(f"unknown signature {signature!r}") from None
        return _json_body(request, body)

    @app.get(
        "/api/live/current-positions",
        name="current_positions",
        response_model=PositionsResponse,
        responses=ERRORS,
        tags=["live"],
    )
    def current_positions(st: StateDep, signature: RequiredSignature) -> dict[str, Any]:
        try:
            return st.store.current_positions(signature)
        except KeyError:
            raise _not_found(f"unknown signature {signature!r}") from None

    @app.get(
        "/api/live/recent-decisions",
        name="recent_decisions",
        response_model=DecisionsResponse,
        responses=ERRORS,
        tags=["live"],
    )
    def recent_decisions(
        st: StateDep,
        signature: SignatureQuery = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> dict[str, Any]:
        try:
            return st.store.recent_decisions(signature, limit)
        except KeyError:
            raise _not_found(f"unknown signature {signature!r}") from None

    @app.get(
        "/api/live/stock-detail",
        name="stock_detail",
        response_model=StockDetail,
        responses=ERRORS,
        tags=["live"],
    )
    def stock_detail(
        st: StateDep, symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN)]
    ) -> dict[str, Any]:
        detail = st.store.stock_detail(symbol)
        if detail is None:
            raise _not_found(f"unknown symbol {symbol!r}")
        return detail

    @app.get(
        "/api/live/news", name="news", response_model=NewsResponse, responses=ERRORS, tags=["live"]
    )
    def news(
        st: StateDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        symbol: Annotated[str | None, Query(pattern=SYMBOL_PATTERN)] = None,
    ) -> dict[str, Any]:
        if symbol is not None and symbol not in st.store.known_symbols():
            raise _not_found(f"unknown symbol {symbol!r}")
        return st.store.news(limit, symbol)

    @app.get("/api/live/symbols", name="symbols", response_model=SymbolsResponse, tags=["live"])
    def symbols(st: StateDep) -> SymbolsResponse:
        """Every symbol that appears in the data root's snapshots, sorted."""
        known = sorted(st.store.known_symbols())
        return SymbolsResponse(data=known, count=len(known))

    # --- configuration ---
    @app.get(
        "/api/models",
        name="list_models",
        response_model=ModelsResponse,
        responses=ERRORS,
        tags=["config"],
    )
    def list_models(
        st: StateDep, config_path: Annotated[str, Query(max_length=255)] = DEFAULT_CONFIG
    ) -> ModelsResponse:
        config = _load_settings_config(config_path)
        agent_root = st.settings.data_root / "agent_data"
        data = []
        for m in config.models:
            reason = m.skip_reason()
            status = "disabled" if not m.enabled else ("missing_key" if reason else "ready")
            data.append(
                ModelInfoView(
                    signature=m.signature,
                    provider=m.provider,
                    basemodel=m.basemodel,
                    enabled=m.enabled,
                    status=status,
                    skip_reason=reason,
                    has_records=(
                        agent_root / m.signature / "position" / "position.jsonl"
                    ).is_file(),
                )
            )
        return ModelsResponse(data=data)

    @app.get("/api/configs", name="list_configs", response_model=ConfigsResponse, tags=["config"])
    def list_configs() -> ConfigsResponse:
        data = []
        base = SETTINGS_DIR.resolve()
        for path in sorted(base.rglob("*.json")):
            rel = path.relative_to(base)
            if rel.parts[0] == "runtime" or rel.name.startswith("."):
                continue
            try:
                cfg = load_config(path)
            except ConfigError:
                continue
            data.append(
                ConfigInfo(
                    config_path=rel.as_posix(),
                    description=cfg.description,
                    init_date=cfg.date_range.init_date.isoformat(),
                    end_date=cfg.date_range.end_date.isoformat(),
                    mode=cfg.mode,
                    source=cfg.data_config.source,
                    agents=[m.signature for m in cfg.models],
                )
            )
        return ConfigsResponse(data=data)

    # --- backups ---
    @app.post(
        "/api/backup",
        name="create_backup",
        response_model=BackupResponse,
        responses=POST_ERRORS,
        dependencies=[Depends(require_token)],
        tags=["backups"],
    )
    def backup(st: StateDep) -> BackupResponse:
        root = st.settings.data_root
        root.mkdir(parents=True, exist_ok=True)
        try:
            result = create_backup(root, reason="api")
        except BackupError as err:
            raise HTTPException(409, str(err)) from None
        return BackupResponse.model_validate(result.to_dict())

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


def _load_settings_config(config_path: str) -> ArenaConfig:
    try:
        return load_config(resolve_settings_path(config_path))
    except ConfigError as err:
        if "not found" in str(err):
            raise HTTPException(
                404, f"config_path: {config_path!r} not found in settings/"
            ) from None
        raise HTTPException(422, str(err)) from None


app = create_app()


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
    import uvicorn

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
