"""`python main.py` command line: config errors (exit 2, message naming key and file), the
plan, flags. These runs stop before any agent starts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import main as main_module
from agent_engine.orchestrator import (
    AgentSummary,
    PlanEntry,
    build_plan,
    format_summary,
    move_aside,
)
from settings.config import ConfigError, load_config
from tests.main_helpers import arena_config, baseline, openai_agent
from tests.runner_helpers import main_env, run_main


def test_unknown_key_exits_2_naming_key_and_file(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline()], bogus_key=1)
    proc = run_main([str(cfg)], main_env(tmp_path / "rt"))
    assert proc.returncode == 2
    assert f"invalid config {cfg}" in proc.stderr and "bogus_key: unknown key" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--init-date", "2025-11-10", "--end-date", "2025-11-03"], "end_date must not be before"),
        (["--signatures", "bh,ghost"], "unknown signature(s) ghost"),
        (["--init-date", "2025-13-01"], "is not a date like 2025-11-03"),
    ],
    ids=["dates-reversed", "unknown-signature", "bad-date"],
)
def test_bad_flags_exit_2(tmp_path: Path, data_root: Path, args: list[str], expected: str) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline()])
    proc = run_main([str(cfg), *args], main_env(tmp_path / "rt"))
    assert proc.returncode == 2
    assert expected in proc.stderr


def test_missing_data_directory_exits_2(tmp_path: Path, data_root: Path) -> None:
    data = {"source": "files", "path": str(tmp_path / "no-such-dir")}
    cfg = arena_config(tmp_path, data_root, [baseline()], data_config=data)
    proc = run_main([str(cfg)], main_env(tmp_path / "rt"))
    assert proc.returncode == 2
    assert f"data_config.path: directory not found: {tmp_path / 'no-such-dir'}" in proc.stderr


def test_missing_and_malformed_config_exit_2(tmp_path: Path) -> None:
    env = main_env(tmp_path / "rt")
    proc = run_main([str(tmp_path / "nope.json")], env)
    assert proc.returncode == 2 and "config file not found" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = run_main([str(bad)], env)
    assert proc.returncode == 2 and f"invalid JSON in {bad}" in proc.stderr


def test_plan_lists_runs_and_skips_and_exits_2_when_nothing_can_run(
    tmp_path: Path, data_root: Path
) -> None:
    models = [
        openai_agent("gpt-x", "http://127.0.0.1:9/v1"),
        {**baseline("off"), "enabled": False},
    ]
    cfg = arena_config(tmp_path, data_root, models, end="2025-11-07")
    proc = run_main([str(cfg)], main_env(tmp_path / "rt"))
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        f"AStock Arena — config {cfg}",
        "  mode replay, 2025-11-03 .. 2025-11-07: 5 trading day(s) × 3 window(s) "
        "(10:30, 11:30, 14:00) = 15 window(s) per agent",
        f"  data demo (synthetic, seed 42); 3 symbol(s); data root {data_root}",
        "  data coverage: every trading day from 2023-01-03 (synthetic, seed 42); every planned "
        "trading day has data",
        "Plan: 0 agent(s) run, 2 skipped",
        "  skip  gpt-x: OPENAI_API_KEY not set",
        "  skip  off: disabled in config",
    ]
    assert "no agent can run" in proc.stderr
    assert not (data_root / "agent_data").exists()


def test_default_config_plan_needs_no_keys() -> None:
    config = load_config(main_module.DEFAULT_CONFIG)
    plan = build_plan(config)
    runs = [p.signature for p in plan if p.runs]
    assert runs == [
        "baseline-buy-and-hold",
        "baseline-momentum",
        "baseline-mean-reversion",
        "baseline-random",
    ]
    reasons = {p.signature: p.skip_reason for p in plan if not p.runs}
    assert reasons["gpt-5"] == "OPENAI_API_KEY not set"
    assert reasons["claude-sonnet-4-5"] == "ANTHROPIC_API_KEY not set"


def test_build_plan_rejects_unknown_signatures(tmp_path: Path, data_root: Path) -> None:
    config = load_config(arena_config(tmp_path, data_root, [baseline("a"), baseline("b")]))
    with pytest.raises(ConfigError, match="unknown signature"):
        build_plan(config, ["a", "zzz"])
    plan = build_plan(config, ["b"])
    assert [(p.signature, p.skip_reason) for p in plan] == [
        ("a", "not selected (--signatures)"),
        ("b", None),
    ]


def test_apply_overrides_revalidates(tmp_path: Path, data_root: Path) -> None:
    config = load_config(arena_config(tmp_path, data_root, [baseline()]))
    same = main_module.apply_overrides(config, None, None, "x")
    assert same is config
    moved = main_module.apply_overrides(config, date(2025, 11, 4), date(2025, 11, 20), "x")
    assert (moved.date_range.init_date, moved.date_range.end_date) == (
        date(2025, 11, 4),
        date(2025, 11, 20),
    )
    with pytest.raises(ConfigError, match="with --init-date/--end-date"):
        main_module.apply_overrides(config, date(2025, 12, 1), None, "x")


def test_resolve_config_path_accepts_names_in_settings(tmp_path: Path) -> None:
    assert main_module.resolve_config_path("default_config.json") == main_module.DEFAULT_CONFIG
    given = tmp_path / "c.json"
    given.write_text("{}", encoding="utf-8")
    assert main_module.resolve_config_path(str(given)) == given


def test_move_aside_never_deletes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "agent_data" / "a" / "position").mkdir(parents=True)
    (root / "agent_data" / "a" / "position" / "position.jsonl").write_text("x\n")
    assert move_aside(root, "missing", "s1") is None
    first = move_aside(root, "a", "s1")
    assert first == root / "agent_data" / ".moved" / "a-s1"
    assert (first / "position" / "position.jsonl").read_text() == "x\n"
    (root / "agent_data" / "a").mkdir()
    second = move_aside(root, "a", "s1")  # same stamp: a new name, nothing overwritten
    assert second == root / "agent_data" / ".moved" / "a-s1-2"
    assert first.exists()


def test_summary_table_layout() -> None:
    from decimal import Decimal

    rows = [
        AgentSummary("alpha", "completed", 57, 60, Decimal("1012345.6"), Decimal("1.23"), 5,
                     1, 0, 12000, 800, no_data=3),
        AgentSummary("b", "failed", 3, 60, None, None, 0, 0, 2, 0, 0, error="boom"),
        AgentSummary("c", "skipped"),
    ]  # fmt: skip
    bench = AgentSummary("bench", "benchmark", equity=Decimal("998000"), return_pct=Decimal("-0.2"))
    text = format_summary(rows, 12.34, bench)
    assert text.splitlines() == [
        "Summary (12.3 s):",
        "  agent  status     windows  no data        equity  return %  trades  rejected"
        "  llm errors  tokens in  tokens out",
        "  -----  ---------  -------  -------  ------------  --------  ------  --------"
        "  ----------  ---------  ----------",
        "  alpha  completed    57/60        3  1,012,345.60     +1.23       5         1"
        "           0      12000         800",
        "  b      failed        3/60        0             -         -       0         0"
        "           2          0           0",
        "  c      skipped          -        -             -         -       -         -"
        "           -          -           -",
        "  bench  benchmark        -        -    998,000.00     -0.20       -         -"
        "           -          -           -",
    ]


def test_plan_entry_runs() -> None:
    assert PlanEntry("a", "baseline", "random", None).runs
    assert not PlanEntry("a", "openai", "x", "KEY not set").runs


def test_runtime_env_and_manifest_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_engine.manifest import git_commit
    from agent_engine.runtime_env import RuntimeEnv, read_runtime_env, runtime_env_path

    monkeypatch.setenv("RUNTIME_DIR", str(tmp_path / "elsewhere"))  # read by entry points only
    path = runtime_env_path("sig", str(tmp_path / "rt"))
    assert path == tmp_path / "rt" / "runtime_env_sig.json"
    env = RuntimeEnv(path, signature="sig", config_path="c.json", data_root=tmp_path, pid=7)
    env.update(status="running", windows_done=2, windows_total=9)
    state = read_runtime_env(path)
    assert state is not None
    assert {k: state[k] for k in ("signature", "pid", "status", "windows_done")} == {
        "signature": "sig",
        "pid": 7,
        "status": "running",
        "windows_done": 2,
    }
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    with pytest.raises(ValueError, match="unknown runtime status"):
        env.update(status="exploded")
    assert read_runtime_env(tmp_path / "missing.json") is None
    # a fake repository: HEAD -> refs/heads/main -> sha
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / ".git" / "refs" / "heads" / "main").write_text(sha + "\n")
    assert git_commit(repo) == sha
    (repo / ".git" / "refs" / "heads" / "main").unlink()
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/main\n")
    assert git_commit(repo) == sha
    assert git_commit(tmp_path / "not-a-repo") is None


def test_config_json_written_by_helper_is_valid(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline()])
    assert json.loads(cfg.read_text())["log_config"]["data_root"] == str(data_root)


def test_record_stats_reads_totals_and_tolerates_a_torn_line(tmp_path: Path) -> None:
    from decimal import Decimal

    from agent_engine.orchestrator import record_stats
    from data_flow.fsio import dumps_line

    agent = tmp_path / "agent_data" / "a"
    (agent / "position").mkdir(parents=True)
    records = [
        {"id": 0, "window_id": None, "this_action": {"action": "seed"}},
        {"id": 1, "window_id": "2025-11-03T10:30", "this_action": {"action": "BUY"}},
        {"id": 2, "window_id": "2025-11-03T10:30", "this_action": {"action": "SELL"}},
        {"id": 3, "window_id": "2025-11-03T11:30", "this_action": {"action": "no_trade"}},
    ]
    (agent / "position" / "position.jsonl").write_text(
        "".join(dumps_line(r) + "\n" for r in records)
    )
    events = [
        {"type": "window_start", "attempt": 1},
        {"type": "prompt", "system": "x" * 1000, "user": "window_end model_call"},
        {"type": "model_call", "usage": {"prompt_tokens": 120, "completion_tokens": 7}},
        {"type": "window_end", "outcome": "traded", "rejected_orders": 1, "llm_errors": 0,
         "equity": 1000123.45},
        {"type": "model_call", "usage": {"prompt_tokens": 30, "completion_tokens": 3}},
        {"type": "window_end", "outcome": "interrupted", "rejected_orders": 0, "llm_errors": 2,
         "equity": None},
    ]  # fmt: skip
    (agent / "log" / "2025-11-03").mkdir(parents=True)
    text = "".join(dumps_line(e) + "\n" for e in events) + '{"type":"model_call","usa'
    (agent / "log" / "2025-11-03" / "10-30-00.jsonl").write_text(text)
    ended = [{"type": "window_start", "attempt": 1}, {"type": "window_end", "outcome": "no_trade"}]
    (agent / "log" / "2025-11-03" / "11-30-00.jsonl").write_text(
        "".join(dumps_line(e) + "\n" for e in ended)
    )
    stats = record_stats(tmp_path, "a")
    # 10:30 has records but its log does not end with a final window_end: not complete
    assert (stats.trades, stats.windows_complete) == (2, 1)
    assert (stats.tokens_in, stats.tokens_out) == (150, 10)
    assert (stats.rejected_orders, stats.llm_errors) == (1, 2)
    assert stats.equity == Decimal("1000123.45")
    assert record_stats(tmp_path, "nobody").trades == 0


def test_progress_line_per_agent_then_totals() -> None:
    from types import SimpleNamespace

    from agent_engine.orchestrator import PER_AGENT_PROGRESS_MAX, _progress_line

    def line(n: int) -> str:
        agents = [SimpleNamespace(signature=f"a{i}") for i in range(n)]
        states = {
            a.signature: {"windows_done": i, "windows_total": 9} for i, a in enumerate(agents)
        }
        statuses = {a.signature: "running" for a in agents}
        statuses["a0"] = "completed"
        return _progress_line(agents, states, statuses)  # type: ignore[arg-type]

    assert line(2) == "progress: a0 0/9 completed | a1 1/9"
    n = PER_AGENT_PROGRESS_MAX + 1
    assert line(n) == (
        f"progress: {n} agents, {sum(range(n))}/{9 * n} windows (per agent 0..{n - 1}); "
        f"1 completed, {n - 1} running"
    )


def test_plan_warns_about_knowledge_cutoffs(tmp_path: Path, data_root: Path) -> None:
    from agent_engine.orchestrator import cutoff_warnings

    models = [
        {**openai_agent("late", "http://127.0.0.1:9/v1"), "knowledge_cutoff": "2025-11-03"},
        {**openai_agent("early", "http://127.0.0.1:9/v1"), "knowledge_cutoff": "2025-11-02"},
        openai_agent("unknown", "http://127.0.0.1:9/v1"),
        baseline("bh"),
    ]
    config = load_config(arena_config(tmp_path, data_root, models))
    assert cutoff_warnings(config, ["late", "early", "unknown", "bh"]) == [
        "  warning: late's knowledge cutoff 2025-11-03 is not before the replay start "
        "2025-11-03: it may know the outcome; see the post-cutoff figures",
        "  warning: unknown has no knowledge_cutoff; its figures cannot be limited to windows "
        "after it",
    ]
    assert cutoff_warnings(config, ["early", "bh"]) == []
