"""Anthropic Messages API adapter (`tool_use` / `tool_result` blocks).

anthropic 2.12's `messages.create` has no `temperature` argument: temperature, top_p, top_k
and any other unknown parameter go through `extra_body`. The key is sent by the SDK as
`Authorization: Bearer`; it is also sent as `x-api-key` (default_headers) for endpoints that
need that header. Only `factory.make_client` imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anthropic

from agent_engine.errors import KIND_BAD_RESPONSE, LLMBadResponseError
from agent_engine.llm.base import CallKey, LLMResponse, Message, ToolCall, ToolSpec, Usage
from agent_engine.llm.sdk_call import new_sdk_client, timed_call
from data_flow.textsafe import scrub, scrub_text
from settings.config import ConfigError

DEFAULT_MAX_TOKENS = 4096
RESERVED_PARAMETERS = frozenset({"model", "messages", "tools", "system", "stream", "timeout"})


def request_parameters(parameters: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """(max_tokens, other body fields) from a model's `parameters`; max_tokens defaults to
    DEFAULT_MAX_TOKENS (the Messages API requires it). Raises ConfigError for a bad one."""
    out = {k: v for k, v in parameters.items() if k not in RESERVED_PARAMETERS}
    raw = out.pop("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ConfigError(f"parameters.max_tokens must be a positive integer, got {raw!r}")
    return raw, out


def _input_dict(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
        return {}
    # an escaped lone surrogate would make the SDK's UTF-8 body encoding fail
    return scrub(value) if isinstance(value, dict) else {}


def to_wire_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Anthropic turns; consecutive tool results become one user turn of tool_result blocks."""
    wire: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "user":
            wire.append({"role": "user", "content": m.content})
        elif m.role == "assistant":
            blocks: list[dict[str, Any]] = [dict(b) for b in m.provider_blocks]
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": tc.id,
                    "name": tc.name,
                    "input": _input_dict(tc.arguments),
                }
                for tc in m.tool_calls
            )
            if not blocks:
                blocks.append({"type": "text", "text": "(no answer)"})
            wire.append({"role": "assistant", "content": blocks})
        else:
            block = {
                "type": "tool_result",
                "tool_use_id": m.tool_call_id,
                "content": m.content,
                "is_error": m.is_error,
            }
            last = wire[-1] if wire else None
            if (
                last is not None
                and last["role"] == "user"
                and isinstance(last["content"], list)
                and all(b.get("type") == "tool_result" for b in last["content"])
            ):
                last["content"].append(block)
            else:
                wire.append({"role": "user", "content": [block]})
    return wire


def to_wire_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def parse_message(message: Any, fallback_model: str, latency_ms: float) -> LLMResponse:
    content = _get(message, "content")
    if not isinstance(content, list):
        raise LLMBadResponseError(
            KIND_BAD_RESPONSE, f"response has no content blocks: {str(message)[:500]}"
        )
    texts: list[str] = []
    calls: list[ToolCall] = []
    kept: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        kind = _get(block, "type")
        if kind == "thinking":
            kept.append(
                {"type": "thinking", "thinking": scrub_text(str(_get(block, "thinking") or "")),
                 "signature": scrub_text(str(_get(block, "signature") or ""))}
            )  # fmt: skip
        elif kind == "redacted_thinking":
            kept.append(
                {"type": "redacted_thinking", "data": scrub_text(str(_get(block, "data") or ""))}
            )
        elif kind == "text":
            texts.append(scrub_text(str(_get(block, "text") or "")))
        elif kind == "tool_use":
            raw_input = _get(block, "input")
            if isinstance(raw_input, str):
                arguments = raw_input
            else:
                try:
                    arguments = json.dumps(raw_input, ensure_ascii=False)
                except (TypeError, ValueError):
                    arguments = str(raw_input)
            calls.append(
                ToolCall(  # lone surrogates -> U+FFFD (data_flow.textsafe)
                    id=scrub_text(str(_get(block, "id") or f"toolu_{i + 1}")),
                    name=scrub_text(str(_get(block, "name") or "")),
                    arguments=scrub_text(arguments),
                )
            )
    usage = _get(message, "usage")
    return LLMResponse(
        text="".join(texts),
        tool_calls=calls,
        finish_reason=_get(message, "stop_reason"),
        usage=Usage(
            prompt_tokens=_int(_get(usage, "input_tokens")),
            completion_tokens=_int(_get(usage, "output_tokens")),
        ),
        model=str(_get(message, "model") or fallback_model),
        response_id=_get(message, "id"),
        latency_ms=latency_ms,
        retries=0,
        provider_blocks=tuple(kept),
        reasoning="\n\n".join(b["thinking"] for b in kept if b["type"] == "thinking"),
    )


class AnthropicMessagesClient:
    """LLMClient over `client.messages.create` with tools."""

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        parameters: Mapping[str, Any] | None = None,
        sdk_client: anthropic.Anthropic | None = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self._max_tokens, self._parameters = request_parameters(parameters or {})
        if sdk_client is None:
            sdk_client = new_sdk_client(
                anthropic,
                anthropic.Anthropic,
                api_key=api_key,
                base_url=base_url,
                timeout=timeout,
                default_headers={"x-api-key": api_key},
            )
        self._client = sdk_client

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse:
        # As in the OpenAI adapter, the body goes through `extra_body` (merged verbatim) to
        # skip the SDK's costly typed-parameter transform; `max_tokens` stays a real argument.
        body: dict[str, Any] = dict(self._parameters)
        body["system"] = system
        body["messages"] = to_wire_messages(messages)
        if tools:
            body["tools"] = to_wire_tools(tools)
            body.setdefault("tool_choice", {"type": "auto"})
        else:
            body.pop("tool_choice", None)
        return timed_call(
            lambda: self._client.messages.create(
                model=self.model, max_tokens=self._max_tokens, messages=[], extra_body=body
            ),
            anthropic,
            self.timeout,
            lambda reply, latency_ms: parse_message(reply, self.model, latency_ms),
        )

    def close(self) -> None:
        self._client.close()
