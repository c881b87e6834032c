"""One agent run as a value: `AgentTask` (what to run, for which days, under which run).

The orchestrator makes one task per agent and hands it to an executor
(agent_engine/executors/); `runner.run_task` runs it. Only a process entry point turns the
environment into a task (`AgentTask.from_env`, from `settings.env.EnvSettings`), so
`ONLY_SIGNATURE=<sig> python main.py` and `RUNTIME_ENV_PATH` keep working as the interface of
the subprocess executor; `to_env` is the inverse the subprocess executor uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from agent_engine.runtime_env import runtime_env_path
from settings.config import ArenaConfig
from settings.env import (
    ONLY_SIGNATURE_ENV,
    PARENT_PID_ENV,
    PREFETCH_ENV,
    RUN_ID_ENV,
    RUNTIME_ENV_PATH_ENV,
    SPAWN_TIME_ENV,
    TRADING_DAYS_ENV,
    EnvSettings,
)


def parse_trading_days(text: str | None) -> list[date] | None:
    if not text:
        return None
    return [date.fromisoformat(part) for part in text.split(",") if part]


@dataclass(frozen=True)
class AgentTask:
    """Everything one agent run needs besides its clock and its LLM client.

    - `trading_days`: the run's trading days (None: the agent asks the exchange calendar);
    - `run_id`: the orchestrator run this task belongs to ("" when run by hand);
    - `parent_pid`: the supervising process the agent must not outlive (None: none);
    - `spawn_time`: `time.time()` when the task was submitted, for the start-up measurement;
    - `prefetched`: the supervisor builds the replay snapshots (the agent only reads them).
    """

    config: ArenaConfig
    signature: str
    runtime_path: Path
    config_path: Path | None = None
    trading_days: tuple[date, ...] | None = None
    run_id: str = ""
    parent_pid: int | None = None
    spawn_time: float | None = None
    prefetched: bool = False

    @classmethod
    def from_env(cls, config: ArenaConfig, config_path: Path | None, env: EnvSettings) -> AgentTask:
        """The task of an agent process (`ONLY_SIGNATURE` set); malformed optional variables
        are ignored, as before tasks existed (days → calendar, spawn time → /proc)."""
        signature = env.only_signature
        rt = env.runtime_env_path
        try:
            days = parse_trading_days(env.trading_days)
        except ValueError:
            days = None
        try:
            spawn = float(env.spawn_time) if env.spawn_time else None
        except ValueError:
            spawn = None
        return cls(
            config=config,
            signature=signature,
            runtime_path=Path(rt).resolve() if rt else runtime_env_path(signature, env.runtime_dir),
            config_path=config_path,
            trading_days=None if days is None else tuple(days),
            run_id=env.run_id,
            parent_pid=int(env.parent_pid) if env.parent_pid.isdigit() else None,
            spawn_time=spawn,
            prefetched=config.mode == "replay" and env.prefetch == "1",
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make `from_env` give this task back in a child process (the
        config itself travels as the config file and main.py's flags)."""
        out = {ONLY_SIGNATURE_ENV: self.signature, RUNTIME_ENV_PATH_ENV: str(self.runtime_path)}
        if self.trading_days is not None:
            out[TRADING_DAYS_ENV] = ",".join(d.isoformat() for d in self.trading_days)
        if self.run_id:
            out[RUN_ID_ENV] = self.run_id
        if self.parent_pid is not None:
            out[PARENT_PID_ENV] = str(self.parent_pid)
        if self.spawn_time is not None:
            out[SPAWN_TIME_ENV] = repr(self.spawn_time)
        if self.prefetched:
            out[PREFETCH_ENV] = "1"
        return out
