"""make_client: right adapter, timeout and parameters; only the provider's SDK is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent_engine.llm.factory import call_timeout, make_client
from settings.config import PROJECT_ROOT, AgentConfig, ConfigError, ModelConfig


def model(provider: str, **extra: object) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "signature": "m",
            "provider": provider,
            "basemodel": "x",
            "api_key_env": "ARENA_TEST_KEY",
            **extra,
        }
    )


def test_call_timeout_prefers_the_model() -> None:
    agent = AgentConfig(timeout_seconds=60)
    assert call_timeout(model("openai"), agent) == 60.0
    assert call_timeout(model("openai", timeout_seconds=7.5), agent) == 7.5


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARENA_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="m: ARENA_TEST_KEY not set"):
        make_client(model("openai"), AgentConfig())


def test_clients_disable_sdk_retries_and_set_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-abcdefgh")
    oa = make_client(
        model("openai", base_url="http://127.0.0.1:9/v1", timeout_seconds=3), AgentConfig()
    )
    assert oa.provider == "openai" and oa.model == "x"
    assert oa._client.max_retries == 0 and oa._client.timeout == 3.0  # type: ignore[attr-defined]
    an = make_client(
        model("anthropic", base_url="http://127.0.0.1:9"), AgentConfig(timeout_seconds=9)
    )
    assert an.provider == "anthropic"
    assert an._client.max_retries == 0 and an._client.timeout == 9.0  # type: ignore[attr-defined]


CHECK = r"""
import json, os, sys
sys.path.insert(0, {root!r})
os.environ["ARENA_TEST_KEY"] = "sk-abcdefgh"
from settings.config import AgentConfig, ModelConfig
from agent_engine.llm.factory import make_client
m = ModelConfig.model_validate({{"signature": "m", "provider": {provider!r}, "basemodel": "x",
    "api_key_env": "ARENA_TEST_KEY", "base_url": "http://127.0.0.1:9"}})
import agent_engine.loop  # the loop itself imports no SDK
before = sorted(n for n in ("openai", "anthropic") if n in sys.modules)
make_client(m, AgentConfig())
after = sorted(n for n in ("openai", "anthropic", "pandas", "akshare", "ta") if n in sys.modules)
print(json.dumps([before, after]))
"""


@pytest.mark.parametrize(
    ("provider", "loaded"), [("openai", ["openai"]), ("anthropic", ["anthropic"])]
)
def test_only_the_needed_sdk_is_imported(provider: str, loaded: list[str]) -> None:
    code = CHECK.format(root=str(PROJECT_ROOT), provider=provider)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == []
    assert after == loaded


def test_bad_anthropic_max_tokens_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-abcdefgh")
    with pytest.raises(ConfigError, match="max_tokens must be a positive integer"):
        make_client(model("anthropic", parameters={"max_tokens": "lots"}), AgentConfig())


def test_reserved_parameters_are_dropped() -> None:
    from agent_engine.llm.openai_client import request_parameters

    assert request_parameters({"model": "x", "stream": True, "temperature": 0.1, "top_k": 3}) == {
        "temperature": 0.1,
        "top_k": 3,
    }
