"""`python -m data_flow.prefetch` as a subprocess: demo market and the star10 files config
(with a tmp --data-root), found-on-second-run, and clear errors with nonzero exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_flow.snapshot_store import load_snapshot
from settings.config import PROJECT_ROOT
from tests.data_helpers import demo_config_dict, write_json


def _prefetch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data_flow.prefetch", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_demo_market_build_then_find(tmp_path: Path, clean_env: dict[str, str]) -> None:
    root = tmp_path / "root"
    config = write_json(tmp_path / "demo.json", demo_config_dict(root))
    args = ("--config", str(config), "--date", "2025-11-17", "--time", "14:00")
    first = _prefetch(*args, env=clean_env)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip().splitlines()[-1])
    assert (
        path
        == root / "agent_data/shared/snapshots/2025-11-17/14-00-00_SH688008_SH688009_SH688111.json"
    )
    snap = load_snapshot(path)
    assert snap["timestamp"] == "2025-11-17 14:00:00" and snap["metadata"]["synthetic"] is True
    assert "built snapshot" in first.stdout
    second = _prefetch(*args, env=clean_env)
    assert second.returncode == 0 and second.stdout.strip().splitlines()[-1] == str(path)
    assert "found snapshot" in second.stdout


@pytest.mark.sample_data
def test_star10_files_config_with_data_root_override(
    star10_dir: Path, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    out = _prefetch(
        "--config", "star10_files.json", "--date", "2025-11-28", "--time", "14:00",
        "--data-root", str(tmp_path),
        env=clean_env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_relative_to(tmp_path)
    snap = load_snapshot(path)
    assert snap["metadata"]["data_sources"] == ["files"] and snap["metadata"]["synthetic"] is False
    assert len(snap["market_data"]) == 10
    assert snap["news"] and all(n["publish_time"] <= "2025-11-28 14:00:00" for n in snap["news"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--date", "2025-11-15", "--time", "10:30"), 2, "2025-11-15 is not a trading day"),
        (("--date", "2027-01-04", "--time", "10:30"), 2, "outside the XSHG trading calendar"),
        (("--date", "2025-13-01", "--time", "10:30"), 2, "is not a date"),
        (("--date", "2025-11-17", "--time", "12:00"), 2, "outside trading hours"),
        (("--date", "2025-11-17", "--time", "9h30"), 2, "is not a time"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, clean_env: dict[str, str], args: tuple[str, ...], code: int, message: str
) -> None:
    config = write_json(tmp_path / "demo.json", demo_config_dict(tmp_path / "root"))
    out = _prefetch("--config", str(config), *args, env=clean_env)
    assert out.returncode == code
    assert message in out.stderr
    assert out.stdout == ""


def test_bad_config_is_a_clear_error(tmp_path: Path, clean_env: dict[str, str]) -> None:
    bad = demo_config_dict(tmp_path / "root")
    bad["data_config"]["sauce"] = "demo"
    config = write_json(tmp_path / "bad.json", bad)
    out = _prefetch(
        "--config", str(config), "--date", "2025-11-17", "--time", "10:30", env=clean_env
    )
    assert out.returncode == 2 and "data_config.sauce: unknown key" in out.stderr
    missing = _prefetch(
        "--config", "no_such_config.json", "--date", "2025-11-17", "--time", "10:30", env=clean_env
    )
    assert missing.returncode == 2 and "config file not found" in missing.stderr


def test_missing_data_is_exit_1(tmp_path: Path, clean_env: dict[str, str]) -> None:
    data_dir = tmp_path / "files"
    write_json(data_dir / "ai_stock_data.json", {"SH688008": {"小时线行情": []}})
    cfg = demo_config_dict(
        tmp_path / "root", data_config={"source": "files", "path": str(data_dir)}
    )
    config = write_json(tmp_path / "files.json", cfg)
    out = _prefetch(
        "--config", str(config), "--date", "2025-11-17", "--time", "10:30", env=clean_env
    )
    assert out.returncode == 1
    assert "files source has no bar at or before 2025-11-17 10:30:00" in out.stderr
    assert not list((tmp_path / "root").rglob("*.json"))
    assert json.loads(config.read_text())["data_config"]["source"] == "files"


def test_akshare_offline_fails_fast_and_clearly(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """The network is closed here: the shipped akshare config must fail in bounded time,
    naming the call and the symbol, and leave no snapshot behind."""
    pytest.importorskip("akshare")
    started = time.monotonic()
    out = _prefetch(
        "--config", "akshare_config.json", "--date", "2025-11-17", "--time", "10:30",
        "--data-root", str(tmp_path),
        env=clean_env,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert out.returncode == 1
    # the builder asks for the corporate actions first (data_flow.sources.akshare_reference)
    assert (
        "akshare stock_fhps_detail_em(symbol='688008') for SH688008 failed: network" in out.stderr
    )
    assert not list(tmp_path.rglob("*.json"))
