"""Items of `/api/live/recent-decisions`: one window's decision, read from its log and ledger.

Sizes are bounded so that a model that wrote megabytes cannot make the API return them:
- per item, texts are cut to ITEM_TEXT_CHARS (reasoning, error), tool-call arguments to
  ITEM_ARGUMENTS_CHARS and results to ITEM_RESULT_CHARS, each cut ending with CUT_MARK; at
  most ITEM_TOOL_CALLS tool calls are listed (`tool_calls_left_off` counts the rest); an item
  with any cut has `truncated: true`;
- `corporate_actions` lists the window's dividend and bonus records (data_flow/live/corporate.py);
- per page, items are added newest first while the serialized page stays within PAGE_MAX_BYTES
  (the first item always); `left_off` counts the items that did not fit.
"""

from __future__ import annotations

from typing import Any

from data_flow.live.agents import FILL_ACTIONS, INVALID_TOOL_KINDS, WindowState, as_float, as_int
from data_flow.live.corporate import window_actions

ITEM_TEXT_CHARS = 8000
ITEM_ARGUMENTS_CHARS = 2000
ITEM_RESULT_CHARS = 2000
ITEM_TOOL_CALLS = 40
PAGE_MAX_BYTES = 2_000_000
CUT_MARK = "…[cut: {total} characters]"


class _Cutter:
    def __init__(self) -> None:
        self.cut = False

    def __call__(self, value: Any, limit: int) -> Any:
        if not isinstance(value, str) or len(value) <= limit:
            return value
        self.cut = True
        return value[:limit] + CUT_MARK.format(total=len(value))


def _ms(value: Any) -> float | None:
    number = as_float(value, -1.0)
    return number if number >= 0 else None


def _error_text(error: Any) -> str | None:
    if not isinstance(error, dict):
        return None
    return f"{error.get('kind')}: {error.get('message')}"


def decision_item(signature: str, win: WindowState, events: list[dict[str, Any]]) -> dict[str, Any]:
    # Only the last attempt of the window is shown.
    starts = [i for i, e in enumerate(events) if e.get("type") == "window_start"]
    if starts:
        events = events[starts[-1] :]
    cut = _Cutter()
    tool_calls = []
    calls_left_off = 0
    rejections = []
    final_text = None
    last_text = None
    error = None
    end: dict[str, Any] | None = None
    tokens_in = tokens_out = llm_errors = invalid = 0
    for ev in events:
        kind = ev.get("type")
        if kind == "model_call":
            usage = ev.get("usage") if isinstance(ev.get("usage"), dict) else {}
            tokens_in += as_int(usage.get("prompt_tokens"))
            tokens_out += as_int(usage.get("completion_tokens"))
            llm_errors += ev.get("error") is not None
            error = _error_text(ev.get("error")) or error
            if ev.get("text"):
                last_text = ev["text"]
        elif kind == "tool_result":
            if len(tool_calls) < ITEM_TOOL_CALLS:
                tool_calls.append(
                    {
                        "name": cut(ev.get("name"), ITEM_ARGUMENTS_CHARS),
                        "arguments": cut(ev.get("arguments"), ITEM_ARGUMENTS_CHARS),
                        "result": cut(ev.get("result"), ITEM_RESULT_CHARS),
                        "ok": bool(ev.get("ok")),
                        "error_kind": ev.get("error_kind"),
                    }
                )
            else:
                calls_left_off += 1
            if isinstance(ev.get("rejection"), dict) and len(rejections) < ITEM_TOOL_CALLS:
                rejections.append(ev["rejection"])
            if ev.get("error_kind") in INVALID_TOOL_KINDS:
                invalid += 1
        elif kind == "window_end":
            end = ev
            final_text = ev.get("final_text")
    trades = [a for a in win.actions if a.get("action") in FILL_ACTIONS]
    if end is not None:
        outcome = end.get("outcome")
        tokens_in = as_int(end.get("tokens_in", tokens_in))
        tokens_out = as_int(end.get("tokens_out", tokens_out))
        llm_errors = as_int(end.get("llm_errors", llm_errors))
        invalid = as_int(end.get("invalid_tool_calls", invalid))
    else:
        outcome = "traded" if trades else "no_trade"
    if error is None and outcome == "llm_error":  # no decision log: the ledger's reason
        reasons = [a.get("reason") for a in win.actions if a.get("reason_code") == "llm_error"]
        error = str(reasons[-1]).removeprefix("llm_error: ") if reasons else None
    return {
        "signature": signature,
        "window_id": win.window_id,
        "decision_time": win.decision_time,
        "outcome": outcome,
        "reasoning": cut(final_text if final_text else last_text, ITEM_TEXT_CHARS),
        "error": cut(error, ITEM_TEXT_CHARS),
        "tool_calls": tool_calls,
        "tool_calls_left_off": calls_left_off,
        "trades": trades,
        "corporate_actions": window_actions(win),
        "rejections": rejections,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "llm_errors": llm_errors,
        "invalid_tool_calls": invalid,
        "duration_ms": _ms(end.get("duration_ms")) if end else None,
        "latency_ms_total": _ms(end.get("latency_ms_total")) if end else None,
        "truncated": cut.cut or calls_left_off > 0,
    }


def page(items: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """The response of (item, serialized size) pairs, newest first, within PAGE_MAX_BYTES."""
    data: list[dict[str, Any]] = []
    used = 0
    for item, size in items:
        if data and used + size > PAGE_MAX_BYTES:
            break
        data.append(item)
        used += size + 1
    return {"data": data, "count": len(data), "left_off": len(items) - len(data)}
