"""Market data sources behind one interface; ``make_source(config)`` picks one by config.

Source modules are imported lazily so that importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_flow.sources.base import Bar, DailyBar, MarketDataSource, NewsItem

if TYPE_CHECKING:
    from settings.config import ArenaConfig

__all__ = ["Bar", "DailyBar", "MarketDataSource", "NewsItem", "make_source"]


def make_source(config: ArenaConfig) -> MarketDataSource:
    """The source named by ``config.data_config.source`` (demo, files or akshare)."""
    from settings.config import ConfigError

    dc = config.data_config
    if dc.source == "demo":
        from data_flow.sources.demo import DemoSource

        return DemoSource(seed=dc.seed)
    if dc.source == "files":
        from data_flow.sources.files import FilesSource

        path = config.data_path()
        if path is None or not path.is_dir():
            raise ConfigError(f"data_config.path: directory not found: {path}")
        return FilesSource(path)
    if dc.source == "akshare":
        from data_flow.sources.akshare_source import AkshareSource

        return AkshareSource(
            cache_dir=config.data_root() / "cache" / "akshare",
            timeout=dc.request_timeout_seconds,
        )
    raise ConfigError(f"data_config.source: unknown source '{dc.source}'")
