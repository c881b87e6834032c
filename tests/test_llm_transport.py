"""Transport and request shape of both clients against strict, slow and hostile fake servers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from agent_engine.errors import LLMTransientError
from agent_engine.llm.anthropic_client import AnthropicMessagesClient
from agent_engine.llm.base import Message, ToolCall
from agent_engine.llm.deadline import Deadline, deadline_scope
from agent_engine.llm.openai_client import OpenAIChatClient
from agent_engine.tools import TOOL_SPECS
from tests.fake_llm_server import TOOLS_IGNORED_TEXT, FakeLLMServer
from tests.llm_helpers import TEST_KEY
from tests.runner_helpers import wait_for

# 0.25 s between bytes: every byte comes long before any read timeout, and the whole reply
# (~400 bytes with the headers) would take ~100 s.
DRIP = 0.25


def make_client(
    server: FakeLLMServer, provider: str, timeout: float, **parameters: Any
) -> OpenAIChatClient | AnthropicMessagesClient:
    if provider == "openai":
        return OpenAIChatClient(
            "fake-gpt",
            api_key=TEST_KEY,
            base_url=server.openai_base_url,
            timeout=timeout,
            parameters=parameters,
        )
    return AnthropicMessagesClient(
        "fake-claude",
        api_key=TEST_KEY,
        base_url=server.anthropic_base_url,
        timeout=timeout,
        parameters=parameters,
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("body_only", [False, True], ids=["headers_dripped", "body_dripped"])
def test_a_dripping_server_cannot_hold_a_call_past_its_deadline(
    server: FakeLLMServer, provider: str, body_only: bool
) -> None:
    server.add({"kind": "text", "text": "slow " * 20, "drip": DRIP, "drip_body_only": body_only})
    client = make_client(server, provider, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(LLMTransientError) as info:
        client.complete("SYSTEM", [Message.user("hi")], TOOL_SPECS)
    elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert info.value.message == "no complete reply by the deadline (timeout_seconds 2)"
    assert 1.9 <= elapsed < 10.0
    # the connection was closed: the server's next byte found nobody listening
    wait_for(lambda: server.aborted == 1, 10.0, "the dripped reply to be cut off")
    client.close()


def test_an_outer_window_deadline_cuts_a_call_earlier(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "slow", "drip": DRIP})
    client = make_client(server, "openai", timeout=30.0)
    started = time.monotonic()
    with (
        deadline_scope(Deadline.after(1.0, "window_timeout_seconds 1")),
        pytest.raises(LLMTransientError) as info,
    ):
        client.complete("SYSTEM", [Message.user("hi")], TOOL_SPECS)
    assert time.monotonic() - started < 8.0
    assert info.value.message == "no complete reply by the deadline (window_timeout_seconds 1)"


def test_a_server_that_is_just_slow_still_answers_within_the_deadline(
    server: FakeLLMServer,
) -> None:
    server.add({"kind": "text", "text": "ok", "delay": 0.3})
    client = make_client(server, "openai", timeout=5.0)
    assert client.complete("SYSTEM", [Message.user("hi")], TOOL_SPECS).text == "ok"
    # the deadline does not outlive the call: a second call on the kept-alive connection works
    server.add({"kind": "text", "text": "again", "delay": 0.3})
    assert client.complete("SYSTEM", [Message.user("hi")], TOOL_SPECS).text == "again"


HISTORY = [
    Message.user("hello"),
    Message.assistant("", [ToolCall("call_0", "get_portfolio", "{}")]),
    Message.tool("call_0", "get_portfolio", '{"cash": 1}'),
]


def test_openai_sends_tool_choice_auto_and_string_content(server: FakeLLMServer) -> None:
    server.add({"kind": "tool_calls", "calls": [{"id": "c1", "name": "get_news"}]})
    response = make_client(server, "openai", 5.0).complete("SYSTEM", HISTORY, TOOL_SPECS)
    assert [c.name for c in response.tool_calls] == ["get_news"]  # the tools were seen
    body = server.bodies()[0]
    assert body["tool_choice"] == "auto"
    assert body["messages"][2]["content"] == ""
    assert server.rejected == 0


def test_a_models_parameters_override_tool_choice(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "ok"}, {"kind": "text", "text": "ok"})
    make_client(server, "openai", 5.0, tool_choice="required").complete("S", HISTORY, TOOL_SPECS)
    make_client(server, "openai", 5.0, tool_choice="auto").complete("S", HISTORY, [])
    first, second = server.bodies()
    assert first["tool_choice"] == "required"
    assert "tool_choice" not in second and "tools" not in second  # no tools, no tool_choice


def test_anthropic_sends_tool_choice_auto(server: FakeLLMServer) -> None:
    server.add({"kind": "text", "text": "ok"})
    make_client(server, "anthropic", 5.0).complete("SYSTEM", HISTORY, TOOL_SPECS)
    assert server.bodies()[0]["tool_choice"] == {"type": "auto"}


def _post(server: FakeLLMServer, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + path, data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_fake_server_rejects_null_assistant_content_like_llama_cpp() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c", "content": "{}"},
        ],
    }
    with FakeLLMServer([{"kind": "text", "text": "ok"}]) as strict:
        status, payload = _post(strict, "/v1/chat/completions", body)
        assert status == 500
        assert payload["error"]["message"] == (
            "1 validation error(s): messages.1.content: Input should be a valid string "
            "[input_value=None]"
        )
        assert strict.rejected == 1 and strict.remaining() == 1  # no step consumed
    with FakeLLMServer([{"kind": "text", "text": "ok"}], strict=False) as lenient:
        assert _post(lenient, "/v1/chat/completions", body)[0] == 200


def test_the_fake_server_ignores_tools_without_tool_choice() -> None:
    tools = [{"type": "function", "function": {"name": "get_news", "parameters": {}}}]
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    step = {"kind": "tool_calls", "calls": [{"name": "get_news"}]}
    with FakeLLMServer([step, step]) as srv:
        status, payload = _post(srv, "/v1/chat/completions", body)
        message = payload["choices"][0]["message"]
        assert status == 200 and message["content"] == TOOLS_IGNORED_TEXT
        assert "tool_calls" not in message
        status, payload = _post(srv, "/v1/chat/completions", {**body, "tool_choice": "auto"})
        assert payload["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_news"


def test_the_fake_server_rejects_empty_anthropic_text_blocks() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": ""}]},
            {"role": "user", "content": "go on"},
        ],
    }
    with FakeLLMServer() as srv:
        status, payload = _post(srv, "/v1/messages", body)
    assert status == 400
    assert payload["error"]["message"] == (
        "1 validation error(s): messages.1.content.0.text: text blocks must be non-empty"
    )
