"""The hash-checked archives the Ray executor ships (no Ray needed), the snapshot path the
decision logs record, and the CLI's executor options."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

from agent_engine import experiment as cli
from agent_engine.experiments.archive import (
    STORE_MEMBERS,
    ArchiveError,
    pack,
    sha256,
    unpack,
    verify_store,
)
from agent_engine.experiments.run import prepare_store
from agent_engine.experiments.spec import load_experiment
from agent_engine.loop import _relative
from tests.experiment_helpers import experiment, write_experiment

PERIOD = {"name": "p1", "init_date": "2025-11-03", "end_date": "2025-11-04"}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    data = experiment(tmp_path / "data", models=["bh"], repeats=1, periods=[PERIOD])
    exp = load_experiment(str(write_experiment(tmp_path / "exps", "arc", data)))
    prepare_store(exp, exp.periods[0])
    return exp.snapshot_root(exp.periods[0])


def test_store_archive_is_deterministic_and_unpacks_verified(store: Path, tmp_path: Path) -> None:
    data = pack(store, STORE_MEMBERS)
    assert pack(store, STORE_MEMBERS) == data  # same files, same bytes, same sha256
    names = unpack(data, sha256(data), tmp_path / "copy")
    assert len(names) == 5 and names[0] == "store.json"  # store.json + 4 windows, no locks
    assert not any(n.endswith(".lock") for n in names)
    hashes = verify_store(tmp_path / "copy")
    assert hashes == json.loads((store / "store.json").read_text())["hashes"]


def test_unpack_refuses_a_wrong_hash_and_unsafe_members(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="archive sha256 mismatch: expected 00"):
        unpack(b"x", "00", tmp_path)
    for name in ("../evil.txt", "/etc/evil.txt"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        data = buf.getvalue()
        with pytest.raises(ArchiveError, match="unsafe archive member"):
            unpack(data, sha256(data), tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists()


def test_verify_store_detects_a_changed_or_missing_snapshot(store: Path) -> None:
    files = sorted((store / "agent_data" / "shared" / "snapshots").glob("*/*.json"))
    snap = json.loads(files[0].read_text())
    snap["market_data"]["SH688008"]["current_price"] += 1
    files[0].write_text(json.dumps(snap))
    with pytest.raises(ArchiveError, match="content hash mismatch"):
        verify_store(store)
    files[0].unlink()
    with pytest.raises(ArchiveError, match=r"does not match store.json: missing \['2025-11-03"):
        verify_store(store)


def test_decision_logs_record_the_snapshot_relative_to_the_cell(tmp_path: Path) -> None:
    cell, store = tmp_path / "exp" / "p1__bh__r0", tmp_path / "exp" / "snapshots" / "p1"
    snap = store / "agent_data" / "shared" / "snapshots" / "2025-11-03" / "10-30-00_x.json"
    assert (
        _relative(snap, cell)
        == "../snapshots/p1/agent_data/shared/snapshots/2025-11-03/10-30-00_x.json"
    )
    inside = cell / "agent_data" / "shared" / "snapshots" / "a.json"
    assert _relative(inside, cell) == "agent_data/shared/snapshots/a.json"


def test_cli_executor_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    data = experiment(tmp_path / "data", models=["bh"], repeats=1, periods=[PERIOD])
    path = str(write_experiment(tmp_path / "exps", "opts", data))
    assert cli.main(["run", path, "--address", "auto"]) == 2
    assert "error: --address needs --executor ray" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    assert cli.main(["run", path, "--executor", "ray"]) == 2
    assert 'error: --executor ray needs Ray: pip install -e ".[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "data" / "experiments" / "opts" / "p1__bh__r0").exists()
