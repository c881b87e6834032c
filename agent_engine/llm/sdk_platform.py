"""Spare each agent the `uname -p` fork of the SDKs' first request.

The openai and anthropic SDKs (Stainless clients) send `X-Stainless-OS` on every request. The sync
clients compute it at the first request with `platform.platform()`, which on Linux runs
`uname -p` in a subprocess (a fork of the whole agent process). The SDK itself skips that
computation when the client's `_platform` is already set (its async client sets it from a worker
thread); `preset_sdk_platform` sets it to the value the SDK would compute, from `sys.platform`
only. On other systems the SDK keeps computing it itself.
"""

from __future__ import annotations

import sys
from typing import Any


def sdk_platform() -> str | None:
    """The SDKs' `get_platform()` value where it is known without `uname -p`, else None."""
    if sys.platform.startswith("linux") and not hasattr(sys, "getandroidapilevel"):
        return "Linux"
    return None


def preset_sdk_platform(client: Any) -> None:
    """Set a Stainless SDK client's `_platform` (only when the SDK has that attribute unset)."""
    value = sdk_platform()
    if value is not None and getattr(client, "_platform", "missing") is None:
        client._platform = value
