"""akshare reference data: corporate actions (stock_fhps_detail_em), ST status
(stock_zh_a_st_em), names and industries (stock_individual_info_em) — parsing, no look-ahead,
caching, failures, and a snapshot that lists them exactly as the files source does."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from data_flow.clock import SHANGHAI, at_window
from data_flow.corporate_actions import CorporateAction
from data_flow.errors import DataUnavailableError
from data_flow.snapshot_builder import build_snapshot
from data_flow.sources.akshare_reference import clean_name
from data_flow.sources.akshare_source import AkshareSource
from data_flow.sources.files import FilesSource
from settings.config import DataConfig
from tests.akshare_helpers import DAY, PREV, NoNetwork, Recording

SYM = "SH688008"
LOG = "data_flow.sources.akshare_reference"
FHPS_COLUMNS = [
    "报告期", "业绩披露日期", "送转股份-送转总比例", "送转股份-送股比例", "送转股份-转股比例",
    "现金分红-现金分红比例", "现金分红-现金分红比例描述", "现金分红-股息率", "每股收益",
    "每股净资产", "每股公积金", "每股未分配利润", "净利润同比增长", "总股本", "预案公告日",
    "股权登记日", "除权除息日", "方案进度", "最新公告日期",
]  # fmt: skip
FHPS_DATES = ["报告期", "业绩披露日期", "预案公告日", "股权登记日", "除权除息日", "最新公告日期"]
FHPS_TEXT = ["现金分红-现金分红比例描述", "方案进度"]


def fhps_frame(*plans: dict[str, Any]) -> Any:
    """A frame as akshare's stock_fhps_detail_em returns it: its columns in its order, dates
    through `pd.to_datetime(errors="coerce").dt.date` (NaT when absent), numbers through
    `pd.to_numeric(errors="coerce")` (NaN when absent)."""
    import pandas as pd

    keys = {
        "period": "报告期", "bonus": "送转股份-送转总比例", "cash": "现金分红-现金分红比例",
        "plan": "预案公告日", "record": "股权登记日", "ex": "除权除息日", "latest": "最新公告日期",
        "progress": "方案进度",
    }  # fmt: skip
    rows = []
    for plan in plans:
        row: dict[str, Any] = dict.fromkeys(FHPS_COLUMNS)
        for key, value in plan.items():
            row[keys[key]] = f"{value} 00:00:00" if keys[key] in FHPS_DATES and value else value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=FHPS_COLUMNS)
    for column in FHPS_COLUMNS:
        if column in FHPS_DATES:
            frame[column] = pd.to_datetime(frame[column], errors="coerce").dt.date
        elif column not in FHPS_TEXT:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def st_frame(*stocks: tuple[str, str]) -> Any:
    """stock_zh_a_st_em's layout (序号, 代码, 名称, prices...)."""
    import pandas as pd

    columns = ["序号", "代码", "名称", "最新价", "涨跌幅", "涨跌额", "成交量", "成交额",
               "振幅", "最高", "最低", "今开", "昨收", "量比", "换手率", "市盈率-动态",
               "市净率"]  # fmt: skip
    rows = [
        {**dict.fromkeys(columns, 1.0), "序号": i + 1, "代码": code, "名称": name}
        for i, (code, name) in enumerate(stocks)
    ]
    return pd.DataFrame(rows, columns=columns)


def info_frame(name: str, industry: str) -> Any:
    """stock_individual_info_em's item/value rows."""
    import pandas as pd

    items = [("最新", 9.5), ("股票代码", "688008"), ("股票简称", name), ("总股本", 1.1e9),
             ("流通股", 1.1e9), ("总市值", 1.0e10), ("流通市值", 1.0e10), ("行业", industry),
             ("上市时间", 20190722)]  # fmt: skip
    return pd.DataFrame(items, columns=["item", "value"])


# 10派2 (cash 0.20), announced 2025-06-06 (latest notice before the ex-date)
CASH_PLAN = {"period": "2024-12-31", "cash": 2.0, "plan": "2025-03-28", "record": "2025-06-12",
             "ex": "2025-06-13", "latest": "2025-06-06", "progress": "实施分配"}  # fmt: skip
# 10转4 (bonus 0.40); latest notice after the ex-date -> the record date
BONUS_PLAN = {"period": "2024-06-30", "bonus": 4.0, "plan": "2024-08-20", "record": "2024-10-10",
              "ex": "2024-10-11", "latest": "2024-10-20", "progress": "实施分配"}  # fmt: skip
