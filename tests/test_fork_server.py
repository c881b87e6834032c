"""Agents forked by the warm fork servers (agent_engine/fork_server.py): each is its own OS
process, in its own session and process group, a child of the orchestrator (subreaper), writing
its own agent.log; SIGTERM to main.py stops them all and leaves nothing behind; with
ARENA_FORK_SERVER=0 agents are spawned as `python main.py` as before."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from agent_engine.fork_server import FORK_SERVER_ENV, ForkedProcess
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import arena_config, baseline, key_env, openai_agent, text_step
from tests.runner_helpers import alive_pids, main_env, read_json, run_main, start_main, wait_for

pytestmark = pytest.mark.slow

SLOW = 60.0


def test_forked_agents_are_separate_processes_with_their_own_group(
    tmp_path: Path, data_root: Path
) -> None:
    with FakeLLMServer(rule="answer") as server:
        for sig in ("slow-a", "slow-b"):
            server.add(text_step("slow", delay=SLOW), model=sig)
        models = [
            openai_agent("slow-a", server.openai_base_url, model="slow-a"),
            openai_agent("slow-b", server.openai_base_url, model="slow-b"),
        ]
        cfg = arena_config(tmp_path, data_root, models)
        runtime = tmp_path / "rt"
        env = main_env(runtime, **key_env())
        proc = start_main([str(cfg), "--no-backup"], env, tmp_path / "run.log")
        try:
            pids = {}
            for sig in ("slow-a", "slow-b"):
                path = runtime / f"runtime_env_{sig}.json"
                state = wait_for(
                    lambda p=path: (s := read_json(p)) and s.get("current_window") and s,
                    60,
                    f"{sig} running a window",
                )
                pids[sig] = state["pid"]
            agents = list(pids.values())
            assert len(set(agents)) == 2 and proc.pid not in agents
            orchestrator = psutil.Process(proc.pid)
            children = {c.pid: c for c in orchestrator.children()}
            forks = [
                c
                for c in children.values()
                if "agent_engine.fork_server" in c.cmdline() and c.pid not in agents
            ]
            assert len(forks) == 1  # one fork server (one provider), a separate process
            for pid in agents:
                assert pid in children  # re-parented to the orchestrator (subreaper)
                assert os.getpgid(pid) == pid and os.getsid(pid) == pid  # own group/session
                assert os.getpgid(pid) != os.getpgid(proc.pid)
                assert "agent_engine.fork_server" in " ".join(psutil.Process(pid).cmdline())
            for sig in pids:
                log = (data_root / "agent_data" / sig / "agent.log").read_text()
                assert f"{sig}: 9 window(s)" in log  # its own progress, in its own log
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        out = (tmp_path / "run.log").read_text()
        assert code == 143, out
        gone = [*agents, forks[0].pid]
        assert wait_for(lambda: not alive_pids(gone), 30, "agents and fork server to exit") is True
        for sig in pids:
            state = read_json(runtime / f"runtime_env_{sig}.json")
            assert state is not None
            assert (state["status"], state["last_error"]) == ("stopped", "stopped by SIGTERM")
            log = (data_root / "agent_data" / sig / "agent.log").read_text()
            assert f"{sig} stopped: 0/9 window(s) complete" in log


def test_fork_server_off_spawns_python_main(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline("bh")])
    env = main_env(tmp_path / "rt", **{FORK_SERVER_ENV: "0"})
    result = run_main([str(cfg), "--no-backup"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    log = (data_root / "agent_data" / "bh" / "agent.log").read_text()
    assert "bh completed: 9/9 window(s) complete" in log


def test_forked_process_reports_exit_codes_like_popen() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    child = ForkedProcess(pid)
    assert child.wait(timeout=30) == 3 and child.poll() == 3
    pid = os.fork()
    if pid == 0:
        signal.pause()
        os._exit(0)
    child = ForkedProcess(pid)
    assert child.poll() is None
    os.kill(pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
