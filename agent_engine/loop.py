"""One decision window of one agent: prompt → model ⇄ tools → ledger records + decision log.

`run_window(ctx, client)`:
1. writes `window_start` and `prompt` events;
2. calls the model with the tools; runs its tool calls in order, feeding each result back;
   stops when the model answers without tool calls or after `agent_config.max_steps` model
   calls (tool calls of the last allowed call are still executed);
3. transient LLM errors are retried with backoff (llm/retry.py); a call that still fails ends
   the window with an `llm_error` (trades already filled in the window stand); so does the
   window deadline (`agent_config.window_timeout_seconds`): no call or retry runs past it;
   a reply is kept up to `agent_config.max_reply_bytes` (llm/limits.py);
4. writes one ledger record per fill (as it happens) and, when nothing filled, one `no_trade`
   record with reason_code `hold`, `llm_error` or `all_rejected`;
5. writes `window_end` with the counts (of this attempt; the outcome is the window's).

A window whose log already holds a conversation (an earlier attempt was interrupted) is
resumed, not restarted: see agent_engine/resume.py.

It never raises for LLM or tool problems; it raises only for bugs or disk errors (and re-raises
KeyboardInterrupt / SystemExit / the runner's stop signal after writing `window_end` with
outcome `interrupted`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agent_engine.attempts import AttemptLog
from agent_engine.broker import Broker, Fill, Portfolio, quotes_from_snapshot
from agent_engine.call_records import _record_call, _record_failure
from agent_engine.decision_log import DecisionLog, redact
from agent_engine.errors import KIND_CLIENT_ERROR, LLMError
from agent_engine.ledger import TRADE_ACTIONS, Ledger
from agent_engine.liquidity import shares_traded_on_bars
from agent_engine.llm.base import (
    CallKey,
    LLMClient,
    LLMResponse,
    Message,
    ToolCall,
    WindowKey,
    WindowView,
)
from agent_engine.llm.deadline import Deadline
from agent_engine.llm.limits import cap_reply
from agent_engine.llm.request_digest import request_digest
from agent_engine.llm.retry import RetryPolicy, call_with_retries
from agent_engine.order_tools import WindowOrders
from agent_engine.prompt import PROMPT_TEMPLATE_HASH, build_prompt
from agent_engine.resting_orders import OrderDesk
from agent_engine.resume import (
    Conversation,
    Counts,
    conversation_to_resume,
    recorded_fill_outcome,
)
from agent_engine.tools import (
    ERROR_REJECTED_ORDER,
    INVALID_CALL_KINDS,
    TOOL_NAMES,
    TOOL_SPECS,
    ToolBox,
)
from data_flow.clock import decision_time_text
from data_flow.records.models import window_end_fields
from settings.config import ArenaConfig, ModelConfig

log = logging.getLogger(__name__)

OUTCOME_TRADED = "traded"
OUTCOME_NO_TRADE = "no_trade"
OUTCOME_LLM_ERROR = "llm_error"
OUTCOME_INTERRUPTED = "interrupted"


@dataclass
class WindowContext:
    config: ArenaConfig
    model: ModelConfig
    moment: datetime  # aware
    window_id: str  # "2025-11-03T10:30"
    decision_index: int  # 1-based
    decisions_per_day: int
    snapshot: dict[str, Any]
    snapshot_path: Path
    snapshot_hash: str
    portfolio: Portfolio
    ledger: Ledger
    broker: Broker
    log_path: Path
    attempt: int = 1
    orders: OrderDesk | None = None  # the agent's resting orders (None: no order tools)


@dataclass
class WindowOutcome:
    outcome: str
    trades: int
    rejected_orders: int
    invalid_tool_calls: int
    llm_errors: int
    model_calls: int
    tokens_in: int
    tokens_out: int
    latency_ms_total: float


class _Tally(Counts):
    def outcome(self) -> WindowOutcome:
        if self.trades:
            kind = OUTCOME_TRADED
        elif self.llm_error is not None:
            kind = OUTCOME_LLM_ERROR
        else:
            kind = OUTCOME_NO_TRADE
        return WindowOutcome(
            outcome=kind,
            trades=self.trades,
            rejected_orders=self.rejected_orders,
            invalid_tool_calls=self.invalid_tool_calls,
            llm_errors=self.llm_errors,
            model_calls=self.model_calls,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            latency_ms_total=round(self.latency_ms_total, 3),
        )


def _relative(path: Path, root: Path) -> str:
    """The snapshot's path relative to the data root, with `..` when the store is beside it
    (an experiment's period store): the same text wherever the experiment folder lives, so a
    cell run on another machine logs exactly what a local run logs."""
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def run_window(
    ctx: WindowContext,
    client: LLMClient,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> WindowOutcome:
    """Run the window; see the module docstring. Returns the counts written to `window_end`."""
    started = time.perf_counter()
    quotes = quotes_from_snapshot(ctx.snapshot)
    secrets = (ctx.model.api_key(),) if ctx.model.provider != "baseline" else ()
    tally = _Tally()
    conv = conversation_to_resume(ctx)
    if conv is not None:
        tally.final_text = conv.counts.final_text
    dlog = DecisionLog(ctx.log_path, secrets=secrets)
    try:
        resumed = {} if conv is None else {"resumed": True, "resumed_at_step": conv.last_step + 1}
        dlog.event(
            "window_start",
            signature=ctx.model.signature,
            provider=getattr(client, "provider", ctx.model.provider),
            model=getattr(client, "model", ctx.model.basemodel),
            window_id=ctx.window_id,
            decision_time=decision_time_text(ctx.moment),
            decision_index=ctx.decision_index,
            decisions_per_day=ctx.decisions_per_day,
            snapshot_path=_relative(ctx.snapshot_path, ctx.config.data_root()),
            snapshot_hash=ctx.snapshot_hash,
            attempt=ctx.attempt,
            **resumed,
        )
        _converse(ctx, client, quotes, dlog, tally, sleep, rng or random.Random(), conv)
        records = ctx.ledger.window_records(ctx.window_id)
        window = _whole_window(tally, conv, records)
        result = dataclasses.replace(tally.outcome(), outcome=window.outcome().outcome)
        if not records:
            code, reason = _no_trade_reason(window, dlog.secrets)
            ctx.ledger.append_no_trade(ctx, code, reason, ctx.portfolio, ctx.snapshot_hash)
        _window_end(dlog, ctx, quotes, tally, result.outcome, started)
        return result
    except BaseException as exc:
        try:
            tally.final_text = f"{type(exc).__name__}: {exc}"
            _window_end(dlog, ctx, quotes, tally, OUTCOME_INTERRUPTED, started)
        except Exception:  # the original error matters more
            log.exception("could not write window_end after %s", type(exc).__name__)
        raise
    finally:
        dlog.close()


def _whole_window(
    tally: _Tally, conv: Conversation | None, records: list[dict[str, Any]]
) -> _Tally:
    """What decides the window's outcome and `no_trade` reason, over the whole window (the
    earlier attempts of a resumed conversation and this one); fills as in the ledger."""
    prior = conv.counts if conv is not None else Counts()
    return _Tally(
        trades=sum(1 for r in records if r["this_action"].get("action") in TRADE_ACTIONS),
        rejected_orders=prior.rejected_orders + tally.rejected_orders,
        invalid_tool_calls=prior.invalid_tool_calls + tally.invalid_tool_calls,
        llm_error=tally.llm_error or prior.llm_error,
        max_steps_reached=tally.max_steps_reached or prior.max_steps_reached,
        rejection_reasons=prior.rejection_reasons + tally.rejection_reasons,
    )


def _converse(
    ctx: WindowContext,
    client: LLMClient,
    quotes: dict[str, Any],
    dlog: DecisionLog,
    tally: _Tally,
    sleep: Callable[[float], None],
    rng: random.Random,
    conv: Conversation | None,
) -> None:
    agent = ctx.config.agent_config
    deadline = _window_deadline(ctx)
    if conv is None:
        prompt = build_prompt(ctx, quotes)
        dlog.event(
            "prompt",
            system=prompt.system,
            user=prompt.user,
            tools=list(TOOL_NAMES),
            prompt_template_hash=PROMPT_TEMPLATE_HASH,
        )
        conv = Conversation.fresh(prompt.system, prompt.user)
    if conv.finished:
        return
    begin = getattr(client, "begin_window", None)
    if callable(begin):
        try:
            begin(window_view(ctx))
        except Exception as err:  # a strategy bug must not kill the run
            log.exception("begin_window failed for %s", ctx.model.signature)
            failure = LLMError(KIND_CLIENT_ERROR, repr(err))
            _record_failure(ctx, client, dlog, tally, conv.last_step + 1, failure, 0.0)
            return

    def record_fill(fill: Fill) -> dict[str, Any]:
        call = toolbox.current_call
        record = ctx.ledger.commit_fill(
            ctx, fill, ctx.portfolio, ctx.snapshot_hash, call.id if call else None
        )
        return dict(record["this_action"])

    toolbox = ToolBox(
        snapshot=ctx.snapshot,
        portfolio=ctx.portfolio,
        broker=ctx.broker,
        universe=ctx.config.symbols,
        moment=ctx.moment,
        quotes=quotes,
        position_cap=ctx.config.risk_management.single_stock_max_position,
        news_lookback_hours=ctx.config.data_config.news_lookback_hours,
        record_fill=record_fill,
        orders=None
        if ctx.orders is None
        else WindowOrders(ctx.orders, ctx, ctx.window_id, ctx.moment, ctx.snapshot_hash),
        volume_used=_volume_used(ctx),
    )
    policy = RetryPolicy(
        max_retries=agent.max_retries, base_delay=agent.base_delay, max_delay=agent.max_delay
    )
    messages: list[Message] = conv.messages
    seen_ids: set[str] = conv.seen_ids
    if conv.pending:  # the interrupted turn's calls that have no result yet
        _run_tools(dlog, tally, toolbox, conv.last_step, conv.pending, messages, conv.recorded_fill)
    for step in range(conv.last_step + 1, agent.max_steps + 1):
        request = _request_sha256(ctx, conv.system, messages)
        attempts = AttemptLog(dlog, step)
        key = CallKey(ctx.window_id, step, ctx.attempt)
        try:
            response = call_with_retries(
                lambda key=key: _complete(client, conv.system, messages, key),
                policy,
                sleep=sleep,
                rng=rng,
                deadline=deadline,
                on_failed_attempt=attempts.failed,
            )
        except LLMError as err:
            _record_failure(
                ctx,
                client,
                dlog,
                tally,
                step,
                err,
                attempts.elapsed_ms(),
                attempts,
                request=request,
            )
            return
        response, truncated = cap_reply(response, agent.max_reply_bytes)
        response = _unique_call_ids(response, seen_ids, step)
        _record_call(dlog, tally, step, response, attempts, truncated, request=request)
        messages.append(
            Message.assistant(response.text, response.tool_calls, response.provider_blocks)
        )
        if not response.tool_calls:
            return
        _run_tools(dlog, tally, toolbox, step, response.tool_calls, messages)
    tally.max_steps_reached = True
    log.info("%s %s: max_steps reached", ctx.model.signature, ctx.window_id)


def _window_deadline(ctx: WindowContext) -> Deadline:
    seconds = ctx.config.agent_config.window_timeout_seconds
    return Deadline.after(seconds, f"window_timeout_seconds {seconds:g}")


def _run_tools(
    dlog: DecisionLog,
    tally: _Tally,
    toolbox: ToolBox,
    step: int,
    calls: list[ToolCall],
    messages: list[Message],
    recorded_fill: dict[str, Any] | None = None,
) -> None:
    """Run a turn's tool calls in order, logging and answering each. `recorded_fill`: the
    ledger record of the first call's fill, made before an interruption (not run again)."""
    for i, call in enumerate(calls):
        from_ledger = recorded_fill is not None and i == 0
        if recorded_fill is not None and i == 0:
            outcome = recorded_fill_outcome(recorded_fill)
        else:
            outcome = toolbox.run(call)
        if outcome.error_kind in INVALID_CALL_KINDS:
            tally.invalid_tool_calls += 1
        elif outcome.error_kind == ERROR_REJECTED_ORDER:
            tally.rejected_orders += 1
            if outcome.rejection and tally.rejection_reasons is not None:
                tally.rejection_reasons.append(str(outcome.rejection.get("reason")))
        if outcome.fill is not None:
            tally.trades += 1
        dlog.event(
            "tool_result",
            step=step,
            tool_call_id=call.id,
            name=call.name,
            arguments=call.arguments,
            ok=outcome.ok,
            error_kind=outcome.error_kind,
            result=outcome.result,
            trade=outcome.trade,
            rejection=outcome.rejection,
            **({"from_ledger": True} if from_ledger else {}),
        )
        messages.append(Message.tool(call.id, call.name, outcome.result, is_error=not outcome.ok))


