"""Paths of every record of an agent under a data root (`<root>/agent_data/<signature>/`).

Decision logs: `log/<YYYY-MM-DD>/<HH-MM-SS>.jsonl` per window (Beijing time); a window id is
'YYYY-MM-DDTHH:MM' and converts to its log path and back (`log_path_of_window`,
`window_id_of_log`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from data_flow.clock import SHANGHAI

AGENT_DATA = "agent_data"


def agent_root(data_root: Path) -> Path:
    return Path(data_root) / AGENT_DATA


def agent_dir(data_root: Path, signature: str) -> Path:
    return agent_root(data_root) / signature


def ledger_path(data_root: Path, signature: str) -> Path:
    return agent_dir(data_root, signature) / "position" / "position.jsonl"


def log_dir(data_root: Path, signature: str) -> Path:
    return agent_dir(data_root, signature) / "log"


def manifest_path(data_root: Path, signature: str) -> Path:
    return agent_dir(data_root, signature) / "manifest.jsonl"


def agent_log_path(data_root: Path, signature: str) -> Path:
    """The agent process's stdout/stderr (written by the orchestrator)."""
    return agent_dir(data_root, signature) / "agent.log"


def window_id_of(moment: datetime) -> str:
    """'YYYY-MM-DDTHH:MM' of an aware decision time, in Beijing time."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def moment_of_window(window_id: str) -> datetime:
    """The aware decision time of a window id ('YYYY-MM-DDTHH:MM')."""
    return datetime.fromisoformat(window_id).replace(tzinfo=SHANGHAI)


def decision_log_path(data_root: Path, signature: str, moment: datetime) -> Path:
    local = moment.astimezone(SHANGHAI)
    return (
        log_dir(data_root, signature)
        / local.date().isoformat()
        / f"{local.strftime('%H-%M-%S')}.jsonl"
    )


def log_path_of_window(data_root: Path, signature: str, window_id: str) -> Path:
    return decision_log_path(data_root, signature, moment_of_window(window_id))


def log_path_of_record(data_root: Path, signature: str, day: str, decision_time: str) -> Path:
    """The log of a window given its ledger record's day and `decision_time`
    ('YYYY-MM-DD HH:MM:SS')."""
    stem = decision_time[11:19].replace(":", "-")
    return log_dir(data_root, signature) / day / f"{stem}.jsonl"


def window_id_of_log(path: Path) -> str:
    """The window id of a decision log path (inverse of `log_path_of_window`)."""
    return f"{path.parent.name}T{path.stem[:5].replace('-', ':')}"


def log_files(data_root: Path, signature: str) -> list[Path]:
    """Every decision log of an agent, in time order."""
    base = log_dir(data_root, signature)
    return sorted(base.glob("*/*.jsonl")) if base.is_dir() else []
