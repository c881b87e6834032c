"""Crash safety: a process appending to position.jsonl is SIGKILLed at exact bytes.

Each trial starts from a file holding the first ``prefix`` records of the deterministic script
(none: no file at all), runs a child that appends through `ledger_helpers.DieAtByte` and kills
itself the moment the file reaches byte ``k``: before the first byte of a line, one byte into
it, mid-line, just before its newline, and right after its newline (before the fsync), for the
seed, for the first record after a reopen, and after several whole records. After every kill:
the file is exactly the script's bytes up to ``k``; readers tolerate the torn tail; reopening
(as an agent would) cuts it and keeps every complete record, ids consecutive from 0 and every
record's positions equal to the script replayed in memory; and appending then resumes.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent_engine.ledger import Ledger, load_records
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT
from tests import ledger_helpers as script

# (records already in the file, line the kill falls in, bytes of that line written);
# "mid", "-1" and "all" are relative to that line's length.
KILL_POINTS: list[tuple[int, int, int | str]] = [
    *[(0, 0, b) for b in (0, 1, "mid", "-1", "all")],  # the seed
    *[(1, 1, b) for b in (0, 1, "mid", "-1", "all")],  # the first record after a reopen
    *[(1, 4, b) for b in (1, "mid", "-1", "all")],  # after three whole records
    *[(6, 13, b) for b in (1, "mid", "-1", "all")],
]
REFERENCE_RECORDS = 16


def _reference(directory: Path) -> tuple[bytes, list[int]]:
    """The script's uninterrupted file and the byte offset just past each line's newline."""
    path = directory / "position.jsonl"
    broker = script.make_broker()
    with Ledger(path, script.INITIAL_CASH, script.START) as ledger:
        while ledger.next_id < REFERENCE_RECORDS:
            script.step(ledger, broker)
    data = path.read_bytes()
    return data, [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]


def _masked(data: bytes, reference: bytes) -> bytes:
    """`data` with the reference's ts_recorded values blanked (the only bytes that vary)."""
    out = bytearray(data)
    for m in re.finditer(rb'"ts_recorded":"([^"]*)"', reference):
        start, end = m.span(1)
        end = min(end, len(out))
        if start < end:
            out[start:end] = b"#" * (end - start)
    return bytes(out)


def _check_consistent(path: Path, expected: list[dict[str, object]]) -> int:
    """Open the ledger like an agent would and compare every record with the script."""
    with Ledger(path, script.INITIAL_CASH, script.START) as ledger:
        records = ledger.records()
        assert [r["id"] for r in records] == list(range(len(records)))
        assert records[0]["this_action"] == {"action": "seed"}
        while len(expected) < len(records):
            expected.extend(script.expected_positions(len(records) + 50)[len(expected) :])
        for rec in records:
            assert rec["positions"] == expected[rec["id"]], f"record {rec['id']}"
        assert ledger.portfolio.to_record() == expected[len(records) - 1]
        assert len(ledger.windows_with_records()) == len(records) - 1
        return len(records)


def _child(path: Path, env: dict[str, str], stop_at: int, *kill_at: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ledger_helpers", str(path), str(stop_at), *map(str, kill_at)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_at_exact_bytes_always_reloads_consistently(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    reference, ends = _reference(tmp_path / "reference")
    starts = [0, *ends[:-1]]
    expected: list[dict[str, object]] = []
    torn_tails = 0
    path = tmp_path
    for trial, (prefix, line, into) in enumerate(KILL_POINTS):
        length = ends[line] - starts[line]
        written = {"mid": length // 2, "-1": length - 1, "all": length}.get(str(into), into)
        assert isinstance(written, int) and 0 <= written <= length
        k = starts[line] + written
        path = tmp_path / f"trial-{trial}" / "position.jsonl"
        path.parent.mkdir(parents=True)
        if prefix:
            path.write_bytes(reference[: ends[prefix - 1]])

        child = _child(path, clean_env, 10**7, k)
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL, stderr

        raw = path.read_bytes()
        where = f"trial {trial}: killed at byte {k} ({written}/{length} of line {line})"
        assert len(raw) == k, where
        assert _masked(raw, reference) == _masked(reference[:k], reference), where
        complete = line + (written == length)
        assert raw.count(b"\n") == complete, where
        if written not in (0, length):
            torn_tails += 1
            assert not raw.endswith(b"\n"), where
        # Readers tolerate the torn tail before any repair and, like the repair below, never
        # count a last line without its newline (even one that lacks only the newline).
        assert len(read_jsonl(path)) == complete, where

        # Reopening cuts the torn tail and keeps every complete record (an empty file gets
        # its seed); the file is then whole and strictly valid.
        count = _check_consistent(path, expected)
        assert count == max(complete, 1), where
        assert path.read_bytes().endswith(b"\n")
        assert len(load_records(path)) == count
    assert torn_tails == 12

    # Appending resumes normally on the last trial's file: run to a fixed stop and exit 0.
    stop_at = _check_consistent(path, expected) + 25
    done = _child(path, clean_env, stop_at)
    _, stderr = done.communicate(timeout=60)
    assert done.returncode == 0, stderr
    assert _check_consistent(path, expected) == stop_at
