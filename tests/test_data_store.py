"""Shared snapshot store: paths, validation, the 8-process race, corruption, lock timeout,
and the lazy source construction of ensure_window_snapshot."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from data_flow.clock import at_window
from data_flow.errors import SnapshotError
from data_flow.snapshot_store import (
    ensure_snapshot,
    ensure_window_snapshot,
    load_snapshot,
    lock_path,
    safe_signature,
    serialize,
    snapshot_path,
    symbols_signature,
)
from settings.config import STAR10_SYMBOLS, parse_config
from tests.data_helpers import SYMBOLS, counting_demo_build, demo_config_dict, race_worker

MOMENT = at_window(date(2025, 11, 17), "10:30")


def test_paths_follow_the_contract(tmp_path: Path) -> None:
    assert symbols_signature(["SH688009", "SH688008"]) == "SH688008|SH688009"
    assert snapshot_path(tmp_path, MOMENT, ["SH688009", "SH688008"]) == (
        tmp_path / "agent_data/shared/snapshots/2025-11-17/10-30-00_SH688008_SH688009.json"
    )
    assert lock_path(tmp_path, MOMENT, ["SH688008"]) == (
        tmp_path / "agent_data/shared/locks/2025-11-17_10-30-00_SH688008.lock"
    )
    long_sig = symbols_signature(STAR10_SYMBOLS)  # 10 x 9 - 1 = 89 chars > 80
    assert (
        safe_signature(long_sig)
        == "SH688008_10syms_" + __import__("hashlib").sha1(long_sig.encode()).hexdigest()[:12]
    )


def test_build_once_then_read(tmp_path: Path) -> None:
    counter = tmp_path / "builds.txt"
    build = lambda: counting_demo_build(counter, MOMENT, SYMBOLS)  # noqa: E731
    first = ensure_snapshot(tmp_path, MOMENT, SYMBOLS, build, lock_timeout=5)
    second = ensure_snapshot(tmp_path, MOMENT, SYMBOLS, build, lock_timeout=5)
    assert (first.created, second.created) == (True, False)
    assert len(counter.read_text().splitlines()) == 1
    assert first.snapshot == second.snapshot == load_snapshot(first.path)
    assert first.content_hash == second.content_hash == first.snapshot["metadata"]["content_hash"]
    assert first.path.read_bytes() == serialize(second.snapshot)
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]  # no temp left


@pytest.mark.slow
def test_eight_processes_race_one_build_identical_content(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    counter = tmp_path / "builds.txt"
    barrier = ctx.Barrier(8)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=race_worker,
            args=(str(tmp_path), str(counter), MOMENT.isoformat(), SYMBOLS, barrier, out),
        )
        for _ in range(8)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(counter.read_text().splitlines()) == 1
    assert sum(r["created"] for r in results) == 1
    assert len({r["content"] for r in results}) == 1
    assert len({r["file"] for r in results}) == 1
    assert results[0]["content"] == results[0]["file"]
    assert len({r["hash"] for r in results}) == 1
    assert len({r["pid"] for r in results}) == 8


def _build_valid(tmp_path: Path) -> tuple[Path, Path]:
    counter = tmp_path / "builds.txt"
    result = ensure_snapshot(
        tmp_path,
        MOMENT,
        SYMBOLS,
        lambda: counting_demo_build(counter, MOMENT, SYMBOLS),
        lock_timeout=5,
    )
    return result.path, counter


@pytest.mark.parametrize(
    "damage", ["truncate", "hash_mismatch", "not_json", "wrong_schema", "nan", "empty"]
)
def test_corrupt_snapshot_is_detected_and_rebuilt(tmp_path: Path, damage: str) -> None:
    path, counter = _build_valid(tmp_path)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "hash_mismatch":
        data = json.loads(good)
        data["market_data"]["SH688008"]["current_price"] += 1.0
        path.write_text(json.dumps(data, sort_keys=True, ensure_ascii=False))
    elif damage == "nan":
        path.write_bytes(good.replace(b'"current_price":', b'"current_price":NaN,"x":', 1))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "not_json":
        path.write_bytes(b"\x00\x00garbage")
    else:
        data = json.loads(good)
        del data["market_data"]["SH688008"]["indicators"]
        path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="invalid snapshot"):
        load_snapshot(path)
    again = ensure_snapshot(
        tmp_path,
        MOMENT,
        SYMBOLS,
        lambda: counting_demo_build(counter, MOMENT, SYMBOLS),
        lock_timeout=5,
    )
    assert again.created is True
    assert len(counter.read_text().splitlines()) == 2
    assert load_snapshot(path)["market_data"] == json.loads(good)["market_data"]


def test_lock_held_past_bound_is_a_clear_error(tmp_path: Path) -> None:
    lock_file = lock_path(tmp_path, MOMENT, SYMBOLS)
    lock_file.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            " print('locked', flush=True); sys.stdin.read()",
            str(lock_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        built: list[int] = []

        def build() -> dict[str, Any]:
            built.append(1)
            return {}

        with pytest.raises(SnapshotError) as err:
            ensure_snapshot(tmp_path, MOMENT, SYMBOLS, build, lock_timeout=0.5)
        assert str(err.value).startswith(
            f"timed out after 0.5s waiting for the snapshot lock {lock_file} "
            "(window 2025-11-17 10:30:00): another process holds it"
        )
        # Nothing was built or written, and the holder still has the lock (not broken, not stolen).
        assert built == []
        assert not snapshot_path(tmp_path, MOMENT, SYMBOLS).exists()
        with pytest.raises(Timeout):
            FileLock(str(lock_file)).acquire(timeout=0)
    finally:
        holder.communicate(input="", timeout=10)
    # Released: now it builds.
    result, _ = _build_valid(tmp_path)
    assert result.exists()


def test_builder_for_another_window_is_refused(tmp_path: Path) -> None:
    other = at_window(date(2025, 11, 17), "11:30")
    with pytest.raises(SnapshotError, match="expected 2025-11-17 10:30:00"):
        ensure_snapshot(
            tmp_path,
            MOMENT,
            SYMBOLS,
            lambda: counting_demo_build(tmp_path / "c", other, SYMBOLS),
            lock_timeout=5,
        )
    assert not snapshot_path(tmp_path, MOMENT, SYMBOLS).exists()


class ExplodingSource:
    name = "demo"
    synthetic = True

    def __getattr__(self, name: str) -> Any:
        raise AssertionError("the source must not be used when the snapshot exists")


def test_ensure_window_snapshot_builds_source_lazily(tmp_path: Path) -> None:
    config = parse_config(demo_config_dict(tmp_path))
    first = ensure_window_snapshot(config, MOMENT)
    assert first.created and first.snapshot["metadata"]["synthetic"] is True
    again = ensure_window_snapshot(config, MOMENT, source=ExplodingSource())  # type: ignore[arg-type]
    assert not again.created and again.snapshot == first.snapshot
    files_cfg = parse_config(
        demo_config_dict(tmp_path, data_config={"source": "files", "path": str(tmp_path)})
    )
    with pytest.raises(SnapshotError, match="built from \\['demo'\\] data but this config uses"):
        ensure_window_snapshot(files_cfg, MOMENT)


def test_reading_an_existing_snapshot_does_not_import_pandas(tmp_path: Path) -> None:
    config = parse_config(demo_config_dict(tmp_path))
    ensure_window_snapshot(config, MOMENT)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(demo_config_dict(tmp_path)))
    code = (
        "import sys, json\n"
        "from datetime import date\n"
        "from settings.config import load_config\n"
        "from data_flow.clock import at_window\n"
        "from data_flow.snapshot_store import ensure_window_snapshot, load_snapshot\n"
        f"config = load_config({str(config_file)!r})\n"
        "r = ensure_window_snapshot(config, at_window(date(2025, 11, 17), '10:30'))\n"
        "load_snapshot(r.path)\n"
        "names = ('pandas', 'numpy', 'ta', 'akshare', 'exchange_calendars')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(json.dumps({'created': r.created, 'heavy': heavy}))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"created": False, "heavy": []}


class CountingLazySource:
    """Like the runner's LazySource: any attribute access would create the real source."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        raise AssertionError(f"source.{name} used although the snapshot exists")


