"""The decision log's `model_call` events: one per step, answered or failed (loop.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agent_engine.attempts import AttemptLog
from agent_engine.decision_log import DecisionLog
from agent_engine.errors import LLMError
from agent_engine.llm.base import LLMClient, LLMResponse, ToolCall

if TYPE_CHECKING:
    from agent_engine.loop import WindowContext, _Tally

log = logging.getLogger("agent_engine.loop")


def _tool_calls_record(calls: list[ToolCall]) -> list[dict[str, str]]:
    return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]


def _record_call(
    dlog: DecisionLog,
    tally: _Tally,
    step: int,
    response: LLMResponse,
    attempts: AttemptLog | None = None,
    truncated: dict[str, Any] | None = None,
    *,
    request: str | None = None,
) -> None:
    retried_ms = attempts.retried_latency_ms if attempts is not None else 0.0
    tally.model_calls += 1
    tally.model_attempts += response.retries + 1
    tally.tokens_in += response.usage.prompt_tokens
    tally.tokens_out += response.usage.completion_tokens
    tally.latency_ms_total += response.latency_ms + retried_ms
    tally.final_text = response.text
    dlog.event(
        "model_call",
        step=step,
        model=response.model,
        response_id=response.response_id,
        text=response.text,
        reasoning=response.reasoning,
        tool_calls=_tool_calls_record(response.tool_calls),
        finish_reason=response.finish_reason,
        usage={
            "prompt_tokens": response.usage.prompt_tokens,
            "completion_tokens": response.usage.completion_tokens,
        },
        latency_ms=round(response.latency_ms, 3),
        retries=response.retries,
        error=None,
        request_sha256=request,
        attempts=response.retries + 1,
        elapsed_ms=round(attempts.elapsed_ms() if attempts is not None else response.latency_ms, 3),
        truncated=truncated,
        **({"provider_blocks": list(response.provider_blocks)} if response.provider_blocks else {}),
    )


def _record_failure(
    ctx: WindowContext,
    client: LLMClient,
    dlog: DecisionLog,
    tally: _Tally,
    step: int,
    err: LLMError,
    elapsed_ms: float,
    attempts: AttemptLog | None = None,
    *,
    request: str | None = None,
) -> None:
    if attempts is None:  # the model was not called (begin_window failed)
        latency_ms, made, retried_ms = elapsed_ms, 0, 0.0
    else:  # latency_ms: the last attempt's; none when the deadline came before it
        last = attempts.last_failed
        latency_ms = last.latency_ms if last is not None else 0.0
        made = last.number if last is not None else err.retries
        retried_ms = attempts.retried_latency_ms
    tally.model_calls += 1
    tally.model_attempts += made
    tally.llm_errors += 1
    tally.llm_error = err
    tally.latency_ms_total += latency_ms + retried_ms
    log.warning(
        "%s %s: LLM call failed after %d retries: %s",
        ctx.model.signature,
        ctx.window_id,
        err.retries,
        err.kind,
    )
    dlog.event(
        "model_call",
        step=step,
        model=getattr(client, "model", ctx.model.basemodel),
        response_id=None,
        text="",
        reasoning="",
        tool_calls=[],
        finish_reason=None,
        usage={"prompt_tokens": 0, "completion_tokens": 0},
        latency_ms=round(latency_ms, 3),
        retries=err.retries,
        error=err.to_record(),
        request_sha256=request,
        attempts=made,
        elapsed_ms=round(elapsed_ms, 3),
        truncated=None,
    )
