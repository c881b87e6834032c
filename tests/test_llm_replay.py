"""Record & replay of model I/O: a run through the real OpenAI SDK against the fake server is
replayed with the server stopped and reproduces every ledger record and decision-log event;
a changed request stops the agent with a report, or continues live."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from agent_engine.replay_setup import apply_replay, seed_snapshots
from agent_engine.runner import make_clock, run_agent
from settings.config import ConfigError, load_config
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import WINDOWS, summary_rows
from tests.replay_helpers import SIG, config_file, record_run
from tests.runner_helpers import FAKE_KEY, main_env, manifest, run_main

VOLATILE = (
    "ts_recorded",
    "latency_ms",
    "latency_ms_total",
    "duration_ms",
    "elapsed_ms",
    "retry_in_s",
)
_config = config_file


def _replay_config(cfg: Path, recorded: Path, continue_live: bool = False) -> Any:
    config = apply_replay(load_config(cfg), recorded, continue_live)
    seed_snapshots(recorded, config.data_root())
    return config


def _run_config(config: Any, tmp_path: Path) -> int:
    return run_agent(config, SIG, make_clock(config), runtime_path=tmp_path / "rt2.json")


def _strip(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in VOLATILE}


def _logs(root: Path) -> dict[str, list[dict[str, Any]]]:
    base = root / "agent_data" / SIG / "log"
    return {
        p.relative_to(base).as_posix(): [
            _strip(json.loads(line)) for line in p.read_text().splitlines()
        ]
        for p in sorted(base.rglob("*.jsonl"))
    }


def _ledger_text(root: Path) -> str:
    text = (root / "agent_data" / SIG / "position" / "position.jsonl").read_text()
    return re.sub(r'"ts_recorded":"[^"]*"', '"ts_recorded":""', text)


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return record_run(tmp_path)


def test_replay_with_server_stopped_reproduces_ledger_and_decision_logs(
    tmp_path: Path, recorded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _cfg, root_a = recorded
    monkeypatch.delenv("OPENAI_API_KEY")  # replay needs no key (and the server is gone)
    # the recording has what the test claims
    logs_a = _logs(root_a)
    events = [e for evs in logs_a.values() for e in evs]
    ends = [e for e in events if e["type"] == "window_end"]
    assert sum(e["trades"] for e in ends) >= 3
    assert sum(e["rejected_orders"] for e in ends) >= 1
    assert sum(e["invalid_tool_calls"] for e in ends) == 1
    assert sum(e["llm_errors"] for e in ends) == 1
    assert any(e["type"] == "model_call" and e["retries"] == 1 and not e["error"] for e in events)
    w4 = logs_a["2025-11-04/10-30-00.jsonl"]
    assert [e["attempt"] for e in w4 if e["type"] == "window_start"] == [1, 2]
    assert [e["outcome"] for e in w4 if e["type"] == "window_end"] == ["interrupted", "traded"]
    # Act: replay into data root B; it stops where the recording stopped, then resumes
    cfg_b = _config(tmp_path, tmp_path / "B", "http://127.0.0.1:9/v1", "b")
    config = _replay_config(cfg_b, root_a)
    assert _run_config(config, tmp_path) == 128 + signal.SIGTERM
    assert _run_config(config, tmp_path) == 0
    # Assert: byte-identical ledger (apart from ts_recorded), identical decision-log events
    root_b = tmp_path / "B"
    assert _ledger_text(root_b) == _ledger_text(root_a)
    assert _logs(root_b) == logs_a
    assert not (root_b / "agent_data" / SIG / "replay_divergence.jsonl").exists()


def test_changed_rule_stops_the_replay_with_where_it_diverged(
    tmp_path: Path, recorded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _cfg, root_a = recorded
    monkeypatch.delenv("OPENAI_API_KEY")
    cfg_b = _config(
        tmp_path,
        tmp_path / "B",
        "http://127.0.0.1:9/v1",
        "b",
        trading_rules={"commission_rate": "0.001"},
    )
    code = _run_config(_replay_config(cfg_b, root_a), tmp_path)
    assert code == 1
    error = manifest(tmp_path / "B", SIG)[-1]["error"]
    assert error.startswith(
        f"replay diverged at window {WINDOWS[0]} attempt 1 turn 1: the system prompt differs"
    )
    report = json.loads(
        (tmp_path / "B" / "agent_data" / SIG / "replay_divergence.jsonl").read_text()
    )
    assert (report["window_id"], report["turn"], report["message_index"]) == (WINDOWS[0], 1, 0)
    assert "commission 0.1% of" in report["actual"]
    assert "commission 0.03% of" in report["recorded"]
    # nothing of window 1 was recorded as done: the ledger holds only its seed
    ledger = (tmp_path / "B" / "agent_data" / SIG / "position" / "position.jsonl").read_text()
    assert len(ledger.splitlines()) == 1


def test_changed_data_reports_the_first_differing_message(
    tmp_path: Path, recorded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other starting cash: same system prompt, the user prompt (message 1) differs."""
    _cfg, root_a = recorded
    monkeypatch.delenv("OPENAI_API_KEY")
    cfg_b = _config(tmp_path, tmp_path / "B", "http://127.0.0.1:9/v1", "b")
    data = json.loads(cfg_b.read_text())
    data["agent_config"]["initial_cash"] = "2000000"
    cfg_b.write_text(json.dumps(data))
    assert _run_config(_replay_config(cfg_b, root_a), tmp_path) == 1
    report = json.loads(
        (tmp_path / "B" / "agent_data" / SIG / "replay_divergence.jsonl").read_text()
    )
    assert (report["window_id"], report["attempt"], report["turn"]) == (WINDOWS[0], 1, 1)
    assert (report["what"], report["message_index"]) == ("a message differs (user)", 1)
    assert "\nCash 1,000,000.00 CNY | " in report["recorded"]
    assert "\nCash 2,000,000.00 CNY | " in report["actual"]


