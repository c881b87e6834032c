"""Exponential backoff with jitter around one model call.

SDK built-in retries are disabled (max_retries=0 on the clients), so these are the only
retries and they are counted: the successful `LLMResponse.retries` (or the final error's
`retries`) says how many retries happened.

With a `deadline` (the window's), every attempt runs under it (llm/deadline.py) and no attempt
starts after it: when the backoff wait would reach the deadline, the call ends with a `timeout`
error that names the deadline and the last attempt's error.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent_engine.errors import KIND_TIMEOUT, LLMError, LLMTransientError
from agent_engine.llm.base import LLMResponse
from agent_engine.llm.deadline import Deadline, deadline_scope

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


@dataclass(frozen=True)
class FailedAttempt:
    """One attempt that raised: `retry_in` is the wait before the next one (None: the last)."""

    number: int  # 1-based
    error: LLMError
    latency_ms: float
    retry_in: float | None


def _deadline_error(deadline: Deadline, retries: int, last: LLMError | None) -> LLMError:
    text = f"deadline reached ({deadline.label})"
    if last is not None:
        text += f" before retry {retries + 1}; last error: {last.kind}: {last.message}"
    return LLMTransientError(KIND_TIMEOUT, text, status_code=None, retries=retries)


def call_with_retries(
    call: Callable[[], LLMResponse],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    rng: random.Random | None = None,
    on_retry: Callable[[int, LLMError, float], None] | None = None,
    deadline: Deadline | None = None,
    on_failed_attempt: Callable[[FailedAttempt], None] | None = None,
) -> LLMResponse:
    """Run `call`, retrying transient LLM errors up to `policy.max_retries` times.

    Returns the response with `retries` set; raises the last `LLMError` (with `retries`
    set) when a non-transient error occurs or the retries are used up, or a `timeout` error
    when `deadline` passed. `on_failed_attempt` hears of every attempt that raised.
    """
    rng = rng or random.Random()
    retries = 0
    while True:
        if deadline is not None and deadline.expired():
            raise _deadline_error(deadline, retries, None)
        started = time.perf_counter()
        try:
            with deadline_scope(deadline):
                response = call()
        except LLMError as err:
            latency_ms = (time.perf_counter() - started) * 1000.0
            err.retries = retries
            wait: float | None = None
            cut_off = False
            if err.transient and retries < policy.max_retries:
                wait = policy.delay(retries + 1, rng, err.retry_after)
                if deadline is not None and deadline.remaining() <= wait:
                    wait, cut_off = None, True
            if on_failed_attempt is not None:
                on_failed_attempt(FailedAttempt(retries + 1, err, latency_ms, wait))
            if cut_off and deadline is not None:
                raise _deadline_error(deadline, retries, err) from err
            if wait is None:
                raise
            retries += 1
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
