"""Process hygiene of main.py runs: leftovers of killed writes are cleaned at the next start,
and an agent's `peak_rss_kb` is its own peak, not its parent's."""

from __future__ import annotations

import os
import resource
import tempfile
from pathlib import Path

from data_flow.clock import at_window
from data_flow.snapshot_store import snapshot_path
from tests.conftest import write_config
from tests.runner_helpers import main_env, manifest, run_main

SYMBOLS = ["SH688008", "SH688009", "SH688111"]
ONE_DAY = {"init_date": "2025-11-03", "end_date": "2025-11-03"}


def test_leftovers_of_killed_writes_are_removed_at_the_next_start(
    tmp_path: Path, data_root: Path
) -> None:
    from datetime import date

    target = snapshot_path(data_root, at_window(date(2025, 11, 3), "10:30"), SYMBOLS)
    target.parent.mkdir(parents=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    backups = tmp_path / "backups"
    (backups / ".tmp-backup-x7f2k9").mkdir(parents=True)
    (backups / ".tmp-backup-x7f2k9" / "backup.tar.gz").write_bytes(b"half")
    cfg = write_config(tmp_path, data_root, date_range=ONE_DAY)
    env = main_env(tmp_path / "rt", ARENA_BACKUP_DIR=str(backups))

    done = run_main([str(cfg), "--no-backup"], env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "cleanup: removed 2 temp file(s) of interrupted writes" in done.stdout
    assert not Path(name).exists() and [p.name for p in backups.iterdir()] == [".backup.lock"]
    assert target.is_file()  # the window's snapshot was then built as usual
    again = run_main([str(cfg), "--no-backup"], env)
    assert again.returncode == 0 and "cleanup:" not in again.stdout


def test_an_agents_peak_rss_is_its_own_not_its_parents(tmp_path: Path, data_root: Path) -> None:
    cfg = write_config(tmp_path, data_root, date_range=ONE_DAY)
    ballast = b"\x01" * (400 * 1024 * 1024)  # this parent's peak: > 400 MB, touched
    parent_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    env = main_env(tmp_path / "rt", ONLY_SIGNATURE="bh")
    done = run_main([str(cfg)], env)
    del ballast
    assert done.returncode == 0, done.stdout + done.stderr
    end = manifest(data_root, "bh")[-1]
    assert end["type"] == "run_end" and end["status"] == "completed"
    # Linux carries ru_maxrss over fork/exec: it would report >= the parent's 400 MB
    assert parent_peak > 400 * 1024
    assert 5_000 < end["peak_rss_kb"] < 250 * 1024