# 10派1.5, no notice or record date -> the day before the ex-date
BARE_PLAN = {"period": "2022-12-31", "cash": 1.5, "ex": "2023-07-05", "progress": "实施分配"}
NOT_YET = {"period": "2025-06-30", "cash": 1.0, "plan": "2025-08-20", "latest": "2025-08-20",
           "progress": "董事会预案"}  # fmt: skip
NOTHING = {"period": "2023-12-31", "record": "2024-06-01", "ex": "2024-06-03", "progress": "不分配"}
EMPTY: dict[str, Any] = {}


class Reference(Recording):
    """Recording plus the reference-data calls; set `fhps`, `board`, `info` or `fail`."""

    def __init__(self, fhps: Any = None, board: Any = None, info: Any = None) -> None:
        super().__init__()
        self.fhps, self.board, self.info = fhps, board, info
        self.fail: set[str] = set()

    def _serve(self, call: str, kwargs: dict[str, Any], value: Any) -> Any:
        self.calls.append((call, kwargs))
        if call in self.fail:
            raise ConnectionError("connection refused")
        return value

    def stock_fhps_detail_em(self, **kwargs: Any) -> Any:
        return self._serve("stock_fhps_detail_em", kwargs, self.fhps)

    def stock_zh_a_st_em(self, **kwargs: Any) -> Any:
        return self._serve("stock_zh_a_st_em", kwargs, self.board)

    def stock_individual_info_em(self, **kwargs: Any) -> Any:
        return self._serve("stock_individual_info_em", kwargs, self.info)

    def count(self, call: str) -> int:
        return sum(1 for c, _ in self.calls if c == call)


def at(day: date, hhmm: str = "10:00") -> Any:
    moment = datetime.fromisoformat(f"{day.isoformat()} {hhmm}").replace(tzinfo=SHANGHAI)
    return lambda: moment


def source(cache: Path, api: Any, now: Any) -> AkshareSource:
    return AkshareSource(cache, timeout=5, api=api, min_interval=0, now=now)


def action(ex: str, announced: str, cash: str = "0", bonus: str = "0") -> CorporateAction:
    return CorporateAction(
        SYM, date.fromisoformat(ex), date.fromisoformat(announced), Decimal(cash), Decimal(bonus)
    )


# --- parsing ----------------------------------------------------------------------------------
def test_actions_parsed_per_share_with_a_no_look_ahead_announce_date(tmp_path: Path) -> None:
    # Arrange
    api = Reference(fhps_frame(CASH_PLAN, NOT_YET, BONUS_PLAN, NOTHING, EMPTY, BARE_PLAN))
    # Act
    got = source(tmp_path, api, at(DAY)).corporate_actions(SYM, DAY)
    # Assert: oldest first; the plan without an ex-date and the rows without amounts skipped
    assert got == [
        action("2023-07-05", "2023-07-04", cash="0.15"),  # no dates: ex - 1 day
        action("2024-10-11", "2024-10-10", bonus="0.4"),  # notice after ex: the record date
        action("2025-06-13", "2025-06-06", cash="0.2"),  # the notice before the ex-date
    ]
    assert [a.to_record()["cash_per_share"] for a in got] == [0.15, 0.0, 0.2]
    assert api.calls == [("stock_fhps_detail_em", {"symbol": "688008"})]


def test_duplicate_rows_kept_once_and_events_on_one_ex_date_added(tmp_path: Path) -> None:
    # Arrange: the annual plan listed three times (first with an older notice and amount) and a
    # special dividend of another period paid on the same ex-date, announced later
    older_copy = {**CASH_PLAN, "cash": 1.8, "latest": "2025-05-30"}
    special = {"period": "2025-03-31", "cash": 0.5, "bonus": 2.0, "record": "2025-06-12",
               "ex": "2025-06-13", "latest": "2025-06-09"}  # fmt: skip
    api = Reference(fhps_frame(older_copy, CASH_PLAN, special, CASH_PLAN))
    # Act
    got = source(tmp_path, api, at(DAY)).corporate_actions(SYM, DAY)
    # Assert: 0.20 (the latest notice's) once + 0.05, bonus 0.2, known from the later notice
    assert got == [action("2025-06-13", "2025-06-09", cash="0.25", bonus="0.2")]


