"""run_window end to end through the real SDKs and the fake server: records and logs exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_engine.decision_log import read_events
from agent_engine.llm.base import LLMResponse, Message, ToolSpec, Usage
from agent_engine.llm.factory import make_client
from agent_engine.llm.request_digest import request_digest
from agent_engine.loop import WindowContext, WindowOutcome, run_window
from agent_engine.prompt import PROMPT_TEMPLATE_HASH
from agent_engine.tools import TOOL_SPECS
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY, make_config, make_ctx

KEY_ENV = "ARENA_TEST_FAKE_KEY"


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


def setup(
    data_root: Path,
    server: FakeLLMServer,
    provider: str = "openai",
    timeout: float | None = None,
    **agent: Any,
) -> WindowContext:
    base = server.openai_base_url if provider == "openai" else server.anthropic_base_url
    model: dict[str, Any] = {
        "signature": "llm",
        "provider": provider,
        "basemodel": "fake-model",
        "base_url": base,
        "api_key_env": KEY_ENV,
        "parameters": {"temperature": 0.2},
    }
    if timeout is not None:
        model["timeout_seconds"] = timeout
    config = make_config(data_root, models=[model], **agent)
    return make_ctx(config, "llm")


def run(ctx: WindowContext, waits: list[float] | None = None) -> WindowOutcome:
    client = make_client(ctx.model, ctx.config.agent_config)
    sleeps = waits if waits is not None else []
    return run_window(ctx, client, sleep=sleeps.append)


def strip_volatile(event: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in event.items()
        if k not in ("ts_recorded", "latency_ms", "duration_ms", "latency_ms_total", "elapsed_ms")
    }


def trade_call(
    symbol: str = "SH688008", action: str = "BUY", quantity: Any = 1000
) -> dict[str, Any]:
    args = {"symbol": symbol, "action": action, "quantity": quantity}
    return {"name": "execute_trade", "arguments": args}


def assert_no_key_under(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert TEST_KEY not in path.read_text(encoding="utf-8", errors="replace"), path


def test_buy_fill_exact_ledger_record_and_log_events(
    data_root: Path, server: FakeLLMServer
) -> None:
    server.add(
        {"kind": "tool_calls", "text": "Buying.", "calls": [dict(trade_call(), id="call_1")]},
        {
            "kind": "text",
            "text": "Bought 1000 SH688008.",
            "usage": {"prompt_tokens": 150, "completion_tokens": 20},
        },
    )
    ctx = setup(data_root, server)
    outcome = run(ctx)
    assert outcome.outcome == "traded"
    assert (outcome.trades, outcome.rejected_orders, outcome.invalid_tool_calls) == (1, 0, 0)
    assert (outcome.model_calls, outcome.llm_errors) == (2, 0)
    assert (outcome.tokens_in, outcome.tokens_out) == (250, 30)
    server.assert_complete()

    records = ctx.ledger.records()
    assert len(records) == 2
    record = {k: v for k, v in records[1].items() if k != "ts_recorded"}
    assert record == {
        "id": 1,
        "date": "2025-11-03",
        "decision_time": "2025-11-03 10:30:00",
        "decision_count": 1,
        "window_id": "2025-11-03T10:30",
        "positions": {
            "CASH": 899969.0,
            "SH688008": {
                "shares": 1000,
                "sellable": 0,
                "avg_price": 100.031,
                "purchase_date": "2025-11-03",
            },
        },
        "this_action": {
            "action": "BUY",
            "symbol": "SH688008",
            "amount": 1000,
            "price": 100.0,
            "notional": 100000.0,
            "commission": 30.0,
            "stamp_duty": 0.0,
            "transfer_fee": 1.0,
        },
        "snapshot_hash": ctx.snapshot_hash,
        "tool_call_id": "call_1",
        "schema_version": 1,
    }

    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == [
        "window_start",
        "prompt",
        "model_call",
        "tool_result",
        "model_call",
        "window_end",
    ]
    assert all(e["schema_version"] == 1 and e["ts_recorded"] for e in events)
    assert strip_volatile(events[0]) == {
        "type": "window_start",
        "schema_version": 1,
        "signature": "llm",
        "provider": "openai",
        "model": "fake-model",
        "window_id": "2025-11-03T10:30",
        "decision_time": "2025-11-03 10:30:00",
        "decision_index": 1,
        "decisions_per_day": 3,
        "snapshot_path": "agent_data/shared/snapshots/2025-11-03/10-30-00_x.json",
        "snapshot_hash": ctx.snapshot_hash,
        "attempt": 1,
    }
    prompt = events[1]
    assert prompt["tools"] == [
        "get_stock_price",
        "get_news",
        "get_portfolio",
        "execute_trade",
        "calculate",
        "place_order",
        "get_orders",
        "cancel_order",
    ]
    assert prompt["prompt_template_hash"] == PROMPT_TEMPLATE_HASH
    first_request = server.requests[0]["body"]["messages"]
    assert first_request[0] == {"role": "system", "content": prompt["system"]}
    assert first_request[1] == {"role": "user", "content": prompt["user"]}
    assert "commission 0.03% of the notional, at least 5 CNY" in prompt["system"]
    assert "Decision window 1/3 on 2025-11-03 (Monday) at 10:30" in prompt["user"]
    assert strip_volatile(events[2]) == {
        "type": "model_call",
        "schema_version": 1,
        "step": 1,
        "model": "fake-model",
        "response_id": "chatcmpl-fake-1",
        "text": "Buying.",
        "reasoning": "",
        "tool_calls": [
            {
                "id": "call_1",
                "name": "execute_trade",
                "arguments": '{"symbol": "SH688008", "action": "BUY", "quantity": 1000}',
            }
        ],
        "finish_reason": "tool_calls",
        "usage": {"prompt_tokens": 100, "completion_tokens": 10},
        "retries": 0,
        "error": None,
        # the request's fingerprint: model, parameters, system, messages sent, tool definitions
        "request_sha256": request_digest(
            "fake-model",
            ctx.model.parameters,
            prompt["system"],
            [Message.user(prompt["user"])],
            TOOL_SPECS,
        ),
        "attempts": 1,
        "truncated": None,
    }
    tool = events[3]
    assert (
        tool["step"] == 1 and tool["tool_call_id"] == "call_1" and tool["name"] == "execute_trade"
    )
    assert tool["ok"] is True and tool["error_kind"] is None and tool["rejection"] is None
    assert tool["trade"] == records[1]["this_action"]
    assert json.loads(tool["result"])["cash_after"] == 899969.0
    # the tool result reached the model in the second request
    second = server.requests[1]["body"]["messages"]
    assert second[-1] == {"role": "tool", "tool_call_id": "call_1", "content": tool["result"]}
    end = strip_volatile(events[5])
    assert end == {
        "type": "window_end",
        "schema_version": 1,
        "outcome": "traded",
        "final_text": "Bought 1000 SH688008.",
        "trades": 1,
        "rejected_orders": 0,
        "invalid_tool_calls": 0,
        "llm_errors": 0,
        "model_calls": 2,
        "model_attempts": 2,
        "tokens_in": 250,
        "tokens_out": 30,
        "equity": 999969.0,
        "cash": 899969.0,
    }
    assert events[5]["latency_ms_total"] > 0 and events[5]["duration_ms"] > 0
    assert_no_key_under(data_root)


def test_retry_after_429_then_success(data_root: Path, server: FakeLLMServer) -> None:
    server.add(
        {"kind": "error", "status": 429, "headers": {"retry-after": "0"}},
        {"kind": "error", "status": 429, "headers": {"retry-after": "0"}},
        {"kind": "text", "text": "Hold."},
    )
    ctx = setup(data_root, server, base_delay=0.01, max_delay=0.05)
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "no_trade" and outcome.llm_errors == 0 and outcome.model_calls == 1
    assert len(waits) == 2 and all(0.0 <= w <= 0.05 for w in waits)
    assert len(server.requests) == 3
    calls = [e for e in read_events(ctx.log_path) if e["type"] == "model_call"]
    assert [(c["retries"], c["error"]) for c in calls] == [(2, None)]
    assert ctx.ledger.records()[-1]["this_action"] == {
        "action": "no_trade",
        "reason": "model chose to hold",
        "reason_code": "hold",
    }


def test_persistent_500_becomes_llm_error_no_trade(data_root: Path, server: FakeLLMServer) -> None:
    server.add(*[{"kind": "error", "status": 500, "message": "upstream broke"}] * 4)
    ctx = setup(data_root, server, max_retries=3)
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "llm_error"
    assert (outcome.llm_errors, outcome.model_calls, outcome.trades) == (1, 1, 0)
    assert len(server.requests) == 4 and len(waits) == 3
    server.assert_complete()
    last = ctx.ledger.records()[-1]
    assert last["window_id"] == "2025-11-03T10:30"
    assert last["this_action"] == {
        "action": "no_trade",
        "reason": "llm_error: server_error: HTTP 500: upstream broke",
        "reason_code": "llm_error",
    }
    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == (
        ["window_start", "prompt"] + ["model_error"] * 3 + ["model_call", "window_end"]
    )
    error = {"kind": "server_error", "message": "HTTP 500: upstream broke", "status_code": 500}
    # every attempt is recorded: the retried ones as model_error, the last one in model_call
    retried = events[2:5]
    assert [strip_volatile(e) for e in retried] == [
        {
            "type": "model_error",
            "schema_version": 1,
            "step": 1,
            "attempt": n,
            "error": error,
            "retry_in_s": round(wait, 3),
        }
        for n, wait in zip([1, 2, 3], waits, strict=True)
    ]
    call = events[5]
    assert call["error"] == error
    assert call["retries"] == 3 and call["tool_calls"] == [] and call["response_id"] is None
    assert call["attempts"] == 4 and call["elapsed_ms"] >= call["latency_ms"] > 0
    end = events[6]
    assert end["outcome"] == "llm_error" and end["llm_errors"] == 1
    assert (end["model_calls"], end["model_attempts"]) == (1, 4)
    latencies = [e["latency_ms"] for e in retried] + [call["latency_ms"]]
    assert all(ms > 0 for ms in latencies)
    assert end["latency_ms_total"] == pytest.approx(sum(latencies), abs=0.01)
    assert end["duration_ms"] >= end["latency_ms_total"]


def test_timeout_is_retried_then_recorded(data_root: Path, server: FakeLLMServer) -> None:
    server.add(
        {"kind": "text", "text": "late", "delay": 3.0},
        {"kind": "text", "text": "late again", "delay": 3.0},
    )
    ctx = setup(data_root, server, timeout=0.3, max_retries=1)
    outcome = run(ctx)
    assert outcome.outcome == "llm_error"
    call = next(e for e in read_events(ctx.log_path) if e["type"] == "model_call")
    assert call["error"]["kind"] == "timeout" and call["retries"] == 1
    assert len(server.requests) == 2
    assert ctx.ledger.records()[-1]["this_action"]["reason_code"] == "llm_error"


def test_401_is_not_retried_and_the_key_never_reaches_disk(
    data_root: Path, server: FakeLLMServer
) -> None:
    server.add(
        {"kind": "error", "status": 401, "message": f"Incorrect API key provided: {TEST_KEY}"}
    )
    ctx = setup(data_root, server)
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "llm_error" and waits == [] and len(server.requests) == 1
    reason = ctx.ledger.records()[-1]["this_action"]["reason"]
    assert reason == "llm_error: auth: HTTP 401: Incorrect API key provided: ***"
    assert_no_key_under(data_root)
    for request in server.requests:
        assert TEST_KEY not in json.dumps(request["body"])


def test_bad_tool_calls_get_error_results_and_the_loop_goes_on(
    data_root: Path, server: FakeLLMServer
) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "calls": [
                {
                    "id": "c1",
                    "name": "execute_trade",
                    "arguments": '{"symbol": "SH688008", "quantity": ',
                },
                {"id": "c2", "name": "buy_the_dip", "arguments": "{}"},
                {"id": "c3", "name": "get_stock_price", "arguments": '{"symbol": "AAPL"}'},
                {
                    "id": "c4",
                    "name": "execute_trade",
                    "arguments": '{"symbol": "SH688008", "action": "BUY", "quantity": 1.5}',
                },
                {"id": "c5", "name": "", "arguments": "null"},
                {"id": "c6", "name": "execute_trade", "arguments": "[1]"},
            ],
        },
        {"kind": "tool_calls", "calls": [{"id": "c7", **trade_call(quantity=100)}]},
        {"kind": "text", "text": "I give up."},
    )
    ctx = setup(data_root, server)
    outcome = run(ctx)
    assert outcome.outcome == "no_trade"
    assert (outcome.invalid_tool_calls, outcome.rejected_orders, outcome.trades) == (6, 1, 0)
    assert outcome.model_calls == 3
    events = read_events(ctx.log_path)
    results = [e for e in events if e["type"] == "tool_result"]
    assert [(r["tool_call_id"], r["ok"], r["error_kind"]) for r in results] == [
        ("c1", False, "invalid_json"),
        ("c2", False, "unknown_tool"),
        ("c3", False, "unknown_symbol"),
        ("c4", False, "invalid_arguments"),
        ("c5", False, "unknown_tool"),
        ("c6", False, "invalid_arguments"),
        ("c7", False, "rejected_order"),
    ]
    assert results[6]["rejection"]["reason"] == "below_minimum"
    assert results[0]["arguments"] == '{"symbol": "SH688008", "quantity": '
    # every error result was fed back to the model
    second = server.requests[1]["body"]["messages"]
    assert [m["tool_call_id"] for m in second if m["role"] == "tool"] == [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
    ]
    assert json.loads(second[-6]["content"])["error"] == "invalid_json"
    assert ctx.ledger.records()[-1]["this_action"] == {
        "action": "no_trade",
        "reason": "all 1 orders rejected (below_minimum)",
        "reason_code": "all_rejected",
    }
    end = events[-1]
    assert (end["invalid_tool_calls"], end["rejected_orders"], end["outcome"]) == (6, 1, "no_trade")


def test_max_steps_caps_model_calls(data_root: Path, server: FakeLLMServer) -> None:
    portfolio_call = {"kind": "tool_calls", "calls": [{"name": "get_portfolio", "arguments": "{}"}]}
    server.add(*[portfolio_call] * 5)
    ctx = setup(data_root, server, max_steps=3)
    outcome = run(ctx)
    assert outcome.model_calls == 3 and len(server.requests) == 3
    assert outcome.outcome == "no_trade"
    types = [e["type"] for e in read_events(ctx.log_path)]
    assert types == ["window_start", "prompt"] + ["model_call", "tool_result"] * 3 + ["window_end"]
    assert ctx.ledger.records()[-1]["this_action"] == {
        "action": "no_trade",
        "reason": "no trade: stopped at max_steps without a final answer",
        "reason_code": "hold",
    }


@pytest.mark.parametrize("step", [{"kind": "garbage"}, {"kind": "empty_choices"}])
def test_unusable_200_is_an_llm_error_without_retry(
    data_root: Path, server: FakeLLMServer, step: dict
) -> None:
    server.add(step)
    ctx = setup(data_root, server)
    waits: list[float] = []
    outcome = run(ctx, waits)
    assert outcome.outcome == "llm_error" and waits == [] and len(server.requests) == 1
    call = next(e for e in read_events(ctx.log_path) if e["type"] == "model_call")
    assert call["error"]["kind"] == "bad_response"


def test_anthropic_trade_and_sell_rejection(data_root: Path, server: FakeLLMServer) -> None:
    server.add(
        {
            "kind": "tool_calls",
            "calls": [
                {"id": "t1", **trade_call(symbol="sh688111", quantity=5000)},
                {"id": "t2", **trade_call(symbol="SH688111", action="SELL", quantity=5000)},
            ],
        },
        {"kind": "text", "text": "Done; T+1 blocks the sale."},
    )
    ctx = setup(data_root, server, provider="anthropic")
    outcome = run(ctx)
    assert outcome.outcome == "traded" and outcome.trades == 1 and outcome.rejected_orders == 1
    records = ctx.ledger.records()
    assert len(records) == 2  # one fill; no no_trade record when something filled
    assert records[1]["this_action"]["symbol"] == "SH688111"
    assert records[1]["positions"]["CASH"] == 899969.0  # 100000 + 30 commission + 1 transfer
    second = server.requests[1]["body"]["messages"][-1]
    assert [b["tool_use_id"] for b in second["content"]] == ["t1", "t2"]
    assert [b["is_error"] for b in second["content"]] == [False, True]
    assert "insufficient_sellable" in second["content"][1]["content"]
    assert server.requests[0]["body"]["temperature"] == 0.2
    assert_no_key_under(data_root)


class _ExplodingClient:
    provider = "openai"
    model = "boom"

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def complete(
        self, system: str, messages: list[Message], tools: list[ToolSpec], key: Any = None
    ) -> LLMResponse:
        raise self.exc


def test_unexpected_client_exception_is_an_llm_error(
    data_root: Path, server: FakeLLMServer
) -> None:
    ctx = setup(data_root, server)
    outcome = run_window(ctx, _ExplodingClient(RuntimeError("bug in client")), sleep=lambda s: None)
    assert outcome.outcome == "llm_error"
    call = next(e for e in read_events(ctx.log_path) if e["type"] == "model_call")
    assert call["error"] == {"kind": "client_error", "message": "RuntimeError: bug in client"}


def test_interrupt_writes_window_end_and_reraises(data_root: Path, server: FakeLLMServer) -> None:
    ctx = setup(data_root, server)
    with pytest.raises(KeyboardInterrupt):
        run_window(ctx, _ExplodingClient(KeyboardInterrupt()), sleep=lambda s: None)
    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == ["window_start", "prompt", "window_end"]
    assert events[-1]["outcome"] == "interrupted"
    assert len(ctx.ledger.records()) == 1  # only the seed: the window will be run again


class _ScriptedClient:
    provider = "openai"
    model = "scripted"

    def __init__(self, responses: list[LLMResponse]) -> None:
        self.responses = responses
        self.seen: list[list[Message]] = []

    def complete(
        self, system: str, messages: list[Message], tools: list[ToolSpec], key: Any = None
    ) -> LLMResponse:
        self.seen.append(list(messages))
        return self.responses.pop(0)


def test_tokens_and_latency_are_summed(data_root: Path, server: FakeLLMServer) -> None:
    def resp(text: str, pin: int, pout: int, ms: float) -> LLMResponse:
        return LLMResponse(text, [], "stop", Usage(pin, pout), "scripted", "r", ms, 0)

    ctx = setup(data_root, server)
    outcome = run_window(ctx, _ScriptedClient([resp("hold", 1234, 56, 12.5)]), sleep=lambda s: None)
    assert (outcome.tokens_in, outcome.tokens_out, outcome.latency_ms_total) == (1234, 56, 12.5)


def test_repeated_or_missing_tool_call_ids_are_made_unique(
    data_root: Path, server: FakeLLMServer
) -> None:
    portfolio = {"name": "get_portfolio", "arguments": "{}"}
    server.add(
        {
            "kind": "tool_calls",
            "calls": [{"id": "call_0", **portfolio}, {"id": "call_0", **portfolio}],
        },
        {"kind": "tool_calls", "calls": [{"id": "call_0", **portfolio}]},
        {"kind": "text", "text": "ok"},
    )
    ctx = setup(data_root, server)
    run(ctx)
    results = [e for e in read_events(ctx.log_path) if e["type"] == "tool_result"]
    assert [r["tool_call_id"] for r in results] == ["call_0", "call_1_2", "call_2_1"]
    calls = [e for e in read_events(ctx.log_path) if e["type"] == "model_call"]
    assert [c["id"] for c in calls[0]["tool_calls"]] == ["call_0", "call_1_2"]
    last = server.requests[2]["body"]["messages"]
    assert [m["tool_call_id"] for m in last if m["role"] == "tool"] == [
        "call_0",
        "call_1_2",
        "call_2_1",
    ]


def test_a_resumed_window_appends_a_new_attempt_that_continues_the_conversation(
    data_root: Path, server: FakeLLMServer
) -> None:
    ctx = setup(data_root, server)
    with pytest.raises(KeyboardInterrupt):
        run_window(ctx, _ExplodingClient(KeyboardInterrupt()), sleep=lambda s: None)
    ctx.attempt = 2
    server.add({"kind": "text", "text": "hold"})
    assert run(ctx).outcome == "no_trade"
    events = read_events(ctx.log_path)
    assert [e["type"] for e in events] == [
        "window_start",
        "prompt",
        "window_end",
        "window_start",
        "model_call",
        "window_end",
    ]
    assert [e["attempt"] for e in events if e["type"] == "window_start"] == [1, 2]
    assert "resumed" not in events[0]
    assert (events[3]["resumed"], events[3]["resumed_at_step"]) == (True, 1)
    assert events[4]["step"] == 1
    assert [e["outcome"] for e in events if e["type"] == "window_end"] == [
        "interrupted",
        "no_trade",
    ]
    # the model is asked with the prompt of the first attempt
    (request,) = server.bodies("/chat/completions")
    assert request["messages"] == [
        {"role": "system", "content": events[1]["system"]},
        {"role": "user", "content": events[1]["user"]},
    ]
    assert [r["this_action"]["reason_code"] for r in ctx.ledger.records()[1:]] == ["hold"]


class _BrokenBaseline(_ScriptedClient):
    def begin_window(self, ctx: WindowContext) -> None:
        raise ZeroDivisionError("strategy bug")


def test_begin_window_failure_is_an_llm_error(data_root: Path, server: FakeLLMServer) -> None:
    ctx = setup(data_root, server)
    outcome = run_window(ctx, _BrokenBaseline([]), sleep=lambda s: None)
    assert outcome.outcome == "llm_error"
    types = [e["type"] for e in read_events(ctx.log_path)]
    assert types == ["window_start", "prompt", "model_call", "window_end"]
    assert ctx.ledger.records()[-1]["this_action"]["reason"] == (
        "llm_error: client_error: ZeroDivisionError('strategy bug')"
    )


def test_fake_trade_rule_buys_then_sells_next_day(data_root: Path) -> None:
    from datetime import datetime

    from data_flow.clock import SHANGHAI
    from tests.llm_helpers import make_snapshot

    with FakeLLMServer(rule="trade") as srv:
        ctx = setup(data_root, srv)
        assert run(ctx).outcome == "traded"
        day2 = datetime(2025, 11, 4, 10, 30, tzinfo=SHANGHAI)
        ctx2 = make_ctx(
            ctx.config, "llm", make_snapshot(moment=day2), moment=day2, ledger=ctx.ledger
        )
        assert run(ctx2).outcome == "traded"
    actions = [r["this_action"] for r in ctx.ledger.records()[1:]]
    assert [(a["action"], a["symbol"], a["amount"]) for a in actions] == [
        ("BUY", "SH688008", 200),
        ("SELL", "SH688008", 200),
    ]
    assert len(srv.requests) == 6


def test_long_output_under_max_reply_bytes_is_logged_whole(
    data_root: Path, server: FakeLLMServer
) -> None:
    server.add({"kind": "long_text", "chars": 262_144})
    ctx = setup(data_root, server)
    assert run(ctx).outcome == "no_trade"
    events = read_events(ctx.log_path)
    assert len(events[2]["text"]) == 262_144 and events[2]["truncated"] is None
    assert events[-1]["final_text"] == events[2]["text"]
