"""Settings, per-app state and the dependencies every router shares."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from agent_engine.jobs import JobManager
from api_guard import allowed_hosts
from api_routes.registry import Arena, ArenaRegistry
from data_flow.backup import default_backup_root
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
from settings.env import EnvSettings, process_environ

VERSION = "0.1.0"
DEFAULT_CONFIG = "default_config.json"
SIGNATURE_PATTERN = SIGNATURE_RE.pattern
SYMBOL_PATTERN = SYMBOL_RE.pattern
JSON = "application/json"


@dataclass(frozen=True)
class ApiSettings:
    data_root: Path
    token: str | None = None
    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost:5173"])
    allowed_hosts: list[str] = field(default_factory=allowed_hosts)
    frontend_dist: Path = PROJECT_ROOT / "frontend" / "dist"
    stop_grace_seconds: float = 5.0
    live_refresh_interval: float = 0.0
    stream_poll_interval: float = 0.5  # seconds between two reads of an arena's new records
    stream_heartbeat: float = 15.0
    stream_buffer: int = 1000  # events kept per arena for Last-Event-ID resume
    backup_root: Path | None = None  # ARENA_BACKUP_DIR; None: <project>/backups
    environ: dict[str, str] | None = None  # the runs' base environment (None: this process's)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """The settings of `env` (default: this process's environment, read once here for
        the API entry point)."""
        env = process_environ() if env is None else env
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
            backup_root=default_backup_root(EnvSettings.of(dict(env))),
            environ=dict(env),
        )


class AppState:
    """Everything a request needs; created lazily on first use (or by the lifespan hook)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._jobs: JobManager | None = None
        self._store: LiveStore | None = None
        self._arenas: ArenaRegistry | None = None

    @property
    def jobs(self) -> JobManager:
        if self._jobs is None:
            with self._lock:
                if self._jobs is None:
                    self._jobs = JobManager(
                        self.settings.data_root,
                        grace_seconds=self.settings.stop_grace_seconds,
                        environ=self.settings.environ,
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

    @property
    def arenas(self) -> ArenaRegistry:
        if self._arenas is None:
            with self._lock:
                if self._arenas is None:
                    self._arenas = ArenaRegistry(
                        self.settings.data_root,
                        default_config=DEFAULT_CONFIG,
                        live_refresh_interval=self.settings.live_refresh_interval,
                    )
        return self._arenas

    def arena(self, arena_id: str | None) -> Arena:
        """The arena (None = default); HTTP 404 when unknown."""
        try:
            return self.arenas.get(arena_id)
        except KeyError:
            raise HTTPException(404, f"unknown arena '{arena_id}'") from None

    def store_of(self, arena_id: str | None) -> LiveStore:
        """The live store of an arena (None = default); HTTP 404 when unknown."""
        if arena_id is None:
            return self.store
        return self.arenas.store(self.arena(arena_id), self.store)

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


ARENA_PATTERN = r"^[A-Za-z0-9_.:/-]{1,200}$"
ArenaQuery = Annotated[
    str | None,
    Query(
        pattern=ARENA_PATTERN,
        max_length=200,
        description="arena id (GET /api/arenas); default: the default config's arena",
    ),
]


async def get_store(state: StateDep, arena: ArenaQuery = None) -> LiveStore:
    if arena is None:  # the hot path: no settings scan
        return state.store
    return await run_in_threadpool(state.store_of, arena)


StoreDep = Annotated[LiveStore, Depends(get_store)]

SignatureQuery = Annotated[str | None, Query(pattern=SIGNATURE_PATTERN, max_length=64)]
RequiredSignature = Annotated[str, Query(pattern=SIGNATURE_PATTERN, max_length=64)]


def _load_settings_config(config_path: str) -> ArenaConfig:
    try:
        return load_config(resolve_settings_path(config_path))
    except ConfigError as err:
        if "not found" in str(err):
            raise HTTPException(
                404, f"config_path: {config_path!r} not found in settings/"
            ) from None
        raise HTTPException(422, str(err)) from None