def test_reading_never_touches_a_lazy_source(tmp_path: Path) -> None:
    config = parse_config(demo_config_dict(tmp_path))
    ensure_window_snapshot(config, MOMENT)
    lazy = CountingLazySource()
    result = ensure_window_snapshot(config, MOMENT, source=lazy)  # type: ignore[arg-type]
    assert not result.created and lazy.touched == []


def test_leftover_temp_files_are_removed_unless_their_window_is_being_written(
    tmp_path: Path,
) -> None:
    import os
    import tempfile

    from filelock import FileLock

    from data_flow.snapshot_store import remove_stale_temp_files

    def temp_of(target: Path) -> Path:  # named as fsio.atomic_write_bytes names them
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.write(fd, b'{"partial')
        os.close(fd)
        return Path(name)

    built = ensure_snapshot(
        tmp_path, MOMENT, SYMBOLS, lambda: counting_demo_build(tmp_path / "n", MOMENT, SYMBOLS),
        lock_timeout=5,
    )  # fmt: skip
    stale = temp_of(built.path)  # a writer of this window was killed
    busy_moment = at_window(date(2025, 11, 18), "14:00")
    busy = temp_of(snapshot_path(tmp_path, busy_moment, SYMBOLS))  # being written right now
    other = built.path.parent / ".notes.txt.tmp"  # not a snapshot's temp file
    other.write_text("x")
    with FileLock(str(lock_path(tmp_path, busy_moment, SYMBOLS)), thread_local=False):
        assert remove_stale_temp_files(tmp_path) == [stale]
    assert not stale.exists() and busy.exists() and other.exists()
    assert load_snapshot(built.path) == built.snapshot
    # once its writer is gone (the lock is free), the other one goes too
    assert remove_stale_temp_files(tmp_path) == [busy]
    assert remove_stale_temp_files(tmp_path / "empty") == []