def test_response_without_the_columns_is_a_data_error(tmp_path: Path) -> None:
    import pandas as pd

    api = Reference(pd.DataFrame([{"报告期": "2024-12-31", "除权除息日": "2025-06-13"}]))
    with pytest.raises(DataUnavailableError) as info:
        source(tmp_path, api, at(DAY)).corporate_actions(SYM, DAY)
    assert str(info.value) == (
        "akshare stock_fhps_detail_em(symbol='688008') for SH688008: response lacks columns "
        "['送转股份-送转总比例', '现金分红-现金分红比例', '股权登记日']"
    )


# --- the corporate-actions cache ----------------------------------------------------------------
def test_actions_cached_then_served_without_network(tmp_path: Path) -> None:
    # Arrange / Act: fetched on DAY
    first = source(tmp_path, Reference(fhps_frame(CASH_PLAN)), at(DAY, "09:00")).corporate_actions(
        SYM, DAY
    )
    # Assert: the cache file, then a source with no network serves it (for DAY and earlier)
    stored = json.loads((tmp_path / "corporate_actions" / f"{SYM}.json").read_text("utf-8"))
    assert stored == {
        "symbol": SYM,
        "fetched_at": "2025-11-17T09:00:00+08:00",
        "actions": [
            {
                "symbol": SYM,
                "ex_date": "2025-06-13",
                "announce_date": "2025-06-06",
                "cash_per_share": 0.2,
                "bonus_per_share": 0.0,
            }
        ],
    }
    offline = source(tmp_path, NoNetwork(), at(DAY, "14:00"))
    assert (
        offline.corporate_actions(SYM, DAY) == first == [action("2025-06-13", "2025-06-06", "0.2")]
    )
    assert offline.corporate_actions(SYM, PREV) == first


def test_actions_refetched_once_when_asked_for_a_later_trade_date(tmp_path: Path) -> None:
    # Arrange: a cache fetched on PREV (without the new plan)
    source(tmp_path, Reference(fhps_frame(BONUS_PLAN)), at(PREV)).corporate_actions(SYM, PREV)
    api = Reference(fhps_frame(BONUS_PLAN, CASH_PLAN))
    src = source(tmp_path, api, at(DAY, "09:10"))
    # Act
    got = src.corporate_actions(SYM, DAY)
    again = src.corporate_actions(SYM, DAY)
    # Assert
    assert api.count("stock_fhps_detail_em") == 1
    assert (
        got
        == again
        == [
            action("2024-10-11", "2024-10-10", bonus="0.4"),
            action("2025-06-13", "2025-06-06", cash="0.2"),
        ]
    )
    stored = json.loads((tmp_path / "corporate_actions" / f"{SYM}.json").read_text("utf-8"))
    assert stored["fetched_at"] == "2025-11-17T09:10:00+08:00" and len(stored["actions"]) == 2


def test_failed_refetch_serves_the_older_cache_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange
    source(tmp_path, Reference(fhps_frame(BONUS_PLAN)), at(PREV)).corporate_actions(SYM, PREV)
    api = Reference()
    api.fail.add("stock_fhps_detail_em")
    src = source(tmp_path, api, at(DAY))
    # Act
    with caplog.at_level(logging.WARNING, logger=LOG):
        got = src.corporate_actions(SYM, DAY)
        again = src.corporate_actions(SYM, DAY)
    # Assert: the cached list, one attempt, one warning naming the cache date and the error
    assert got == again == [action("2024-10-11", "2024-10-10", bonus="0.4")]
    assert api.count("stock_fhps_detail_em") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "akshare: corporate actions of SH688008: using the cache fetched on 2025-11-14 "
        "(akshare stock_fhps_detail_em(symbol='688008') for SH688008 failed: "
    )


def test_failed_fetch_without_cache_raises_naming_call_and_symbol(tmp_path: Path) -> None:
    api = Reference()
    api.fail.add("stock_fhps_detail_em")
    with pytest.raises(DataUnavailableError) as info:
        source(tmp_path, api, at(DAY)).corporate_actions(SYM, DAY)
    assert str(info.value) == (
        "akshare stock_fhps_detail_em(symbol='688008') for SH688008 failed: unexpected error: "
        "ConnectionError: connection refused"
    )
    assert not (tmp_path / "corporate_actions").exists()


# --- ST status ----------------------------------------------------------------------------------
BOARD = st_frame(("600001", "*ST 甲"), ("000002", "ST乙"), ("688008", "*ST澜起"))


