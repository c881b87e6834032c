"""The fake provider itself: rule mode, per-model queues, and the CLI used by e2e runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from agent_engine.llm.base import Message
from agent_engine.llm.openai_client import OpenAIChatClient
from agent_engine.tools import TOOL_SPECS
from settings.config import PROJECT_ROOT
from tests.fake_llm_server import FakeLLMServer, rule_step
from tests.waiting import wait_for


def test_trade_rule_buys_then_sells_sellable_shares() -> None:
    user = {
        "role": "user",
        "content": "... Market at 10:30:\nsymbol | price\nSH688009 | 1\nSH688008 | 2",
    }
    step1 = rule_step("trade", {"messages": [user]})
    assert step1["calls"][0]["name"] == "get_portfolio"
    assistant = {"role": "assistant", "content": None}
    empty = {"role": "tool", "content": json.dumps({"holdings": []})}
    step2 = rule_step("trade", {"messages": [user, assistant, empty]})
    assert step2["calls"][0]["arguments"] == {
        "symbol": "SH688009",
        "action": "BUY",
        "quantity": 200,
    }
    held = {
        "role": "tool",
        "content": json.dumps({"holdings": [{"symbol": "SH688008", "sellable": 300}]}),
    }
    step2 = rule_step("trade", {"messages": [user, assistant, held]})
    assert step2["calls"][0]["arguments"] == {
        "symbol": "SH688008",
        "action": "SELL",
        "quantity": 300,
    }
    locked = {
        "role": "tool",
        "content": json.dumps({"holdings": [{"symbol": "SH688008", "sellable": 0}]}),
    }
    assert rule_step("trade", {"messages": [user, assistant, locked]})["kind"] == "text"
    assert (
        rule_step("trade", {"messages": [user, assistant, held, assistant, held]})["kind"] == "text"
    )


def test_per_model_queues_then_rule() -> None:
    script = {
        "models": {"a": [{"kind": "text", "text": "from a"}]},
        "rule": "portfolio_then_answer",
    }
    with FakeLLMServer(script) as srv:
        a = OpenAIChatClient("a", api_key="k-123456", base_url=srv.openai_base_url, timeout=5)
        b = OpenAIChatClient("b", api_key="k-123456", base_url=srv.openai_base_url, timeout=5)
        assert a.complete("s", [Message.user("u")], TOOL_SPECS).text == "from a"
        assert (
            b.complete("s", [Message.user("u")], TOOL_SPECS).tool_calls[0].name == "get_portfolio"
        )
        assert (
            a.complete("s", [Message.user("u")], TOOL_SPECS).tool_calls[0].name == "get_portfolio"
        )
        srv.assert_complete()


def test_cli_writes_port_serves_logs_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"kind": "text", "text": "scripted"}]), encoding="utf-8")
    port_file = tmp_path / "port.txt"
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_llm_server",
            "--script",
            str(script),
            "--port-file",
            str(port_file),
            "--rule",
            "answer",
            "--requests-log",
            str(log),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        written = wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "port file")
        port = int(written)
        client = OpenAIChatClient(
            "m", api_key="k-123456", base_url=f"http://127.0.0.1:{port}/v1", timeout=5
        )
        assert client.complete("s", [Message.user("u")], []).text == "scripted"
        assert client.complete("s", [Message.user("u")], []).text == "Holding; no further trades."
        lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
        assert [x["path"] for x in lines] == ["/v1/chat/completions"] * 2
        assert lines[0]["body"]["model"] == "m"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
