"""Warm fork servers: agent processes forked from a process that has already imported them.

Starting an agent as `python main.py` costs ~0.5 s (interpreter, pydantic, the provider's SDK:
`openai` alone is ~0.3 s) and ~40 MB of private memory per agent. Instead, on Linux, the
orchestrator starts one fork server per provider in use (`python -m agent_engine.fork_server
<provider>`), which imports the agent code and that provider's SDK only (an agent still loads
only the SDK it uses), freezes its objects for the garbage collector (`gc.freeze`, so children
keep sharing those pages) and then forks one process per agent on request.

Each agent is still its own OS process, exactly as with `python main.py`: the fork server forks
a short-lived middle process, which forks the agent and exits; the agent calls `setsid()` (its own
session and process group, so the orchestrator's `killpg` reaches it and only it), its stdin is
/dev/null, stdout/stderr go to its `agent.log`, its environment is the one the orchestrator built,
and it runs `main.main()` like a spawned `main.py`. The orchestrator is a child subreaper
(`PR_SET_CHILD_SUBREAPER`), so the agent is re-parented to it when the middle process exits: the
orchestrator waits for it like a child (`ForkedProcess`), and the agent's `PR_SET_PDEATHSIG` and
orphan guard (stop_signals.die_with_parent) refer to the orchestrator as before. A fork server
dies with the orchestrator (`PR_SET_PDEATHSIG`) and exits when its socket is closed.

`ARENA_FORK_SERVER=0` (or a platform without `prctl`) spawns `python main.py` per agent instead.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from settings.env import EnvSettings, replace_process_environ

FORK_SERVER_ENV = "ARENA_FORK_SERVER"
SERVER_MODULE = "agent_engine.fork_server"
PARENT_PID_ENV = "ARENA_PARENT_PID"  # same name as stop_signals.PARENT_PID_ENV (cheap import)
COMMON_MODULES = (
    "main",
    "settings.config",
    "filelock",
    "agent_engine.runner",
    "agent_engine.loop",
    "agent_engine.broker",
    "agent_engine.ledger",
    "agent_engine.tools",
    "agent_engine.prompt",
    "agent_engine.manifest",
    "agent_engine.llm.factory",
    "data_flow.snapshot_store",
)
PROVIDER_MODULES = {
    "openai": ("agent_engine.llm.openai_client",),
    "anthropic": ("agent_engine.llm.anthropic_client",),
    "baseline": ("agent_engine.baselines",),
}
REPARENT_WAIT_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# --- orchestrator side -------------------------------------------------------------------
class ForkedProcess:
    """An agent forked by a fork server and re-parented to this process: the parts of the
    `subprocess.Popen` interface the orchestrator uses (`pid`, `returncode`, `poll`, `wait`)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                got, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not our child (cannot happen under a subreaper)
                self.returncode = 255
                return self.returncode
            if got:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """One fork server process (for the agents of one provider)."""

    def __init__(self, provider: str, base_env: Mapping[str, str]) -> None:
        mine, theirs = socket.socketpair()
        env = {**base_env, PARENT_PID_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"}
        from settings.config import PROJECT_ROOT

        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", SERVER_MODULE, provider, str(theirs.fileno())],
            cwd=str(PROJECT_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
        )
        theirs.close()
        self._sock = mine
        self._file = mine.makefile("rwb")
        self._ready = False

    def spawn(self, argv: Sequence[str], env: dict[str, str], log_path: Path) -> ForkedProcess:
        """Fork an agent running `main.main(argv[1:])`; OSError when the server is gone."""
        if not self._ready:
            self._read()  # the server's "ready" line (its imports are done)
            self._ready = True
        request = {"argv": list(argv), "env": env, "log": str(log_path), "cwd": os.getcwd()}
        self._file.write(json.dumps(request).encode("utf-8") + b"\n")
        self._file.flush()
        reply = self._read()
        if "pid" not in reply:
            raise OSError(f"fork server: {reply.get('error', reply)}")
        return ForkedProcess(int(reply["pid"]))

    def _read(self) -> dict[str, Any]:
        line = self._file.readline()
        if not line:
            code = self.proc.poll()
            raise OSError(f"fork server exited (code {code})")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
            self._sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ForkServers:
    """The orchestrator's fork servers, one per provider, started on first use (or early with
    `prestart`, so their imports overlap with the orchestrator's planning)."""

    def __init__(self, base_env: Mapping[str, str], *, enabled: bool = True) -> None:
        """`base_env`: the servers' environment (the entry point's); `enabled`: False for
        `ARENA_FORK_SERVER=0` (read by the entry point into `settings.env.EnvSettings`)."""
        self._servers: dict[str, ForkServer] = {}
        self._base_env = dict(base_env)
        self.enabled = enabled and _prctl(_PR_SET_CHILD_SUBREAPER, 1)

    def prestart(self, providers: Sequence[str]) -> None:
        for provider in providers:
            self._server(provider)

    def _server(self, provider: str) -> ForkServer | None:
        if not self.enabled or provider not in PROVIDER_MODULES:
            return None
        if provider not in self._servers:
            self._servers[provider] = ForkServer(provider, self._base_env)
        return self._servers[provider]

    def launch(self, cmd: Sequence[str], env: dict[str, str], log_path: Path, provider: str) -> Any:
        """The agent's process: forked by the provider's fork server, else `subprocess.Popen`
        (fork servers disabled or unavailable)."""
        server = self._server(provider)
        if server is not None:
            try:
                return server.spawn(cmd[1:], env, log_path)
            except (OSError, ValueError) as err:
                sys.stderr.write(f"warning: {err}; starting agents with python main.py\n")
                self.enabled = False
        from settings.config import PROJECT_ROOT

        with open(log_path, "ab") as log_fh:
            return subprocess.Popen(
                list(cmd),
                env=env,
                cwd=str(PROJECT_ROOT),
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def close(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()


# --- fork server side --------------------------------------------------------------------
def _child(request: dict[str, Any], report_fd: int, sock: socket.socket) -> None:
    """The agent process (never returns)."""
    code = 1
    try:
        os.close(sock.fileno())  # the fork server's socket is not the agent's business
        os.setsid()  # its own session and process group, before the orchestrator hears of it
        os.write(report_fd, str(os.getpid()).encode())
        os.close(report_fd)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(s, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.chdir(request["cwd"])
        replace_process_environ(request["env"])
        orchestrator = int(request["env"].get(PARENT_PID_ENV) or 0)
        deadline = time.monotonic() + REPARENT_WAIT_SECONDS
        while orchestrator and os.getppid() != orchestrator and time.monotonic() < deadline:
            time.sleep(0.001)  # the middle process is exiting: we become the orchestrator's
        sys.argv = list(request["argv"])
        import main

        code = main.main(sys.argv[1:])
        main._exit_now(code)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _fork_agent(request: dict[str, Any], sock: socket.socket) -> int:
    read_fd, write_fd = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_fd)
            if os.fork() == 0:
                _child(request, write_fd, sock)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 64):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(middle, 0)
    if not chunks:
        raise OSError("the agent process did not start")
    return int(b"".join(chunks))


def serve(provider: str, fd: int) -> int:
    """The fork server's process (`python -m agent_engine.fork_server`, an entry point)."""
    parent = EnvSettings.from_env().parent_pid
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if not parent.isdigit() or os.getppid() != int(parent):
        return 1  # the orchestrator is already gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator closes the socket instead
    for name in (*COMMON_MODULES, *PROVIDER_MODULES[provider]):
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=fd)
    stream = sock.makefile("rwb")
    stream.write(b'{"ready": true}\n')
    stream.flush()
    for line in stream:
        try:
            reply: dict[str, Any] = {"pid": _fork_agent(json.loads(line), sock)}
        except (OSError, ValueError, KeyError) as err:
            reply = {"error": f"{type(err).__name__}: {err}"}
        stream.write(json.dumps(reply).encode("utf-8") + b"\n")
        stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2])))