def test_continue_live_goes_on_against_the_server(
    tmp_path: Path, recorded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _cfg, root_a = recorded
    with FakeLLMServer(rule="answer") as server:
        cfg_b = _config(
            tmp_path,
            tmp_path / "B",
            server.openai_base_url,
            "b",
            trading_rules={"commission_rate": "0.001"},
        )
        assert _run_config(_replay_config(cfg_b, root_a, continue_live=True), tmp_path) == 0
        # from the divergence on, every call went to the server: one per window
        assert len(server.requests) == len(WINDOWS)
    report = json.loads(
        (tmp_path / "B" / "agent_data" / SIG / "replay_divergence.jsonl").read_text()
    )
    assert report["on_divergence"] == "live" and report["window_id"] == WINDOWS[0]
    records = (tmp_path / "B" / "agent_data" / SIG / "position" / "position.jsonl").read_text()
    assert records.count('"reason_code":"hold"') == len(WINDOWS)


def test_replay_setup_refuses_the_recorded_data_root(
    tmp_path: Path, recorded: tuple[Path, Path]
) -> None:
    cfg, root_a = recorded
    with pytest.raises(ConfigError, match=r"replay into another log_config\.data_root"):
        apply_replay(load_config(cfg), root_a, False)
    with pytest.raises(ConfigError, match="is not a data root"):
        apply_replay(load_config(cfg), tmp_path / "nowhere", False)


def test_main_replay_llm_flag_reproduces_the_ledger_through_agent_processes(
    tmp_path: Path, recorded: tuple[Path, Path]
) -> None:
    """`python main.py CONFIG --replay-llm RUN_DIR`, no key, no server: the agent process
    stops where the recording stopped; the second run resumes and completes."""
    _cfg, root_a = recorded
    cfg_b = _config(tmp_path, tmp_path / "B", "http://127.0.0.1:9/v1", "b")
    env = main_env(tmp_path / "rt")
    args = [str(cfg_b), "--replay-llm", str(root_a), "--no-backup"]
    first = run_main(args, env)
    assert summary_rows(first.stdout)["llm"][:2] == ["stopped", "3/9"], first.stderr
    second = run_main(args, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert summary_rows(second.stdout)["llm"][:2] == ["completed", "9/9"]
    assert _ledger_text(tmp_path / "B") == _ledger_text(root_a)
    assert _logs(tmp_path / "B") == _logs(root_a)


def test_main_replay_llm_flag_errors(tmp_path: Path, recorded: tuple[Path, Path]) -> None:
    cfg_a, root_a = recorded
    env = main_env(tmp_path / "rt")
    same = run_main([str(cfg_a), "--replay-llm", str(root_a)], env)
    assert same.returncode == 2
    assert "replay into another log_config.data_root" in same.stderr
    alone = run_main([str(cfg_a), "--replay-continue-live"], env)
    assert alone.returncode == 2
    assert "--replay-continue-live needs --replay-llm RUN_DIR" in alone.stderr
