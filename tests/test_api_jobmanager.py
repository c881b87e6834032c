"""JobManager with a stand-in main.py: process-group stop, SIGKILL escalation, per-root 409."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from agent_engine.jobs import ActiveRunError, JobManager
from settings.config import PROJECT_ROOT, SETTINGS_DIR, ConfigError
from tests.api_fixtures import scenario_config
from tests.waiting import wait_for

STUBBORN_MAIN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print("ready", child.pid, flush=True)
time.sleep(600)
"""

POLITE_MAIN = """
import sys, time
print("args", sys.argv[1:], flush=True)
time.sleep(600)
"""


@pytest.fixture
def make_config(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    created: list[Path] = []

    def make(data_root: Path) -> str:
        name = f"test_tmp_{uuid.uuid4().hex}.json"
        (SETTINGS_DIR / name).write_text(json.dumps(scenario_config(data_root)))
        created.append(SETTINGS_DIR / name)
        return name

    yield make
    for p in created:
        p.unlink(missing_ok=True)


def fake_project(tmp_path: Path, script: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "main.py").write_text(script)
    return project


def test_stop_kills_a_tree_that_ignores_sigterm(
    tmp_path: Path, make_config: Callable[[Path], str]
) -> None:
    root = tmp_path / "root"
    jm = JobManager(root, project_root=fake_project(tmp_path, STUBBORN_MAIN), grace_seconds=1.0)
    job = jm.start(make_config(root))
    log = Path(job.log_path)
    wait_for(lambda: log.exists() and "ready" in log.read_text(), 20, "the job's 'ready' line")
    tree = [psutil.Process(job.pid), *psutil.Process(job.pid).children(recursive=True)]
    assert len(tree) == 2
    t0 = time.monotonic()
    stopped = jm.stop(job.job_id)
    assert time.monotonic() - t0 < 10
    assert stopped is not None and stopped.status == "stopped"
    assert stopped.exit_code == -9
    for p in tree:
        assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE


def test_one_active_run_per_data_root(tmp_path: Path, make_config: Callable[[Path], str]) -> None:
    server_root = tmp_path / "server"
    other_root = tmp_path / "other"
    jm = JobManager(server_root, project_root=fake_project(tmp_path, POLITE_MAIN), grace_seconds=2)
    first = jm.start(make_config(server_root), end_date="2025-11-04", signatures=["bh"])
    assert first.command[-4:] == ["--end-date", "2025-11-04", "--signatures", "bh"]
    with pytest.raises(ActiveRunError):
        jm.start(make_config(server_root))
    second = jm.start(make_config(other_root))  # another data root may run alongside
    assert second.data_root == str(other_root.resolve())
    assert (server_root / "jobs" / "registry.json").is_file()
    assert jm.active_count() == 2
    with pytest.raises(ConfigError, match="signatures"):
        jm.start(make_config(other_root), signatures=["nobody"])
    for job in (first, second):
        assert jm.stop(job.job_id).status == "stopped"
    assert jm.active_count() == 0
    third = jm.start(make_config(server_root))  # free again
    assert jm.stop(third.job_id).status == "stopped"
    assert [j.job_id for j in jm.all_jobs()] == [third.job_id, second.job_id, first.job_id]


def test_a_command_line_run_on_the_same_root_blocks_a_job(
    tmp_path: Path, make_config: Callable[[Path], str]
) -> None:
    """A main.py started by hand holds the arena lock of its data root (here spelled through a
    symlink and with `..`): the API refuses a job there, naming that process."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "link").symlink_to(root)
    jm = JobManager(root, project_root=fake_project(tmp_path, POLITE_MAIN))
    holder_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from agent_engine.arena_lock import ArenaLock\n"
        "ArenaLock(Path(sys.argv[1]), command=['main.py', 'manual.json']).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    cli = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(tmp_path / "link" / ".." / "link")],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None and cli.stdout.readline() == "locked\n"
        with pytest.raises(ActiveRunError) as err:
            jm.start(make_config(root))
        assert str(err.value).startswith(f"main.py pid {cli.pid} (started 20")
        assert str(err.value).endswith(
            f": main.py manual.json) is already running on data root {root.resolve()}"
        )
        assert jm.all_jobs() == []
        cli.kill()
        cli.wait()
        job = jm.start(make_config(root))  # the CLI run is gone (its lock with it): allowed
        assert jm.stop(job.job_id).status == "stopped"
    finally:
        cli.kill()
        cli.wait()


def test_a_run_with_windows_lacking_data_says_so(
    tmp_path: Path, make_config: Callable[[Path], str]
) -> None:
    root = tmp_path / "root"
    jm = JobManager(root, project_root=fake_project(tmp_path, "import sys\nsys.exit(3)\n"))
    job = jm.start(make_config(root))
    wait_for(lambda: (j := jm.get(job.job_id)) is not None and j.status != "running", 20)
    done = jm.get(job.job_id)
    assert done is not None and (done.status, done.exit_code) == ("failed", 3)
    assert done.error == (
        "some windows had no market data (exit 3); a later run retries them; see the log"
    )


GPT = {
    "signature": "gpt",
    "provider": "openai",
    "basemodel": "gpt-x",
    "api_key_env": "OPENAI_API_KEY",
}
OFF = {"signature": "off", "provider": "baseline", "basemodel": "momentum", "enabled": False}
BH = {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"}


def _config(root: Path, models: list[dict[str, object]]) -> Iterator[str]:
    name = f"test_tmp_{uuid.uuid4().hex}.json"
    (SETTINGS_DIR / name).write_text(json.dumps(scenario_config(root, models=models)))
    try:
        yield name
    finally:
        (SETTINGS_DIR / name).unlink(missing_ok=True)


def test_agents_that_cannot_run_are_listed_as_skipped_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "root"
    jm = JobManager(root, project_root=fake_project(tmp_path, POLITE_MAIN))
    for name in _config(root, [BH, GPT, OFF]):
        job = jm.start(name)
        try:
            assert job.signatures == ["bh", "gpt", "off"]
            assert job.skipped == {"gpt": "OPENAI_API_KEY not set", "off": "disabled in config"}
            assert jm.agents(job) == [
                {"signature": "bh", "status": "starting", "windows_done": 0,
                 "windows_total": None},
                {"signature": "gpt", "status": "skipped", "windows_done": 0,
                 "windows_total": None, "skip_reason": "OPENAI_API_KEY not set"},
                {"signature": "off", "status": "skipped", "windows_done": 0,
                 "windows_total": None, "skip_reason": "disabled in config"},
            ]  # fmt: skip
            reloaded = jm.get(job.job_id)  # the reasons are kept in the registry
            assert reloaded is not None and reloaded.skipped == job.skipped
        finally:
            jm.stop(job.job_id)


def test_a_job_in_which_no_selected_agent_can_run_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    jm = JobManager(root, project_root=fake_project(tmp_path, POLITE_MAIN))
    for name in _config(root, [BH, GPT, OFF]):
        with pytest.raises(ConfigError) as err:
            jm.start(name, signatures=["gpt", "off"])
        assert str(err.value) == (
            "signatures: no selected agent can run "
            "(gpt: OPENAI_API_KEY not set; off: disabled in config)"
        )
        assert jm.all_jobs() == []
    for name in _config(root, [GPT, OFF]):
        with pytest.raises(ConfigError, match=r"no selected agent can run \(gpt: OPENAI_API_KEY"):
            jm.start(name)
    # the key in the children's environment makes the agent runnable
    keyed = JobManager(
        root,
        project_root=fake_project(tmp_path, POLITE_MAIN),
        extra_env={"OPENAI_API_KEY": "sk-test"},
    )
    for name in _config(root, [GPT, OFF]):
        job = keyed.start(name, signatures=["gpt"])
        assert (job.signatures, job.skipped) == (["gpt"], {})
        assert keyed.stop(job.job_id).status == "stopped"
