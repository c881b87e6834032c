"""data_flow.backup: create / verify / restore / retention / exclusions / CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from data_flow.backup import (
    BackupError,
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from data_flow.clock import SHANGHAI
from settings.config import PROJECT_ROOT
from tests.api_fixtures import write_scenario

T0 = datetime(2025, 11, 3, 15, 30, 0, tzinfo=SHANGHAI)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    backups = tmp_path / "backups"
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(backups))
    root = tmp_path / "data"
    root.mkdir()
    write_scenario(root, windows=2)
    settings = tmp_path / "settings"
    (settings / "runtime").mkdir(parents=True)
    (settings / "default_config.json").write_text('{"a": 1}')
    (settings / "sub").mkdir()
    (settings / "sub" / "other.json").write_text('{"b": 2}')
    (settings / ".env").write_text("OPENAI_API_KEY=sk-secret")
    (settings / "prod.env").write_text("KEY=1")
    (settings / "api_keys.json").write_text('{"openai": "sk-secret"}')
    (settings / "runtime" / "runtime_env_bh.json").write_text("{}")
    (root / "agent_data" / ".env.local").write_text("SECRET=1")
    (root / "agent_data" / "shared" / "locks").mkdir(parents=True)
    (root / "agent_data" / "shared" / "locks" / "x.lock").write_text("")
    (root / "cache" / "akshare").mkdir(parents=True)
    (root / "cache" / "akshare" / "bars.json").write_text("{}")
    (root / "jobs").mkdir()
    (root / "jobs" / "registry.json").write_text('{"schema_version": 1, "jobs": []}')
    return {"root": root, "backups": backups, "settings": settings}


def test_create_archives_data_and_settings_but_no_secrets(env: dict[str, Path]) -> None:
    result = create_backup(env["root"], settings_dir=env["settings"], now=T0)
    assert result.backup_dir == env["backups"] / "20251103_153000"
    assert result.archive == result.backup_dir / "backup.tar.gz"
    assert result.bytes == result.archive.stat().st_size
    manifest = json.loads(result.manifest.read_text())
    names = [m["name"] for m in manifest["members"]]
    assert result.members == len(names)
    assert "data/agent_data/alpha/position/position.jsonl" in names
    assert "data/agent_data/beta/log/2025-11-03/10-30-00.jsonl" in names
    assert any(n.startswith("data/agent_data/shared/snapshots/2025-11-03/") for n in names)
    assert "data/jobs/registry.json" in names
    assert {"settings/default_config.json", "settings/sub/other.json"} <= set(names)
    for banned in (".env", "prod.env", "api_keys", "runtime", "locks", "cache", ".lock"):
        assert not [n for n in names if banned in n], banned
    with tarfile.open(result.archive, "r:gz") as tar:
        for m in manifest["members"]:
            data = tar.extractfile(m["name"]).read()
            assert hashlib.sha256(data).hexdigest() == m["sha256"]
            assert len(data) == m["size"]
    ledger = env["root"] / "agent_data" / "alpha" / "position" / "position.jsonl"
    entry = next(
        m for m in manifest["members"] if m["name"].endswith("alpha/position/position.jsonl")
    )
    assert entry["sha256"] == hashlib.sha256(ledger.read_bytes()).hexdigest()
    assert verify_backup(result.backup_dir) == []


def test_torn_jsonl_is_archived_up_to_its_last_complete_line(env: dict[str, Path]) -> None:
    ledger = env["root"] / "agent_data" / "alpha" / "position" / "position.jsonl"
    complete = ledger.read_bytes()
    with open(ledger, "ab") as fh:
        fh.write(b'{"id": 99, "torn')
    result = create_backup(env["root"], settings_dir=env["settings"], now=T0)
    with tarfile.open(result.archive, "r:gz") as tar:
        data = tar.extractfile("data/agent_data/alpha/position/position.jsonl").read()
    assert data == complete


@pytest.mark.parametrize("where", ["archive", "manifest"])
def test_verify_detects_one_corrupted_byte(env: dict[str, Path], where: str) -> None:
    result = create_backup(env["root"], settings_dir=env["settings"], now=T0)
    if where == "archive":
        raw = bytearray(result.archive.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        result.archive.write_bytes(bytes(raw))
    else:
        manifest = json.loads(result.manifest.read_text())
        digest = manifest["members"][0]["sha256"]
        manifest["members"][0]["sha256"] = ("0" if digest[0] != "0" else "1") + digest[1:]
        result.manifest.write_text(json.dumps(manifest))
    problems = verify_backup(result.backup_dir)
    assert problems
    with pytest.raises(BackupError, match="verification"):
        restore_backup(result.backup_dir, env["root"].parent / "restored")


def test_restore_into_empty_root_only(env: dict[str, Path], tmp_path: Path) -> None:
    result = create_backup(env["root"], settings_dir=env["settings"], now=T0)
    target = tmp_path / "restored"
    settings_target = tmp_path / "restored_settings"
    written = restore_backup(result.backup_dir, target, settings_dir=settings_target)
    assert written == result.members
    for rel in ("agent_data/alpha/position/position.jsonl", "jobs/registry.json"):
        assert (target / rel).read_bytes() == (env["root"] / rel).read_bytes()
    assert (settings_target / "sub" / "other.json").read_text() == '{"b": 2}'
    with pytest.raises(BackupError, match="not an empty directory"):
        restore_backup(result.backup_dir, target)
    with pytest.raises(BackupError, match="not an empty directory"):
        restore_backup(result.backup_dir, env["root"])


def test_retention_keeps_the_newest(env: dict[str, Path]) -> None:
    (env["backups"] / "unrelated").mkdir(parents=True)
    made = [
        create_backup(env["root"], settings_dir=env["settings"], retain=3,
                      now=T0 + timedelta(seconds=i)).backup_dir
        for i in range(5)
    ]  # fmt: skip
    assert list_backups(env["backups"]) == made[2:]
    assert (env["backups"] / "unrelated").is_dir()
    same_second = create_backup(env["root"], settings_dir=env["settings"], retain=10, now=T0)
    assert same_second.backup_dir.name == "20251103_153000"
    again = create_backup(env["root"], settings_dir=env["settings"], retain=10, now=T0)
    assert again.backup_dir.name == "20251103_153000_1"


def test_missing_data_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        create_backup(tmp_path / "nope", backup_root=tmp_path / "b")


def test_cli_create_verify_restore(env: dict[str, Path], tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "data_flow.backup", *args],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={"ARENA_BACKUP_DIR": str(env["backups"]), "PATH": "/usr/bin:/bin"},
        )

    created = cli("create", "--data-root", str(env["root"]))
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    assert Path(info["backup_dir"]).parent == env["backups"]
    assert cli("verify", info["backup_dir"]).returncode == 0
    target = tmp_path / "restored"
    restored = cli("restore", info["backup_dir"], "--data-root", str(target))
    assert restored.returncode == 0, restored.stderr
    assert (target / "agent_data" / "beta" / "position" / "position.jsonl").is_file()
    refused = cli("restore", info["backup_dir"], "--data-root", str(target))
    assert refused.returncode == 1 and "not an empty directory" in refused.stderr
    archive = Path(info["archive"])
    raw = bytearray(archive.read_bytes())
    raw[100] ^= 0xFF
    archive.write_bytes(bytes(raw))
    failed = cli("verify", info["backup_dir"])
    assert failed.returncode == 1 and "FAIL" in failed.stderr


def test_a_killed_backups_temp_dir_is_removed_but_never_during_a_backup(
    env: dict[str, Path],
) -> None:
    from filelock import FileLock

    from data_flow.backup import LOCK_NAME, remove_stale_temp_dirs

    backups = env["backups"]
    stale = backups / ".tmp-backup-k1ll3d"
    stale.mkdir(parents=True)
    (stale / "backup.tar.gz").write_bytes(b"half an archive")
    with FileLock(str(backups / LOCK_NAME), thread_local=False):  # a backup is running
        assert remove_stale_temp_dirs() == []
    assert stale.is_dir()
    assert remove_stale_temp_dirs() == [stale.resolve()]
    stale.mkdir()
    result = create_backup(env["root"], settings_dir=env["settings"], now=T0)
    assert sorted(p.name for p in backups.iterdir()) == [LOCK_NAME, result.backup_dir.name]
    assert verify_backup(result.backup_dir) == []
