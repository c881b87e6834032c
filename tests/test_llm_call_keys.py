"""The LLM interface knows which call it is: call keys, the window view, the provider
registry."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agent_engine.errors import LLMTransientError
from agent_engine.llm import factory
from agent_engine.llm.base import (
    CallKey,
    LLMResponse,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    WindowKey,
    WindowView,
)
from agent_engine.loop import run_window
from settings.config import AgentConfig, ConfigError, ModelConfig
from tests.llm_helpers import MOMENT, make_config, make_ctx


class RecordingClient:
    provider = "openai"
    model = "recorder"

    def __init__(self) -> None:
        self.keys: list[CallKey | None] = []
        self.views: list[WindowView] = []
        self.failed_once = False

    def begin_window(self, view: WindowView) -> None:
        self.views.append(view)

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse:
        self.keys.append(key)
        if not self.failed_once:
            self.failed_once = True
            raise LLMTransientError("server_error", "try again")
        step = 0 if key is None else key.step
        calls = []
        if step == 1:
            args = json.dumps({"symbol": "SH688008", "action": "BUY", "quantity": 200})
            calls = [ToolCall("c1", "execute_trade", args)]
        return LLMResponse("ok", calls, "stop", Usage(1, 1), self.model, f"r{step}", 1.0, 0)


def test_each_call_gets_its_window_step_and_attempt(data_root: Path) -> None:
    config = make_config(data_root)
    ctx = dataclasses.replace(make_ctx(config, "bh"), attempt=2)
    client = RecordingClient()
    run_window(ctx, client, sleep=lambda _s: None)
    wid = "2025-11-03T10:30"
    assert client.keys == [
        CallKey(wid, 1, 2),  # the failed attempt of step 1
        CallKey(wid, 1, 2),  # its retry: the same key
        CallKey(wid, 2, 2),
    ]
    (view,) = client.views
    assert view.key == WindowKey(wid, MOMENT, 2)
    assert (view.window_id, view.moment, view.attempt) == (wid, MOMENT, 2)
    assert view.records_dir == data_root / "agent_data" / "bh"
    assert view.universe == tuple(config.symbols)
    assert view.portfolio is not ctx.portfolio  # a copy: no way to change the real one
    assert view.portfolio.cash == config.agent_config.initial_cash
    assert isinstance(view.snapshot, Mapping)
    with pytest.raises(TypeError):
        view.snapshot["market_data"] = {}  # type: ignore[index]
    assert not hasattr(view, "ledger")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.key = WindowKey("x", MOMENT, 1)  # type: ignore[misc]


def test_unknown_provider_error_lists_the_registered_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ModelConfig.model_construct(
        signature="x",
        provider="gemini",
        basemodel="m",
        api_key_env="X_KEY",
        replay=None,
        timeout_seconds=None,
    )
    monkeypatch.setenv("X_KEY", "k")
    with pytest.raises(ConfigError) as err:
        factory.make_client(model, AgentConfig())
    assert str(err.value) == "x: unknown provider 'gemini'; registered: anthropic, openai"


def test_a_registered_provider_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, str, float]] = []

    def fake(model: ModelConfig, api_key: str, timeout: float) -> Any:
        made.append((model.basemodel, api_key, timeout))
        return "client"

    monkeypatch.setattr(factory, "PROVIDERS", dict(factory.PROVIDERS))
    factory.register_provider("gemini", fake)
    model = ModelConfig.model_construct(
        signature="x",
        provider="gemini",
        basemodel="m",
        api_key_env="X_KEY",
        replay=None,
        timeout_seconds=7.0,
    )
    monkeypatch.setenv("X_KEY", " k ")
    assert factory.make_client(model, AgentConfig()) == "client"
    assert made == [("m", "k", 7.0)]
    assert sorted(factory.PROVIDERS) == ["anthropic", "gemini", "openai"]