def _unique_call_ids(response: LLMResponse, seen: set[str], step: int) -> LLMResponse:
    """Give every tool call of the window a distinct non-empty id (small models and some
    compatible servers repeat ids or send none; providers need them to pair results)."""
    calls: list[ToolCall] = []
    changed = False
    for i, call in enumerate(response.tool_calls, start=1):
        call_id = call.id
        if not call_id or call_id in seen:
            call_id = f"call_{step}_{i}"
            while call_id in seen:
                call_id += "_"
            changed = True
        seen.add(call_id)
        calls.append(call if call_id == call.id else ToolCall(call_id, call.name, call.arguments))
    return dataclasses.replace(response, tool_calls=calls) if changed else response


def _request_sha256(ctx: WindowContext, system: str, messages: list[Message]) -> str:
    """Fingerprint of the request about to be sent (see llm/request_digest.py)."""
    model = ctx.model
    return request_digest(model.basemodel, model.parameters, system, messages, TOOL_SPECS)


def window_view(ctx: WindowContext) -> WindowView:
    """What the client may know of the window (a copy of the portfolio, no ledger)."""
    return WindowView(
        key=WindowKey(ctx.window_id, ctx.moment, ctx.attempt),
        snapshot=MappingProxyType(ctx.snapshot),
        portfolio=copy.deepcopy(ctx.portfolio),
        broker=ctx.broker,
        universe=tuple(ctx.config.symbols),
        position_cap=ctx.config.risk_management.single_stock_max_position,
        records_dir=ctx.config.data_root() / "agent_data" / ctx.model.signature,
    )


