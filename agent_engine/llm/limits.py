"""How much of one model reply the arena keeps (`agent_config.max_reply_bytes`).

A model that answers megabytes per step would otherwise grow the conversation (sent back on
every step), the process and the decision log without bound. `cap_reply` keeps at most
`max_bytes` UTF-8 bytes of a reply: tool calls first (in order; a call that no longer fits is
dropped), then the text, then the separate reasoning. A cut string ends with TRUNCATION_MARK.
Anthropic thinking blocks (`provider_blocks`) are kept whole: they must be sent back verbatim.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agent_engine.llm.base import LLMResponse, ToolCall

TRUNCATION_MARK = "…[truncated by the arena: {kept} of {total} bytes kept]"
MAX_NAME_BYTES = 256  # tool call ids and names longer than this are cut without a mark


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, budget: int, *, mark: bool = True) -> tuple[str, int]:
    """(`text` cut to `budget` bytes, bytes kept)."""
    raw = text.encode("utf-8")
    if len(raw) <= budget:
        return text, len(raw)
    kept = raw[: max(budget, 0)].decode("utf-8", "ignore")
    kept_bytes = _size(kept)
    if not mark:
        return kept, kept_bytes
    return kept + TRUNCATION_MARK.format(kept=kept_bytes, total=len(raw)), kept_bytes


def reply_bytes(response: LLMResponse) -> int:
    calls = sum(_size(c.id) + _size(c.name) + _size(c.arguments) for c in response.tool_calls)
    return calls + _size(response.text) + _size(response.reasoning)


def cap_reply(response: LLMResponse, max_bytes: int) -> tuple[LLMResponse, dict[str, Any] | None]:
    """(`response` cut to `max_bytes`, a record of the cut for the log or None if uncut)."""
    total = reply_bytes(response)
    if total <= max_bytes:
        return response, None
    budget = max_bytes
    calls: list[ToolCall] = []
    dropped = 0
    for call in response.tool_calls:
        if budget <= 0:
            dropped += 1
            continue
        call_id, used = _cut(call.id, min(MAX_NAME_BYTES, budget), mark=False)
        budget -= used
        name, used = _cut(call.name, min(MAX_NAME_BYTES, budget), mark=False)
        budget -= used
        arguments, used = _cut(call.arguments, budget)
        budget -= used
        calls.append(ToolCall(call_id, name, arguments))
    text, used = _cut(response.text, budget)
    budget -= used
    reasoning, used = _cut(response.reasoning, budget)
    budget -= used
    capped = dataclasses.replace(response, tool_calls=calls, text=text, reasoning=reasoning)
    record = {"reply_bytes": total, "kept_bytes": max_bytes - budget, "dropped_tool_calls": dropped}
    return capped, record
