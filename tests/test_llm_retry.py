"""Backoff schedule and retry accounting (no network)."""

from __future__ import annotations

import random

import pytest

from agent_engine.errors import (
    LLMBadResponseError,
    LLMPermanentError,
    LLMTransientError,
    error_from_status,
    parse_retry_after,
    status_message,
)
from agent_engine.llm.base import LLMResponse, Usage
from agent_engine.llm.retry import RetryPolicy, call_with_retries


@pytest.mark.parametrize(
    ("retry_number", "retry_after", "expected"),
    [(1, None, 1.0), (2, None, 2.0), (3, None, 4.0), (4, None, 8.0), (6, None, 10.0),
     (1, 5.0, 5.0), (1, 60.0, 10.0), (3, 0.0, 4.0)],
)  # fmt: skip
def test_delay_schedule_without_jitter(
    retry_number: int, retry_after: float | None, expected: float
) -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=10.0, jitter=0.0)
    assert policy.delay(retry_number, random.Random(0), retry_after) == expected


def test_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=100.0, jitter=0.25)
    rng = random.Random(3)
    delays = [policy.delay(2, rng, None) for _ in range(200)]
    assert all(4.0 <= d <= 5.0 for d in delays)
    assert len(set(delays)) > 100


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [(429, LLMTransientError, "rate_limit"), (408, LLMTransientError, "timeout"),
     (409, LLMTransientError, "server_error"), (500, LLMTransientError, "server_error"),
     (529, LLMTransientError, "server_error"), (400, LLMPermanentError, "bad_request"),
     (401, LLMPermanentError, "auth"), (403, LLMPermanentError, "auth"),
     (404, LLMPermanentError, "bad_request"), (402, LLMPermanentError, "http_error")],
)  # fmt: skip
def test_status_classification(status: int, cls: type, kind: str) -> None:
    err = error_from_status(status, "m")
    assert type(err) is cls and err.kind == kind and err.status_code == status


def test_helpers() -> None:
    assert status_message(500, "Error code: 500 - boom") == "HTTP 500: boom"
    assert [parse_retry_after(v) for v in ("3", " 0.5 ", "-1", "nan", "soon", None)] == [
        3.0, 0.5, None, None, None, None,
    ]  # fmt: skip


def _ok() -> LLMResponse:
    return LLMResponse("ok", [], "stop", Usage(1, 1), "m", "r", 1.0, 0)


def test_call_with_retries_counts_and_stops_on_permanent_errors() -> None:
    errors: list[Exception] = [
        LLMTransientError("rate_limit", "x", retry_after=0.2),
        LLMTransientError("timeout", "y"),
    ]
    waits: list[float] = []
    seen: list[int] = []

    def call() -> LLMResponse:
        if errors:
            raise errors.pop(0)
        return _ok()

    policy = RetryPolicy(max_retries=2, base_delay=0.1, max_delay=1.0, jitter=0.0)
    result = call_with_retries(
        call, policy, sleep=waits.append, on_retry=lambda n, e, w: seen.append(n)
    )
    assert result.retries == 2 and waits == [0.2, 0.2] and seen == [1, 2]

    def bad() -> LLMResponse:
        raise LLMBadResponseError("bad_response", "garbage")

    with pytest.raises(LLMBadResponseError) as info:
        call_with_retries(bad, policy, sleep=waits.append)
    assert info.value.retries == 0 and len(waits) == 2
