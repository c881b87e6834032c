"""What the OpenAI and Anthropic adapters share around their SDKs.

`new_sdk_client` builds an SDK client whose sockets end by the current deadline, with no SDK
retries (the loop retries: llm/retry.py) and the platform preset (llm/sdk_platform.py).
`timed_call` makes one request under the call's total deadline and parses the reply with its
latency; a reply of an unexpected shape becomes an `LLMBadResponseError`, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from agent_engine.errors import KIND_BAD_RESPONSE, LLMBadResponseError, LLMError
from agent_engine.llm.deadline import call_within, install_deadlines
from agent_engine.llm.sdk_platform import preset_sdk_platform

T = TypeVar("T")
R = TypeVar("R")


def new_sdk_client(sdk: Any, client_class: Callable[..., T], **kwargs: Any) -> T:
    """`client_class(**kwargs)` on a deadline-bounded `sdk.DefaultHttpxClient`, no retries."""
    http_client = sdk.DefaultHttpxClient()
    install_deadlines(http_client)
    client = client_class(**kwargs, max_retries=0, http_client=http_client)
    preset_sdk_platform(client)
    return client


def timed_call(
    request: Callable[[], T], sdk: Any, timeout: float, parse: Callable[[T, float], R]
) -> R:
    """`parse(reply, latency_ms)` of one `request()` made within `timeout` seconds in total."""
    started = time.perf_counter()
    reply = call_within(request, sdk, timeout)
    latency_ms = (time.perf_counter() - started) * 1000.0
    try:
        return parse(reply, latency_ms)
    except LLMError:
        raise
    except Exception as err:  # a body of an unexpected shape must not crash the agent
        raise LLMBadResponseError(
            KIND_BAD_RESPONSE, f"cannot parse response: {type(err).__name__}: {err}"
        ) from err
