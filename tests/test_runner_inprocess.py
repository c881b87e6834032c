"""run_agent in-process: replay, resume, interruption, live mode with an injected clock, and
failures. A scripted in-process client stands in for the model (the SDK paths are covered by
the end-to-end tests of main.py against the fake HTTP servers)."""

from __future__ import annotations

import json
import signal
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agent_engine.runner import (
    EXIT_NO_DATA,
    RunStats,
    StopRequested,
    make_clock,
    plan_windows,
    run_agent,
    windows_to_run,
)
from data_flow.calendar import trading_days
from data_flow.errors import DataUnavailableError
from settings.config import load_config
from tests.conftest import write_config
from tests.data_helpers import SYMBOLS, write_files_dataset
from tests.runner_helpers import (
    FakeLiveClock,
    ScriptedClient,
    assert_windows_exactly_once,
    bj,
    buy_cash_delta,
    manifest,
    positions,
    snapshot_for,
    window_log,
)

SIG = "bh"


def _windows(init: str, end: str) -> list[str]:
    from datetime import date

    days = trading_days(date.fromisoformat(init), date.fromisoformat(end))
    return [w.window_id for w in plan_windows(days, ["10:30", "11:30", "14:00"])]


def _run(cfg_path: Path, rt: Path, client: ScriptedClient, **kw: object) -> int:
    config = load_config(cfg_path)
    return run_agent(
        config,
        SIG,
        kw.pop("clock", None) or make_clock(config),  # type: ignore[arg-type]
        runtime_path=rt,
        config_path=cfg_path,
        client_factory=lambda _m, _a: client,
        **kw,  # type: ignore[arg-type]
    )


def test_replay_records_every_window_once_with_exact_cash(tmp_path: Path, data_root: Path) -> None:
    # Arrange
    cfg = write_config(tmp_path, data_root)
    rt = tmp_path / "runtime" / "runtime_env_bh.json"
    client = ScriptedClient("SH688008", 200)
    stats = RunStats()
    # Act
    code = _run(cfg, rt, client, stats=stats)
    # Assert
    assert code == 0
    expected = _windows("2025-11-03", "2025-11-05")
    assert len(expected) == 9
    records = positions(data_root, SIG)
    assert_windows_exactly_once(records, expected)
    price = Decimal(
        str(snapshot_for(data_root, expected[0])["market_data"]["SH688008"]["current_price"])
    )
    notional, commission, transfer, out = buy_cash_delta(price, 200)
    trade = records[1]
    assert trade["this_action"] == {
        "action": "BUY",
        "symbol": "SH688008",
        "amount": 200,
        "price": float(price),
        "notional": float(notional),
        "commission": float(commission),
        "stamp_duty": 0.0,
        "transfer_fee": float(transfer),
    }
    assert trade["positions"]["CASH"] == float(Decimal("1000000") - out)
    assert trade["positions"]["SH688008"]["shares"] == 200
    assert trade["positions"]["SH688008"]["sellable"] == 0
    assert trade["decision_count"] == 1 and trade["decision_time"] == "2025-11-03 10:30:00"
    # T+1: on the next day the 200 shares are sellable
    next_day = next(r for r in records if r["date"] == "2025-11-04")
    assert next_day["positions"]["SH688008"]["sellable"] == 200
    assert all(r["this_action"]["action"] == "no_trade" for r in records[2:])
    assert {r["this_action"]["reason_code"] for r in records[2:]} == {"hold"}
    # runtime env and manifest
    state = json.loads(rt.read_text())
    assert state["status"] == "completed"
    assert (state["windows_done"], state["windows_total"]) == (9, 9)
    assert state["current_window"] is None and state["last_error"] is None
    start, end = manifest(data_root, SIG)
    assert start["type"] == "run_start" and end["type"] == "run_end"
    assert start["run_id"] == end["run_id"]
    assert start["config"]["log_config"]["data_root"] == str(data_root)
    assert start["data_source"] == "demo(seed=42)"
    assert len(start["prompt_template_hash"]) == 64
    assert end["status"] == "completed" and end["windows_done"] == 9
    assert stats.snapshots_built == 9 and stats.windows_run == 9
    assert window_log(data_root, SIG, expected[0])[0]["attempt"] == 1


