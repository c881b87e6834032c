"""Provider-neutral types of the LLM layer.

The loop keeps the conversation as a list of `Message`s; each client converts them to its
wire format (OpenAI Chat Completions, Anthropic Messages) and back into an `LLMResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text as sent by the model (may be invalid JSON)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class LLMResponse:
    text: str
    tool_calls: list[ToolCall]
    finish_reason: str | None
    usage: Usage
    model: str
    response_id: str | None
    latency_ms: float
    retries: int
    # Provider blocks that must be sent back verbatim with this turn (Anthropic extended
    # thinking: `thinking` / `redacted_thinking` blocks before tool_use).
    provider_blocks: tuple[dict[str, Any], ...] = ()
    # The model's visible reasoning when the provider returns it separately from the answer
    # (DeepSeek/Qwen `reasoning_content`, OpenRouter `reasoning`, Anthropic thinking blocks).
    reasoning: str = ""

    @classmethod
    def local(
        cls,
        text: str,
        calls: list[ToolCall],
        model: str,
        response_id: str | None = None,
        latency_ms: float = 0.0,
    ) -> LLMResponse:
        """A reply made in-process (baselines, rescoring): no tokens, no retries."""
        return cls(
            text=text,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=Usage(0, 0),
            model=model,
            response_id=response_id,
            latency_ms=latency_ms,
            retries=0,
        )


@dataclass(frozen=True)
class ToolSpec:
    """A function tool: `parameters` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    """One conversation turn.

    - `user`: `content` is the text.
    - `assistant`: `content` is the text (may be ""), `tool_calls` what the model asked for.
    - `tool`: the result of one tool call: `tool_call_id`, `name`, `content`, `is_error`.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = field(default=())
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    provider_blocks: tuple[dict[str, Any], ...] = ()

    @staticmethod
    def user(text: str) -> Message:
        return Message(role="user", content=text)

    @staticmethod
    def assistant(
        text: str,
        tool_calls: list[ToolCall] | tuple[ToolCall, ...] = (),
        provider_blocks: tuple[dict[str, Any], ...] = (),
    ) -> Message:
        return Message(
            role="assistant",
            content=text,
            tool_calls=tuple(tool_calls),
            provider_blocks=provider_blocks,
        )

    @staticmethod
    def tool(tool_call_id: str, name: str, content: str, *, is_error: bool = False) -> Message:
        return Message(
            role="tool", content=content, tool_call_id=tool_call_id, name=name, is_error=is_error
        )


@dataclass(frozen=True)
class WindowKey:
    """Which window (and which attempt of it) a client is in."""

    window_id: str
    moment: datetime
    attempt: int


@dataclass(frozen=True)
class CallKey:
    """Which call this is: the window, the step in it (1-based, continuing across a resumed
    conversation) and the window's attempt. Retries of a call have the same key."""

    window_id: str
    step: int
    attempt: int


@dataclass(frozen=True)
class WindowView:
    """What a client may know before a window's first call: what a model is shown (the
    snapshot through its tools, its portfolio, the rules) and nothing it could change.
    `portfolio` is a copy, `snapshot` read-only, `broker` the (pure) rules engine;
    `records_dir` is where the client may write records of its own (replay divergences)."""

    key: WindowKey
    snapshot: Mapping[str, Any]
    portfolio: Any
    broker: Any
    universe: tuple[str, ...]
    position_cap: Decimal
    records_dir: Path

    @property
    def window_id(self) -> str:
        return self.key.window_id

    @property
    def moment(self) -> datetime:
        return self.key.moment

    @property
    def attempt(self) -> int:
        return self.key.attempt


@runtime_checkable
class LLMClient(Protocol):
    """Anything that answers a conversation with text and/or tool calls.

    `complete` makes ONE attempt (no retries of its own) and raises `agent_engine.errors.
    LLMError` subclasses on failure; the loop retries transient errors (llm/retry.py). The
    loop passes each call's `key`; direct callers may leave it out.
    Clients may also define `begin_window(view: WindowView)`, which the loop calls at the start
    of each window (baseline strategies plan their orders there).
    """

    provider: str
    model: str

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse: ...
