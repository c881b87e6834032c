"""Exponential backoff with jitter around one model call.

SDK built-in retries are disabled (max_retries=0 on the clients), so these are the only
retries and they are counted: the successful `LLMResponse.retries` (or the final error's
`retries`) says how many retries happened.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from agent_engine.errors import LLMError
from agent_engine.llm.base import LLMResponse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.25  # fraction of the delay added at random: delay * (1 + U(0, jitter))

    def delay(self, retry_number: int, rng: random.Random, retry_after: float | None) -> float:
        """Seconds to wait before retry `retry_number` (1-based).

        base_delay * 2**(n-1) plus jitter, at least the server's retry-after, at most max_delay.
        """
        backoff = self.base_delay * (2 ** (retry_number - 1))
        backoff *= 1.0 + rng.uniform(0.0, self.jitter)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return max(0.0, min(backoff, self.max_delay))


def call_with_retries(
    call: Callable[[], LLMResponse],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    rng: random.Random | None = None,
    on_retry: Callable[[int, LLMError, float], None] | None = None,
) -> LLMResponse:
    """Run `call`, retrying transient LLM errors up to `policy.max_retries` times.

    Returns the response with `retries` set; raises the last `LLMError` (with `retries`
    set) when a non-transient error occurs or the retries are used up.
    """
    rng = rng or random.Random()
    retries = 0
    while True:
        try:
            response = call()
        except LLMError as err:
            err.retries = retries
            if not err.transient or retries >= policy.max_retries:
                raise
            retries += 1
            wait = policy.delay(retries, rng, err.retry_after)
            log.warning(
                "transient LLM error (%s), retry %d/%d in %.2fs",
                err.kind,
                retries,
                policy.max_retries,
                wait,
            )
            if on_retry is not None:
                on_retry(retries, err, wait)
            sleep(wait)
            continue
        return dataclasses.replace(response, retries=retries)