def test_rerun_resumes_after_last_complete_window(tmp_path: Path, data_root: Path) -> None:
    rt = tmp_path / "rt.json"
    cfg = write_config(
        tmp_path, data_root, date_range={"init_date": "2025-11-03", "end_date": "2025-11-04"}
    )
    assert _run(cfg, rt, ScriptedClient()) == 0
    first = positions(data_root, SIG)
    # the same agent, a longer date range: only the new windows run, the trade is not repeated
    cfg = write_config(
        tmp_path, data_root, date_range={"init_date": "2025-11-03", "end_date": "2025-11-05"}
    )
    client = ScriptedClient()
    client.bought = True
    stats = RunStats()
    assert _run(cfg, rt, client, stats=stats) == 0
    records = positions(data_root, SIG)
    assert records[: len(first)] == first
    assert_windows_exactly_once(records, _windows("2025-11-03", "2025-11-05"))
    assert client.window_ids == _windows("2025-11-05", "2025-11-05")
    assert (stats.windows_already_done, stats.windows_run) == (6, 3)
    # a third run has nothing left to do
    stats = RunStats()
    assert _run(cfg, rt, ScriptedClient(), stats=stats) == 0
    assert stats.windows_run == 0 and positions(data_root, SIG) == records
    assert [m["type"] for m in manifest(data_root, SIG)] == ["run_start", "run_end"] * 3


def test_interrupted_window_is_rerun_with_next_attempt(tmp_path: Path, data_root: Path) -> None:
    cfg = write_config(tmp_path, data_root)
    rt = tmp_path / "rt.json"

    def stop_in_window_4(window: int, step: int) -> None:
        if window == 4:
            raise StopRequested(signal.SIGTERM)

    code = _run(cfg, rt, ScriptedClient(on_call=stop_in_window_4))
    assert code == 128 + signal.SIGTERM
    expected = _windows("2025-11-03", "2025-11-05")
    assert_windows_exactly_once(positions(data_root, SIG), expected[:3])
    state = json.loads(rt.read_text())
    assert state["status"] == "stopped" and state["windows_done"] == 3
    assert state["current_window"] == expected[3]
    events = window_log(data_root, SIG, expected[3])
    assert events[0]["type"] == "window_start"
    assert events[-1]["type"] == "window_end" and events[-1]["outcome"] == "interrupted"
    assert manifest(data_root, SIG)[-1]["status"] == "stopped"
    # rerun: window 4 runs again as attempt 2, appended to the same log
    client = ScriptedClient()
    client.bought = True
    assert _run(cfg, rt, client) == 0
    assert client.window_ids == expected[3:]
    assert_windows_exactly_once(positions(data_root, SIG), expected)
    events = window_log(data_root, SIG, expected[3])
    starts = [e["attempt"] for e in events if e["type"] == "window_start"]
    assert starts == [1, 2]
    assert [e["outcome"] for e in events if e["type"] == "window_end"] == [
        "interrupted",
        "no_trade",
    ]


def test_live_mode_waits_for_windows_and_skips_past_ones_and_non_trading_days(
    tmp_path: Path, data_root: Path
) -> None:
    # Fri 2025-11-07 .. Mon 2025-11-10 (the weekend is not traded); the run starts at 11:00 on
    # Friday, so the 10:30 window is past and skipped.
    cfg = write_config(
        tmp_path,
        data_root,
        mode="live",
        date_range={"init_date": "2025-11-07", "end_date": "2025-11-10"},
    )
    clock = FakeLiveClock(bj("2025-11-07 11:00:00"))
    client = ScriptedClient()
    stats = RunStats()
    code = _run(cfg, tmp_path / "rt.json", client, clock=clock, stats=stats)
    assert code == 0
    processed = [
        "2025-11-07T11:30",
        "2025-11-07T14:00",
        "2025-11-10T10:30",
        "2025-11-10T11:30",
        "2025-11-10T14:00",
    ]
    assert client.window_ids == processed
    assert [s.strftime("%Y-%m-%dT%H:%M") for s in clock.sleeps] == processed
    assert stats.windows_skipped == 1 and stats.windows_total == 6
    assert_windows_exactly_once(positions(data_root, SIG), processed)
    snap = snapshot_for(data_root, "2025-11-10T10:30")
    assert snap["timestamp"] == "2025-11-10 10:30:00"
    state = json.loads((tmp_path / "rt.json").read_text())
    assert (state["status"], state["windows_done"], state["windows_total"]) == ("completed", 5, 6)


