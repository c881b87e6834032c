"""The OpenAI adapter through the real openai SDK against the fake server (no mocks)."""

from __future__ import annotations

import random

import pytest

from agent_engine.errors import LLMBadResponseError, LLMPermanentError, LLMTransientError
from agent_engine.llm.base import Message, ToolCall
from agent_engine.llm.openai_client import OpenAIChatClient
from agent_engine.llm.retry import RetryPolicy, call_with_retries
from agent_engine.tools import TOOL_SPECS
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY


def client_for(
    server: FakeLLMServer, timeout: float = 5.0, **parameters: object
) -> OpenAIChatClient:
    return OpenAIChatClient(
        "fake-gpt",
        api_key=TEST_KEY,
        base_url=server.openai_base_url,
        timeout=timeout,
        parameters=parameters,
    )


def test_request_shape_parameters_and_tool_call_parsing(server: FakeLLMServer) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "text": "checking",
            "calls": [{"id": "call_a", "name": "get_portfolio", "arguments": "{}"}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 12},
            "model": "fake-gpt-2025-01-01",
        }
    )
    client = client_for(server, temperature=0.3, max_completion_tokens=400, seed=7, top_k=5)
    history = [
        Message.user("hello"),
        Message.assistant("", [ToolCall("call_0", "get_news", '{"hours": 2}')]),
        Message.tool("call_0", "get_news", '{"count": 0}'),
    ]
    response = client.complete("SYSTEM", history, TOOL_SPECS)
    assert response.text == "checking"
    assert response.tool_calls == [ToolCall("call_a", "get_portfolio", "{}")]
    assert response.finish_reason == "tool_calls"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (321, 12)
    assert response.model == "fake-gpt-2025-01-01"
    assert response.response_id == "chatcmpl-fake-1"
    assert response.retries == 0 and response.latency_ms > 0
    (request,) = server.requests
    body = request["body"]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {TEST_KEY}"
    assert body["model"] == "fake-gpt"
    assert body["temperature"] == 0.3
    assert body["max_completion_tokens"] == 400
    assert body["seed"] == 7
    assert body["top_k"] == 5  # unknown parameter passed through extra_body
    assert body["messages"] == [
        {"role": "system", "content": "SYSTEM"},
        {"role": "user", "content": "hello"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "get_news", "arguments": '{"hours": 2}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": '{"count": 0}'},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == [
        "get_stock_price",
        "get_news",
        "get_portfolio",
        "execute_trade",
        "calculate",
        "place_order",
        "get_orders",
        "cancel_order",
    ]
    assert body["tools"][3]["type"] == "function"
    assert body["tool_choice"] == "auto"


def test_malformed_tool_calls_are_kept_raw(server: FakeLLMServer) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "calls": [
                {"name": "", "arguments": "{}"},
                {"name": "execute_trade", "arguments": "null"},
                {"name": "execute_trade", "arguments": "[1, 2]"},
                {"name": "execute_trade", "arguments": '{"symbol": "SH688008", "quantity":'},
            ],
        }
    )
    response = client_for(server).complete("s", [Message.user("u")], TOOL_SPECS)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("", "{}"),
        ("execute_trade", "null"),
        ("execute_trade", "[1, 2]"),
        ("execute_trade", '{"symbol": "SH688008", "quantity":'),
    ]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_separate_reasoning_is_kept(server: FakeLLMServer, field: str) -> None:
    # DeepSeek/Qwen send `reasoning_content`, OpenRouter `reasoning`, beside the answer.
    message = {"role": "assistant", "content": "hold", field: "RSI is 71, too hot"}
    server.add(
        {
            "kind": "raw",
            "body": {
                "id": "chatcmpl-r1",
                "object": "chat.completion",
                "created": 0,
                "model": "deepseek-reasoner",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            },
        }
    )
    response = client_for(server).complete("s", [Message.user("u")], TOOL_SPECS)
    assert (response.text, response.reasoning) == ("hold", "RSI is 71, too hot")


def test_long_output_is_returned_whole(server: FakeLLMServer) -> None:
    server.add({"kind": "long_text", "chars": 200_000})
    response = client_for(server).complete("s", [Message.user("u")], [])
    assert len(response.text) == 200_000
    assert "tools" not in server.requests[0]["body"]


