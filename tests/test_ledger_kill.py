"""Crash safety: a process appending to position.jsonl is SIGKILLed at random moments.

After every kill the file must reload (Ledger opens) to a consistent state: ids consecutive from
0, every record's positions equal to the deterministic script replayed in memory (so cash and
holdings follow from the actions), and the next child resumes appending where it stopped.
Between some trials a torn fragment is appended by hand (a writer killed mid-line), which the
next open must cut off.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_engine.ledger import Ledger, load_records
from data_flow.fsio import read_jsonl
from settings.config import PROJECT_ROOT
from tests import ledger_helpers as script

TRIALS = 24
SEED = 20251103


def _line_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for(predicate: object, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.002)
    return False


def _check_consistent(path: Path, expected: list[dict[str, object]]) -> int:
    """Open the ledger like an agent would and compare every record with the script."""
    with Ledger(path, script.INITIAL_CASH, script.START) as ledger:
        records = ledger.records()
        assert [r["id"] for r in records] == list(range(len(records)))
        assert records[0]["this_action"] == {"action": "seed"}
        while len(expected) < len(records):
            expected.extend(script.expected_positions(len(records) + 500)[len(expected) :])
        for rec in records:
            assert rec["positions"] == expected[rec["id"]], f"record {rec['id']}"
        assert ledger.portfolio.to_record() == expected[len(records) - 1]
        assert len(ledger.windows_with_records()) == len(records) - 1
        return len(records)


@pytest.mark.slow
def test_sigkill_at_random_moments_always_reloads_consistently(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    rng = random.Random(SEED)
    path = tmp_path / "agent_data" / "sig" / "position" / "position.jsonl"
    expected: list[dict[str, object]] = []
    counts: list[int] = []
    torn_injected = 0
    for trial in range(TRIALS):
        before = _line_count(path)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.ledger_helpers", str(path), str(10**7)],
            cwd=PROJECT_ROOT,
            env=clean_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            if trial % 3 == 0:
                # Anywhere from interpreter start-up through opening the ledger to appending.
                time.sleep(rng.uniform(0.0, 0.8))
            else:
                # Once it is appending, after a random few milliseconds.
                assert _wait_for(lambda b=before: _line_count(path) > b + 1, 30.0), (
                    "child never appended"
                )
                time.sleep(rng.uniform(0.0, 0.03))
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
        if child.stderr:
            child.stderr.close()

        if path.exists() and rng.random() < 0.35:
            # Simulate a kill in the middle of a line: a prefix of a plausible next record.
            fragment = json.dumps({"id": 10**6, "date": "2025-11-03", "positions": {"CASH": 1}})
            with open(path, "ab") as fh:
                fh.write(fragment[: rng.randint(1, len(fragment) - 1)].encode())
            torn_injected += 1
            # Readers tolerate it before any repair.
            assert len(read_jsonl(path)) == _line_count(path)

        counts.append(_check_consistent(path, expected))
        # The file is whole again (no torn tail) and strictly valid.
        assert path.read_bytes().endswith(b"\n")
        assert len(load_records(path)) == counts[-1]

    assert torn_injected >= 3
    assert counts == sorted(counts)  # never lost a record
    assert counts[-1] > counts[0]
    assert len(set(counts)) > TRIALS // 2  # kills really happened at different moments

    # Appending resumes normally: run to a fixed stop and exit 0.
    stop_at = counts[-1] + 25
    done = subprocess.run(
        [sys.executable, "-m", "tests.ledger_helpers", str(path), str(stop_at)],
        cwd=PROJECT_ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _check_consistent(path, expected) == stop_at