def test_live_mode_runs_a_window_reached_within_the_grace_period(
    tmp_path: Path, data_root: Path
) -> None:
    cfg = write_config(
        tmp_path,
        data_root,
        mode="live",
        date_range={"init_date": "2025-11-07", "end_date": "2025-11-07"},
    )
    clock = FakeLiveClock(bj("2025-11-07 10:32:00"))
    client = ScriptedClient()
    assert _run(cfg, tmp_path / "rt.json", client, clock=clock) == 0
    assert client.window_ids == ["2025-11-07T10:30", "2025-11-07T11:30", "2025-11-07T14:00"]


def test_agent_failure_is_recorded_not_raised(tmp_path: Path, data_root: Path) -> None:
    cfg = write_config(tmp_path, data_root)
    (data_root / "agent_data" / SIG).mkdir(parents=True)
    (data_root / "agent_data" / SIG / "position").write_text("not a directory")
    rt = tmp_path / "rt.json"
    code = _run(cfg, rt, ScriptedClient())
    assert code == 1
    state = json.loads(rt.read_text())
    assert state["status"] == "failed"
    assert "position" in state["last_error"]
    end = manifest(data_root, SIG)[-1]
    assert end["type"] == "run_end" and end["status"] == "failed" and end["error"]


def test_missing_data_files_log_data_unavailable_and_write_no_ledger_record(
    tmp_path: Path, data_root: Path
) -> None:
    missing = tmp_path / "no_such_data"
    missing.mkdir()
    cfg = write_config(
        tmp_path,
        data_root,
        date_range={"init_date": "2025-11-03", "end_date": "2025-11-03"},
        data_config={"source": "files", "path": str(missing)},
    )
    stats = RunStats()
    code = _run(cfg, tmp_path / "rt.json", ScriptedClient(), stats=stats)
    assert code == EXIT_NO_DATA == 3
    assert [r["this_action"]["action"] for r in positions(data_root, SIG)] == ["seed"]
    assert (stats.data_unavailable, stats.windows_done, stats.windows_run) == (3, 0, 3)
    events = window_log(data_root, SIG, "2025-11-03T10:30")
    assert [e["type"] for e in events] == ["window_start", "window_end"]
    assert events[0]["snapshot_path"] is None and events[0]["attempt"] == 1
    assert events[1]["outcome"] == "data_unavailable"
    assert events[1]["final_text"] == (
        f"data unavailable: files source: {missing / 'ai_stock_data.json'} not found"
    )
    assert events[1]["cash"] == 1000000.0
    state = json.loads((tmp_path / "rt.json").read_text())
    assert (state["status"], state["windows_done"], state["windows_total"]) == ("completed", 0, 3)
    assert manifest(data_root, SIG)[-1]["data_unavailable"] == 3


