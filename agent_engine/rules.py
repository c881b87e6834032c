"""Pure China A-share trading rules (no I/O, no state): boards, lots, limits, fees, rounding.

Every function takes plain values and returns plain values, so each rule is table-tested on its
own (tests/test_broker_rules.py). A rule that an order breaks returns a `Rejection` (a stable
`RejectReason` plus a message written for the model); it never raises for a bad order.

Money is `Decimal`: prices and fees are quantized to 0.01 CNY and average prices to 0.0001,
always ROUND_HALF_UP (so a previous close of 2.05 gives a +10% limit of 2.255 -> 2.26, where
binary floats would give 2.25).

Boards and price limits come from `data_flow.symbols` (one implementation shared with the
snapshot builder; re-exported here as `Board` and `price_limits(prev_close, board) ->
(limit_down, limit_up)`). Boards, by symbol (exchange prefix + 6 digits):

- ``SH60xxxx`` and ``SZ00xxxx``: main board, ±10% daily limit, lots of 100 shares.
- ``SH688xxx`` / ``SH689xxx``: STAR market, ±20%, at least 200 shares per order, then step 1.
- ``SZ30xxxx``: ChiNext, ±20%, lots of 100 shares.
- Anything else (indices, B shares, funds, Beijing exchange, typos) has no board: the broker
  rejects it as ``unknown_symbol`` rather than guessing a rule set.

Lot rules for sells (the "odd lot" is the part of the *holding* below one lot):

- Main board / ChiNext: a sell quantity is valid when it is a multiple of 100, or when it is a
  multiple of 100 plus the whole odd lot (``qty % 100 == holding % 100``). Holding 1050 shares:
  1000, 100, 1050, 150 and 50 are valid; 30 and 1020 are not (they would split the odd lot).
  With no odd lot (holding 1000) only multiples of 100 are valid.
- STAR: a sell needs at least 200 shares (any whole number above), except that a holding below
  200 shares is sold whole: holding 150 -> only 150 is valid; holding 250 -> 200..250 are valid
  (selling 200 leaves 50, which can later be sold whole). The odd part is judged on the whole
  holding, not on today's sellable part.
- Never more than the sellable quantity (T+1), checked after the lot rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from data_flow import symbols
from data_flow.symbols import Board, price_limits

__all__ = [
    "LOT",
    "MAX_ORDER_SHARES",
    "STAR_MIN_SHARES",
    "Board",
    "Fees",
    "OrderSide",
    "RejectReason",
    "Rejection",
    "board_label",
    "board_of",
    "check_buy_lot",
    "check_quantity",
    "check_sell_lot",
    "compute_fees",
    "money_text",
    "new_avg_price",
    "price_limits",
    "q2",
    "q4",
    "slipped_price",
    "to_decimal",
]

CENT = Decimal("0.01")
AVG_STEP = Decimal("0.0001")
BPS = Decimal("10000")
LOT = 100
STAR_MIN_SHARES = 200
# No order may exceed this many shares: far above any real order, and it keeps every notional
# (price × quantity) well inside Decimal's 28 significant digits.
MAX_ORDER_SHARES = 1_000_000_000


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class RejectReason(StrEnum):
    """Stable, machine-readable reasons; the values are written to logs as-is."""

    INVALID_QUANTITY = "invalid_quantity"
    LOT_SIZE = "lot_size"
    BELOW_MINIMUM = "below_minimum"
    INSUFFICIENT_SELLABLE = "insufficient_sellable"
    INSUFFICIENT_CASH = "insufficient_cash"
    LIMIT_UP = "limit_up"
    LIMIT_DOWN = "limit_down"
    POSITION_CAP = "position_cap"
    UNKNOWN_SYMBOL = "unknown_symbol"
    SUSPENDED = "suspended"
    NO_POSITION = "no_position"
    INVALID_ACTION = "invalid_action"
    LIQUIDITY = "liquidity"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    message: str


@dataclass(frozen=True, slots=True)
class Fees:
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee


# --- rounding / conversion --------------------------------------------------------------------


def q2(value: Decimal) -> Decimal:
    """Quantize to 0.01 (prices, cash, fees), half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def q4(value: Decimal) -> Decimal:
    """Quantize to 0.0001 (average prices), half-up."""
    return value.quantize(AVG_STEP, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number (or numeric string / Decimal) as an exact Decimal via ``str``; None for
    null, bools, NaN/inf and anything unparsable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return result if result.is_finite() else None


def money_text(value: Decimal) -> str:
    """'1,234,567.89' for messages."""
    return f"{q2(value):,.2f}"


# --- boards and limits ------------------------------------------------------------------------


def board_of(symbol: str) -> Board | None:
    """The board of a symbol like 'SH688008', or None when it is not a tradable A-share
    (wraps `data_flow.symbols.board_of`, which raises instead)."""
    try:
        return symbols.board_of(symbol)
    except ValueError:
        return None


# --- quantities -------------------------------------------------------------------------------


def check_quantity(quantity: Any) -> Rejection | None:
    """Quantities are integers in 1..MAX_ORDER_SHARES (not bools, floats or strings)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return Rejection(
            RejectReason.INVALID_QUANTITY,
            "Quantity must be a positive whole number of shares; you sent "
            f"{_quantity_text(quantity)}.",
        )
    if quantity > MAX_ORDER_SHARES:
        return Rejection(
            RejectReason.INVALID_QUANTITY,
            f"Quantity must be at most {MAX_ORDER_SHARES:,} shares; you sent "
            f"{_quantity_text(quantity, grouped=True)}.",
        )
    return None


def _quantity_text(quantity: Any, *, grouped: bool = False) -> str:
    """A short text of a (possibly absurd) quantity for a message."""
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        if abs(quantity) >= 10**18:
            return "a number of more than 18 digits"
        return f"{quantity:,}" if grouped else str(quantity)
    text = repr(quantity[:41] if isinstance(quantity, str) else quantity)
    return text if len(text) <= 40 else text[:40] + "…"


def check_buy_lot(board: Board, quantity: int) -> Rejection | None:
    """Main/ChiNext buys: multiples of 100. STAR buys: at least 200, then any whole number."""
    if board is Board.STAR:
        if quantity < STAR_MIN_SHARES:
            return Rejection(
                RejectReason.BELOW_MINIMUM,
                f"STAR market orders need at least {STAR_MIN_SHARES} shares (then any whole "
                f"number); you asked {quantity}. Buy {STAR_MIN_SHARES} or more.",
            )
        return None
    if quantity % LOT:
        lower = quantity - quantity % LOT
        hint = f"{lower} or {lower + LOT}" if lower else f"{LOT}"
        return Rejection(
            RejectReason.LOT_SIZE,
            f"{board_label(board)} buys must be a multiple of {LOT} shares; you asked "
            f"{quantity}. Try {hint}.",
        )
    return None


def check_sell_lot(board: Board, quantity: int, holding: int) -> Rejection | None:
    """Lot rule for a sell, judged on the whole holding (see the module docstring)."""
    if board is Board.STAR:
        if quantity >= STAR_MIN_SHARES or quantity == holding:
            return None
        if holding < STAR_MIN_SHARES:
            hint = f"You hold {holding} (below {STAR_MIN_SHARES}), so sell all {holding} at once."
        elif holding == STAR_MIN_SHARES:
            hint = f"You hold exactly {holding}, so sell all {holding} at once."
        else:
            hint = f"Sell between {STAR_MIN_SHARES} and {holding} shares."
        return Rejection(
            RejectReason.BELOW_MINIMUM,
            f"STAR market orders need at least {STAR_MIN_SHARES} shares; you asked {quantity}. "
            + hint,
        )
    odd = holding % LOT
    if quantity % LOT == 0 or (odd and quantity % LOT == odd):
        return None
    if odd:
        valid = (
            f"a multiple of {LOT}, or a multiple of {LOT} plus your whole odd lot of {odd} "
            f"(e.g. {odd}, {odd + LOT} or {holding})"
        )
    else:
        valid = f"a multiple of {LOT}"
    return Rejection(
        RejectReason.LOT_SIZE,
        f"{board_label(board)} sells must be {valid}; you asked {quantity} "
        f"while holding {holding}.",
    )


def board_label(board: Board) -> str:
    return {Board.MAIN: "Main board", Board.STAR: "STAR market", Board.CHINEXT: "ChiNext"}[board]


# --- prices and fees --------------------------------------------------------------------------


def slipped_price(price: Decimal, side: OrderSide, slippage_bps: Decimal) -> Decimal:
    """The quote moved against the trader (buys up, sells down), rounded half-up to 0.01."""
    factor = slippage_bps / BPS
    moved = price * (1 + factor) if side is OrderSide.BUY else price * (1 - factor)
    return q2(moved)


def compute_fees(
    side: OrderSide,
    notional: Decimal,
    *,
    commission_rate: Decimal,
    min_commission: Decimal,
    stamp_duty_rate: Decimal,
    transfer_fee_rate: Decimal,
) -> Fees:
    """Each fee rounded half-up to 0.01 CNY.

    commission = max(rate × notional, min_commission) on both sides; stamp duty on sells only;
    transfer fee on both sides. 100000.00 bought: commission 30.00, transfer 1.00.
    """
    commission = q2(max(notional * commission_rate, min_commission))
    stamp = q2(notional * stamp_duty_rate) if side is OrderSide.SELL else Decimal("0.00")
    transfer = q2(notional * transfer_fee_rate)
    return Fees(commission=commission, stamp_duty=stamp, transfer_fee=transfer)


def new_avg_price(
    prev_shares: int, prev_avg: Decimal, bought: int, notional: Decimal, fees: Decimal
) -> Decimal:
    """(previous cost + buy notional + buy fees) / shares after the buy, 0.0001 half-up.

    The previous cost is ``prev_avg × prev_shares`` with the stored (quantized) average, so the
    value can be recomputed from the ledger alone. Sells never change the average.
    """
    total = prev_shares + bought
    return q4((prev_avg * prev_shares + notional + fees) / total)
