"""Backups of a data root: `backups/<YYYYmmdd_HHMMSS>/backup.tar.gz` + `manifest.json`.

CLI:
    python -m data_flow.backup create [--data-root DIR] [--retain N] [--backup-dir DIR]
    python -m data_flow.backup verify <backup dir>
    python -m data_flow.backup restore <backup dir> --data-root <empty dir> [--settings-dir DIR]

Archive layout: `data/...` (from the data root: `agent_data/` including the shared snapshots,
and `jobs/registry.json`) and `settings/...` (the `*.json` configs). Never archived: env files
(`.env*`, `*.env`), anything under `settings/runtime/` or a job's runtime dir, lock files, the
market-data cache, key/credential-looking files (`*.key`, `*.pem`, names containing `secret`,
`credential`, `api_key`, `token`). Files are read once; each member's SHA-256 is computed over
exactly the bytes put in the archive. JSONL files are archived up to their last complete line
(a writer may be appending). Backups dir: `<project>/backups`, or ARENA_BACKUP_DIR (passed in
as `EnvSettings` by the entry point; a caller that passes no dir gets the process's setting).
Retention keeps the newest `retain` backup dirs (default 10); only dirs that look like backups
(timestamp name + manifest.json) are ever deleted. One backup at a time per backups dir (lock
file `.backup.lock` there); a backup killed midway leaves a `.tmp-backup-*` dir, deleted by the
next backup or `remove_stale_temp_dirs` (main.py at start), only while holding that lock.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout

from data_flow.clock import SHANGHAI
from data_flow.fsio import atomic_write_json
from settings.config import PROJECT_ROOT, SETTINGS_DIR, ArenaError
from settings.env import EnvSettings

MANIFEST_SCHEMA_VERSION = 1
DEFAULT_RETAIN = 10
ARCHIVE_NAME = "backup.tar.gz"
MANIFEST_NAME = "manifest.json"
BACKUP_NAME_RE = re.compile(r"^\d{8}_\d{6}(_\d+)?$")
LOCK_NAME = ".backup.lock"
TMP_PREFIX = ".tmp-backup-"
LOCK_TIMEOUT_SECONDS = 600.0
_SECRET_NAME_RE = re.compile(
    r"(^\.env)|(\.env$)|(\.key$)|(\.pem$)|secret|credential|api[_-]?key|token", re.IGNORECASE
)
_DATA_EXCLUDED_DIRS = {"cache", "locks", "runtime", "__pycache__", ".git"}


class BackupError(ArenaError):
    """A backup could not be made, verified or restored."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    backup_dir: Path
    archive: Path
    manifest: Path
    members: int
    bytes: int  # size of the archive file

    def to_dict(self) -> dict[str, Any]:
        return {
            "backup_dir": str(self.backup_dir),
            "archive": str(self.archive),
            "manifest": str(self.manifest),
            "members": self.members,
            "bytes": self.bytes,
        }


def default_backup_root(env: EnvSettings | None = None) -> Path:
    """`env.backup_dir` (ARENA_BACKUP_DIR) when set, else `<project>/backups`. Without `env`:
    this process's settings (`EnvSettings.from_env()`, for a caller that passes none)."""
    backup_dir = (env if env is not None else EnvSettings.from_env()).backup_dir
    return Path(backup_dir).expanduser().resolve() if backup_dir else PROJECT_ROOT / "backups"


def _is_secret(name: str) -> bool:
    return bool(_SECRET_NAME_RE.search(name))


def _walk(base: Path, *, skip_dirs: set[str]) -> list[Path]:
    """Regular files under `base` (no symlinks followed), sorted."""
    out: list[Path] = []
    if not base.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not _is_secret(d))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file() or _is_secret(name):
                continue
            if name.endswith((".lock", ".tmp")):
                continue
            out.append(path)
    return out


def _collect(data_root: Path, settings_dir: Path) -> list[tuple[str, Path]]:
    members: list[tuple[str, Path]] = []
    for path in _walk(data_root / "agent_data", skip_dirs=_DATA_EXCLUDED_DIRS):
        members.append(("data/" + path.relative_to(data_root).as_posix(), path))
    registry = data_root / "jobs" / "registry.json"
    if registry.is_file():
        members.append(("data/jobs/registry.json", registry))
    for path in _walk(settings_dir, skip_dirs={"runtime", "__pycache__"}):
        if path.suffix == ".json":
            members.append(("settings/" + path.relative_to(settings_dir).as_posix(), path))
    return members


