"""Real jobs: the API spawns `python main.py` on a demo-source config in a tmp data root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient

from api_server import ApiSettings, create_app
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT, SETTINGS_DIR
from tests.api_fixtures import LOCAL, scenario_config
from tests.fake_llm_server import FakeLLMServer
from tests.runner_helpers import FAKE_KEY
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PROJECT_ROOT / "main.py").is_file(), reason="main.py not written yet"),
]


@pytest.fixture
def make_config(root: Path) -> Iterator[Callable[..., str]]:
    created: list[Path] = []

    def make(**overrides: Any) -> str:
        name = f"test_tmp_{uuid.uuid4().hex}.json"
        path = SETTINGS_DIR / name
        path.write_text(json.dumps(scenario_config(root, **overrides)), encoding="utf-8")
        created.append(path)
        return name

    yield make
    for path in created:
        path.unlink(missing_ok=True)


def app_client(root: Path) -> TestClient:
    return TestClient(
        create_app(ApiSettings(data_root=root, stop_grace_seconds=5.0)), base_url=LOCAL
    )


def test_job_runs_to_completion_and_survives_restart(
    root: Path, make_config: Callable[..., str]
) -> None:
    name = make_config()
    with app_client(root) as c:
        resp = c.post("/api/run-trading", json={"config_path": name})
        assert resp.status_code == 200, resp.text
        started = resp.json()
        assert set(started) == {"job_id", "pid", "status", "started_at"}
        assert started["status"] == "running"
        job_id = started["job_id"]
        assert c.get("/").json()["active_jobs"] == 1
        # Same data root while active -> 409 naming the job.
        again = c.post("/api/run-trading", json={"config_path": name})
        assert again.status_code == 409 and job_id in again.json()["detail"]

        job = wait_for(
            lambda: (j := c.get(f"/api/job/{job_id}").json())["status"] != "running" and j,
            120,
            "the job to finish",
        )
        assert job["status"] == "completed", job["log_tail"]
        assert job["exit_code"] == 0 and job["ended_at"] and job["error"] is None
        assert job["config_path"] == name and job["data_root"] == str(root)
        progress = [
            (a["signature"], a["status"], a["windows_done"], a["windows_total"])
            for a in job["agents"]
        ]
        assert progress == [("bh", "completed", 9, 9), ("mom", "completed", 9, 9)]
        assert any("Summary" in line for line in job["log_tail"])
        assert sorted(p.name for p in (root / "jobs" / job_id / "runtime").iterdir()) == [
            "runtime_env_bh.json",
            "runtime_env_mom.json",
        ]
        stats = c.get("/api/live/model-stats").json()["data"]
        assert [(s["signature"], s["windows_done"]) for s in stats] == [("bh", 9), ("mom", 9)]
        assert c.get("/").json()["active_jobs"] == 0

    with app_client(root) as c2:  # a restarted server sees the job from the registry
        listed = c2.get("/api/jobs").json()
        assert listed["count"] == 1
        assert listed["data"][0]["job_id"] == job_id
        assert listed["data"][0]["status"] == "completed"
        assert listed["data"][0]["exit_code"] == 0


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _gone(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_mid_run_then_resume(root: Path, make_config: Callable[..., str]) -> None:
    name = make_config(date_range={"init_date": "2025-11-03", "end_date": "2025-12-31"})
    with app_client(root) as c:
        job_id = c.post("/api/run-trading", json={"config_path": name}).json()["job_id"]
        wait_for(
            lambda: all(
                a["windows_done"] >= 2 for a in c.get(f"/api/job/{job_id}").json()["agents"]
            ),
            120,
            "two windows per agent",
        )
        pid = c.get(f"/api/job/{job_id}").json()["pid"]
    # The server restarts while the run goes on: the new instance adopts the live job.
    with app_client(root) as c:
        job = c.get(f"/api/job/{job_id}").json()
        assert job["status"] == "running"
        tree = _tree(pid)
        assert len(tree) >= 3  # orchestrator + one process per agent
        t0 = time.monotonic()
        stopped = c.post(f"/api/stop/{job_id}", json={})
        elapsed = time.monotonic() - t0
        assert stopped.status_code == 200
        assert stopped.json()["status"] == "stopped"
        assert stopped.json()["exit_code"] in (None, 143, -15, -9)
        assert elapsed < 10
        wait_for(lambda: all(_gone(p) for p in tree), 10 - elapsed, "the process tree to exit")
        assert c.get("/").json()["active_jobs"] == 0
        assert c.post(f"/api/stop/{job_id}", json={}).json()["status"] == "stopped"  # idempotent
        # The first server's watcher (same process here) records main.py's exit code.
        code = wait_for(
            lambda: c.get(f"/api/job/{job_id}").json()["exit_code"], 10, "the exit code"
        )
        assert code == 143  # main.py exits 143 on SIGTERM (contract)

        # Records written so far are valid and complete lines.
        before: dict[str, list[bytes]] = {}
        for sig in ("bh", "mom"):
            ledger = root / "agent_data" / sig / "position" / "position.jsonl"
            raw = ledger.read_bytes()
            records = read_jsonl(ledger, strict=True)
            assert records[0]["this_action"] == {"action": "seed"}
            assert [r["id"] for r in records] == list(range(len(records)))
            before[sig] = raw.splitlines(keepends=True)
            if not raw.endswith(b"\n"):  # a torn tail is allowed; the writer repairs it
                before[sig] = before[sig][:-1]
        done = {sig: {r["window_id"] for r in read_jsonl(
            root / "agent_data" / sig / "position" / "position.jsonl") if r["window_id"]}
            for sig in ("bh", "mom")}  # fmt: skip
        last_day = max(w[:10] for ws in done.values() for w in ws)

        # A later run over a short range resumes: old records untouched, no window twice.
        resp = c.post(
            "/api/run-trading",
            json={"config_path": name, "end_date": last_day, "signatures": ["bh", "mom"]},
        )
        assert resp.status_code == 200, resp.text
        job2 = resp.json()["job_id"]
        final = wait_for(
            lambda: (j := c.get(f"/api/job/{job2}").json())["status"] != "running" and j,
            120,
            "the resumed job",
        )
        assert final["status"] == "completed", final["log_tail"]
        for sig in ("bh", "mom"):
            ledger = root / "agent_data" / sig / "position" / "position.jsonl"
            lines = ledger.read_bytes().splitlines(keepends=True)
            assert lines[: len(before[sig])] == before[sig]
            records = read_jsonl(ledger, strict=True)
            ids = [r["id"] for r in records]
            assert ids == list(range(len(ids)))
            windows = [r["window_id"] for r in records if r["window_id"]]
            # each window's records are contiguous: a window is never run twice
            runs = [w for i, w in enumerate(windows) if i == 0 or windows[i - 1] != w]
            assert len(runs) == len(set(runs))
            assert done[sig] <= set(windows)
        jobs = c.get("/api/jobs").json()
        assert [j["job_id"] for j in jobs["data"]] == [job2, job_id]  # newest first


def test_restart_reconciles_dead_pids(root: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    create_time = psutil.Process(proc.pid).create_time()
    proc.wait()
    job_id = uuid.uuid4().hex
    runtime = root / "jobs" / job_id / "runtime"
    runtime.mkdir(parents=True)
    (runtime / "runtime_env_bh.json").write_text(
        json.dumps({"signature": "bh", "status": "running", "windows_done": 3, "windows_total": 9})
    )
    registry = {
        "schema_version": 1,
        "jobs": [
            {
                "job_id": job_id,
                "status": "running",
                "pid": proc.pid,
                "create_time": create_time,
                "config_path": "x.json",
                "config_file": "/nonexistent/x.json",
                "data_root": str(root),
                "started_at": "2026-01-01T00:00:00.000+08:00",
                "signatures": ["bh"],
                "log_path": str(root / "jobs" / f"{job_id}.log"),
                "runtime_dir": str(runtime),
            }
        ],
    }
    (root / "jobs" / "registry.json").write_text(json.dumps(registry))
    with app_client(root) as c:
        job = c.get(f"/api/job/{job_id}").json()
        assert job["status"] == "failed"
        assert "exit code unknown" in job["error"]
        assert job["agents"] == [
            {"signature": "bh", "status": "running", "windows_done": 3, "windows_total": 9,
             "skip_reason": None}
        ]  # fmt: skip
        assert c.get("/").json()["active_jobs"] == 0
    saved = json.loads((root / "jobs" / "registry.json").read_text())
    assert saved["jobs"][0]["status"] == "failed"
    assert os.path.exists(root / "jobs" / "registry.json")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(
    root: Path, port: int, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ARENA_DATA_ROOT=str(root), ARENA_STOP_GRACE_SECONDS="5")
    env.update(extra_env or {})
    env.pop("ARENA_API_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "api_server.py", "--port", str(port), "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=env,
    )


def test_killed_server_restarts_and_stops_the_orphaned_job(
    root: Path, make_config: Callable[..., str]
) -> None:
    import httpx

    # An LLM agent whose first model call the fake server holds for minutes: the job cannot
    # finish while the API server is down and restarted, however slow the machine is.
    held = FakeLLMServer([{"kind": "text", "text": "late", "delay": 600}])
    held.start()
    llm = {"signature": "llm", "provider": "openai", "basemodel": "fake-model",
           "api_key_env": "OPENAI_API_KEY", "base_url": held.openai_base_url}  # fmt: skip
    models = [*scenario_config(root)["models"], llm]
    agent_config = {"timeout_seconds": 3000, "window_timeout_seconds": 3600}
    name = make_config(models=models, agent_config=agent_config)
    key = {"OPENAI_API_KEY": FAKE_KEY}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    server = _start_server(root, port, key)
    try:
        wait_for(up, 30, "server 1")
        job_id = httpx.post(base + "/api/run-trading", json={"config_path": name}).json()["job_id"]
        wait_for(
            lambda: (
                any(
                    a["windows_done"] >= 1
                    for a in httpx.get(f"{base}/api/job/{job_id}").json()["agents"]
                )
                and held.requests
            ),
            60,
            "progress and the held model call",
        )
    finally:
        server.kill()  # no shutdown hooks: the run must survive on its own
        server.wait(10)
    pid = json.loads((root / "jobs" / "registry.json").read_text())["jobs"][0]["pid"]
    tree = _tree(pid)
    # the run survives the server (its baseline agents may already have finished)
    assert not _gone(tree[0])

    server = _start_server(root, port, key)
    try:
        wait_for(up, 30, "server 2")
        job = httpx.get(f"{base}/api/job/{job_id}").json()
        assert job["status"] == "running"
        assert httpx.get(base + "/").json()["active_jobs"] == 1
        t0 = time.monotonic()
        stopped = httpx.post(f"{base}/api/stop/{job_id}", json={}, timeout=15).json()
        assert stopped["status"] == "stopped"
        wait_for(lambda: all(_gone(p) for p in tree), 10 - (time.monotonic() - t0), "tree gone")
        assert httpx.get(base + "/").json()["active_jobs"] == 0
        for sig in ("bh", "mom"):
            records = read_jsonl(root / "agent_data" / sig / "position" / "position.jsonl")
            assert [r["id"] for r in records] == list(range(len(records)))
    finally:
        server.terminate()
        server.wait(10)
        held.stop()


def test_skipped_agents_show_their_reason_and_a_job_of_only_those_is_refused(
    root: Path, make_config: Callable[..., str]
) -> None:
    gpt = {"signature": "gpt", "provider": "openai", "basemodel": "gpt-x",
           "api_key_env": "OPENAI_API_KEY"}  # fmt: skip
    bh = {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"}
    name = make_config(models=[bh, gpt])
    with app_client(root) as c:
        refused = c.post("/api/run-trading", json={"config_path": name, "signatures": ["gpt"]})
        assert refused.status_code == 422
        assert refused.json() == {
            "detail": "signatures: no selected agent can run (gpt: OPENAI_API_KEY not set)"
        }
        assert c.get("/api/jobs").json()["count"] == 0
        job_id = c.post("/api/run-trading", json={"config_path": name}).json()["job_id"]
        running = c.get(f"/api/job/{job_id}").json()
        assert running["agents"][1] == {"signature": "gpt", "status": "skipped",
                                        "windows_done": 0, "windows_total": None,
                                        "skip_reason": "OPENAI_API_KEY not set"}  # fmt: skip
        job = wait_for(
            lambda: (j := c.get(f"/api/job/{job_id}").json())["status"] != "running" and j,
            120,
            "the job to finish",
        )
    assert job["status"] == "completed", job["log_tail"]
    agents = [(a["signature"], a["status"], a["windows_done"], a["skip_reason"])
              for a in job["agents"]]  # fmt: skip
    assert agents == [("bh", "completed", 9, None), ("gpt", "skipped", 0, "OPENAI_API_KEY not set")]