def test_windows_past_the_end_of_the_data_are_retried_once_the_data_is_fixed(
    tmp_path: Path, data_root: Path
) -> None:
    # Arrange: files data through 2025-11-04, the run goes to 2025-11-05
    data = write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-04")
    cfg = write_config(tmp_path, data_root, data_config={"source": "files", "path": str(data)})
    rt = tmp_path / "rt.json"
    expected = _windows("2025-11-03", "2025-11-05")
    lines: list[str] = []
    # Act
    code = _run(cfg, rt, ScriptedClient(), progress=lines.append)
    # Assert: the last day's windows are logged as data_unavailable, not recorded, exit 3
    assert code == 3
    assert_windows_exactly_once(positions(data_root, SIG), expected[:6])
    for wid in expected[6:]:
        (start, end) = window_log(data_root, SIG, wid)
        assert (start["attempt"], end["outcome"]) == (1, "data_unavailable")
        assert end["final_text"].startswith(
            f"data unavailable: files source has no bar at or before {wid.replace('T', ' ')}:00"
        )
    state = json.loads(rt.read_text())
    assert (state["status"], state["windows_done"]) == ("completed", 6)
    assert lines[0] == "bh: 9 window(s) 2025-11-03T10:30 .. 2025-11-05T14:00; 0 complete, 9 to run"
    assert lines[7] == (
        "bh 2025-11-05T10:30: no data (files source has no bar at or before 2025-11-05 10:30:00 "
        "on 2025-11-05 for any of the 3 symbols (SH688008, SH688009, SH688111)); not complete, "
        "a later run retries it; 6/9 complete"
    )
    assert lines[-1] == (
        "bh completed: 6/9 window(s) complete; this run: 9 run, 3 without data; "
        f"records in {data_root / 'agent_data' / SIG}"
    )
    # a rerun with the same data tries the 3 windows again (still no data: exit 3 again)
    client = ScriptedClient()
    client.bought = True
    assert _run(cfg, rt, client) == 3
    assert client.window_ids == []
    # Act: the data is fixed; the rerun runs exactly the windows that lacked data
    write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-05")
    client = ScriptedClient()
    client.bought = True
    stats = RunStats()
    assert _run(cfg, rt, client, stats=stats) == 0
    assert client.window_ids == expected[6:]
    assert (stats.windows_already_done, stats.windows_run, stats.data_unavailable) == (6, 3, 0)
    assert_windows_exactly_once(positions(data_root, SIG), expected)
    events = window_log(data_root, SIG, expected[6])
    assert [e["attempt"] for e in events if e["type"] == "window_start"] == [1, 2, 3]
    assert [e["outcome"] for e in events if e["type"] == "window_end"] == [
        "data_unavailable",
        "data_unavailable",
        "no_trade",
    ]


def test_a_gap_before_the_last_complete_window_is_passed_not_rerun() -> None:
    from datetime import date

    windows = plan_windows([date(2025, 11, 3), date(2025, 11, 4)], ["10:30", "14:00"])
    ids = [w.window_id for w in windows]
    todo, passed = windows_to_run(windows, {ids[0], ids[2]})
    assert ([w.window_id for w in todo], passed) == ([ids[3]], 1)
    todo, passed = windows_to_run(windows, set())
    assert ([w.window_id for w in todo], passed) == (ids, 0)


class _FlakySource:
    """The demo market, but with no data before `ready_at` (clock time) or ever (None)."""

    name = "demo"
    synthetic = True

    def __init__(self, clock: FakeLiveClock, ready_at: datetime | None) -> None:
        from data_flow.sources.demo import DemoSource

        self._demo = DemoSource(42)
        self._clock = clock
        self._ready_at = ready_at
        self.attempts: list[datetime] = []

    def _check(self) -> None:
        self.attempts.append(self._clock.now())
        if self._ready_at is None or self._clock.now() < self._ready_at:
            raise DataUnavailableError("feed not ready")

    def hourly_bars(self, *args: object) -> list:
        self._check()
        return self._demo.hourly_bars(*args)  # type: ignore[arg-type]

    def daily_bars(self, *args: object) -> list:
        return self._demo.daily_bars(*args)  # type: ignore[arg-type]

    def news(self, *args: object) -> list:
        return []


def _live_one_day(tmp_path: Path, data_root: Path) -> Path:
    return write_config(
        tmp_path,
        data_root,
        mode="live",
        date_range={"init_date": "2025-11-07", "end_date": "2025-11-07"},
    )


