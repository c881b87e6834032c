"""Odd but parseable bodies from OpenAI-compatible servers, and fuzzed tool arguments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_engine.calc import CalcError, evaluate
from agent_engine.errors import LLMBadResponseError
from agent_engine.llm.anthropic_client import AnthropicMessagesClient
from agent_engine.llm.base import Message, ToolCall
from agent_engine.llm.openai_client import OpenAIChatClient
from agent_engine.tools import TOOL_NAMES, ToolOutcome
from tests.fake_llm_server import FakeLLMServer
from tests.test_tools_toolbox import make_box


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


def openai_client(server: FakeLLMServer) -> OpenAIChatClient:
    return OpenAIChatClient("m", api_key="k-123456", base_url=server.openai_base_url, timeout=5)


def completion(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"id": "x1", "object": "chat.completion", "created": 1, "model": "m"}
    body.update({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("message", "text", "calls"),
    [
        # content parts instead of a string
        (
            {"role": "assistant", "content": [{"type": "text", "text": "a"},
                                              {"type": "text", "text": "b"}]},
            "ab",
            [],
        ),
        # arguments as an object (some local servers), no id, null content
        (
            {"role": "assistant", "content": None, "tool_calls": [
                {"type": "function", "function": {"name": "get_news", "arguments": {"hours": 2}}}]},
            "",
            [ToolCall("call_1", "get_news", '{"hours": 2}')],
        ),
        # function missing / arguments missing
        (
            {"role": "assistant", "content": "", "tool_calls": [{"id": "t", "type": "function"},
             {"id": "u", "type": "function", "function": {"name": "get_portfolio"}}]},
            "",
            [ToolCall("t", "", ""), ToolCall("u", "get_portfolio", "")],
        ),
    ],
)  # fmt: skip
def test_openai_sloppy_bodies_parse(
    server: FakeLLMServer, message: dict[str, Any], text: str, calls: list[ToolCall]
) -> None:
    server.add({"kind": "raw", "body": completion(message)})  # no usage at all
    response = openai_client(server).complete("s", [Message.user("u")], [])
    assert response.text == text
    assert response.tool_calls == calls
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"choices": None},
        {"choices": [{"index": 0}]},
        [1, 2, 3],
        "just a string",
        {"error": "overloaded"},
    ],
)
def test_openai_unusable_bodies_are_bad_responses(server: FakeLLMServer, body: Any) -> None:
    server.add({"kind": "raw", "body": body})
    with pytest.raises(LLMBadResponseError):
        openai_client(server).complete("s", [Message.user("u")], [])


@pytest.mark.parametrize(
    "body",
    [
        {"content": "text instead of blocks"},
        {"type": "message"},
        [],
        {"content": [{"type": "tool_use"}]},
    ],
)
def test_anthropic_odd_bodies_never_crash(server: FakeLLMServer, body: Any) -> None:
    server.add({"kind": "raw", "body": body})
    client = AnthropicMessagesClient(
        "m", api_key="k-123456", base_url=server.anthropic_base_url, timeout=5
    )
    try:
        response = client.complete("s", [Message.user("u")], [])
    except LLMBadResponseError:
        return
    assert all(isinstance(c.arguments, str) for c in response.tool_calls)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(["symbol", "action", "quantity", "hours", "indicators", "expression", "x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from([*TOOL_NAMES, "", "nope"]),
    arguments=st.one_of(
        st.text(max_size=60),
        st.dictionaries(fields, json_values, max_size=4).map(json.dumps),
        json_values.map(json.dumps),
    ),
)
def test_fuzzed_tool_calls_always_return_an_outcome(name: str, arguments: str) -> None:
    box, _ = make_box()
    outcome = box.run(ToolCall("id", name, arguments))
    assert isinstance(outcome, ToolOutcome)
    assert isinstance(outcome.result, str) and outcome.result
    json.loads(outcome.result)
    assert outcome.ok == (outcome.error_kind is None)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.+-*/%() eabsminxrou,", max_size=60))
def test_fuzzed_expressions_only_raise_calc_error(expression: str) -> None:
    try:
        value = evaluate(expression)
    except CalcError:
        return
    assert isinstance(value, int | float) and abs(value) <= 1e15
