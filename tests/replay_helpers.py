"""A recorded run through the real OpenAI SDK and the fake server, for the replay and
rescore tests."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from agent_engine.llm.base import LLMClient, LLMResponse, Message, ToolSpec
from agent_engine.llm.factory import make_client
from agent_engine.runner import StopRequested, make_clock, run_agent
from settings.config import load_config
from tests.conftest import write_config
from tests.fake_llm_server import FakeLLMServer
from tests.main_helpers import WINDOWS, openai_agent

SIG = "llm"
SCRIPT: list[dict[str, Any]] = [
    # window 1: a fill, a rejected order (below the STAR board's 200-share minimum) and an
    # invalid call (malformed JSON), then a final answer
    {
        "kind": "tool_calls",
        "calls": [
            {"name": "execute_trade", "arguments": {"symbol": "SH688008", "action": "BUY",
                                                    "quantity": 200}},
            {"name": "execute_trade", "arguments": {"symbol": "SH688009", "action": "BUY",
                                                    "quantity": 150}},
            {"name": "execute_trade", "arguments": "{not json"},
        ],
    },
    {"kind": "text", "text": "Bought some."},
    # window 2: one retried 429, then an answer
    {"kind": "error", "status": 429, "headers": {"retry-after": "0"}},
    {"kind": "text", "text": "hold"},
    # window 3: 500 until the retries are used up -> llm_error
    {"kind": "error", "status": 500},
    {"kind": "error", "status": 500},
]  # fmt: skip


class StopAt:
    """The real client, but SIGTERM arrives at (window, step) once (a stopped run)."""

    def __init__(self, inner: LLMClient, window_id: str, step: int) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.model = inner.model
        self.at = (window_id, step)
        self.current = ("", 0)

    def begin_window(self, ctx: Any) -> None:
        self.current = (ctx.window_id, 0)

    def complete(
        self, system: str, messages: list[Message], tools: list[ToolSpec], key: Any = None
    ) -> LLMResponse:
        self.current = (self.current[0], self.current[1] + 1)
        if self.current == self.at:
            self.at = ("", 0)
            raise StopRequested(signal.SIGTERM)
        return self.inner.complete(system, messages, tools, key)


def config_file(tmp_path: Path, root: Path, base_url: str, name: str, **overrides: Any) -> Path:
    agent = openai_agent(SIG, base_url, model="fake-model")
    agent.update(overrides.pop("agent", {}))
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    return write_config(
        directory,
        root,
        models=[agent],
        agent_config={"max_steps": 5, "max_retries": 1, "base_delay": 0.01, "max_delay": 0.02},
        **overrides,
    )


def run_cfg(cfg: Path, tmp_path: Path, factory: Any = None) -> int:
    config = load_config(cfg)
    return run_agent(
        config,
        SIG,
        make_clock(config),
        runtime_path=tmp_path / "rt.json",
        config_path=cfg,
        client_factory=factory,
    )


def record_run(tmp_path: Path) -> tuple[Path, Path]:
    """A recorded run (data root A): trades, a rejection, an invalid call, a retry, an
    llm_error, and window 4 stopped at its 2nd model call, then resumed (attempt 2).
    Needs OPENAI_API_KEY set (the fake key)."""
    root = tmp_path / "A"
    with FakeLLMServer(SCRIPT, rule="trade") as server:
        cfg = config_file(tmp_path, root, server.openai_base_url, "a")

        def stopping(model: Any, agent: Any) -> StopAt:
            return StopAt(make_client(model, agent), WINDOWS[3], 2)

        assert run_cfg(cfg, tmp_path, stopping) == 128 + signal.SIGTERM
        assert run_cfg(cfg, tmp_path) == 0
        assert server.remaining() == 0
    return cfg, root
