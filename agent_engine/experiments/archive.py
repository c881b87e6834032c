"""Hash-checked archives that carry an experiment's files between machines (no Ray here, so
it is testable without it): a period's snapshot store going to the workers and a cell's
records coming back.

An archive is a deterministic uncompressed tar (sorted members, zero mtimes and owners), so
the same files always give the same bytes and the same sha256. `unpack` checks the sha256
before extracting and refuses members that would land outside the destination (absolute
paths, `..`, links). `verify_store` checks an unpacked store against its `store.json`:
exactly the listed windows, each file valid (schema + content hash) with the listed hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path, PurePosixPath

from settings.config import ArenaError

STORE_MEMBERS = ("store.json", "agent_data/shared/snapshots")
CELL_MEMBERS = ("agent_data", "runtime")


class ArchiveError(ArenaError):
    """A damaged archive or store: wrong hash, unsafe member, missing or extra snapshot."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(root: Path, members: tuple[str, ...]) -> bytes:
    """The files under `root/<member>` (missing members are skipped) as deterministic tar
    bytes. Lock files (`*.lock`) are left out: they are per-process state, not content."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            top = root / member
            files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
            for path in files:
                if path.suffix == ".lock" or not path.is_file():
                    continue
                data = path.read_bytes()
                info = tarfile.TarInfo(path.relative_to(root).as_posix())
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack(data: bytes, expected_sha256: str, dest: Path) -> list[str]:
    """Check the archive's sha256, then extract its regular files under `dest`; returns
    their relative paths. ArchiveError on a wrong hash or an unsafe member."""
    actual = sha256(data)
    if actual != expected_sha256:
        raise ArchiveError(f"archive sha256 mismatch: expected {expected_sha256}, got {actual}")
    names: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar.getmembers():
            rel = PurePosixPath(info.name)
            if not info.isfile() or rel.is_absolute() or ".." in rel.parts:
                raise ArchiveError(f"unsafe archive member: {info.name!r}")
            source = tar.extractfile(info)
            assert source is not None  # a regular file
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
            names.append(rel.as_posix())
    return names


def verify_store(store_root: Path) -> dict[str, str]:
    """Decision time -> hash of every snapshot of an unpacked store, after checking each file
    (schema + content hash) and that the files are exactly the windows of `store.json`."""
    from data_flow.errors import SnapshotError
    from data_flow.snapshot_store import load_snapshot

    try:
        listed = json.loads((store_root / "store.json").read_text(encoding="utf-8"))["hashes"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArchiveError(f"snapshot store {store_root}: unreadable store.json ({err})") from None
    found: dict[str, str] = {}
    for path in sorted((store_root / "agent_data" / "shared" / "snapshots").glob("*/*.json")):
        try:
            snapshot = load_snapshot(path)
        except SnapshotError as err:
            raise ArchiveError(f"snapshot store {store_root}: {err}") from None
        found[str(snapshot["timestamp"])] = str(snapshot["metadata"]["content_hash"])
    if found != listed:
        missing = sorted(set(listed) - set(found))
        wrong = sorted(t for t in found if listed.get(t) != found[t])
        raise ArchiveError(
            f"snapshot store {store_root} does not match store.json: "
            f"missing {missing}, unlisted or different {wrong}"
        )
    return found
