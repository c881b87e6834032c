"""OpenAI Chat Completions adapter (any OpenAI-compatible endpoint through `base_url`).

Imports `openai` at module import: only `factory.make_client` imports this module, and only
for agents whose provider is `openai`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import openai

from agent_engine.errors import KIND_BAD_RESPONSE, LLMBadResponseError
from agent_engine.llm.base import CallKey, LLMResponse, Message, ToolCall, ToolSpec, Usage
from agent_engine.llm.sdk_call import new_sdk_client, timed_call
from data_flow.textsafe import scrub_text

log = logging.getLogger(__name__)

# Keys the loop owns; a config cannot override them.
RESERVED_PARAMETERS = frozenset({"model", "messages", "tools", "stream", "functions", "timeout"})


def request_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A model's `parameters` as body fields (temperature, max_tokens, max_completion_tokens,
    top_p, seed, provider-specific keys, ...), without the keys the loop owns."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key in RESERVED_PARAMETERS:
            log.warning("ignoring reserved parameter %r in model parameters", key)
        else:
            out[key] = value
    return out


def to_wire_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role == "user":
            wire.append({"role": "user", "content": m.content})
        elif m.role == "assistant":
            # content is always a string: llama-cpp-python and other pydantic-validated
            # servers answer HTTP 500 to `content: null` next to tool calls
            item: dict[str, Any] = {"role": "assistant", "content": m.content or ""}
            if m.tool_calls:
                item["tool_calls"] = [
                    {
                        "id": tc.id,
                        "type": "function",
                        "function": {"name": tc.name, "arguments": tc.arguments},
                    }
                    for tc in m.tool_calls
                ]
            wire.append(item)
        else:
            wire.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
    return wire


def to_wire_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _raw_arguments(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def parse_completion(completion: Any, fallback_model: str, latency_ms: float) -> LLMResponse:
    """Turn a ChatCompletion (possibly from a sloppy compatible server) into an LLMResponse."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise LLMBadResponseError(
            KIND_BAD_RESPONSE, f"response has no choices: {str(completion)[:500]}"
        )
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is None:
        raise LLMBadResponseError(KIND_BAD_RESPONSE, "response choice has no message")
    content = getattr(message, "content", None)
    if isinstance(content, list):  # some compatible servers return content parts
        content = "".join(
            str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
        )
    text = content if isinstance(content, str) else ("" if content is None else str(content))
    reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
    calls: list[ToolCall] = []
    for i, tc in enumerate(getattr(message, "tool_calls", None) or []):
        function = getattr(tc, "function", None)
        name = getattr(function, "name", None) if function is not None else None
        arguments = getattr(function, "arguments", None) if function is not None else None
        call_id = getattr(tc, "id", None) or f"call_{i + 1}"
        calls.append(
            ToolCall(
                id=scrub_text(str(call_id)),
                name=scrub_text(str(name or "")),
                arguments=scrub_text(_raw_arguments(arguments)),
            )
        )
    usage = getattr(completion, "usage", None)
    return LLMResponse(
        text=scrub_text(text),  # lone surrogates -> U+FFFD (data_flow.textsafe)
        tool_calls=calls,
        finish_reason=getattr(choice, "finish_reason", None),
        usage=Usage(
            prompt_tokens=_int(getattr(usage, "prompt_tokens", 0)),
            completion_tokens=_int(getattr(usage, "completion_tokens", 0)),
        ),
        model=str(getattr(completion, "model", None) or fallback_model),
        response_id=getattr(completion, "id", None),
        latency_ms=latency_ms,
        retries=0,
        reasoning=scrub_text(reasoning) if isinstance(reasoning, str) else "",
    )


class OpenAIChatClient:
    """LLMClient over `client.chat.completions.create` with function tools."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        parameters: Mapping[str, Any] | None = None,
        sdk_client: openai.OpenAI | None = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self._parameters = request_parameters(parameters or {})
        if sdk_client is None:
            sdk_client = new_sdk_client(
                openai,
                openai.OpenAI,
                api_key=api_key,
                base_url=base_url,
                timeout=timeout,
            )
        self._client = sdk_client

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse:
        # The whole body goes through `extra_body` (merged verbatim into the JSON, overriding
        # the empty `messages`): the SDK's typed-parameter transform walks every message and
        # tool schema and costs ~4-5 ms CPU per call, which dominated the arena's per-decision
        # overhead. The bytes on the wire are the same.
        body: dict[str, Any] = dict(self._parameters)
        body["messages"] = to_wire_messages(system, messages)
        if tools:
            body["tools"] = to_wire_tools(tools)
            # without it llama-cpp-python's function-calling format ignores the tools
            body.setdefault("tool_choice", "auto")
        else:
            body.pop("tool_choice", None)
        return timed_call(
            lambda: self._client.chat.completions.create(
                model=self.model, messages=[], extra_body=body
            ),
            openai,
            self.timeout,
            lambda reply, latency_ms: parse_completion(reply, self.model, latency_ms),
        )

    def close(self) -> None:
        self._client.close()
