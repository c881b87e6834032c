"""The process environment, read once: `EnvSettings` (pydantic-settings).

Only the process entry points (main.py, the `python -m` CLIs) create it, with
`EnvSettings.from_env()`, and pass it (or the values in it) down; nothing below them reads
`os.environ`. API keys are the one exception by design: their variable names come from the
config (`api_key_env`), so `env_value` reads them here, at the moment they are needed, and
they are never stored.

A process that starts children (main.py, the experiment CLI, the API's `JobManager`, a Ray
cell task on its node) gives them its whole environment (PATH, API keys, ...):
`process_environ()` is that copy, taken by the entry point and passed down. The library
defaults for a caller that passes nothing (`JobManager(environ=None)`,
`data_flow.backup.default_backup_root(None)`) read it here too, so this module stays the one
reader of the environment.
"""

from __future__ import annotations

import os

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ONLY_SIGNATURE_ENV = "ONLY_SIGNATURE"
RUNTIME_ENV_PATH_ENV = "RUNTIME_ENV_PATH"
RUNTIME_DIR_ENV = "RUNTIME_DIR"
BACKUP_DIR_ENV = "ARENA_BACKUP_DIR"
# Set by the orchestrator for each agent process (see agent_engine/agent_task.py):
TRADING_DAYS_ENV = "ARENA_TRADING_DAYS"  # the run's trading days (no calendar/pandas import there)
SPAWN_TIME_ENV = "ARENA_SPAWN_TIME"  # time.time() at spawn, for the start-up measurement
PARENT_PID_ENV = "ARENA_PARENT_PID"  # the orchestrator, which the agent must not outlive
PREFETCH_ENV = "ARENA_PREFETCH"  # "1": the orchestrator builds the replay snapshots
RUN_ID_ENV = "ARENA_RUN_ID"  # the orchestrator's run id (its pid and start time)
KILL_AFTER_WRITES_ENV = "ARENA_TEST_KILL_AFTER_WRITES"  # test seam (agent_engine/crash_seam.py)
CALENDAR_CACHE_DIR_ENV = "ARENA_CALENDAR_CACHE_DIR"  # data_flow/trading_days_cache.py (tests)
FORK_SERVER_ENV = "ARENA_FORK_SERVER"  # "0": spawn agents with `python main.py`, no fork server
JOB_ID_ENV = "ARENA_JOB_ID"  # set by the API's JobManager for the runs it starts


def _field(name: str) -> object:
    return Field(default="", validation_alias=AliasChoices(name))


class EnvSettings(BaseSettings):
    """Every environment variable the arena's processes read (raw text, "" when unset)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    only_signature: str = _field(ONLY_SIGNATURE_ENV)  # type: ignore[assignment]
    runtime_env_path: str = _field(RUNTIME_ENV_PATH_ENV)  # type: ignore[assignment]
    runtime_dir: str = _field(RUNTIME_DIR_ENV)  # type: ignore[assignment]
    backup_dir: str = _field(BACKUP_DIR_ENV)  # type: ignore[assignment]
    trading_days: str = _field(TRADING_DAYS_ENV)  # type: ignore[assignment]
    spawn_time: str = _field(SPAWN_TIME_ENV)  # type: ignore[assignment]
    parent_pid: str = _field(PARENT_PID_ENV)  # type: ignore[assignment]
    prefetch: str = _field(PREFETCH_ENV)  # type: ignore[assignment]
    run_id: str = _field(RUN_ID_ENV)  # type: ignore[assignment]
    kill_after_writes: str = _field(KILL_AFTER_WRITES_ENV)  # type: ignore[assignment]
    fork_server: str = _field(FORK_SERVER_ENV)  # type: ignore[assignment]
    calendar_cache_dir: str = _field(CALENDAR_CACHE_DIR_ENV)  # type: ignore[assignment]
    job_id: str = _field(JOB_ID_ENV)  # type: ignore[assignment]

    @classmethod
    def from_env(cls) -> EnvSettings:
        """The settings of this process's environment (entry points only)."""
        return cls()

    @classmethod
    def of(cls, values: dict[str, str]) -> EnvSettings:
        """Settings from explicit variables (tests, child environments), ignoring the process's."""
        fields = {
            name: values.get(_alias(info.validation_alias), "").strip()
            for name, info in cls.model_fields.items()
        }
        return cls.model_construct(**fields)

    def to_env(self) -> dict[str, str]:
        """The variables of the non-empty settings, by their environment names."""
        out = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value:
                out[_alias(info.validation_alias)] = value
        return out

    def model_post_init(self, _context: object) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, str) and value != value.strip():
                object.__setattr__(self, name, value.strip())


def _alias(alias: object) -> str:
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def replace_process_environ(values: dict[str, str]) -> None:
    """Make `values` this process's whole environment: a forked agent takes the environment
    its orchestrator gave it, as an exec'd one would (agent_engine/fork_server.py)."""
    os.environ.clear()
    os.environ.update(values)


def process_environ() -> dict[str, str]:
    """A copy of this process's whole environment: the base of a child process's."""
    return dict(os.environ)


def env_value(name: str) -> str | None:
    """The stripped value of the variable `name`, None when unset or blank: API keys (their
    names come from the config) and settings read deep below the entry points where passing
    them down would thread them through every caller (the trading-day cache folder)."""
    value = os.environ.get(name, "").strip()
    return value or None
