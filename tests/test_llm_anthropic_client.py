"""The Anthropic adapter through the real anthropic SDK against the fake server (no mocks)."""

from __future__ import annotations

import pytest

from agent_engine.errors import LLMBadResponseError, LLMPermanentError, LLMTransientError
from agent_engine.llm.anthropic_client import AnthropicMessagesClient
from agent_engine.llm.base import Message, ToolCall
from agent_engine.tools import TOOL_SPECS
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY


def client_for(
    server: FakeLLMServer, timeout: float = 5.0, **parameters: object
) -> AnthropicMessagesClient:
    return AnthropicMessagesClient(
        "fake-claude",
        api_key=TEST_KEY,
        base_url=server.anthropic_base_url,
        timeout=timeout,
        parameters=parameters,
    )


def test_request_shape_and_tool_use_parsing(server: FakeLLMServer) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "text": "let me check",
            "calls": [
                {"id": "toolu_1", "name": "get_stock_price", "arguments": {"symbol": "SH688008"}}
            ],
            "usage": {"prompt_tokens": 250, "completion_tokens": 30},
        }
    )
    client = client_for(server, temperature=0.3, max_tokens=1000, top_p=0.9)
    history = [
        Message.user("decide"),
        Message.assistant(
            "two calls",
            [ToolCall("t1", "get_portfolio", "{}"), ToolCall("t2", "execute_trade", "{bad json")],
        ),
        Message.tool("t1", "get_portfolio", '{"cash": 1}'),
        Message.tool("t2", "execute_trade", '{"error": "invalid_json"}', is_error=True),
    ]
    response = client.complete("SYSTEM", history, TOOL_SPECS)
    assert response.text == "let me check"
    assert response.tool_calls == [ToolCall("toolu_1", "get_stock_price", '{"symbol": "SH688008"}')]
    assert response.finish_reason == "tool_use"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (250, 30)
    assert response.model == "fake-claude"
    assert response.response_id == "msg_fake_1"
    (request,) = server.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["x-api-key"] == TEST_KEY
    body = request["body"]
    assert body["model"] == "fake-claude"
    assert body["system"] == "SYSTEM"
    assert body["max_tokens"] == 1000
    assert body["temperature"] == 0.3  # through extra_body
    assert body["top_p"] == 0.9
    assert body["messages"] == [
        {"role": "user", "content": "decide"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "two calls"},
                {"type": "tool_use", "id": "t1", "name": "get_portfolio", "input": {}},
                {"type": "tool_use", "id": "t2", "name": "execute_trade", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": '{"cash": 1}',
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "t2",
                    "content": '{"error": "invalid_json"}',
                    "is_error": True,
                },
            ],
        },
    ]
    assert [t["name"] for t in body["tools"]] == [
        "get_stock_price",
        "get_news",
        "get_portfolio",
        "execute_trade",
        "calculate",
        "place_order",
        "get_orders",
        "cancel_order",
    ]
    assert body["tools"][0]["input_schema"]["required"] == ["symbol"]


def test_default_max_tokens(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "hold"})
    response = client_for(server).complete("s", [Message.user("u")], [])
    assert response.text == "hold" and response.tool_calls == []
    assert response.finish_reason == "end_turn"
    assert server.requests[0]["body"]["max_tokens"] == 4096
    assert "temperature" not in server.requests[0]["body"]


def test_malformed_tool_use_input_is_kept_raw(server: FakeLLMServer) -> None:
    server.add({"kind": "tool_calls", "calls": [{"name": "execute_trade", "arguments": "{oops"}]})
    response = client_for(server).complete("s", [Message.user("u")], TOOL_SPECS)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("execute_trade", "{oops")]


@pytest.mark.parametrize(
    ("step", "error_type", "kind"),
    [
        (
            {"kind": "error", "status": 429, "headers": {"retry-after": "2"}},
            LLMTransientError,
            "rate_limit",
        ),
        ({"kind": "error", "status": 529}, LLMTransientError, "server_error"),
        ({"kind": "error", "status": 500}, LLMTransientError, "server_error"),
        ({"kind": "error", "status": 401}, LLMPermanentError, "auth"),
        ({"kind": "garbage"}, LLMBadResponseError, "bad_response"),
        ({"kind": "empty_choices"}, LLMBadResponseError, "bad_response"),
    ],
)
def test_errors_are_classified(
    server: FakeLLMServer, step: dict, error_type: type, kind: str
) -> None:
    server.add(step)
    with pytest.raises(error_type) as info:
        client_for(server).complete("s", [Message.user("u")], [])
    assert info.value.kind == kind
    assert len(server.requests) == 1  # the SDK's own retries are off


def test_timeout_is_transient(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "late", "delay": 3.0})
    with pytest.raises(LLMTransientError) as info:
        client_for(server, timeout=0.3).complete("s", [Message.user("u")], [])
    assert info.value.kind == "timeout"


def test_thinking_blocks_are_sent_back_with_the_turn(server: FakeLLMServer) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "thinking": "let me think",
            "calls": [{"id": "tu1", "name": "get_portfolio"}],
        }
    )
    client = client_for(server)
    first = client.complete("s", [Message.user("u")], TOOL_SPECS)
    assert first.provider_blocks == (
        {"type": "thinking", "thinking": "let me think", "signature": "fake-sig"},
    )
    assert first.reasoning == "let me think"
    server.add({"kind": "text", "text": "done"})
    history = [
        Message.user("u"),
        Message.assistant(first.text, first.tool_calls, first.provider_blocks),
        Message.tool("tu1", "get_portfolio", "{}"),
    ]
    client.complete("s", history, TOOL_SPECS)
    assistant = server.requests[1]["body"]["messages"][1]
    assert assistant["content"] == [
        {"type": "thinking", "thinking": "let me think", "signature": "fake-sig"},
        {"type": "tool_use", "id": "tu1", "name": "get_portfolio", "input": {}},
    ]
