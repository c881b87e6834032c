"""Window deadline, reply size cap and strict servers, through run_window and the real SDKs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agent_engine.decision_log import read_events
from agent_engine.llm import deadline as deadline_module
from agent_engine.llm.base import LLMResponse, Message, ToolCall, ToolSpec, Usage
from agent_engine.llm.factory import make_client
from agent_engine.llm.limits import TRUNCATION_MARK, cap_reply
from agent_engine.loop import WindowContext, WindowOutcome, run_window
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY, make_config, make_ctx

KEY_ENV = "ARENA_TEST_FAKE_KEY"
PORTFOLIO_CALL = {"name": "get_portfolio", "arguments": "{}"}


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


def setup(
    data_root: Path, server: FakeLLMServer, parameters: dict[str, Any] | None = None, **agent: Any
) -> WindowContext:
    model = {
        "signature": "llm",
        "provider": "openai",
        "basemodel": "fake-model",
        "base_url": server.openai_base_url,
        "api_key_env": KEY_ENV,
        "parameters": parameters or {},
    }
    return make_ctx(make_config(data_root, models=[model], **agent), "llm")


def run(ctx: WindowContext, waits: list[float]) -> WindowOutcome:
    client = make_client(ctx.model, ctx.config.agent_config)
    return run_window(ctx, client, sleep=waits.append)


def model_calls(ctx: WindowContext) -> list[dict[str, Any]]:
    return [e for e in read_events(ctx.log_path) if e["type"] == "model_call"]


# --- window deadline (point 7) -----------------------------------------------------------------


def test_a_dripping_server_ends_the_window_at_its_deadline(
    data_root: Path, server: FakeLLMServer
) -> None:
    server.add({"kind": "text", "text": "slow " * 20, "drip": 0.25})
    ctx = setup(data_root, server, timeout_seconds=60.0, window_timeout_seconds=2.0)
    waits: list[float] = []
    started = time.monotonic()
    outcome = run(ctx, waits)
    assert time.monotonic() - started < 10.0  # the reply would take ~100 s
    assert outcome.outcome == "llm_error" and waits == [] and len(server.requests) == 1
    message = (
        "deadline reached (window_timeout_seconds 2) before retry 1; last error: timeout: "
        "no complete reply by the deadline (window_timeout_seconds 2)"
    )
    (call,) = model_calls(ctx)
    assert call["error"] == {"kind": "timeout", "message": message}
    assert call["attempts"] == 1 and call["retries"] == 0
    assert ctx.ledger.records()[-1]["this_action"] == {
        "action": "no_trade",
        "reason": f"llm_error: timeout: {message}",
        "reason_code": "llm_error",
    }


def test_no_retry_starts_after_the_window_deadline(data_root: Path, server: FakeLLMServer) -> None:
    busy = {"kind": "error", "status": 503, "message": "busy", "headers": {"retry-after": "30"}}
    server.add(busy, busy)
    ctx = setup(data_root, server, max_delay=60.0, window_timeout_seconds=20.0)
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "llm_error"
    assert waits == [] and len(server.requests) == 1  # a 30 s wait would pass the deadline
    (call,) = model_calls(ctx)
    assert call["error"]["message"] == (
        "deadline reached (window_timeout_seconds 20) before retry 1; "
        "last error: server_error: HTTP 503: busy"
    )


class _SlowScriptedClient:
    """Answers from a list; each answer moves the deadline clock by `seconds`."""

    provider = "openai"
    model = "scripted"

    def __init__(self, responses: list[LLMResponse], clock: list[float], seconds: float) -> None:
        self.responses = responses
        self.clock = clock
        self.seconds = seconds
        self.calls = 0

    def complete(
        self, system: str, messages: list[Message], tools: list[ToolSpec], key: Any = None
    ) -> LLMResponse:
        self.calls += 1
        self.clock[0] += self.seconds
        return self.responses.pop(0)


def test_no_model_call_starts_after_the_window_deadline(
    data_root: Path, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(deadline_module, "_clock", lambda: clock[0])
    calls = [ToolCall("c1", "get_portfolio", "{}")]
    first = LLMResponse("looking", calls, "tool_calls", Usage(5, 1), "scripted", "r1", 3.0, 0)
    client = _SlowScriptedClient([first], clock, seconds=11.0)
    ctx = setup(data_root, server, window_timeout_seconds=10.0)
    outcome = run_window(ctx, client, sleep=lambda s: None)
    assert outcome.outcome == "llm_error" and client.calls == 1
    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == [
        "window_start",
        "prompt",
        "model_call",
        "tool_result",
        "model_call",
        "window_end",
    ]
    late = events[4]
    assert late["error"] == {
        "kind": "timeout",
        "message": "deadline reached (window_timeout_seconds 10)",
    }
    assert (late["attempts"], late["latency_ms"]) == (0, 0.0)
    assert (events[5]["model_calls"], events[5]["model_attempts"]) == (2, 1)


# --- reply size (point 8) ------------------------------------------------------------------------


def test_a_huge_reply_is_cut_in_the_log_and_the_conversation(
    data_root: Path, server: FakeLLMServer
) -> None:
    huge = "x" * 3_000_000
    server.add(
        {"kind": "tool_calls", "text": huge, "calls": [dict(PORTFOLIO_CALL, id="c1")]},
        {"kind": "text", "text": "done"},
    )
    ctx = setup(data_root, server, max_reply_bytes=65536)
    outcome = run(ctx, [])
    assert outcome.outcome == "no_trade" and outcome.model_calls == 2
    first, second = model_calls(ctx)
    kept = 65536 - len("c1get_portfolio{}")
    expected = "x" * kept + TRUNCATION_MARK.format(kept=kept, total=3_000_000)
    assert first["text"] == expected
    assert first["tool_calls"] == [{"id": "c1", "name": "get_portfolio", "arguments": "{}"}]
    assert first["truncated"] == {
        "reply_bytes": 3_000_017,
        "kept_bytes": 65536,
        "dropped_tool_calls": 0,
    }
    assert second["truncated"] is None
    # the model gets its cut reply back, not 3 MB
    assistant = server.bodies()[1]["messages"][2]
    assert assistant["role"] == "assistant" and assistant["content"] == expected
    assert ctx.log_path.stat().st_size < 300_000


def _response(text: str, calls: list[ToolCall], reasoning: str = "") -> LLMResponse:
    return LLMResponse(text, calls, "stop", Usage(), "m", None, 1.0, 0, reasoning=reasoning)


def test_cap_reply_keeps_tool_calls_first_and_cuts_on_character_boundaries() -> None:
    calls = [ToolCall("a", "f", "1234567890"), ToolCall("b", "g", "{}")]
    response = _response("é" * 10, calls, reasoning="why")
    capped, record = cap_reply(response, 12)
    assert capped.tool_calls == [ToolCall("a", "f", "1234567890")]  # 12 bytes: the budget
    assert capped.text == TRUNCATION_MARK.format(kept=0, total=20)
    assert capped.reasoning == TRUNCATION_MARK.format(kept=0, total=3)
    assert record == {"reply_bytes": 39, "kept_bytes": 12, "dropped_tool_calls": 1}
    capped, record = cap_reply(_response("é" * 10, []), 5)  # "é" is 2 bytes: 2 fit in 5
    assert capped.text == "éé" + TRUNCATION_MARK.format(kept=4, total=20)
    assert record == {"reply_bytes": 20, "kept_bytes": 4, "dropped_tool_calls": 0}
    assert cap_reply(response, 39) == (response, None)


# --- strict servers (points 19 and 20) -------------------------------------------------------


def test_a_llama_cpp_style_server_sees_the_tools(data_root: Path, server: FakeLLMServer) -> None:
    trade = {"name": "execute_trade", "arguments": '{"symbol": "SH688008", "action": "BUY", '}
    trade["arguments"] += '"quantity": 200}'
    server.add({"kind": "tool_calls", "calls": [trade]}, {"kind": "text", "text": "bought"})
    ctx = setup(data_root, server)
    outcome = run(ctx, [])
    assert outcome.outcome == "traded" and outcome.trades == 1
    assert [b["tool_choice"] for b in server.bodies()] == ["auto", "auto"]
    assert server.rejected == 0


def test_tool_call_turns_pass_strict_validation(data_root: Path, server: FakeLLMServer) -> None:
    server.add(
        {"kind": "tool_calls", "calls": [dict(PORTFOLIO_CALL, id="c1")]},
        {"kind": "text", "text": "holding"},
    )
    ctx = setup(data_root, server, parameters={"tool_choice": "auto"})
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "no_trade" and outcome.llm_errors == 0 and waits == []
    assert server.rejected == 0 and len(server.requests) == 2
    assistant = server.bodies()[1]["messages"][2]
    assert assistant["content"] == "" and assistant["tool_calls"][0]["id"] == "c1"
