"""A stable fingerprint of one model request, written with every `model_call` event.

The decision log already holds the conversation (prompt, model answers, tool results); the
digest adds what it does not: the model name, its `parameters` and the tool definitions. Replay
(llm/replay_client.py) compares it to tell "same request" from "changed settings".
Provider-specific blocks (Anthropic thinking) are not part of it: they are not recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agent_engine.llm.base import Message, ToolSpec


def message_record(message: Message) -> dict[str, Any]:
    """The provider-neutral content of one message (what replay compares)."""
    return {
        "role": message.role,
        "content": message.content,
        "tool_calls": [[c.id, c.name, c.arguments] for c in message.tool_calls],
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "is_error": message.is_error,
    }


def request_digest(
    model: str,
    parameters: Mapping[str, Any],
    system: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
) -> str:
    """sha256 hex of the canonical JSON of the request."""
    canonical = {
        "model": model,
        "parameters": dict(parameters),
        "system": system,
        "messages": [message_record(m) for m in messages],
        "tools": [[t.name, t.description, t.parameters] for t in tools],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
