"""Killing things mid-run: an agent SIGKILLed (rerun loses and doubles nothing), main.py
SIGTERMed (forwarded, no orphans, exit 143) and main.py SIGKILLed (agents still go away)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from agent_engine.agent_process import record_abandoned
from agent_engine.stop_signals import ORPHAN_CLEANUP_SECONDS, ORPHAN_GRACE_SECONDS
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import (
    WINDOWS,
    arena_config,
    baseline,
    key_env,
    openai_agent,
    summary_rows,
    text_step,
    trade_step,
)
from tests.runner_helpers import (
    alive_pids,
    assert_windows_exactly_once,
    main_env,
    positions,
    read_json,
    run_main,
    start_main,
    wait_for,
    window_log,
)

pytestmark = pytest.mark.slow

SLOW = 60.0  # a reply the test never waits for: the agent is killed or stopped during it


def _events(data_root: Path, sig: str, window_id: str) -> list[str]:
    try:
        return [e["type"] for e in window_log(data_root, sig, window_id)]
    except FileNotFoundError:
        return []


def test_sigkilled_agents_resume_without_losing_or_doubling_a_window(
    tmp_path: Path, data_root: Path
) -> None:
    # "after": killed in window 4 after its BUY was recorded (waiting for its final answer):
    # the window is not complete (no window_end), it is resumed and finished without a 2nd BUY;
    # "before": killed in window 4 while waiting for its first reply (nothing recorded).
    with FakeLLMServer(rule="answer") as server:
        server.add(*[text_step()] * 3, trade_step("SH688008", "BUY", 200),
                   text_step("done", delay=SLOW), model="after")  # fmt: skip
        server.add(*[text_step()] * 3, text_step("late", delay=SLOW), model="before")
        models = [
            baseline("bh"),
            openai_agent("after", server.openai_base_url),
            openai_agent("before", server.openai_base_url),
        ]
        cfg = arena_config(tmp_path, data_root, models)
        runtime = tmp_path / "rt"
        env = main_env(runtime, **key_env())
        proc = start_main([str(cfg), "--no-backup"], env, tmp_path / "run1.log")
        try:
            w4 = WINDOWS[3]
            wait_for(lambda: "tool_result" in _events(data_root, "after", w4), 60, "after's BUY")
            wait_for(lambda: "window_start" in _events(data_root, "before", w4), 60, "before")
            for sig in ("after", "before"):
                # progress writes are throttled (runtime_env.WRITE_INTERVAL_SECONDS)
                path = runtime / f"runtime_env_{sig}.json"
                state = wait_for(
                    lambda p=path: (s := read_json(p)) and s["current_window"] == w4 and s,
                    30,
                    f"{sig}'s runtime env to show {w4}",
                )
                os.kill(state["pid"], signal.SIGKILL)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        out = (tmp_path / "run1.log").read_text()
        assert code == 1, out
        rows = summary_rows(out)
        assert rows["bh"][0] == "completed"
        assert rows["after"][:2] == ["failed", "3/9"] and rows["before"][:2] == ["failed", "3/9"]
        assert "agent after failed: killed by SIGKILL" in out
        state = read_json(runtime / "runtime_env_after.json")
        assert state is not None and state["status"] == "failed"
        assert state["last_error"] == "killed by SIGKILL"

        # Rerun: both resume window 4 (attempt 2); "after" does not buy again
        def after_requests() -> list[dict[str, Any]]:
            return [b for b in server.bodies("/chat/completions") if b.get("model") == "after"]

        killed_request = after_requests()[-1]
        again = run_main([str(cfg), "--no-backup"], env)
        assert again.returncode == 0, again.stdout + again.stderr
        # asked again with the killed call's history, then windows 5-9
        assert after_requests()[-6]["messages"] == killed_request["messages"]

    after = positions(data_root, "after")
    assert_windows_exactly_once(after, WINDOWS)
    buys = [r for r in after if r["this_action"]["action"] == "BUY"]
    assert [b["window_id"] for b in buys] == [WINDOWS[3]]
    log4 = window_log(data_root, "after", WINDOWS[3])
    assert [e["attempt"] for e in log4 if e["type"] == "window_start"] == [1, 2]
    assert [e["type"] for e in log4].count("prompt") == 1
    assert [e["outcome"] for e in log4 if e["type"] == "window_end"] == ["traded"]
    before = positions(data_root, "before")
    assert_windows_exactly_once(before, WINDOWS)
    log4 = window_log(data_root, "before", WINDOWS[3])
    assert [e["attempt"] for e in log4 if e["type"] == "window_start"] == [1, 2]
    assert [e["outcome"] for e in log4 if e["type"] == "window_end"] == ["no_trade"]
    assert_windows_exactly_once(positions(data_root, "bh"), WINDOWS)


def test_sigterm_to_main_stops_every_agent_and_leaves_no_orphans(
    tmp_path: Path, data_root: Path
) -> None:
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step(), text_step("slow", delay=SLOW), model="slow")
        models = [baseline("bh"), openai_agent("slow", server.openai_base_url)]
        cfg = arena_config(tmp_path, data_root, models)
        runtime = tmp_path / "rt"
        env = main_env(runtime, **key_env())
        proc = start_main([str(cfg), "--no-backup"], env, tmp_path / "run.log")
        try:
            wait_for(lambda: "window_start" in _events(data_root, "slow", WINDOWS[1]), 60, "w2")
            children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            assert children  # "bh" (a fast baseline) may already be done
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        out = (tmp_path / "run.log").read_text()
        assert code == 143, out
        assert wait_for(lambda: not alive_pids(children), 10, "children to exit") is True
        # "slow" is still running (and "bh" may be): never "stopping 0"
        assert re.search(r"received SIGTERM: stopping [12] running agent\(s\)", out), out
        assert summary_rows(out)["slow"][:2] == ["stopped", "1/9"]
        state = read_json(runtime / "runtime_env_slow.json")
        assert state is not None and state["status"] == "stopped"
        assert state["current_window"] == WINDOWS[1]
        log2 = window_log(data_root, "slow", WINDOWS[1])
        assert log2[-1]["type"] == "window_end" and log2[-1]["outcome"] == "interrupted"
        # the stopped run resumes where it stopped
        again = run_main([str(cfg), "--no-backup"], env)
        assert again.returncode == 0, again.stdout + again.stderr
    assert_windows_exactly_once(positions(data_root, "slow"), WINDOWS)
    assert_windows_exactly_once(positions(data_root, "bh"), WINDOWS)


def test_sigkilled_main_leaves_no_orphans(tmp_path: Path, data_root: Path) -> None:
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step("slow", delay=SLOW), model="slow")
        cfg = arena_config(tmp_path, data_root, [openai_agent("slow", server.openai_base_url)])
        env = main_env(tmp_path / "rt", **key_env())
        proc = start_main([str(cfg), "--no-backup"], env, tmp_path / "run.log")
        try:
            wait_for(lambda: "window_start" in _events(data_root, "slow", WINDOWS[0]), 60, "w1")
            children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            assert children
            proc.kill()
            proc.wait(timeout=10)
            # a busy machine may need a while to record the stop: wait for it (bounded)
            limit = ORPHAN_GRACE_SECONDS + ORPHAN_CLEANUP_SECONDS + 10
            assert wait_for(lambda: not alive_pids(children), limit, "orphans to exit") is True
        finally:
            if proc.poll() is None:
                proc.kill()
    state = read_json(tmp_path / "rt" / "runtime_env_slow.json")
    assert state is not None
    assert (state["status"], state["last_error"]) == ("stopped", "stopped by SIGTERM")


def test_orphan_guard_lets_a_slow_stop_finish(tmp_path: Path, data_root: Path) -> None:
    """On a busy machine an agent may need more than ORPHAN_GRACE_SECONDS to record its stop
    after the orchestrator died (the cause of the flaky `'running' == 'stopped'` above). Its
    clean-up is made to block here (the manifest is a FIFO nobody reads yet): the orphan guard
    must not cut it short, and once it can go on the agent records `stopped`."""
    with FakeLLMServer(rule="answer") as server:
        server.add(text_step("slow", delay=SLOW), model="slow")
        cfg = arena_config(tmp_path, data_root, [openai_agent("slow", server.openai_base_url)])
        env = main_env(tmp_path / "rt", **key_env())
        proc = start_main([str(cfg), "--no-backup"], env, tmp_path / "run.log")
        children: list[int] = []
        fifo_reader: int | None = None
        try:
            wait_for(lambda: "window_start" in _events(data_root, "slow", WINDOWS[0]), 60, "w1")
            # the agent process (not the fork server, which dies with the orchestrator)
            state = read_json(tmp_path / "rt" / "runtime_env_slow.json")
            assert state is not None
            children = [state["pid"]]
            assert children[0] in [c.pid for c in psutil.Process(proc.pid).children()]
            manifest = data_root / "agent_data" / "slow" / "manifest.jsonl"
            os.replace(manifest, manifest.with_suffix(".bak"))
            os.mkfifo(manifest)
            proc.kill()
            proc.wait(timeout=10)
            killed = time.monotonic()
            # the agent handled SIGTERM: its interrupted window is closed, then it blocks
            wait_for(lambda: "window_end" in _events(data_root, "slow", WINDOWS[0]), 60, "end")
            while time.monotonic() < killed + ORPHAN_GRACE_SECONDS + 2:
                assert alive_pids(children) == children, "the orphan guard cut the clean-up short"
                time.sleep(0.1)
            fifo_reader = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK)
            wait_for(lambda: not alive_pids(children), 60, "the agent to finish its clean-up")
        finally:
            if proc.poll() is None:
                proc.kill()
            for pid in alive_pids(children):
                os.kill(pid, signal.SIGKILL)
            if fifo_reader is not None:
                os.close(fifo_reader)
    state = read_json(tmp_path / "rt" / "runtime_env_slow.json")
    assert state is not None
    assert (state["status"], state["last_error"]) == ("stopped", "stopped by SIGTERM")


def test_an_abandoned_agent_is_recorded_stopped(tmp_path: Path) -> None:
    """What the orphan guard writes before it ends an agent that could not stop by itself."""
    path = tmp_path / "runtime_env_a.json"
    record_abandoned(path, "gone")  # no file: nothing to record
    assert not path.exists()
    path.write_text(json.dumps({"signature": "a", "status": "running", "last_error": None}))
    record_abandoned(path, "orchestrator died; no reaction to SIGTERM in 5 s")
    state = read_json(path)
    assert state is not None
    assert (state["status"], state["last_error"]) == (
        "stopped",
        "orchestrator died; no reaction to SIGTERM in 5 s",
    )
    path.write_text(json.dumps({"signature": "a", "status": "completed", "last_error": None}))
    record_abandoned(path, "late")  # a final state is never overwritten
    assert read_json(path) == {"signature": "a", "status": "completed", "last_error": None}
