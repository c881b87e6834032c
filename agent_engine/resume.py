"""Continuing an interrupted window from its decision log, without repeating a fill.

A window is complete only once its `window_end` is durably recorded
(`decision_log.window_complete`). Any other window that already has a conversation in its log
(a `prompt` event) is resumed, not restarted: `load_conversation` rebuilds the messages the
model had seen (the prompt of the last `prompt` event, then every assistant turn with its tool
calls and every tool result, across the attempts that followed), the tool calls of the last
turn that have no `tool_result` yet, and the counts needed for the window's outcome. The loop
then runs those pending calls and asks the model again with exactly that history.

The kill that interrupted the window may have fallen between a fill's ledger record and its
`tool_result` event. `match_recorded_fill` finds such a fill: the window's ledger trades not
accounted for by logged results. There can be at most one (tools run one after the other and
each result is logged before the next call runs), it must belong to the first pending call,
and when the record carries `tool_call_id` it must be that call's id. `recorded_fill_outcome`
rebuilds its tool result from the ledger record, byte for byte what the model would have got;
the fill is never executed again. Records that do not fit raise `CorruptRecordError`: a
window whose records disagree is not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent_engine.broker import fill_message
from agent_engine.errors import LLMError
from agent_engine.ledger import TRADE_ACTIONS
from agent_engine.ledger_records import fill_from_record
from agent_engine.llm.base import Message, ToolCall
from agent_engine.rules import to_decimal
from agent_engine.tools import (
    ERROR_REJECTED_ORDER,
    INVALID_CALL_KINDS,
    ToolOutcome,
    filled_outcome,
)
from data_flow.errors import CorruptRecordError
from data_flow.records.read import read_events

if TYPE_CHECKING:
    from agent_engine.loop import WindowContext


@dataclass
class Counts:
    """What the logged events of a conversation add up to (for the window's outcome)."""

    trades: int = 0
    rejected_orders: int = 0
    invalid_tool_calls: int = 0
    llm_errors: int = 0
    model_calls: int = 0
    model_attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms_total: float = 0.0
    final_text: str = ""
    llm_error: LLMError | None = None
    max_steps_reached: bool = False
    rejection_reasons: list[str] = field(default_factory=list)


@dataclass
class Conversation:
    """A window's conversation so far, as its decision log tells it."""

    system: str
    user: str
    messages: list[Message]
    seen_ids: set[str]
    last_step: int  # step of the last model call (0: none yet)
    pending: list[ToolCall]  # calls of the last model call that have no tool_result yet
    finished: bool  # the model answered, a call failed, or max_steps was used up
    counts: Counts
    recorded_fill: dict[str, Any] | None = None  # ledger record of pending[0]'s fill

    @classmethod
    def fresh(cls, system: str, user: str) -> Conversation:
        return cls(system, user, [Message.user(user)], set(), 0, [], False, Counts())

    @classmethod
    def closed(cls) -> Conversation:
        """A window with ledger records but no conversation left in its log: nothing to ask."""
        return cls("", "", [], set(), 0, [], True, Counts())


def _tool_calls(event: dict[str, Any]) -> list[ToolCall]:
    calls = event.get("tool_calls") or []
    return [
        ToolCall(str(c.get("id")), str(c.get("name")), str(c.get("arguments") or ""))
        for c in calls
        if isinstance(c, dict)
    ]


def load_conversation(events: list[dict[str, Any]], max_steps: int) -> Conversation | None:
    """The conversation of the last `prompt` event, or None when the log has none."""
    starts = [i for i, ev in enumerate(events) if ev.get("type") == "prompt"]
    if not starts:
        return None
    prompt = events[starts[-1]]
    conv = Conversation.fresh(str(prompt.get("system") or ""), str(prompt.get("user") or ""))
    counts = conv.counts
    for ev in events[starts[-1] + 1 :]:
        kind = ev.get("type")
        if kind == "model_call":
            _add_model_call(conv, ev)
        elif kind == "tool_result":
            call_id = ev.get("tool_call_id")
            conv.pending = [c for c in conv.pending if c.id != call_id]
            conv.messages.append(
                Message.tool(
                    str(call_id),
                    str(ev.get("name")),
                    str(ev.get("result") or ""),
                    is_error=not ev.get("ok"),
                )
            )
            if ev.get("error_kind") in INVALID_CALL_KINDS:
                counts.invalid_tool_calls += 1
            elif ev.get("error_kind") == ERROR_REJECTED_ORDER:
                counts.rejected_orders += 1
                rejection = ev.get("rejection")
                if isinstance(rejection, dict):
                    counts.rejection_reasons.append(str(rejection.get("reason")))
            if ev.get("trade") is not None:
                counts.trades += 1
    if conv.last_step >= max_steps and not conv.finished and not conv.pending:
        conv.finished = counts.max_steps_reached = True
    return conv


def _add_model_call(conv: Conversation, ev: dict[str, Any]) -> None:
    counts = conv.counts
    counts.model_calls += 1
    usage = ev.get("usage") if isinstance(ev.get("usage"), dict) else {}
    counts.tokens_in += int(usage.get("prompt_tokens") or 0)
    counts.tokens_out += int(usage.get("completion_tokens") or 0)
    counts.latency_ms_total += float(ev.get("latency_ms") or 0.0)
    conv.last_step = int(ev.get("step") or conv.last_step + 1)
    error = ev.get("error")
    if isinstance(error, dict):
        counts.llm_errors += 1
        counts.llm_error = LLMError(str(error.get("kind")), str(error.get("message")))
        conv.finished = True
        return
    counts.final_text = str(ev.get("text") or "")
    calls = _tool_calls(ev)
    blocks = tuple(b for b in ev.get("provider_blocks") or [] if isinstance(b, dict))
    conv.messages.append(Message.assistant(counts.final_text, calls, blocks))
    conv.seen_ids.update(c.id for c in calls)
    conv.pending = calls
    conv.finished = not calls


def conversation_to_resume(ctx: WindowContext) -> Conversation | None:
    """The conversation a window continues (None: a fresh window). A window with ledger
    records but no conversation in its log is closed without asking the model; so is one
    that already has its `no_trade` record (its decision is final)."""
    records = ctx.ledger.window_records(ctx.window_id)
    conv = load_conversation(read_events(ctx.log_path), ctx.config.agent_config.max_steps)
    if conv is None:
        return Conversation.closed() if records else None
    match_recorded_fill(conv, records, f"window {ctx.window_id} ({ctx.log_path})")
    if any(r["this_action"].get("action") not in TRADE_ACTIONS for r in records):
        conv.finished = True
    return conv


def match_recorded_fill(
    conv: Conversation, window_records: list[dict[str, Any]], where: str
) -> dict[str, Any] | None:
    """The ledger record of a fill whose `tool_result` is missing from the log (see the module
    docstring), also stored in `conv.recorded_fill`; None when every fill was logged."""
    trades = [r for r in window_records if r["this_action"].get("action") in TRADE_ACTIONS]
    extra = trades[conv.counts.trades :]
    if not extra:
        return None
    first = conv.pending[0] if conv.pending else None
    record = extra[0]
    recorded_id = record.get("tool_call_id")
    if (
        len(extra) > 1
        or first is None
        or first.name != "execute_trade"
        or recorded_id not in (None, first.id)
    ):
        ids = [r.get("id") for r in extra]
        raise CorruptRecordError(
            f"{where}: the ledger has fill record(s) {ids} that match no pending "
            f"execute_trade call of the decision log (pending: "
            f"{[c.id for c in conv.pending]}); not resuming the window"
        )
    conv.recorded_fill = record
    return record


def recorded_fill_outcome(record: dict[str, Any]) -> ToolOutcome:
    """The `execute_trade` result of a fill rebuilt from its ledger record (fill prices are
    whole cents, so the 2-dp price gives the broker's exact text)."""
    action = record["this_action"]
    symbol = str(action["symbol"])
    fill = fill_from_record(record)
    positions = record["positions"]
    cash_after = to_decimal(positions.get("CASH"))
    if cash_after is None:
        raise CorruptRecordError(f"ledger record {record.get('id')}: bad positions.CASH")
    held = positions.get(symbol)
    shares_after = int(held.get("shares") or 0) if isinstance(held, dict) else 0
    message = fill_message(fill, cash_after, shares_after)
    return filled_outcome(fill, dict(action), cash_after, message)
