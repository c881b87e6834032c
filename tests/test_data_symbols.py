"""Symbols (the one parser: every written form), boards and Decimal limit prices (half-up to
0.01)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agent_engine import rules
from agent_engine.tools import normalize_symbol
from data_flow.symbols import (
    SYMBOL_PATTERN,
    Board,
    bare_code,
    board_of,
    format_symbol,
    parse_symbol,
    price_limits,
    read_symbol,
    resolve_symbol,
    symbol_limits,
)
from settings.config import SYMBOL_RE, ConfigError, load_config
from tests.conftest import write_config


@pytest.mark.parametrize(
    ("symbol", "board"),
    [
        ("SH600000", Board.MAIN),
        ("SH601318", Board.MAIN),
        ("SH605499", Board.MAIN),
        ("SH688008", Board.STAR),
        ("SH689009", Board.STAR),
        ("SZ000001", Board.MAIN),
        ("SZ002594", Board.MAIN),
        ("SZ300750", Board.CHINEXT),
        ("SZ301236", Board.CHINEXT),
    ],
)
def test_board_of(symbol: str, board: Board) -> None:
    assert board_of(symbol) == board


@pytest.mark.parametrize("symbol", ["SH900901", "SZ200002", "SH510300", "sh688008", "688008", ""])
def test_board_of_rejects_other_codes(symbol: str) -> None:
    with pytest.raises(ValueError, match=r"board|not a symbol"):
        board_of(symbol)


@pytest.mark.parametrize(
    ("prev", "board", "down", "up"),
    [
        # 2.05 x 1.1 = 2.255 -> 2.26 half-up (float round() gives 2.25); x 0.9 = 1.845 -> 1.85
        ("2.05", Board.MAIN, "1.85", "2.26"),
        # 121.17 x 1.2 = 145.404 -> 145.40; x 0.8 = 96.936 -> 96.94
        ("121.17", Board.STAR, "96.94", "145.40"),
        ("10.00", Board.MAIN, "9.00", "11.00"),
        ("10.00", Board.CHINEXT, "8.00", "12.00"),
        # 3.35 x 1.1 = 3.685 -> 3.69; x 0.9 = 3.015 -> 3.02
        ("3.35", Board.MAIN, "3.02", "3.69"),
        # 1.25 x 1.2 = 1.5; x 0.8 = 1.0
        ("1.25", Board.STAR, "1.00", "1.50"),
        # 7.63 x 1.2 = 9.156 -> 9.16; x 0.8 = 6.104 -> 6.10
        ("7.63", Board.CHINEXT, "6.10", "9.16"),
    ],
)
def test_price_limits_half_up(prev: str, board: Board, down: str, up: str) -> None:
    assert price_limits(Decimal(prev), board) == (Decimal(down), Decimal(up))
    assert price_limits(float(prev), board) == (Decimal(down), Decimal(up))


def test_symbol_limits_and_parsing() -> None:
    assert symbol_limits(2.05, "SH600000") == (Decimal("1.85"), Decimal("2.26"))
    assert parse_symbol("SZ300750") == ("SZ", "300750")
    assert format_symbol("sh", "688008") == "SH688008"
    assert bare_code("SH688008") == "688008"
    with pytest.raises(ValueError):
        price_limits(Decimal("0"), Board.MAIN)


# --- the one parser: every written form, every board, invalid inputs -------------------------

# (text, what read_symbol reads: (exchange or None for a bare code, code) or None)
PARSE_TABLE: list[tuple[object, tuple[str | None, str] | None]] = [
    ("SH688008", ("SH", "688008")),
    ("sh688008", ("SH", "688008")),
    (" Sh688008 ", ("SH", "688008")),
    ("SH 688008", ("SH", "688008")),
    ("SH.688008", ("SH", "688008")),
    ("sh.688008", ("SH", "688008")),
    ("688008.SH", ("SH", "688008")),
    ("688008.sh", ("SH", "688008")),
    ("688008SH", ("SH", "688008")),
    ("688008", (None, "688008")),
    ("\t300750\n", (None, "300750")),
    ("SZ300750", ("SZ", "300750")),
    ("sz.000001", ("SZ", "000001")),
    ("000001.SZ", ("SZ", "000001")),
    # not symbols
    ("", None),
    ("   ", None),
    ("AAPL", None),
    ("SH68800", None),
    ("SH6880081", None),
    ("68800", None),
    ("BJ830799", None),
    ("830799.BJ", None),
    ("SH..688008", None),
    ("SH-688008", None),
    ("688008.SH.SH", None),
    ("SHSZ688008", None),
    ("６８８００８", None),  # full-width digits are not read as a code
    ("SH６８８００８", None),
    (688008, None),
    (None, None),
    (["SH688008"], None),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_read_symbol_table(text: object, expected: tuple[str | None, str] | None) -> None:
    assert read_symbol(text) == expected


# canonical symbol -> board (None: no board, board_of raises); one row per board and edge
BOARD_TABLE: list[tuple[str, Board | None]] = [
    ("SH688008", Board.STAR),
    ("SH688981", Board.STAR),
    ("SH689009", Board.STAR),
    ("SH600000", Board.MAIN),
    ("SH601318", Board.MAIN),
    ("SH603259", Board.MAIN),
    ("SH605499", Board.MAIN),
    ("SZ000001", Board.MAIN),
    ("SZ001979", Board.MAIN),
    ("SZ002594", Board.MAIN),
    ("SZ003816", Board.MAIN),
    ("SZ300750", Board.CHINEXT),
    ("SZ301236", Board.CHINEXT),
    ("SH687001", None),  # 687 is not STAR
    ("SH900901", None),  # B share
    ("SZ200002", None),  # B share
    ("SH510300", None),  # fund
    ("SH000001", None),  # index
    ("SZ399001", None),  # index
    ("SZ688008", None),  # STAR code on the wrong exchange
    ("SH300750", None),  # ChiNext code on the wrong exchange
    ("SZ600000", None),
    ("SH000002", None),
]


@pytest.mark.parametrize(("symbol", "board"), BOARD_TABLE)
def test_board_table(symbol: str, board: Board | None) -> None:
    assert rules.board_of(symbol) == board
    if board is None:
        with pytest.raises(ValueError, match="is not on a supported A-share board"):
            board_of(symbol)
    else:
        assert board_of(symbol) == board
    # every written form of the symbol reads back to the same canonical symbol and board
    exchange, code = parse_symbol(symbol)
    for text in (symbol.lower(), f"{exchange}.{code}", f"{code}.{exchange}", f"{code}{exchange}"):
        assert resolve_symbol(text, [symbol]) == symbol
        assert rules.board_of(resolve_symbol(text, [symbol]) or "") == board
    assert resolve_symbol(code, [symbol]) == symbol


@pytest.mark.parametrize(
    "text",
    [
        "sh688008",
        "SH.688008",
        "688008.SH",
        "688008",
        " SH688008",
        "SH688008\n",
        "SH６８８００８",
        "",
    ],
)
def test_parse_symbol_accepts_only_the_canonical_form(text: str) -> None:
    with pytest.raises(ValueError, match="is not a symbol like SH688008 or SZ000001"):
        parse_symbol(text)
    assert rules.board_of(text) is None


@pytest.mark.parametrize(
    ("text", "universe", "expected"),
    [
        ("688008", ["SH688008", "SZ300750"], "SH688008"),
        ("sz300750", ["SH688008", "SZ300750"], "SZ300750"),
        ("SZ688008", ["SH688008"], None),  # the exchange must match
        ("600000", ["SH688008"], None),
        ("000001", ["SH000001", "SZ000001"], None),  # ambiguous bare code
        ("000001.SZ", ["SH000001", "SZ000001"], "SZ000001"),
        ("nonsense", ["SH688008"], None),
        (688008, ["SH688008"], None),
    ],
)
def test_resolve_symbol(text: object, universe: list[str], expected: str | None) -> None:
    assert resolve_symbol(text, universe) == expected
    assert normalize_symbol(text, universe) == expected


def test_config_symbols_use_the_same_parser(tmp_path: Path) -> None:
    assert SYMBOL_RE is SYMBOL_PATTERN
    path = write_config(tmp_path, tmp_path / "root")
    data = json.loads(path.read_text())
    data["symbols"] = ["SH688008", "688008.SH"]
    path.write_text(json.dumps(data))
    with pytest.raises(
        ConfigError, match=r"'688008\.SH' is not a symbol like SH688008 or SZ000001"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("day", "board", "expected"),
    [
        (date(2025, 7, 4), "main", (Decimal("9.50"), Decimal("10.50"))),  # last day of ±5 %
        (date(2025, 7, 7), "main", (Decimal("9.00"), Decimal("11.00"))),  # ±10 % from here on
        (None, "main", (Decimal("9.50"), Decimal("10.50"))),  # no day: the old rule
        (date(2025, 7, 4), "star", (Decimal("8.00"), Decimal("12.00"))),  # STAR ST: ±20 %
        (date(2025, 7, 4), "chinext", (Decimal("8.00"), Decimal("12.00"))),
    ],
)
def test_st_limit_depends_on_board_and_day(day: date | None, board: str, expected: tuple) -> None:
    """Main-board ST stocks went from ±5 % to ±10 % on 2025-07-07 (SSE/SZSE notice)."""
    assert price_limits(Decimal("10.00"), board, st=True, on=day) == expected
