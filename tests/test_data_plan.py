"""What the data covers (sources' `coverage`), the plan's lines about it, and the summary's count
of windows without data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from agent_engine.data_plan import DataPlan, day_ranges, format_data_plan, plan_data
from agent_engine.orchestrator import record_stats
from data_flow.calendar import trading_days
from data_flow.fsio import dumps_line
from data_flow.sources.akshare_source import AkshareSource
from data_flow.sources.base import Coverage, source_coverage
from data_flow.sources.demo import DemoSource
from data_flow.sources.files import FilesSource
from settings.config import load_config
from tests.conftest import write_config
from tests.data_helpers import SYMBOLS, write_files_dataset


def _days(first: str, last: str) -> list[date]:
    return list(trading_days(date.fromisoformat(first), date.fromisoformat(last)))


def test_files_coverage_is_the_days_with_hourly_bars_of_the_symbols(tmp_path: Path) -> None:
    data = write_files_dataset(tmp_path, ["SH688008"], "2025-11-03", "2025-11-05")
    source = FilesSource(data)
    cov = source.coverage(["SH688008", "SH688999"])
    assert cov.days == frozenset(_days("2025-11-03", "2025-11-05"))
    assert (cov.first, cov.last) == (date(2025, 11, 3), date(2025, 11, 5))
    assert cov.has(date(2025, 11, 5)) is True and cov.has(date(2025, 11, 6)) is False
    assert source.coverage(["SH688999"]).days == frozenset()


def test_demo_and_akshare_coverage(tmp_path: Path) -> None:
    demo = DemoSource(7).coverage(SYMBOLS)
    assert (demo.first, demo.last, demo.known) == (date(2023, 1, 3), None, True)
    assert demo.has(date(2023, 1, 2)) is False and demo.has(date(2026, 6, 1)) is True
    ak = AkshareSource(tmp_path).coverage(SYMBOLS)
    assert ak.known is False and ak.has(date(2025, 11, 3)) is None
    assert source_coverage(object(), SYMBOLS) == Coverage(known=False, note="source: unknown")


def test_plan_data_lists_the_days_past_the_end_of_files_data(
    tmp_path: Path, data_root: Path
) -> None:
    data = write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-04")
    config = load_config(
        write_config(tmp_path, data_root, data_config={"source": "files", "path": str(data)})
    )
    days = _days("2025-11-03", "2025-11-07")
    plan = plan_data(config, days)
    assert plan.missing_days == _days("2025-11-05", "2025-11-07")
    assert format_data_plan(plan, days, 3) == [
        f"  data coverage: 2025-10-27 .. 2025-11-04 (hourly bars in {data / 'ai_stock_data.json'})",
        "  no data for 3 of 5 trading day(s) (9 window(s) per agent): 2025-11-05 .. 2025-11-07; "
        "each such window is recorded as data_unavailable, not complete, and a later run "
        "retries it (unless the agent has completed a later window)",
    ]


def test_plan_data_reports_unreadable_files_and_unknown_coverage(
    tmp_path: Path, data_root: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ai_stock_data.json").write_text("{not json", encoding="utf-8")
    config = load_config(
        write_config(tmp_path, data_root, data_config={"source": "files", "path": str(bad)})
    )
    days = _days("2025-11-03", "2025-11-04")
    plan = plan_data(config, days)
    assert plan.missing_days == days and plan.error is not None
    lines = format_data_plan(plan, days, 2)
    assert lines[0].startswith("  data coverage: none readable (files source: cannot read ")
    assert lines[1].startswith("  no data for 2 of 2 trading day(s) (4 window(s) per agent): ")
    unknown = DataPlan(Coverage(known=False, note="akshare: unknown until fetched"))
    assert format_data_plan(unknown, days, 2) == [
        "  data coverage: akshare: unknown until fetched; a window without data is recorded as "
        "data_unavailable, not complete, and retried by a later run"
    ]


def test_day_ranges_group_consecutive_trading_days_and_the_plan_caps_the_list() -> None:
    days = _days("2025-11-03", "2025-11-14")  # Mon..Fri, Mon..Fri
    missing = [days[0], days[1], days[4], days[5], days[9]]  # Fri 7th + Mon 10th: consecutive
    assert day_ranges(missing, days) == [
        "2025-11-03 .. 2025-11-04",
        "2025-11-07 .. 2025-11-10",
        "2025-11-14",
    ]
    month = _days("2025-11-03", "2025-12-12")  # 30 trading days
    plan = DataPlan(Coverage(first=date(2020, 1, 1)), missing_days=month[::2])
    line = format_data_plan(plan, month, 1)[1]
    shown = ", ".join(str(d) for d in month[:16:2])
    assert line.startswith(
        f"  no data for 15 of 30 trading day(s) (15 window(s) per agent): {shown}, … (7 more); "
    )


def test_record_stats_counts_planned_windows_whose_last_attempt_had_no_data(
    tmp_path: Path,
) -> None:
    agent = tmp_path / "agent_data" / "a"
    (agent / "position").mkdir(parents=True)
    records = [
        {"id": 0, "window_id": None, "this_action": {"action": "seed"}},
        {"id": 1, "window_id": "2025-11-03T10:30", "this_action": {"action": "no_trade"}},
    ]
    (agent / "position" / "position.jsonl").write_text(
        "".join(dumps_line(r) + "\n" for r in records)
    )
    logs = {
        "10-30-00": ["data_unavailable", "no_trade"],  # retried, now complete
        "11-30-00": ["data_unavailable", "data_unavailable"],  # still without data
        "14-00-00": ["interrupted"],  # not a data problem
    }
    (agent / "log" / "2025-11-03").mkdir(parents=True)
    (agent / "log" / "2025-11-04").mkdir(parents=True)
    for stem, outcomes in logs.items():
        events = [{"type": "window_end", "outcome": o, "equity": None} for o in outcomes]
        text = "".join(dumps_line(e) + "\n" for e in events)
        (agent / "log" / "2025-11-03" / f"{stem}.jsonl").write_text(text)
    no_data = dumps_line({"type": "window_end", "outcome": "data_unavailable"}) + "\n"
    (agent / "log" / "2025-11-04" / "10-30-00.jsonl").write_text(no_data)
    stats = record_stats(tmp_path, "a")
    assert (stats.windows_complete, stats.windows_no_data) == (1, 2)
    planned = {"2025-11-03T10:30", "2025-11-03T11:30", "2025-11-03T14:00"}
    assert record_stats(tmp_path, "a", planned).windows_no_data == 1
