"""Symbols, boards and daily price limits.

A symbol is written exchange prefix + 6-digit code, e.g. ``SH688008`` or ``SZ300750`` (the
canonical form, used in configs, snapshots and records). This module is the one place that
parses symbols: `parse_symbol` accepts only the canonical form; `read_symbol` also reads what
people and models write (case-insensitive, blanks ignored): ``sh688008``, ``SH.688008``,
``688008.SH``, ``688008SH`` and the bare code ``688008``; `resolve_symbol` turns such text into a
symbol of a given universe. Boards (by symbol):

- ``SH688xxx`` / ``SH689xxx``: STAR Market, ±20 % daily limit
- ``SH60xxxx``: Shanghai main board, ±10 %
- ``SZ00xxxx``: Shenzhen main board, ±10 %
- ``SZ30xxxx``: ChiNext, ±20 %
- anything else (B shares ``SH900``/``SZ200``, funds, indices, the Beijing exchange) has no
  board: `board_of` raises rather than guessing a price limit.

Limit prices are ``prev_close × (1 ± ratio)`` rounded half-up to 0.01 in ``Decimal`` (with a
previous close of 2.05, the main-board limit-up is 2.26 — float rounding would give 2.25).
Pure functions only, no I/O; the broker may reuse them (agent_engine may import data_flow).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

# The canonical form. ASCII digits only (``\d`` would take full-width digits too); matched
# with `fullmatch`, so a trailing newline is refused as well.
SYMBOL_PATTERN = re.compile(r"^(SH|SZ)([0-9]{6})$")
_PREFIXED = re.compile(r"(SH|SZ)\.?([0-9]{6})")
_SUFFIXED = re.compile(r"([0-9]{6})\.?(SH|SZ)")
_BARE_CODE = re.compile(r"([0-9]{6})")
_BLANKS = re.compile(r"\s+")
CENT = Decimal("0.01")


class Board(StrEnum):
    MAIN = "main"
    STAR = "star"
    CHINEXT = "chinext"


LIMIT_RATIOS: dict[Board, Decimal] = {
    Board.MAIN: Decimal("0.10"),
    Board.STAR: Decimal("0.20"),
    Board.CHINEXT: Decimal("0.20"),
}


def parse_symbol(symbol: str) -> tuple[str, str]:
    """``"SH688008"`` -> ``("SH", "688008")``. Raises ValueError for anything else."""
    m = SYMBOL_PATTERN.fullmatch(symbol) if isinstance(symbol, str) else None
    if not m:
        raise ValueError(f"'{symbol}' is not a symbol like SH688008 or SZ000001")
    return m.group(1), m.group(2)


def read_symbol(text: object) -> tuple[str | None, str] | None:
    """The (exchange, code) written in `text`, in any accepted form, or None when `text` is
    not a symbol. The exchange is None for a bare 6-digit code.

    >>> read_symbol(" 688008.sh "), read_symbol("688008"), read_symbol("AAPL")
    (('SH', '688008'), (None, '688008'), None)
    """
    if not isinstance(text, str):
        return None
    cleaned = _BLANKS.sub("", text).upper()
    if m := _PREFIXED.fullmatch(cleaned):
        return m.group(1), m.group(2)
    if m := _SUFFIXED.fullmatch(cleaned):
        return m.group(2), m.group(1)
    if m := _BARE_CODE.fullmatch(cleaned):
        return None, m.group(1)
    return None


def resolve_symbol(text: object, universe: Collection[str]) -> str | None:
    """The symbol of `universe` (canonical symbols) meant by `text`, or None. A bare code
    resolves only when exactly one universe symbol has it (SH000001 vs SZ000001)."""
    read = read_symbol(text)
    if read is None:
        return None
    exchange, code = read
    if exchange is not None:
        candidate = exchange + code
        return candidate if candidate in universe else None
    matches = [s for s in universe if s[2:] == code]
    return matches[0] if len(matches) == 1 else None


def format_symbol(exchange: str, code: str) -> str:
    """``("sh", "688008")`` -> ``"SH688008"`` (validated)."""
    symbol = f"{exchange.upper()}{code}"
    parse_symbol(symbol)
    return symbol


def bare_code(symbol: str) -> str:
    """The bare 6-digit code that akshare's stock functions expect: ``"688008"``."""
    return parse_symbol(symbol)[1]


def board_of(symbol: str) -> Board:
    """The board of an A-share symbol. Raises ValueError for codes outside the four boards
    (B shares, funds, indices) rather than guessing a price limit for them."""
    exchange, code = parse_symbol(symbol)
    if exchange == "SH":
        if code.startswith(("688", "689")):
            return Board.STAR
        if code.startswith("60"):
            return Board.MAIN
    elif exchange == "SZ":
        if code.startswith("30"):
            return Board.CHINEXT
        if code.startswith("00"):
            return Board.MAIN
    raise ValueError(
        f"{symbol} is not on a supported A-share board "
        "(SH60xxxx/SZ00xxxx main, SH688/689 STAR, SZ30xxxx ChiNext)"
    )


def to_price(value: Decimal | float | int | str) -> Decimal:
    """A price as Decimal quantized to 0.01 half-up; floats go through ``str`` (exact for
    2-decimal prices)."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


ST_LIMIT_RATIO = Decimal("0.05")
"""Main-board ST / *ST stocks: ±5 % until `ST_MAIN_BOARD_TEN_PERCENT_FROM`. STAR and ChiNext ST
stocks always keep their board's ±20 %."""
ST_MAIN_BOARD_TEN_PERCENT_FROM = date(2025, 7, 7)
"""From this trading day the SSE and SZSE apply the main board's ±10 % to main-board risk-warning
(ST / *ST) stocks too (the exchanges' notice on adjusting the price-limit ratio of main-board
risk-warning stocks, consulted on 2025-06-27)."""


def limit_ratio(board: Board | str, *, st: bool = False, on: date | None = None) -> Decimal:
    """The daily limit ratio of `board`; `st` (a risk-warning stock) on trading day `on`
    (None: the old ±5 % rule for a main-board ST stock)."""
    board = Board(board)
    old_st_rule = on is None or on < ST_MAIN_BOARD_TEN_PERCENT_FROM
    if st and board is Board.MAIN and old_st_rule:
        return ST_LIMIT_RATIO
    return LIMIT_RATIOS[board]


def price_limits(
    prev_close: Decimal | float | int | str,
    board: Board | str,
    *,
    st: bool = False,
    on: date | None = None,
) -> tuple[Decimal, Decimal]:
    """(limit_down, limit_up) from the previous close: ``prev × (1 ∓ ratio)`` half-up to 0.01
    (ratio: `limit_ratio`: ±5 % for a main-board ST stock before 2025-07-07, ±10 % from then).

    >>> price_limits(Decimal("2.05"), Board.MAIN)
    (Decimal('1.85'), Decimal('2.26'))
    """
    prev = prev_close if isinstance(prev_close, Decimal) else Decimal(str(prev_close))
    if not prev.is_finite() or prev <= 0:
        raise ValueError(f"previous close must be a positive price, got {prev_close!r}")
    ratio = limit_ratio(board, st=st, on=on)
    up = (prev * (1 + ratio)).quantize(CENT, rounding=ROUND_HALF_UP)
    down = (prev * (1 - ratio)).quantize(CENT, rounding=ROUND_HALF_UP)
    return down, up


def symbol_limits(prev_close: Decimal | float | int | str, symbol: str) -> tuple[Decimal, Decimal]:
    """``price_limits`` for the board of `symbol`."""
    return price_limits(prev_close, board_of(symbol))
