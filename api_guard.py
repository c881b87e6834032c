"""Request guards of the API server against other web pages and DNS rebinding.

- Without a token, only loopback server addresses are served (LoopbackOnlyMiddleware).
- Host allow-list (Starlette's TrustedHostMiddleware): only loopback names, the bind host and
  `ARENA_ALLOWED_HOSTS`; anything else gets 400, so a rebound DNS name cannot read responses.
- State-changing requests (POST, PUT, PATCH, DELETE) must say `Content-Type: application/json`
  (else 415): a browser cannot send that cross-site without a CORS preflight, which only the
  configured origins pass. A request with a foreign `Origin` gets 403 (same-origin pages and
  the configured CORS origins are allowed; clients that send no `Origin`, e.g. curl, too).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPE = "application/json"


def host_name(text: str) -> str | None:
    """A Host-header name for a configured host: lower case, IPv6 literals in brackets.
    None for wildcard bind addresses (0.0.0.0, ::), which no client sends as Host."""
    name = text.strip().lower()
    if not name:
        return None
    if name == "*":
        return name
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name
    if ip.is_unspecified:
        return None
    return f"[{ip}]" if ip.version == 6 else str(ip)


def allowed_hosts(extra: Iterable[str] = (), bind_host: str | None = None) -> list[str]:
    """Loopback names, then the bind host and `extra` (deduplicated, order kept)."""
    names = [*LOOPBACK_HOSTS, *(h for h in [bind_host, *extra] if h)]
    out = [n for n in (host_name(h) for h in names) if n]
    return list(dict.fromkeys(out))


def host_guard(app: Any, hosts: Sequence[str]) -> TrustedHostMiddleware:
    return TrustedHostMiddleware(app, allowed_hosts=list(hosts), www_redirect=False)


class CrossSiteGuardMiddleware:
    """403 for a foreign `Origin`, 415 for a non-JSON body, on state-changing requests."""

    def __init__(self, app: Any, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in STATE_CHANGING_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._origin_ok(origin, scope, headers):
                detail = f"cross-origin request refused: Origin {origin!r} is not allowed"
                await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)
                return
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != JSON_TYPE:
                detail = "Content-Type must be application/json for this request"
                await JSONResponse({"detail": detail}, status_code=415)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _origin_ok(self, origin: str, scope: Any, headers: Headers) -> bool:
        value = origin.strip().rstrip("/").lower()
        if value in self.origins:
            return True
        same = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        return value == same


class LoopbackOnlyMiddleware:
    """Without a token, refuse (403) connections that reached a non-loopback server address.

    `python api_server.py` already refuses to bind such an address; this also covers other
    launchers (e.g. `uvicorn api_server:app --host 0.0.0.0`). Non-IP hosts (test clients,
    unix sockets) are left alone.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            server = scope.get("server")
            if server and not _loopback_or_not_ip(str(server[0])):
                detail = "set ARENA_API_TOKEN to serve beyond loopback"
                response = JSONResponse({"detail": detail}, status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _loopback_or_not_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True
