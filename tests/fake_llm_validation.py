"""Request validation of the fake LLM server, as strict as pydantic-validated servers.

llama-cpp-python's server (and other OpenAI-compatible servers built on pydantic models) reject
what api.openai.com lets through: `"content": null` on an assistant message with tool calls is
answered with HTTP 500 `Input should be a valid string`. Its function-calling chat formats also
treat a request with `tools` but no `tool_choice` as a request without tools, so the model never
sees them (`tools_ignored`). Anthropic rejects empty text blocks and non-string roles with 400.
"""

from __future__ import annotations

from typing import Any

OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool")
TOOL_CHOICES = ("none", "auto", "required")


def _str_error(loc: str, value: Any) -> str | None:
    if isinstance(value, str):
        return None
    return f"{loc}: Input should be a valid string [input_value={value!r:.60}]"


def _openai_message_errors(i: int, m: Any) -> list[str]:
    loc = f"messages.{i}"
    if not isinstance(m, dict):
        return [f"{loc}: Input should be a valid dictionary"]
    role = m.get("role")
    if role not in OPENAI_ROLES:
        return [f"{loc}.role: Input should be one of {', '.join(OPENAI_ROLES)}"]
    content = m.get("content")
    errors: list[str] = []
    if role == "user" and isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                errors.append(f"{loc}.content.{j}: Input should be a valid content part")
    else:
        errors += [e for e in [_str_error(f"{loc}.content", content)] if e]
    if role == "tool":
        errors += [e for e in [_str_error(f"{loc}.tool_call_id", m.get("tool_call_id"))] if e]
    if role == "assistant" and "tool_calls" in m:
        calls = m["tool_calls"]
        if not isinstance(calls, list):
            return [*errors, f"{loc}.tool_calls: Input should be a valid list"]
        for j, call in enumerate(calls):
            cloc = f"{loc}.tool_calls.{j}"
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or call.get("type") != "function":
                errors.append(f"{cloc}: Input should be a function tool call")
                continue
            errors += [
                e
                for e in (
                    _str_error(f"{cloc}.id", call.get("id")),
                    _str_error(f"{cloc}.function.name", function.get("name")),
                    _str_error(f"{cloc}.function.arguments", function.get("arguments")),
                )
                if e
            ]
    return errors


def openai_request_errors(body: Any) -> list[str]:
    """What a pydantic-validated Chat Completions server would reject in `body`."""
    if not isinstance(body, dict):
        return ["body: Input should be a valid dictionary"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["messages: Input should be a non-empty list"]
    errors: list[str] = []
    for i, m in enumerate(messages):
        errors += _openai_message_errors(i, m)
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            errors.append("tools: Input should be a valid list")
        else:
            for j, tool in enumerate(tools):
                function = tool.get("function") if isinstance(tool, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                    errors.append(f"tools.{j}: Input should be a function tool")
    choice = body.get("tool_choice")
    if choice is not None and choice not in TOOL_CHOICES:
        named = choice.get("function") if isinstance(choice, dict) else None
        if not isinstance(named, dict) or not isinstance(named.get("name"), str):
            errors.append(f"tool_choice: Input should be one of {', '.join(TOOL_CHOICES)}")
    return errors


def tools_ignored(body: dict[str, Any]) -> bool:
    """llama-cpp-python's function calling ignores `tools` unless `tool_choice` is set."""
    return bool(body.get("tools")) and body.get("tool_choice") in (None, "none")


def anthropic_request_errors(body: Any) -> list[str]:
    """What the Messages API would reject in `body` (the parts the arena sends)."""
    if not isinstance(body, dict):
        return ["body: Input should be a valid dictionary"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["messages: at least one message is required"]
    errors: list[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            errors.append(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            continue
        content = m.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not content:
            errors.append(f"messages.{i}.content: Input should be a string or a list of blocks")
            continue
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                errors.append(f"messages.{i}.content.{j}: Input should be a valid dictionary")
            elif block.get("type") == "text" and not (
                isinstance(block.get("text"), str) and block["text"]
            ):
                errors.append(f"messages.{i}.content.{j}.text: text blocks must be non-empty")
    return errors