def _complete(client: LLMClient, system: str, messages: list[Message], key: CallKey) -> LLMResponse:
    try:
        return client.complete(system, list(messages), list(TOOL_SPECS), key)
    except LLMError:
        raise
    except Exception as err:  # a client bug or an unexpected SDK failure: not retried
        log.exception("LLM client raised an unexpected error")
        raise LLMError(KIND_CLIENT_ERROR, f"{type(err).__name__}: {err}") from err


def _no_trade_reason(tally: _Tally, secrets: tuple[str, ...]) -> tuple[str, str]:
    if tally.llm_error is not None:
        err = tally.llm_error
        text = f"llm_error: {err.kind}: {err.message}"
        return "llm_error", str(redact(text, secrets))
    if tally.rejected_orders:
        reasons = ", ".join(sorted(set(tally.rejection_reasons or [])))
        return "all_rejected", f"all {tally.rejected_orders} orders rejected ({reasons})"
    notes = []
    if tally.max_steps_reached:
        notes.append("stopped at max_steps without a final answer")
    if tally.invalid_tool_calls:
        notes.append(f"{tally.invalid_tool_calls} invalid tool call(s)")
    if notes:
        return "hold", "no trade: " + "; ".join(notes)
    return "hold", "model chose to hold"


def _window_end(
    dlog: DecisionLog,
    ctx: WindowContext,
    quotes: dict[str, Any],
    tally: _Tally,
    outcome: str,
    started: float,
) -> None:
    fields = window_end_fields(
        outcome,
        tally.final_text,
        trades=tally.trades,
        rejected_orders=tally.rejected_orders,
        invalid_tool_calls=tally.invalid_tool_calls,
        llm_errors=tally.llm_errors,
        model_calls=tally.model_calls,
        model_attempts=tally.model_attempts,
        tokens_in=tally.tokens_in,
        tokens_out=tally.tokens_out,
        latency_ms_total=round(tally.latency_ms_total, 3),
        duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
        equity=float(ctx.portfolio.equity(quotes)),
        cash=float(ctx.portfolio.cash),
    )
    dlog.event("window_end", **fields)


def _volume_used(ctx: WindowContext) -> dict[str, int]:
    """Shares already traded against each symbol's bar at this decision time (a resumed
    window's earlier fills and resting fills of that bar), from the ledger."""
    bars = {
        symbol: row.get("bar_time")
        for symbol, row in (ctx.snapshot.get("market_data") or {}).items()
        if isinstance(row, Mapping)
    }
    return shares_traded_on_bars(ctx.ledger.records(), ctx.window_id, bars)
