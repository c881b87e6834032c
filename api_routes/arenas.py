"""Arenas and configuration: `/api/arenas`, `/api/models`, `/api/configs`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query

from agent_engine.jobs import JobStatus
from api_routes.deps import DEFAULT_CONFIG, StateDep, _load_settings_config
from api_routes.models import (
    ERRORS,
    ArenaInfo,
    ArenasResponse,
    ConfigInfo,
    ConfigsResponse,
    ModelInfoView,
    ModelsResponse,
    Period,
)
from api_routes.registry import Arena, config_arena_id, display_root, last_window
from settings.config import SETTINGS_DIR, ConfigError, load_config

router = APIRouter()


@router.get(
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
                has_records=(agent_root / m.signature / "position" / "position.jsonl").is_file(),
            )
        )
    return ModelsResponse(data=data)


@router.get("/api/configs", name="list_configs", response_model=ConfigsResponse, tags=["config"])
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


def _arena_info(arena: Arena, running: dict[str, str], running_roots: dict[str, str]) -> ArenaInfo:
    cfg = arena.config
    source = cfg.data_config.source if cfg else None
    return ArenaInfo(
        id=arena.id,
        kind=arena.kind,  # type: ignore[arg-type]
        config=arena.config_name,
        period=(
            Period(
                start=cfg.date_range.init_date.isoformat(),
                end=cfg.date_range.end_date.isoformat(),
            )
            if cfg
            else None
        ),
        data_source=source,
        synthetic=None if source is None else source == "demo",
        data_root=display_root(arena.data_root),
        agents=[m.signature for m in cfg.models if m.enabled] if cfg else [],
        last_window=last_window(arena.data_root),
        running_job=running.get(arena.id) or running_roots.get(str(arena.data_root)),
        default=arena.default,
    )


@router.get("/api/arenas", name="list_arenas", response_model=ArenasResponse, tags=["arenas"])
def list_arenas(st: StateDep) -> ArenasResponse:
    """Every arena: the configs in settings/ (default first), then every experiment cell.

    `running_job`: the running job started on that arena's config, else one running on its
    data root."""
    running: dict[str, str] = {}
    running_roots: dict[str, str] = {}
    for job in st.jobs.all_jobs():
        if job.status != JobStatus.RUNNING:
            continue
        arena_id = config_arena_id(job.config_file) if job.config_file else None
        if arena_id is not None:
            running.setdefault(arena_id, job.job_id)
        running_roots.setdefault(str(Path(job.data_root).resolve()), job.job_id)
    return ArenasResponse(arenas=[_arena_info(a, running, running_roots) for a in st.arenas.all()])
