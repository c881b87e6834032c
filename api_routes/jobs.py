"""Health and jobs: `/`, `/api/run-trading`, `/api/jobs`, `/api/job/{id}`, `/api/stop/{id}`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from agent_engine.jobs import ActiveRunError, Job, JobStartError
from api_routes.deps import VERSION, AppState, StateDep, _not_found, require_token
from api_routes.models import (
    ERRORS,
    POST_ERRORS,
    AgentProgress,
    ErrorResponse,
    Health,
    JobPublic,
    JobsPublic,
    RunTradingRequest,
    RunTradingResponse,
)
from api_routes.registry import config_arena_id
from settings.config import ConfigError

router = APIRouter()


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
        arena=config_arena_id(job.config_file) if job.config_file else None,
    )


@router.get("/", name="health", response_model=Health, tags=["health"])
def health(st: StateDep) -> Health:
    return Health(
        status="ok",
        version=VERSION,
        data_root=str(st.settings.data_root),
        active_jobs=st.jobs.active_count(),
    )


# --- jobs ---
@router.post(
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


@router.get("/api/jobs", name="list_jobs", response_model=JobsPublic, tags=["jobs"])
def list_jobs(st: StateDep) -> JobsPublic:
    data = [_job_public(st, j) for j in st.jobs.all_jobs()]
    return JobsPublic(data=data, count=len(data))


@router.get(
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


@router.post(
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