@pytest.mark.parametrize(
    ("step", "error_type", "kind", "status"),
    [
        (
            {"kind": "error", "status": 429, "headers": {"retry-after": "7"}},
            LLMTransientError,
            "rate_limit",
            429,
        ),
        ({"kind": "error", "status": 500}, LLMTransientError, "server_error", 500),
        (
            {"kind": "error", "status": 429, "headers": {"retry-after-ms": "1500"}},
            LLMTransientError,
            "rate_limit",
            429,
        ),
        ({"kind": "error", "status": 503}, LLMTransientError, "server_error", 503),
        ({"kind": "error", "status": 401}, LLMPermanentError, "auth", 401),
        ({"kind": "error", "status": 400}, LLMPermanentError, "bad_request", 400),
        (
            {"kind": "garbage", "body": "<html>oops</html>"},
            LLMBadResponseError,
            "bad_response",
            None,
        ),
        ({"kind": "empty_choices"}, LLMBadResponseError, "bad_response", None),
    ],
)
def test_errors_are_classified(
    server: FakeLLMServer, step: dict, error_type: type, kind: str, status: int | None
) -> None:
    server.add(step)
    with pytest.raises(error_type) as info:
        client_for(server).complete("s", [Message.user("u")], TOOL_SPECS)
    assert info.value.kind == kind
    assert info.value.status_code == status
    assert len(server.requests) == 1  # the SDK's own retries are off
    if status == 429:
        assert info.value.retry_after == (7.0 if "retry-after" in step["headers"] else 1.5)


def test_timeout_is_transient(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "too late", "delay": 3.0})
    with pytest.raises(LLMTransientError) as info:
        client_for(server, timeout=0.3).complete("s", [Message.user("u")], [])
    assert info.value.kind == "timeout"
    assert len(server.requests) == 1


def test_connection_error_is_transient() -> None:
    srv = FakeLLMServer()
    url = srv.openai_base_url
    srv.stop()  # nothing listens there any more
    client = OpenAIChatClient("m", api_key=TEST_KEY, base_url=url, timeout=2.0)
    with pytest.raises(LLMTransientError) as info:
        client.complete("s", [Message.user("u")], [])
    assert info.value.kind == "connection"


def test_retries_after_429_then_success_are_counted(server: FakeLLMServer) -> None:
    server.add(
        {"kind": "error", "status": 429, "headers": {"retry-after": "0"}},
        {"kind": "error", "status": 502},
        {"kind": "text", "text": "ok"},
    )
    waits: list[float] = []
    policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=10.0)
    client = client_for(server)
    response = call_with_retries(
        lambda: client.complete("s", [Message.user("u")], []),
        policy,
        sleep=waits.append,
        rng=random.Random(1),
    )
    assert response.text == "ok"
    assert response.retries == 2
    assert len(server.requests) == 3
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 0.5 * 1.25
    assert 1.0 <= waits[1] <= 1.0 * 1.25


def test_persistent_500_gives_up_after_max_retries(server: FakeLLMServer) -> None:
    server.add(*[{"kind": "error", "status": 500}] * 3)
    waits: list[float] = []
    client = client_for(server)
    with pytest.raises(LLMTransientError) as info:
        call_with_retries(
            lambda: client.complete("s", [Message.user("u")], []),
            RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0),
            sleep=waits.append,
        )
    assert info.value.retries == 2
    assert len(server.requests) == 3
    assert waits == [0.0, 0.0]
    server.assert_complete()


def test_401_is_not_retried(server: FakeLLMServer) -> None:
    server.add({"kind": "error", "status": 401}, {"kind": "text", "text": "never"})
    waits: list[float] = []
    client = client_for(server)
    with pytest.raises(LLMPermanentError) as info:
        call_with_retries(
            lambda: client.complete("s", [Message.user("u")], []),
            RetryPolicy(max_retries=3, base_delay=0.1),
            sleep=waits.append,
        )
    assert info.value.retries == 0
    assert waits == []
    assert len(server.requests) == 1
