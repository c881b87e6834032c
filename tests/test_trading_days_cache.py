"""The on-disk trading-day cache: same sessions as exchange_calendars, rebuilt when stale or
broken, and read without importing exchange_calendars/pandas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from data_flow import trading_days_cache as tdc
from settings.config import PROJECT_ROOT


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(tdc.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _counting_loader(calls: list[str]):
    def load(name: str) -> tuple[date, ...]:
        calls.append(name)
        return tdc.library_sessions(name)

    return load


def test_cached_sessions_equal_exchange_calendars(cache_dir: Path) -> None:
    calls: list[str] = []
    first = tdc.cached_sessions("XSHG", _counting_loader(calls))
    again = tdc.cached_sessions("XSHG", _counting_loader(calls))
    assert first == again == tdc.library_sessions("XSHG")
    assert calls == ["XSHG"]  # the second call came from the file
    data = json.loads((cache_dir / "calendar_XSHG.json").read_text())
    assert data["calendar"] == "XSHG" and data["key"] == tdc.library_key("XSHG")
    assert data["sessions"][0] == first[0].isoformat() and len(data["sessions"]) == len(first)
    assert date(2025, 10, 1) not in first and date(2025, 10, 9) in first  # National Day


def test_a_stale_key_rebuilds_the_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    tdc.cached_sessions("XSHG", _counting_loader(calls))
    monkeypatch.setattr(tdc, "library_key", lambda name: "exchange_calendars-9.9.9.dist-info")
    sessions = tdc.cached_sessions("XSHG", _counting_loader(calls))
    assert calls == ["XSHG", "XSHG"]
    assert sessions == tdc.library_sessions("XSHG")
    data = json.loads((cache_dir / "calendar_XSHG.json").read_text())
    assert data["key"] == "exchange_calendars-9.9.9.dist-info"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"calendar": "XSHG", "key": "%s", "sessions": []}',
        '{"calendar": "XSHG", "key": "%s", "sessions": ["2025-01-03", "2025-01-02"]}',
        '{"calendar": "XSHG", "key": "%s", "sessions": ["2025-13-01"]}',
        '{"calendar": "XSHE", "key": "%s", "sessions": ["2025-01-02"]}',
    ],
)
def test_a_broken_cache_file_is_rebuilt(cache_dir: Path, content: str) -> None:
    cache_dir.mkdir()
    path = cache_dir / "calendar_XSHG.json"
    path.write_text(content.replace("%s", tdc.library_key("XSHG")))
    calls: list[str] = []
    assert tdc.cached_sessions("XSHG", _counting_loader(calls)) == tdc.library_sessions("XSHG")
    assert calls == ["XSHG"]
    assert len(json.loads(path.read_text())["sessions"]) > 4000


def test_an_unwritable_cache_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(tdc.CACHE_DIR_ENV, str(blocker / "sub"))  # a folder under a file
    assert tdc.cached_sessions("XSHG") == tdc.library_sessions("XSHG")


def test_trading_days_from_the_cache_import_no_pandas(cache_dir: Path) -> None:
    tdc.cached_sessions("XSHG")  # make the cache
    code = (
        "import sys; from datetime import date; from data_flow.calendar import trading_days; "
        "days = trading_days(date(2025, 9, 29), date(2025, 10, 10)); "
        "print([d.isoformat() for d in days]); "
        "print(sorted(m for m in ('pandas', 'exchange_calendars') if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", tdc.CACHE_DIR_ENV: str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(PROJECT_ROOT),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert out == ["['2025-09-29', '2025-09-30', '2025-10-09', '2025-10-10']", "[]"]
