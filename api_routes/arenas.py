"""Configuration: `/api/models`, `/api/configs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api_routes.deps import DEFAULT_CONFIG, StateDep, _load_settings_config
from api_routes.models import (
    ERRORS,
    ConfigInfo,
    ConfigsResponse,
    ModelInfoView,
    ModelsResponse,
)
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
