"""One agent's records as the API reads them: `AgentView` is the records fold
(`data_flow.records.fold.AgentFold`); the names below are kept for the API modules."""

from __future__ import annotations

from data_flow.records.fold import (
    COUNTER_KEYS,
    FILL_ACTIONS,
    INVALID_TOOL_KINDS,
    AgentFold,
    LogStats,
    WindowState,
    action_text,
    as_float,
    as_int,
)

AgentView = AgentFold

__all__ = [
    "COUNTER_KEYS",
    "FILL_ACTIONS",
    "INVALID_TOOL_KINDS",
    "AgentView",
    "LogStats",
    "WindowState",
    "action_text",
    "as_float",
    "as_int",
]
