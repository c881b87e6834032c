"""The subprocess executor: each task runs as `python main.py <config> ...` with the task in
its environment (`AgentTask.to_env`: `ONLY_SIGNATURE`, `RUNTIME_ENV_PATH`, ...), in its own
process group (`start_new_session`), so a terminal's Ctrl-C reaches only the orchestrator,
which forwards it with `cancel`. Output goes to `<data_root>/agent_data/<sig>/agent.log`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent_engine.agent_task import AgentTask
from agent_engine.executors.base import AgentHandle
from settings.config import PROJECT_ROOT
from settings.env import PREFETCH_ENV, RUN_ID_ENV

MAIN_PY = PROJECT_ROOT / "main.py"


class SubprocessExecutor:
    """Runs tasks as child processes of this one.

    `base_env`: the children's environment besides the task (the orchestrator passes its own,
    as read at its entry point; API keys reach the agents this way); `child_args`: main.py
    flags that make the child load the same config (`--init-date`, `--replay-llm`, ...)."""

    def __init__(
        self,
        base_env: Mapping[str, str],
        child_args: Sequence[str] = (),
        *,
        main_py: Path = MAIN_PY,
        python: str = sys.executable,
        fork_servers: Any = None,
    ) -> None:
        self.fork_servers = fork_servers  # agent_engine.fork_server.ForkServers, or None
        self.base_env = dict(base_env)
        self.child_args = list(child_args)
        self.main_py = main_py
        self.python = python

    def submit(self, task: AgentTask) -> AgentHandle:
        if task.config_path is None:
            raise ValueError(f"{task.signature}: a subprocess task needs its config file")
        env = dict(self.base_env)
        for name in (PREFETCH_ENV, RUN_ID_ENV):  # only the task decides these
            env.pop(name, None)
        env.update(task.to_env())
        env.setdefault("PYTHONUNBUFFERED", "1")
        log_path = task.config.data_root() / "agent_data" / task.signature / "agent.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.python, str(self.main_py), str(task.config_path), *self.child_args]
        if self.fork_servers is not None:  # forked from a warm server (falls back to Popen)
            provider = task.config.model(task.signature).provider
            proc: Any = self.fork_servers.launch(cmd, env, log_path, provider)
            return AgentHandle(
                task.signature,
                task.runtime_path,
                log_path,
                time.monotonic(),
                pid=proc.pid,
                ref=proc,
            )
        with open(log_path, "ab") as log_fh:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=str(PROJECT_ROOT),
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return AgentHandle(
            task.signature, task.runtime_path, log_path, time.monotonic(), pid=proc.pid, ref=proc
        )

    def poll(self, handle: AgentHandle) -> int | None:
        if handle.exit_code is None:
            code = handle.ref.poll()
            if code is not None:
                handle.exit_code, handle.ended = code, time.monotonic()
        return handle.exit_code

    def cancel(self, handle: AgentHandle, signum: int) -> None:
        if handle.exit_code is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle.ref.pid, signum)

    def wait(self, handle: AgentHandle, timeout: float | None = None) -> int | None:
        if handle.exit_code is None:
            try:
                handle.ref.wait(timeout)
            except subprocess.TimeoutExpired:  # also raised by fork_server.ForkedProcess
                return None
        return self.poll(handle)
