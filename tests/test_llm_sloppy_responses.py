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


def test_openai_lone_surrogates_are_parsed_as_replacement_characters(
    server: FakeLLMServer,
) -> None:
    # the fake server sends these as JSON escapes ("\\ud800"), as a provider would
    message = {
        "role": "assistant",
        "content": "I \ud800 think",
        "reasoning_content": "why \udfff",
        "tool_calls": [
            {"id": "c\ud800", "type": "function",
             "function": {"name": "get_news\ud800", "arguments": '{"symbol": "\ud800"}'}},
            {"id": "d", "type": "function",
             "function": {"name": "get_news", "arguments": {"symbol": "x\udc00"}}},
        ],
    }  # fmt: skip
    server.add({"kind": "raw", "body": completion(message)})
    response = openai_client(server).complete("s", [Message.user("u")], [])
    assert (response.text, response.reasoning) == ("I \ufffd think", "why \ufffd")
    assert response.tool_calls == [
        ToolCall("c\ufffd", "get_news\ufffd", '{"symbol": "\ufffd"}'),
        ToolCall("d", "get_news", '{"symbol": "x\ufffd"}'),
    ]


def test_anthropic_lone_surrogates_are_parsed_and_can_be_sent_back(
    server: FakeLLMServer,
) -> None:
    body = {
        "id": "m1", "type": "message", "role": "assistant", "model": "m",
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1},
        "content": [
            {"type": "thinking", "thinking": "hm \ud800", "signature": "s"},
            {"type": "text", "text": "I \ud800 think"},
            {"type": "tool_use", "id": "t\ud800", "name": "get_news\udfff",
             "input": {"symbol": "\ud800"}},
        ],
    }  # fmt: skip
    server.add({"kind": "raw", "body": body})
    client = AnthropicMessagesClient(
        "m", api_key="k-123456", base_url=server.anthropic_base_url, timeout=5
    )
    response = client.complete("s", [Message.user("u")], [])
    assert (response.text, response.reasoning) == ("I \ufffd think", "hm \ufffd")
    assert response.tool_calls == [ToolCall("t\ufffd", "get_news\ufffd", '{"symbol": "\ufffd"}')]
    # The next turn sends it all back (plus arguments holding an escaped lone surrogate, which
    # json.loads turns into one): the SDK must be able to encode the body as UTF-8.
    escaped = ToolCall("t2", "get_news", '{"symbol": "\\ud800"}')
    server.add({"kind": "text", "text": "ok"})
    history = [
        Message.user("u"),
        Message.assistant(response.text, [*response.tool_calls, escaped], response.provider_blocks),
        Message.tool("t\ufffd", "get_news\ufffd", "r1"),
        Message.tool("t2", "get_news", "r2"),
    ]
    assert client.complete("s", history, []).text == "ok"
    sent = server.bodies("/messages")[-1]["messages"][1]["content"]
    assert sent[-1]["input"] == {"symbol": "\ufffd"}


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


# Hostile values: any code point (lone surrogates included), NaN/Infinity, huge numbers.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
hostile_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(10**40), 10**40) | any_text
    | st.sampled_from([1e30, -0.0, 1e-30, 10**9, 10**9 + 1, "1e30", "9" * 30, "SH688008"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(TOOL_NAMES) | any_text,
    arguments=st.one_of(
        any_text,
        st.dictionaries(fields, hostile_values, max_size=4).map(json.dumps),
        st.fixed_dictionaries(
            {
                "symbol": st.just("SH688008"),
                "action": st.just("BUY"),
                "quantity": st.integers(10**9 - 2, 10**40) | st.floats(min_value=1e8),
            }
        ).map(json.dumps),
    ),
)
def test_hostile_tool_calls_give_storable_error_results(name: str, arguments: str) -> None:
    box, fills = make_box()
    outcome = box.run(ToolCall("id", name, arguments))
    outcome.result.encode("utf-8")  # no lone surrogate in what is logged and sent back
    json.loads(outcome.result)
    assert len(outcome.result) < 2000
    assert outcome.ok == (outcome.error_kind is None)
    assert fills == [] or outcome.fill is not None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.+-*/%() eabsminxrou,", max_size=60))
def test_fuzzed_expressions_only_raise_calc_error(expression: str) -> None:
    try:
        value = evaluate(expression)
    except CalcError:
        return
    assert isinstance(value, int | float) and abs(value) <= 1e15
