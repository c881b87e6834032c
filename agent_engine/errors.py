"""Errors of the LLM layer, classified by what the caller should do about them.

- `LLMTransientError`: rate limits (429), server errors (5xx), timeouts, connection failures.
  Retried with exponential backoff + jitter by `agent_engine.llm.retry`.
- `LLMPermanentError`: authentication (401/403), bad requests (400/404/422), ... Not retried.
- `LLMBadResponseError`: the provider answered 200 but the body is unusable (not JSON, no
  choices, no content). Not retried; the window becomes `no_trade` / `llm_error`.

Every error carries a short `kind` (written to the decision log as `error.kind`) and the HTTP
`status_code` when there was one. Messages never contain API keys (the loop also redacts).
"""

from __future__ import annotations

import re
from typing import Any

from settings.config import ArenaError


class LLMError(ArenaError):
    """A model call failed. `kind` is one of the KIND_* strings below."""

    transient = False

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        retries: int = 0,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.retries = retries

    def to_record(self) -> dict[str, object]:
        record: dict[str, object] = {"kind": self.kind, "message": self.message}
        if self.status_code is not None:
            record["status_code"] = self.status_code
        return record


class LLMTransientError(LLMError):
    """Worth retrying: 429, 5xx, timeout, connection error."""

    transient = True


class LLMPermanentError(LLMError):
    """Retrying would not help: 400, 401, 403, 404, 422, ..."""


class LLMBadResponseError(LLMError):
    """The provider answered, but the answer cannot be used (garbage body, no choices)."""


KIND_RATE_LIMIT = "rate_limit"
KIND_SERVER_ERROR = "server_error"
KIND_TIMEOUT = "timeout"
KIND_CONNECTION = "connection"
KIND_AUTH = "auth"
KIND_BAD_REQUEST = "bad_request"
KIND_HTTP_ERROR = "http_error"
KIND_BAD_RESPONSE = "bad_response"
KIND_CLIENT_ERROR = "client_error"


def transient_status(status_code: int) -> bool:
    """HTTP statuses worth retrying: 408 (request timeout), 409 (conflict), 429, 5xx."""
    return status_code in (408, 409, 429) or status_code >= 500


def error_from_status(
    status_code: int, message: str, *, retry_after: float | None = None
) -> LLMError:
    """Map an HTTP status to the right error class and kind."""
    if status_code == 429:
        return LLMTransientError(
            KIND_RATE_LIMIT, message, status_code=status_code, retry_after=retry_after
        )
    if transient_status(status_code):
        kind = KIND_TIMEOUT if status_code == 408 else KIND_SERVER_ERROR
        return LLMTransientError(kind, message, status_code=status_code, retry_after=retry_after)
    if status_code in (401, 403):
        return LLMPermanentError(KIND_AUTH, message, status_code=status_code)
    if status_code in (400, 404, 413, 422):
        return LLMPermanentError(KIND_BAD_REQUEST, message, status_code=status_code)
    return LLMPermanentError(KIND_HTTP_ERROR, message, status_code=status_code)


def classify_sdk_error(err: Exception, sdk: Any) -> LLMError:
    """Map an exception of the `openai` or `anthropic` SDK (`sdk`, the module) to our classes.

    Both SDKs name their exceptions alike (APITimeoutError < APIConnectionError, APIStatusError).
    """
    if isinstance(err, sdk.APITimeoutError):
        return LLMTransientError(KIND_TIMEOUT, f"request timed out: {err}")
    if isinstance(err, sdk.APIConnectionError):
        return LLMTransientError(KIND_CONNECTION, f"connection error: {err}")
    if isinstance(err, sdk.APIStatusError):
        return error_from_status(
            err.status_code,
            status_message(err.status_code, err.message),
            retry_after=retry_after_from_headers(getattr(err.response, "headers", None)),
        )
    return LLMBadResponseError(KIND_BAD_RESPONSE, f"{type(err).__name__}: {err}")


_SDK_PREFIX = re.compile(r"^Error code: \d{3} - ")


def status_message(status_code: int, sdk_message: str) -> str:
    """'HTTP 500: upstream broke' from an SDK message like 'Error code: 500 - upstream broke'."""
    return f"HTTP {status_code}: {_SDK_PREFIX.sub('', str(sdk_message))}"


def retry_after_from_headers(headers: object) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds) response headers."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = parse_retry_after(get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    return parse_retry_after(get("retry-after"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `retry-after` / `retry-after-ms` style header value (None if unusable)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except (ValueError, AttributeError):
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds
