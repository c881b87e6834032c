"""`GET /api/experiments` and `GET /api/experiments/{name}`.

Read-only: the experiment files in `settings/experiments/` and each experiment's `report.json`
(`<data_root>/experiments/<name>/report.json`, written by `python -m agent_engine.experiment
report <name>`). A name is letters, digits, '_' and '-' only (no path can be formed from it);
an unknown or invalid name is a 404, an experiment file that does not validate a 422.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from agent_engine.experiments import spec
from settings.config import ConfigError


class ExperimentInfo(BaseModel):
    name: str
    description: str
    valid: bool
    error: str | None = None
    models: list[str] = []
    repeats: int | None = None
    periods: list[dict[str, str]] = []
    cells_total: int | None = None
    report_available: bool = False


class ExperimentsResponse(BaseModel):
    data: list[ExperimentInfo]


class ExperimentDetail(BaseModel):
    name: str
    description: str
    experiment: dict[str, Any]
    cells_total: int
    report: dict[str, Any] | None


def _directory(directory: Path | None) -> Path:
    return directory if directory is not None else spec.EXPERIMENTS_DIR


def _read_report(experiment: spec.Experiment) -> dict[str, Any] | None:
    try:
        data = json.loads((experiment.root / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _info(name: str, directory: Path) -> ExperimentInfo:
    try:
        exp = spec.load_experiment(name, directory)
    except ConfigError as err:
        return ExperimentInfo(name=name, description="", valid=False, error=str(err))
    return ExperimentInfo(
        name=name,
        description=exp.spec.description,
        valid=True,
        models=[m.signature for m in exp.models],
        repeats=exp.spec.repeats,
        periods=[
            {"id": p.id, "init_date": p.init_date.isoformat(), "end_date": p.end_date.isoformat()}
            for p in exp.periods
        ],
        cells_total=len(exp.models) * exp.spec.repeats * len(exp.periods),
        report_available=(exp.root / "report.json").is_file(),
    )


def experiments_router(directory: Path | None = None) -> APIRouter:
    """The router; `directory` defaults to settings/experiments/ (read at request time)."""
    router = APIRouter(tags=["experiments"])

    @router.get("/api/experiments", name="list_experiments", response_model=ExperimentsResponse)
    def list_experiments() -> ExperimentsResponse:
        base = _directory(directory)
        names = sorted(p.stem for p in base.glob("*.json") if spec.NAME_RE.match(p.stem))
        return ExperimentsResponse(data=[_info(n, base) for n in names])

    @router.get(
        "/api/experiments/{name}",
        name="get_experiment",
        response_model=ExperimentDetail,
        responses={404: {"description": "unknown experiment"}, 422: {"description": "invalid"}},
    )
    def get_experiment(name: str) -> ExperimentDetail:
        base = _directory(directory)
        if not spec.NAME_RE.match(name) or not (base / f"{name}.json").is_file():
            raise HTTPException(404, f"unknown experiment: {name[:80]!r}")
        try:
            exp = spec.load_experiment(name, base)
        except ConfigError as err:
            raise HTTPException(422, str(err)) from None
        return ExperimentDetail(
            name=name,
            description=exp.spec.description,
            experiment=exp.spec.model_dump(mode="json"),
            cells_total=len(exp.models) * exp.spec.repeats * len(exp.periods),
            report=_read_report(exp),
        )

    return router
