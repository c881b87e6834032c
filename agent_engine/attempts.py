"""The attempts of one model call: latency of each, and a `model_error` event per retried one.

The loop's `model_call` event records the call's last attempt (its latency, its error if it
failed); every earlier attempt that failed and was retried gets its own `model_error` event
(written before the backoff wait), so a window's `latency_ms_total` covers every attempt.
"""

from __future__ import annotations

import time

from agent_engine.decision_log import DecisionLog
from agent_engine.llm.retry import FailedAttempt


class AttemptLog:
    def __init__(self, dlog: DecisionLog, step: int) -> None:
        self._dlog = dlog
        self._step = step
        self._started = time.perf_counter()
        self.retried_latency_ms = 0.0  # sum over the failed attempts that were retried
        self.last_failed: FailedAttempt | None = None  # the failed last attempt, if any

    def failed(self, attempt: FailedAttempt) -> None:
        if attempt.retry_in is None:
            self.last_failed = attempt
            return
        self.retried_latency_ms += attempt.latency_ms
        self._dlog.event(
            "model_error",
            step=self._step,
            attempt=attempt.number,
            latency_ms=round(attempt.latency_ms, 3),
            error=attempt.error.to_record(),
            retry_in_s=round(attempt.retry_in, 3),
        )

    def elapsed_ms(self) -> float:
        """Time since the first attempt started, backoff waits included."""
        return (time.perf_counter() - self._started) * 1000.0
