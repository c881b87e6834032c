"""Total deadlines for model calls, enforced at the socket.

HTTP timeouts bound each socket operation, not the call: a server that sends one byte per
second never trips a 5 s read timeout. Here a `Deadline` (a `time.monotonic()` instant) is made
current for the code inside `deadline_scope` (a context variable; nested scopes keep the
earlier deadline), and `install_deadlines` wraps the network backend of an SDK's HTTP client so
that every connect, TLS handshake, read and write waits at most until the current deadline.
Once it has passed, operations get a 1 ms timeout and fail with the HTTP library's own timeout
error, which the SDKs report as a timeout (`APITimeoutError`).

The loop makes one deadline per window (`agent_config.window_timeout_seconds`); each client one
per call (`timeout_seconds`). The wrappers duck-type the httpcore backend API (httpcore and the
httpcore2 fork that newer SDKs use), so no HTTP library is imported here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from agent_engine.errors import KIND_TIMEOUT, LLMError, LLMTransientError, classify_sdk_error

log = logging.getLogger(__name__)

EXPIRED_TIMEOUT = 0.001  # seconds given to a socket operation once the deadline has passed
T = TypeVar("T")
_clock = time.monotonic  # module-level so tests can move time forward


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic()
    label: str  # what set it, for error messages: "timeout_seconds 5"

    @staticmethod
    def after(seconds: float, label: str) -> Deadline:
        return Deadline(_clock() + seconds, label)

    def remaining(self) -> float:
        return self.at - _clock()

    def expired(self) -> bool:
        return self.remaining() <= 0


_current: ContextVar[Deadline | None] = ContextVar("llm_call_deadline", default=None)


@contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Make `deadline` current inside the block, unless an earlier one already is."""
    outer = _current.get()
    if deadline is None or (outer is not None and outer.at <= deadline.at):
        effective = outer
    else:
        effective = deadline
    token = _current.set(effective)
    try:
        yield effective
    finally:
        _current.reset(token)


def bounded(timeout: float | None) -> float | None:
    """`timeout` cut to what is left of the current deadline (at least EXPIRED_TIMEOUT)."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = max(deadline.remaining(), EXPIRED_TIMEOUT)
    return left if timeout is None else min(timeout, left)


def call_within(fn: Callable[[], T], sdk: Any, timeout: float) -> T:
    """`fn()` (one SDK request) under a `timeout`-second total deadline.

    Every SDK failure becomes a classified LLMError; a timeout caused by a deadline says which.
    """
    with deadline_scope(Deadline.after(timeout, f"timeout_seconds {timeout:g}")) as deadline:
        try:
            return fn()
        except Exception as err:
            error = classify_sdk_error(err, sdk)
            raise _deadline_error(error, deadline) from err


def _deadline_error(error: LLMError, deadline: Deadline | None) -> LLMError:
    if error.kind != KIND_TIMEOUT or deadline is None or not deadline.expired():
        return error
    return LLMTransientError(KIND_TIMEOUT, f"no complete reply by the deadline ({deadline.label})")


class DeadlineStream:
    """A network stream whose operations end by the current deadline."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> DeadlineStream:
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class DeadlineBackend:
    """Wraps an httpcore-style network backend; its streams are `DeadlineStream`s."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, **kwargs: Any
    ) -> DeadlineStream:
        return DeadlineStream(self._inner.connect_tcp(host, port, bounded(timeout), **kwargs))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, **kwargs: Any
    ) -> DeadlineStream:
        return DeadlineStream(self._inner.connect_unix_socket(path, bounded(timeout), **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install_deadlines(http_client: Any) -> bool:
    """Wrap the network backend of every connection pool of an httpx(2) `Client` (its default
    transport and the proxy mounts). Returns whether the default transport was wrapped; when it
    was not (an unknown HTTP library layout), calls are bounded only per socket operation."""
    mounts = getattr(http_client, "_mounts", None) or {}
    transports = [getattr(http_client, "_transport", None), *mounts.values()]
    wrapped = []
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
        wrapped.append(backend is not None)
    if not wrapped[0]:
        log.warning("cannot install call deadlines on %s", type(http_client).__name__)
    return wrapped[0]
