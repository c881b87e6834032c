"""`POST /api/backup`: an archive of the served data root (data_flow/backup.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from api_routes.deps import StateDep, require_token
from api_routes.models import POST_ERRORS, BackupResponse
from data_flow.backup import BackupError, create_backup

router = APIRouter()


@router.post(
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
        result = create_backup(root, backup_root=st.settings.backup_root, reason="api")
    except BackupError as err:
        raise HTTPException(409, str(err)) from None
    return BackupResponse.model_validate(result.to_dict())
