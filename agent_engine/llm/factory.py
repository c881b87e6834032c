"""Build the LLMClient of one agent, importing only the SDK its provider needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from settings.config import AgentConfig, ConfigError, ModelConfig

if TYPE_CHECKING:
    from agent_engine.llm.base import LLMClient


def call_timeout(model: ModelConfig, agent: AgentConfig) -> float:
    """Per-call timeout: the model's `timeout_seconds`, else the agent config's."""
    return float(model.timeout_seconds or agent.timeout_seconds)


def make_client(model: ModelConfig, agent: AgentConfig) -> LLMClient:
    """LLMClient for `model`. Raises ConfigError when the provider's API key is not set or the
    provider is not registered (`PROVIDERS`).

    `openai` imports only openai, `anthropic` only anthropic, `baseline` neither (nor pandas).
    """
    if model.provider == "baseline":
        from agent_engine.baselines import make_baseline

        return make_baseline(model)
    if model.replay is not None:
        return _replay_client(model, agent)
    api_key = model.api_key()
    if api_key is None:
        raise ConfigError(f"{model.signature}: {model.api_key_env} not set")
    make = PROVIDERS.get(model.provider)
    if make is None:
        raise ConfigError(
            f"{model.signature}: unknown provider '{model.provider}'; registered: "
            + ", ".join(sorted(PROVIDERS))
        )
    return make(model, api_key, call_timeout(model, agent))


def _openai(model: ModelConfig, api_key: str, timeout: float) -> LLMClient:
    from agent_engine.llm.openai_client import OpenAIChatClient

    return OpenAIChatClient(
        model.basemodel,
        api_key=api_key,
        base_url=model.base_url,
        timeout=timeout,
        parameters=model.parameters,
    )


def _anthropic(model: ModelConfig, api_key: str, timeout: float) -> LLMClient:
    from agent_engine.llm.anthropic_client import AnthropicMessagesClient

    return AnthropicMessagesClient(
        model.basemodel,
        api_key=api_key,
        base_url=model.base_url,
        timeout=timeout,
        parameters=model.parameters,
    )


ProviderFactory = Callable[[ModelConfig, str, float], "LLMClient"]
PROVIDERS: dict[str, ProviderFactory] = {}
"""Model providers by name: (model config, API key, call timeout) -> client. Each imports its
SDK only when called. `baseline` and replays are not providers (no key, no SDK)."""


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Add a provider (a second registration of a name replaces the first)."""
    PROVIDERS[name] = factory


register_provider("openai", _openai)
register_provider("anthropic", _anthropic)


def _replay_client(model: ModelConfig, agent: AgentConfig) -> LLMClient:
    """Answers from `model.replay.run_dir`; the real client is made only when a divergence
    continues live (`on_divergence: live`)."""
    from agent_engine.llm.replay_client import ReplayClient

    live_model = model.model_copy(update={"replay": None})
    return ReplayClient(model, lambda: make_client(live_model, agent))
