"""Symbols, boards and Decimal limit prices (half-up to 0.01)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from data_flow.symbols import (
    Board,
    bare_code,
    board_of,
    format_symbol,
    parse_symbol,
    price_limits,
    symbol_limits,
)


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