def test_todays_board_fetched_once_and_cached(tmp_path: Path) -> None:
    # Arrange
    api = Reference(board=BOARD)
    src = source(tmp_path, api, at(DAY, "09:20"))
    # Act
    answers = [src.is_st(s, DAY) for s in ("SH600001", "SZ000002", "SH688008", "SH600519")]
    # Assert
    assert answers == [True, True, True, False]
    assert api.count("stock_zh_a_st_em") == 1 and api.calls[0][1] == {}
    stored = json.loads((tmp_path / "st" / "2025-11-17.json").read_text("utf-8"))
    assert stored == {
        "day": "2025-11-17",
        "fetched_at": "2025-11-17T09:20:00+08:00",
        "codes": ["000002", "600001", "688008"],
    }
    later = source(tmp_path, NoNetwork(), at(DAY, "14:00"))
    assert [later.is_st("SH600001", DAY), later.is_st("SH600519", DAY)] == [True, False]


def test_past_day_without_a_list_is_not_st_without_fetching_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: today's list (DAY) is cached; PREV has none
    source(tmp_path, Reference(board=BOARD), at(DAY)).is_st(SYM, DAY)
    src = source(tmp_path, NoNetwork(), at(DAY, "11:00"))
    # Act
    with caplog.at_level(logging.WARNING, logger=LOG):
        answers = [
            src.is_st("SH600001", PREV),
            src.is_st(SYM, PREV),
            src.is_st(SYM, date(2025, 11, 13)),
        ]
    # Assert: a later list is never used for an earlier day
    assert answers == [False, False, False]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "akshare: no risk-warning (ST) list cached for 2025-11-14 (the board is only known for "
        "the day it was fetched): ST status unknown, treated as not ST"
    ]


def test_past_day_with_its_cached_list_answers_from_it(tmp_path: Path) -> None:
    # Arrange: the list fetched on PREV (600001 only), and today's (688008 too)
    source(tmp_path, Reference(board=st_frame(("600001", "ST甲"))), at(PREV)).is_st(SYM, PREV)
    source(tmp_path, Reference(board=BOARD), at(DAY)).is_st(SYM, DAY)
    src = source(tmp_path, NoNetwork(), at(DAY, "15:30"))
    # Act / Assert
    assert [src.is_st("SH600001", PREV), src.is_st(SYM, PREV)] == [True, False]
    assert [src.is_st("SH600001", DAY), src.is_st(SYM, DAY)] == [True, True]


def test_failed_board_fetch_today_is_a_data_error(tmp_path: Path) -> None:
    api = Reference()
    api.fail.add("stock_zh_a_st_em")
    with pytest.raises(DataUnavailableError) as info:
        source(tmp_path, api, at(DAY)).is_st(SYM, DAY)
    assert str(info.value).startswith(
        "akshare stock_zh_a_st_em() for the risk-warning board failed: unexpected error: "
    )
    assert not (tmp_path / "st").exists()