def test_live_mode_retries_missing_data_with_backoff_until_it_arrives(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _live_one_day(tmp_path, data_root)
    clock = FakeLiveClock(bj("2025-11-07 10:29:00"))
    source = _FlakySource(clock, ready_at=bj("2025-11-07 10:30:20"))
    monkeypatch.setattr("data_flow.sources.make_source", lambda _config: source)
    client = ScriptedClient()
    lines: list[str] = []
    code = _run(cfg, tmp_path / "rt.json", client, clock=clock, progress=lines.append)
    assert code == 0
    assert [t.strftime("%H:%M:%S") for t in clock.sleeps] == [
        "10:30:00", "10:30:05", "10:30:15", "10:30:35", "11:30:00", "14:00:00"
    ]  # fmt: skip
    assert client.window_ids == ["2025-11-07T10:30", "2025-11-07T11:30", "2025-11-07T14:00"]
    assert_windows_exactly_once(positions(data_root, SIG), client.window_ids)
    assert lines[1:5] == [
        "bh: waiting for 2025-11-07T10:30",
        "bh 2025-11-07T10:30: no data yet (feed not ready); retrying at 10:30:05",
        "bh 2025-11-07T10:30: no data yet (feed not ready); retrying at 10:30:15",
        "bh 2025-11-07T10:30: no data yet (feed not ready); retrying at 10:30:35",
    ]
    assert window_log(data_root, SIG, "2025-11-07T10:30")[0]["attempt"] == 1


def test_live_mode_gives_up_on_missing_data_at_the_window_deadline(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _live_one_day(tmp_path, data_root)
    clock = FakeLiveClock(bj("2025-11-07 10:29:00"))
    source = _FlakySource(clock, ready_at=None)
    monkeypatch.setattr("data_flow.sources.make_source", lambda _config: source)
    client = ScriptedClient()
    stats = RunStats()
    code = _run(cfg, tmp_path / "rt.json", client, clock=clock, stats=stats)
    assert code == 3
    # back-off 5, 10, 20, 40, 60, 60, 60 s, the last sleep cut at the deadline (10:35 = +5 min)
    first_window = [t.strftime("%H:%M:%S") for t in clock.sleeps if t.hour == 10]
    assert first_window == [
        "10:30:00", "10:30:05", "10:30:15", "10:30:35", "10:31:15", "10:32:15", "10:33:15",
        "10:34:15", "10:35:00",
    ]  # fmt: skip
    assert [t.strftime("%H:%M:%S") for t in source.attempts if t.hour == 10] == first_window
    assert client.window_ids == [] and stats.data_unavailable == 3
    assert [r["this_action"]["action"] for r in positions(data_root, SIG)] == ["seed"]
    end = window_log(data_root, SIG, "2025-11-07T14:00")[-1]
    assert (end["outcome"], end["final_text"]) == (
        "data_unavailable",
        "data unavailable: feed not ready",
    )


@pytest.mark.parametrize("mode", ["replay", "live"])
def test_make_clock_matches_mode(tmp_path: Path, data_root: Path, mode: str) -> None:
    from data_flow.clock import LiveClock, ReplayClock

    config = load_config(write_config(tmp_path, data_root, mode=mode))
    clock = make_clock(config)
    assert isinstance(clock, ReplayClock if mode == "replay" else LiveClock)


def test_a_second_process_for_the_same_agent_is_refused(tmp_path: Path, data_root: Path) -> None:
    from filelock import FileLock

    cfg = write_config(tmp_path, data_root)
    (data_root / "agent_data" / SIG).mkdir(parents=True)
    holder = FileLock(str(data_root / "agent_data" / SIG / "agent.lock"), thread_local=False)
    with holder:
        assert _run(cfg, tmp_path / "rt.json", ScriptedClient()) == 1
    assert not (data_root / "agent_data" / SIG / "position").exists()
    assert not (tmp_path / "rt.json").exists()
    assert _run(cfg, tmp_path / "rt.json", ScriptedClient()) == 0
