"""`LazySource`: the config's market data source, made on first use."""

from __future__ import annotations

from typing import Any

from settings.config import ArenaConfig


class LazySource:
    """The config's market data source, created on first use and then kept for the process.

    Agents that only read snapshots never create it (so never import pandas/ta/akshare); an
    agent that builds several snapshots reuses one source and its in-memory caches."""

    def __init__(self, config: ArenaConfig) -> None:
        self._config = config
        self._source: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._source is None:
            from data_flow.sources import make_source

            self._source = make_source(self._config)
        return getattr(self._source, name)