# --- names and industries ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("*ST海润", "海润"),
        ("ST 康美", "康美"),
        ("S*ST前锋", "前锋"),
        ("SST华新", "华新"),
        (" *ST  金刚 ", "金刚"),
        ("XD贵州茅", "贵州茅"),
        ("平安银行", "平安银行"),
        ("澜起科技", "澜起科技"),
    ],
)
def test_clean_name_strips_st_markers(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_name_and_industry_fetched_once_stripped_and_cached(tmp_path: Path) -> None:
    # Arrange
    api = Reference(info=info_frame("*ST 澜起", "半导体"))
    src = source(tmp_path, api, at(DAY))
    # Act
    got = (src.stock_name(SYM), src.stock_industry(SYM), src.stock_name(SYM))
    # Assert
    assert got == ("澜起", "半导体", "澜起")
    assert api.calls == [("stock_individual_info_em", {"symbol": "688008", "timeout": 5})]
    stored = json.loads((tmp_path / "info" / f"{SYM}.json").read_text("utf-8"))
    assert stored == {
        "symbol": SYM,
        "fetched_at": "2025-11-17T10:00:00+08:00",
        "name": "澜起",
        "industry": "半导体",
    }
    offline = source(tmp_path, NoNetwork(), at(DAY))
    assert (offline.stock_name(SYM), offline.stock_industry(SYM)) == ("澜起", "半导体")


def test_unknown_industry_is_none(tmp_path: Path) -> None:
    src = source(tmp_path, Reference(info=info_frame("澜起科技", "-")), at(DAY))
    assert (src.stock_name(SYM), src.stock_industry(SYM)) == ("澜起科技", None)


def test_failed_name_fetch_gives_none_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = Reference()
    api.fail.add("stock_individual_info_em")
    src = source(tmp_path, api, at(DAY))
    with caplog.at_level(logging.WARNING, logger=LOG):
        got = (src.stock_name(SYM), src.stock_industry(SYM))
    assert got == (None, None)
    assert api.count("stock_individual_info_em") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(
        "akshare: no name/industry for SH688008: akshare stock_individual_info_em(symbol='688008') "
        "for SH688008 failed: "
    )
    assert not (tmp_path / "info").exists()


# --- end to end: a snapshot as from the files source --------------------------------------------
# 10派2转4 for 2025 H1, ex-date DAY (2025-11-17), implementation notice 2025-11-10
DIVIDEND = {"period": "2025-06-30", "cash": 2.0, "bonus": 4.0, "plan": "2025-08-20",
            "record": "2025-11-14", "ex": "2025-11-17", "latest": "2025-11-10"}  # fmt: skip
DIVIDEND_RECORD = {"symbol": SYM, "ex_date": "2025-11-17", "announce_date": "2025-11-10",
                   "cash_per_share": 0.2, "bonus_per_share": 0.4}  # fmt: skip


def _files_twin(folder: Path) -> Path:
    """The same market as `Recording` (and the same action, ST period and name) in the files
    format."""
    hourly = []
    for d, base in ((PREV, 10.0), (DAY, 11.0)):
        for i, hhmm in enumerate(("10:30", "11:30", "14:00", "15:00")):
            hourly.append(
                {"date": f"{d.isoformat()} {hhmm}:00", "open": base + i * 0.1,
                 "close": base + i * 0.1 + 0.05, "high": base + i * 0.1 + 0.08,
                 "low": base + i * 0.1 - 0.02, "vol": (1000 + i) * 100, "amount": 1.0e6 + i}
            )  # fmt: skip
    daily = [{"date": PREV.isoformat(), "open": 10.0, "close": 10.35, "high": 10.4, "low": 9.9,
              "vol": 400600, "amount": 4.1e6}]  # fmt: skip
    folder.mkdir()
    stock = {SYM: {"小时线行情": hourly, "日线行情": daily}}
    (folder / "ai_stock_data.json").write_text(json.dumps(stock), "utf-8")
    actions = {"actions": [DIVIDEND_RECORD], "st": [{"symbol": SYM, "from": DAY.isoformat()}]}
    (folder / "corporate_actions.json").write_text(json.dumps(actions), "utf-8")
    (folder / "names.csv").write_text("symbol,name,industry\nSH688008,澜起科技,半导体\n", "utf-8")
    return folder


def test_snapshot_lists_actions_st_and_names_as_the_files_source_does(tmp_path: Path) -> None:
    # Arrange: a live run on DAY (today): the board lists 688008 as ST today
    api = Reference(
        fhps=fhps_frame(CASH_PLAN, DIVIDEND), board=BOARD, info=info_frame("澜起科技", "半导体")
    )
    ak = source(tmp_path / "cache", api, at(DAY, "11:35"))
    files = FilesSource(_files_twin(tmp_path / "files"))
    cfg = DataConfig(source="akshare")
    # Act
    snaps = {
        name: [
            build_snapshot(src, at_window(PREV, "14:00"), [SYM], cfg),
            build_snapshot(src, at_window(DAY, "11:30"), [SYM], cfg),
        ]
        for name, src in (("akshare", ak), ("files", files))
    }
    # Assert: the akshare snapshots
    before, on_ex = snaps["akshare"]
    assert before["corporate_actions_upcoming"] == [DIVIDEND_RECORD]
    assert before["corporate_actions_effective"] == []
    assert on_ex["corporate_actions_upcoming"] == []
    assert on_ex["corporate_actions_effective"] == [DIVIDEND_RECORD]
    entry = on_ex["market_data"][SYM]
    assert entry["prev_close"] == 7.25  # (10.35 - 0.20) / 1.4
    assert (entry["limit_down"], entry["limit_up"]) == (5.8, 8.7)  # STAR: ±20 %, ST or not
    assert (entry["name"], entry["industry"], entry["st"]) == ("澜起科技", "半导体", True)
    assert before["market_data"][SYM]["st"] is False  # no list for PREV: unknown -> False
    assert api.count("stock_zh_a_st_em") == 1 and api.count("stock_fhps_detail_em") == 1
    assert api.count("stock_individual_info_em") == 1
    # ... and exactly what the files source gives for the same market
    for ours, theirs in zip(snaps["akshare"], snaps["files"], strict=True):
        for key in ("market_data", "corporate_actions_upcoming", "corporate_actions_effective"):
            assert ours[key] == theirs[key]
