"""`python main.py` end to end: real subprocesses, a tmp data root, the demo market, LLM agents
talking real HTTP (through the openai / anthropic SDKs) to the fake servers on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from data_flow.backup import list_backups
from settings.config import PROJECT_ROOT
from tests.data_helpers import write_files_dataset
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import (
    ANTHROPIC_FAKE_KEY,
    SYMBOLS,
    WINDOWS,
    anthropic_agent,
    arena_config,
    baseline,
    key_env,
    openai_agent,
    summary_rows,
    text_step,
    trade_step,
)
from tests.runner_helpers import (
    FAKE_KEY,
    assert_windows_exactly_once,
    buy_cash_delta,
    files_containing,
    main_env,
    manifest,
    positions,
    read_json,
    run_main,
    snapshot_for,
    window_log,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> FakeLLMServer:
    with FakeLLMServer(rule="answer") as srv:
        yield srv


def test_arena_run_records_exact_positions_logs_and_summary(
    tmp_path: Path, data_root: Path, server: FakeLLMServer
) -> None:
    # Arrange: the OpenAI-compatible model buys 200 SH688008 at the first window, then holds;
    # the Anthropic model looks at its portfolio once, then holds; a baseline runs beside them;
    # an agent whose key is not set is skipped.
    server.add(trade_step("SH688008", "BUY", 200), text_step("bought"), model="fake-gpt")
    server.add(
        {"kind": "tool_calls", "calls": [{"name": "get_portfolio", "arguments": {}}]},
        text_step("all cash, holding"),
        model="fake-claude",
    )
    models = [
        baseline("bh"),
        openai_agent("fake-gpt", server.openai_base_url),
        anthropic_agent("fake-claude", server.anthropic_base_url),
        {**openai_agent("no-key", server.openai_base_url), "api_key_env": "DEEPSEEK_API_KEY"},
    ]
    cfg = arena_config(tmp_path, data_root, models)
    runtime_dir = tmp_path / "runtime"
    backups = tmp_path / "backups"
    env = main_env(runtime_dir, ARENA_BACKUP_DIR=str(backups), **key_env())

    # Act
    proc = run_main([str(cfg)], env)

    # Assert: exit code, plan and summary
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # Which agents ran, as what and how far is in their records (manifests and runtime states,
    # checked below); the skipped agent has none, and only its reason is printed.
    ran = {"bh": ("baseline", "buy_and_hold"), "fake-gpt": ("openai", "fake-gpt")}
    ran["fake-claude"] = ("anthropic", "fake-claude")
    assert sorted(p.name for p in (data_root / "agent_data").iterdir()) == [*sorted(ran), "shared"]
    assert "no-key: DEEPSEEK_API_KEY not set" in " ".join(out.split())
    rows = summary_rows(out)
    assert rows["no-key"][0] == "skipped"
    gpt_row = rows["fake-gpt"]
    assert gpt_row[:3] == ["completed", "9/9", "0"]
    # trades, rejected, llm errors, tokens in, tokens out (10 model calls × 100 / 10 tokens)
    assert gpt_row[5:] == ["1", "0", "0", "1000", "100"]
    assert rows["fake-claude"][:3] == ["completed", "9/9", "0"]
    assert rows["fake-claude"][4:] == ["+0.00", "0", "0", "0", "1000", "100"]
    assert rows["bh"][:3] == ["completed", "9/9", "0"]
    # the benchmark row: the equal-weight benchmark exactly as the API serves it
    from data_flow.live.store import LiveStore

    api = json.loads(LiveStore(data_root).pnl_series(None, "market").raw)["benchmark"]
    bench_equity = Decimal(str(api["points"][-1]["equity"]))
    bench_ret = ((bench_equity / 1000000 - 1) * 100).quantize(Decimal("0.01"))
    assert rows["benchmark-equal-weight"] == [
        "benchmark", "-", "-", f"{bench_equity:,.2f}", f"{bench_ret:+.2f}", "-", "-", "-", "-", "-"
    ]  # fmt: skip
    first = snapshot_for(data_root, WINDOWS[0])["market_data"]
    last = snapshot_for(data_root, WINDOWS[-1])["market_data"]
    by_hand = sum(
        Decimal(1000000) / 3 * Decimal(str(last[s]["current_price"]))
        / Decimal(str(first[s]["current_price"]))
        for s in first
    )  # fmt: skip
    assert abs(bench_equity - by_hand) < Decimal("0.01")
    # where the records are and how to open the dashboard on them
    lines = out.splitlines()
    assert f"Records: {data_root}/agent_data/{{bh,fake-gpt,fake-claude}}/ — position/" in out
    (dash,) = [x for x in lines if x.startswith("Dashboard: ")]
    assert dash.startswith(f"Dashboard: ARENA_DATA_ROOT={data_root} {sys.executable} ")
    assert f"{PROJECT_ROOT / 'api_server.py'}, then open http://127.0.0.1:8000/app/" in dash
    # each agent's progress lines are in its agent.log
    bh_log = (data_root / "agent_data" / "bh" / "agent.log").read_text().splitlines()
    assert bh_log[0] == "bh: 9 window(s) 2025-11-03T10:30 .. 2025-11-05T14:00; 0 complete, 9 to run"
    assert bh_log[-1] == (
        "bh completed: 9/9 window(s) complete; this run: 9 run, 0 without data; records in "
        f"{data_root / 'agent_data' / 'bh'}"
    )

    # exact position.jsonl of the scripted trade
    records = positions(data_root, "fake-gpt")
    assert_windows_exactly_once(records, WINDOWS)
    snap = snapshot_for(data_root, WINDOWS[0])
    price = Decimal(str(snap["market_data"]["SH688008"]["current_price"]))
    notional, commission, transfer, cash_out = buy_cash_delta(price, 200)
    cash = float(Decimal("1000000") - cash_out)
    avg = (cash_out / 200).quantize(Decimal("0.0001"))
    assert records[0]["positions"] == {"CASH": 1000000.0}
    assert records[0]["this_action"] == {"action": "seed"}
    trade = records[1]
    assert {
        k: trade[k] for k in ("id", "date", "decision_time", "decision_count", "window_id")
    } == {
        "id": 1,
        "date": "2025-11-03",
        "decision_time": "2025-11-03 10:30:00",
        "decision_count": 1,
        "window_id": "2025-11-03T10:30",
    }
    assert trade["positions"] == {
        "CASH": cash,
        "SH688008": {
            "shares": 200,
            "sellable": 0,
            "avg_price": float(avg),
            "purchase_date": "2025-11-03",
        },
    }
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
    assert trade["snapshot_hash"] == snap["metadata"]["content_hash"]
    for rec in records[2:]:
        assert rec["this_action"] == {
            "action": "no_trade",
            "reason": "model chose to hold",
            "reason_code": "hold",
        }
        assert rec["positions"]["CASH"] == cash
        assert rec["positions"]["SH688008"]["sellable"] == (
            0 if rec["date"] == "2025-11-03" else 200
        )

    # the decision log of the trading window
    events = window_log(data_root, "fake-gpt", WINDOWS[0])
    assert [e["type"] for e in events] == [
        "window_start", "prompt", "model_call", "tool_result", "model_call", "window_end"
    ]  # fmt: skip
    start, prompt, call1, result, call2, end = events
    assert start["signature"] == "fake-gpt" and start["provider"] == "openai"
    assert start["model"] == "fake-gpt" and start["attempt"] == 1
    assert (start["decision_index"], start["decisions_per_day"]) == (1, 3)
    assert start["snapshot_path"].startswith("agent_data/shared/snapshots/2025-11-03/10-30-00_")
    assert start["snapshot_hash"] == snap["metadata"]["content_hash"]
    assert "execute_trade" in prompt["tools"] and len(prompt["prompt_template_hash"]) == 64
    assert "SH688008" in prompt["user"]
    assert call1["usage"] == {"prompt_tokens": 100, "completion_tokens": 10}
    assert call1["model"] == "fake-gpt" and call1["response_id"].startswith("chatcmpl-fake-")
    assert call1["error"] is None and call1["retries"] == 0
    assert json.loads(call1["tool_calls"][0]["arguments"]) == {
        "symbol": "SH688008",
        "action": "BUY",
        "quantity": 200,
    }
    assert result["name"] == "execute_trade" and result["ok"] is True
    assert result["trade"] == trade["this_action"] and result["error_kind"] is None
    assert call2["text"] == "bought"
    assert end["outcome"] == "traded" and end["trades"] == 1 and end["model_calls"] == 2
    assert (end["tokens_in"], end["tokens_out"]) == (200, 20)
    assert end["cash"] == cash

    # Anthropic agent: a real tool round trip, then holds every window
    claude = positions(data_root, "fake-claude")
    assert_windows_exactly_once(claude, WINDOWS)
    assert {r["this_action"]["reason_code"] for r in claude[1:]} == {"hold"}
    c_events = window_log(data_root, "fake-claude", WINDOWS[0])
    assert [e["type"] for e in c_events if e["type"] == "tool_result"] == ["tool_result"]
    assert c_events[0]["provider"] == "anthropic"

    # manifests and runtime env files
    for sig, (provider, basemodel) in ran.items():
        run_start, run_end = manifest(data_root, sig)
        assert run_start["type"] == "run_start" and run_end["type"] == "run_end"
        assert run_start["config_path"] == str(cfg)
        model = next(m for m in run_start["config"]["models"] if m["signature"] == sig)
        assert (model["provider"], model["basemodel"]) == (provider, basemodel)
        assert run_end["status"] == "completed" and run_end["windows_done"] == 9
        state = read_json(runtime_dir / f"runtime_env_{sig}.json")
        assert state is not None
        assert (state["status"], state["windows_done"], state["windows_total"]) == (
            "completed", 9, 9
        )  # fmt: skip
        assert state["data_root"] == str(data_root) and state["pid"] > 0
    # each agent process loaded only the SDK it needs (pandas & co only if it built a snapshot)
    sdk = {"bh": [], "fake-gpt": ["openai"], "fake-claude": ["anthropic"]}
    for sig, expected_sdk in sdk.items():
        run_end = manifest(data_root, sig)[1]
        heavy = set(run_end["heavy_modules"])
        assert heavy & {"openai", "anthropic"} == set(expected_sdk)
        assert "exchange_calendars" not in heavy and "akshare" not in heavy
        if run_end["snapshots_built"] == 0:
            assert heavy == set(expected_sdk)
    run_start = manifest(data_root, "fake-gpt")[0]
    model_cfg = next(m for m in run_start["config"]["models"] if m["signature"] == "fake-gpt")
    assert model_cfg["api_key_env"] == "OPENAI_API_KEY"
    assert not (runtime_dir / "runtime_env_no-key.json").exists()
    assert not (data_root / "agent_data" / "no-key").exists()

    # one shared snapshot per window, whatever the number of agents
    snaps = sorted((data_root / "agent_data" / "shared" / "snapshots").glob("*/*.json"))
    assert len(snaps) == 9
    (line,) = [x for x in out.splitlines() if x.startswith("snapshots built by the prefetcher:")]
    by_prefetcher = int(line.split(":")[1].split()[0])
    by_agents = sum(manifest(data_root, s)[1]["snapshots_built"] for s in sdk)
    assert by_prefetcher + by_agents == 9  # exactly one build per window

    # the keys went to the fake provider, and nowhere else
    auth = {b["headers"].get("authorization") for b in server.requests}
    assert f"Bearer {FAKE_KEY}" in auth
    for secret in (FAKE_KEY, ANTHROPIC_FAKE_KEY):
        assert files_containing(data_root, secret) == []
        assert files_containing(runtime_dir, secret) == []
        assert secret not in proc.stdout and secret not in proc.stderr

    # Rerun: nothing left to do, nothing duplicated; the automatic backup runs first
    before = {sig: positions(data_root, sig) for sig in ("bh", "fake-gpt", "fake-claude")}
    n_requests = len(server.requests)
    again = run_main([str(cfg)], env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert {sig: positions(data_root, sig) for sig in before} == before
    assert len(server.requests) == n_requests
    assert "backup: " in again.stdout and len(list_backups(backups)) == 1
    assert summary_rows(again.stdout)["fake-gpt"] == gpt_row
    assert [m["type"] for m in manifest(data_root, "fake-gpt")] == ["run_start", "run_end"] * 2


def test_one_failing_agent_does_not_stop_the_others(tmp_path: Path, data_root: Path) -> None:
    # "broken": its position directory cannot be created (a file is in the way) -> exception.
    # "down": its provider refuses connections -> every window is an llm_error no_trade.
    (data_root / "agent_data" / "broken").mkdir(parents=True)
    (data_root / "agent_data" / "broken" / "position").write_text("in the way")
    models = [
        baseline("bh"),
        baseline("broken", "momentum"),
        openai_agent("down", "http://127.0.0.1:9/v1"),
    ]
    cfg = arena_config(tmp_path, data_root, models, end="2025-11-03")
    proc = run_main([str(cfg), "--no-backup"], main_env(tmp_path / "rt", **key_env()))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = summary_rows(proc.stdout)
    assert rows["bh"][:2] == ["completed", "3/3"]
    assert rows["broken"][:2] == ["failed", "0/3"]
    assert rows["down"][:2] == ["completed", "3/3"]
    assert rows["down"][5:7] == ["0", "0"] and rows["down"][7] == "3"  # trades, rejected, llm
    assert "agent broken failed: " in proc.stdout
    state = read_json(tmp_path / "rt" / "runtime_env_broken.json")
    assert state is not None and state["status"] == "failed" and "position" in state["last_error"]
    down = positions(data_root, "down")
    assert [r["this_action"]["reason_code"] for r in down[1:]] == ["llm_error"] * 3
    assert_windows_exactly_once(positions(data_root, "bh"), WINDOWS[:3])


def test_only_signature_runs_one_agent_in_process(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline("bh"), baseline("mom", "momentum")])
    rt_file = tmp_path / "custom_rt.json"
    env = main_env(tmp_path / "rt", ONLY_SIGNATURE="mom", RUNTIME_ENV_PATH=str(rt_file))
    proc = run_main([str(cfg), "--end-date", "2025-11-04"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Plan:" not in proc.stdout  # no orchestrator
    assert not (data_root / "agent_data" / "bh").exists()
    assert_windows_exactly_once(positions(data_root, "mom"), WINDOWS[:6])
    state = read_json(rt_file)
    assert state is not None and state["status"] == "completed" and state["windows_total"] == 6
    # progress on stdout: the plan, one line per window (as its decision log ended), the total
    expected = ["mom: 6 window(s) 2025-11-03T10:30 .. 2025-11-04T14:00; 0 complete, 6 to run"]
    for n, wid in enumerate(WINDOWS[:6], start=1):
        end = window_log(data_root, "mom", wid)[-1]
        expected.append(
            f"mom {wid}: {end['outcome']}, {end['trades']} trade(s), {end['rejected_orders']} "
            f"rejected, {end['llm_errors']} LLM error(s), cash {Decimal(str(end['cash'])):,.2f}; "
            f"{n}/6 complete"
        )
    expected.append(
        "mom completed: 6/6 window(s) complete; this run: 6 run, 0 without data; records in "
        f"{data_root / 'agent_data' / 'mom'}"
    )
    assert proc.stdout.splitlines() == expected
    bad = run_main([str(cfg)], {**env, "ONLY_SIGNATURE": "nobody"})
    assert bad.returncode == 2 and "nobody" in bad.stderr
    # --fresh in single-agent mode moves that agent's records aside, and only those
    again = run_main([str(cfg), "--fresh", "--end-date", "2025-11-03"], env)
    assert again.returncode == 0, again.stdout + again.stderr
    (moved,) = (data_root / "agent_data" / ".moved").iterdir()
    assert moved.name.startswith("mom-") and f"moved mom records to {moved}" in again.stdout
    assert_windows_exactly_once(positions(data_root, "mom"), WINDOWS[:3])


def test_fresh_moves_old_records_aside_and_starts_over(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(tmp_path, data_root, [baseline("bh")], end="2025-11-03")
    env = main_env(tmp_path / "rt")
    assert run_main([str(cfg), "--no-backup"], env).returncode == 0
    old = positions(data_root, "bh")
    proc = run_main([str(cfg), "--no-backup", "--fresh", "--end-date", "2025-11-04"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (moved,) = (data_root / "agent_data" / ".moved").iterdir()
    assert moved.name.startswith("bh-")
    assert read_positions(moved) == old
    assert f"--fresh: moved bh records to {moved}" in proc.stdout
    assert_windows_exactly_once(positions(data_root, "bh"), WINDOWS[:6])
    assert len(manifest(data_root, "bh")) == 2  # a new manifest: the old one moved too


def read_positions(agent_dir: Path) -> list[dict]:
    from data_flow.fsio import read_jsonl

    return read_jsonl(agent_dir / "position" / "position.jsonl")


def test_signatures_flag_selects_agents(tmp_path: Path, data_root: Path) -> None:
    cfg = arena_config(
        tmp_path, data_root, [baseline("bh"), baseline("mom", "momentum")], end="2025-11-03"
    )
    proc = run_main([str(cfg), "--no-backup", "--signatures", "mom"], main_env(tmp_path / "rt"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  skip  bh: not selected (--signatures)" in proc.stdout
    assert summary_rows(proc.stdout)["bh"][0] == "skipped"
    assert not (data_root / "agent_data" / "bh").exists()
    assert_windows_exactly_once(positions(data_root, "mom"), WINDOWS[:3])


def test_agents_running_elsewhere_are_skipped(tmp_path: Path, data_root: Path) -> None:
    from filelock import FileLock

    cfg = arena_config(
        tmp_path, data_root, [baseline("bh"), baseline("mom", "momentum")], end="2025-11-03"
    )
    (data_root / "agent_data" / "bh").mkdir(parents=True)
    with FileLock(str(data_root / "agent_data" / "bh" / "agent.lock"), thread_local=False):
        proc = run_main([str(cfg), "--no-backup"], main_env(tmp_path / "rt"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  skip  bh: already running on this data root (another main.py)" in proc.stdout
    assert summary_rows(proc.stdout)["mom"][:2] == ["completed", "3/3"]
    assert not (tmp_path / "rt" / "runtime_env_bh.json").exists()
    assert not (data_root / "agent_data" / "bh" / "position").exists()


def test_files_data_ending_before_end_date_exits_3_and_the_rerun_retries_those_windows(
    tmp_path: Path, data_root: Path
) -> None:
    # Arrange: files data through 2025-11-04; the arena runs to 2025-11-05
    data = write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-04")
    models = [baseline("bh"), baseline("mom", "momentum")]
    cfg = arena_config(
        tmp_path, data_root, models, data_config={"source": "files", "path": str(data)}
    )
    env = main_env(tmp_path / "rt")
    # Act
    proc = run_main([str(cfg), "--no-backup"], env)
    # Assert: the plan names the covered range and the day without data; exit 3
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[3:5] == [
        f"  data coverage: 2025-10-27 .. 2025-11-04 (hourly bars in {data / 'ai_stock_data.json'})",
        "  no data for 1 of 3 trading day(s) (3 window(s) per agent): 2025-11-05; each such "
        "window is recorded as data_unavailable, not complete, and a later run retries it "
        "(unless the agent has completed a later window)",
    ]
    rows = summary_rows(proc.stdout)
    assert rows["bh"][:3] == ["completed", "6/9", "3"]
    assert rows["mom"][:3] == ["completed", "6/9", "3"]
    assert (
        "6 window(s) had no market data (column 'no data'): not complete, a later run retries "
        "them (except those before an agent's last complete window); exit code 3"
    ) in lines
    for sig in ("bh", "mom"):
        assert_windows_exactly_once(positions(data_root, sig), WINDOWS[:6])
        assert window_log(data_root, sig, WINDOWS[6])[-1]["outcome"] == "data_unavailable"
        assert manifest(data_root, sig)[-1]["data_unavailable"] == 3
    agent_log = (data_root / "agent_data" / "bh" / "agent.log").read_text().splitlines()
    assert (
        "bh 2025-11-05T14:00: no data (files source has no bar at or before 2025-11-05 14:00:00 "
        "on 2025-11-05 for any of the 3 symbols (SH688008, SH688009, SH688111)); not complete, "
        "a later run retries it; 6/9 complete"
    ) in agent_log
    # Act: the data is fixed; the rerun runs the three windows of 2025-11-05, nothing else
    before = positions(data_root, "bh")
    write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-05")
    again = run_main([str(cfg), "--no-backup"], env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "every planned trading day has data" in again.stdout.splitlines()[3]
    rows = summary_rows(again.stdout)
    assert rows["bh"][:3] == ["completed", "9/9", "0"]
    assert rows["mom"][:3] == ["completed", "9/9", "0"]
    assert positions(data_root, "bh")[: len(before)] == before
    for sig in ("bh", "mom"):
        assert_windows_exactly_once(positions(data_root, sig), WINDOWS)
        ends = [
            e["outcome"]
            for e in window_log(data_root, sig, WINDOWS[6])
            if e["type"] == "window_end"
        ]
        assert ends[0] == "data_unavailable" and ends[1] != "data_unavailable" and len(ends) == 2
