"""akshare stand-ins for the akshare source tests: canned DataFrames in akshare's exact column
layout (akshare itself is never imported by these tests)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from data_flow.clock import SHANGHAI

DAY = date(2025, 11, 17)
PREV = date(2025, 11, 14)
AFTER = lambda: datetime(2025, 12, 1, 9, 0, tzinfo=SHANGHAI)  # noqa: E731


class NoNetwork:
    """An akshare stand-in that fails the test if any call is attempted."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"akshare.{name} called: the cache should have been used")


class Recording:
    """Returns canned DataFrames in akshare's column layout and records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def stock_zh_a_hist_min_em(self, **kwargs: Any) -> Any:
        import pandas as pd

        self.calls.append(("stock_zh_a_hist_min_em", kwargs))
        rows = []
        for d, base in ((PREV, 10.0), (DAY, 11.0)):
            for i, hhmm in enumerate(("10:30", "11:30", "14:00", "15:00")):
                rows.append(
                    {
                        "时间": f"{d.isoformat()} {hhmm}:00",
                        "开盘": base + i * 0.1,
                        "收盘": base + i * 0.1 + 0.05,
                        "最高": base + i * 0.1 + 0.08,
                        "最低": base + i * 0.1 - 0.02,
                        "涨跌幅": 0.0,
                        "涨跌额": 0.0,
                        "成交量": 1000 + i,
                        "成交额": 1.0e6 + i,
                        "振幅": 0.0,
                        "换手率": 0.0,
                    }
                )
        return pd.DataFrame(rows)

    def stock_zh_a_hist(self, **kwargs: Any) -> Any:
        import pandas as pd

        self.calls.append(("stock_zh_a_hist", kwargs))
        return pd.DataFrame(
            [
                {
                    "日期": PREV,
                    "开盘": 10.0,
                    "收盘": 10.35,
                    "最高": 10.4,
                    "最低": 9.9,
                    "成交量": 4006,
                    "成交额": 4.1e6,
                }
            ]
        )

    def stock_news_em(self, **kwargs: Any) -> Any:
        import pandas as pd

        self.calls.append(("stock_news_em", kwargs))
        return pd.DataFrame(
            [
                {
                    "关键词": "688008",
                    "新闻标题": "早",
                    "新闻内容": "c1",
                    "发布时间": "2025-11-17 09:15:00",
                    "文章来源": "东方财富",
                    "新闻链接": "http://x/1",
                },
                {
                    "关键词": "688008",
                    "新闻标题": "晚",
                    "新闻内容": "c2",
                    "发布时间": "2025-11-17 18:00:00",
                    "文章来源": "东方财富",
                    "新闻链接": "http://x/2",
                },
            ]
        )