def _read_member(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".jsonl" and data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]  # a writer is mid-line: keep complete lines
    return data


def _new_backup_dir(root: Path, now: datetime) -> Path:
    stem = now.strftime("%Y%m%d_%H%M%S")
    candidate = root / stem
    n = 1
    while candidate.exists():
        candidate = root / f"{stem}_{n}"
        n += 1
    return candidate


def create_backup(
    data_root: Path,
    *,
    backup_root: Path | None = None,
    settings_dir: Path = SETTINGS_DIR,
    retain: int = DEFAULT_RETAIN,
    reason: str = "manual",
    now: datetime | None = None,
) -> BackupResult:
    """Archive `data_root`'s agent data (+ snapshots, job registry) and the settings configs.

    `backup_root` defaults to `default_backup_root()` (ARENA_BACKUP_DIR or
    `<project>/backups`). Writes into a hidden temp dir first and renames it into place, then
    prunes to the newest `retain` backups.
    Raises BackupError (e.g. a data root that does not exist).
    """
    data_root = Path(data_root).resolve()
    if not data_root.is_dir():
        raise BackupError(f"data root {data_root} does not exist")
    if retain < 1:
        raise BackupError("retain must be at least 1")
    root = (backup_root or default_backup_root()).resolve()
    if root == data_root or root.is_relative_to(data_root / "agent_data"):
        raise BackupError("the backup directory must not be inside the agent data")
    root.mkdir(parents=True, exist_ok=True)
    lock = _lock(root, LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise BackupError(
            f"another backup into {root} has been running for {LOCK_TIMEOUT_SECONDS:g}s "
            f"(lock {root / LOCK_NAME})"
        ) from None
    try:
        _remove_temp_dirs(root)
        return _create_locked(data_root, root, settings_dir, retain, reason, now)
    finally:
        lock.release()


def _lock(root: Path, timeout: float) -> FileLock:
    return FileLock(str(root / LOCK_NAME), timeout=timeout, thread_local=False)


def _remove_temp_dirs(root: Path) -> list[Path]:
    doomed = sorted(p for p in root.glob(f"{TMP_PREFIX}*") if p.is_dir() and not p.is_symlink())
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def remove_stale_temp_dirs(root: Path | None = None) -> list[Path]:
    """Delete the `.tmp-backup-*` dirs of backups that were killed midway (default root:
    `default_backup_root()`); returns them. Nothing is deleted while a backup is running."""
    root = (root or default_backup_root()).resolve()
    if not root.is_dir():
        return []
    lock = _lock(root, 0)
    try:
        lock.acquire()
    except Timeout:
        return []
    try:
        return _remove_temp_dirs(root)
    finally:
        lock.release()


def _create_locked(
    data_root: Path,
    root: Path,
    settings_dir: Path,
    retain: int,
    reason: str,
    now: datetime | None,
) -> BackupResult:
    moment = now or datetime.now(SHANGHAI)
    tmp_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=root))
    try:
        archive_tmp = tmp_dir / ARCHIVE_NAME
        entries = []
        with (
            open(archive_tmp, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name, path in _collect(data_root, settings_dir):
                try:
                    data = _read_member(path)
                    mtime = int(path.stat().st_mtime)
                except FileNotFoundError:
                    continue  # removed while we walked
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = mtime
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
                entries.append(
                    {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                )
        archive_bytes = archive_tmp.stat().st_size
        manifest = {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "created_at": moment.isoformat(timespec="seconds"),
            "reason": reason,
            "data_root": str(data_root),
            "settings_dir": str(settings_dir),
            "archive": ARCHIVE_NAME,
            "archive_bytes": archive_bytes,
            "archive_sha256": _sha256_file(archive_tmp),
            "members": entries,
        }
        atomic_write_json(tmp_dir / MANIFEST_NAME, manifest)
        final = _new_backup_dir(root, moment)
        os.replace(tmp_dir, final)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    prune_backups(root, retain)
    return BackupResult(
        final, final / ARCHIVE_NAME, final / MANIFEST_NAME, len(entries), archive_bytes
    )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_backups(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and BACKUP_NAME_RE.match(p.name) and (p / MANIFEST_NAME).is_file()
    )


def prune_backups(root: Path, retain: int) -> list[Path]:
    backups = list_backups(root)
    doomed = backups[:-retain] if retain > 0 else []
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def _safe_member_name(name: str) -> bool:
    p = PurePosixPath(name)
    return (
        bool(name)
        and not p.is_absolute()
        and ".." not in p.parts
        and p.parts[0] in ("data", "settings")
        and "\\" not in name
        and "\x00" not in name
    )


def verify_backup(backup_dir: Path) -> list[str]:
    """Problems found (empty list = the archive matches its manifest exactly)."""
    backup_dir = Path(backup_dir)
    try:
        manifest = json.loads((backup_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        expected = {m["name"]: m for m in manifest["members"]}
    except (OSError, ValueError, KeyError, TypeError) as err:
        return [f"manifest unreadable: {err}"]
    archive = backup_dir / ARCHIVE_NAME
    problems: list[str] = []
    if not archive.is_file():
        return [f"{archive} missing"]
    if manifest.get("archive_sha256") and _sha256_file(archive) != manifest["archive_sha256"]:
        problems.append("archive SHA-256 differs from the manifest")
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                if not info.isfile() or not _safe_member_name(info.name):
                    problems.append(f"unexpected member {info.name!r}")
                    continue
                fh = tar.extractfile(info)
                data = fh.read() if fh else b""
                seen.add(info.name)
                want = expected.get(info.name)
                if want is None:
                    problems.append(f"{info.name}: not in manifest")
                elif (
                    hashlib.sha256(data).hexdigest() != want["sha256"] or len(data) != want["size"]
                ):
                    problems.append(f"{info.name}: SHA-256 mismatch")
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, ValueError) as err:
        problems.append(f"archive unreadable: {err}")
    for name in sorted(expected.keys() - seen):
        problems.append(f"{name}: missing from archive")
    return problems


def restore_backup(backup_dir: Path, data_root: Path, *, settings_dir: Path | None = None) -> int:
    """Restore `data/` members into an empty (or absent) data root after verifying; settings
    members go to `settings_dir` only when given (it must be empty too). Returns files written."""
    data_root = Path(data_root)
    targets = [data_root] + ([Path(settings_dir)] if settings_dir else [])
    for target in targets:
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise BackupError(f"{target} is not an empty directory; refusing to restore into it")
    problems = verify_backup(backup_dir)
    if problems:
        raise BackupError("backup failed verification: " + "; ".join(problems[:5]))
    written = 0
    for target in targets:
        target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(Path(backup_dir) / ARCHIVE_NAME, "r:gz") as tar:
        for info in tar:
            if not info.isfile() or not _safe_member_name(info.name):
                continue
            top, rest = info.name.split("/", 1)
            base = data_root if top == "data" else settings_dir
            if base is None:
                continue
            dest = (base / rest).resolve()
            if not dest.is_relative_to(base.resolve()):
                raise BackupError(f"member {info.name!r} escapes the target")
            dest.parent.mkdir(parents=True, exist_ok=True)
            fh = tar.extractfile(info)
            dest.write_bytes(fh.read() if fh else b"")
            with contextlib.suppress(OSError):
                os.utime(dest, (info.mtime, info.mtime))
            written += 1
    return written


def _default_data_root() -> Path:
    from settings.config import load_config

    return load_config(SETTINGS_DIR / "default_config.json").data_root()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_flow.backup", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_create = sub.add_parser("create", help="make a backup now")
    p_create.add_argument("--data-root", type=Path, default=None)
    p_create.add_argument("--backup-dir", type=Path, default=None)
    p_create.add_argument("--retain", type=int, default=DEFAULT_RETAIN)
    p_verify = sub.add_parser("verify", help="check an archive against its manifest")
    p_verify.add_argument("backup_dir", type=Path)
    p_restore = sub.add_parser("restore", help="restore into an empty data root")
    p_restore.add_argument("backup_dir", type=Path)
    p_restore.add_argument("--data-root", type=Path, required=True)
    p_restore.add_argument("--settings-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            result = create_backup(
                args.data_root or _default_data_root(),
                backup_root=args.backup_dir or default_backup_root(EnvSettings.from_env()),
                retain=args.retain,
            )
            print(json.dumps(result.to_dict(), indent=2))
            return 0
        if args.command == "verify":
            problems = verify_backup(args.backup_dir)
            for problem in problems:
                print(f"FAIL {problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"OK {args.backup_dir}")
            return 0
        written = restore_backup(args.backup_dir, args.data_root, settings_dir=args.settings_dir)
        print(f"restored {written} files into {args.data_root}")
        return 0
    except ArenaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1 if isinstance(err, BackupError) else 2


if __name__ == "__main__":
    sys.exit(main())
