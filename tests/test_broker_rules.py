"""Pure rule functions, one rounding or lot case per row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent_engine.rules import (
    Board,
    OrderSide,
    Rejection,
    RejectReason,
    board_of,
    check_buy_lot,
    check_quantity,
    check_sell_lot,
    compute_fees,
    new_avg_price,
    price_limits,
    q2,
    slipped_price,
    to_decimal,
)

D = Decimal


@pytest.mark.parametrize(
    ("symbol", "board"),
    [
        ("SH600000", Board.MAIN),
        ("SH601318", Board.MAIN),
        ("SZ000001", Board.MAIN),
        ("SZ002594", Board.MAIN),
        ("SH688008", Board.STAR),
        ("SH689009", Board.STAR),
        ("SZ300750", Board.CHINEXT),
        ("SH000001", None),  # index
        ("SH900901", None),  # B share
        ("SZ200002", None),  # B share
        ("SH510300", None),  # ETF
        ("sh688008", None),  # not canonical
        ("688008", None),
        ("", None),
    ],
    ids=lambda v: str(v),
)
def test_board_of(symbol: str, board: Board | None) -> None:
    assert board_of(symbol) == board


@pytest.mark.parametrize(
    ("prev", "board", "down", "up"),
    [
        # 2.05 × 1.1 = 2.255 -> 2.26 (float round() gives 2.25); 2.05 × 0.9 = 1.845 -> 1.85
        ("2.05", Board.MAIN, "1.85", "2.26"),
        # 1.15 × 1.1 = 1.265 -> 1.27; 1.15 × 0.9 = 1.035 -> 1.04
        ("1.15", Board.MAIN, "1.04", "1.27"),
        ("10.00", Board.MAIN, "9.00", "11.00"),
        ("100.00", Board.STAR, "80.00", "120.00"),
        # 9.99 × 1.2 = 11.988 -> 11.99; 9.99 × 0.8 = 7.992 -> 7.99
        ("9.99", Board.CHINEXT, "7.99", "11.99"),
        # 33.33 × 1.2 = 39.996 -> 40.00; 33.33 × 0.8 = 26.664 -> 26.66
        ("33.33", Board.STAR, "26.66", "40.00"),
    ],
    ids=["2.05_main", "1.15_main", "10_main", "100_star", "9.99_chinext", "33.33_star"],
)
def test_price_limits(prev: str, board: Board, down: str, up: str) -> None:
    assert price_limits(D(prev), board) == (D(down), D(up))


@pytest.mark.parametrize(
    "quantity",
    [0, -1, -100, 100.0, 1.5, True, False, "100", None, D("100")],
    ids=repr,
)
def test_check_quantity_rejects(quantity: object) -> None:
    rejection = check_quantity(quantity)
    assert rejection is not None
    assert rejection.reason is RejectReason.INVALID_QUANTITY
    assert repr(quantity) in rejection.message


@pytest.mark.parametrize("quantity", [1, 100, 199, 10**9])
def test_check_quantity_accepts(quantity: int) -> None:
    assert check_quantity(quantity) is None


@pytest.mark.parametrize(
    ("quantity", "sent"),
    [
        (10**9 + 1, "1,000,000,001"),
        (10**17, "100,000,000,000,000,000"),
        (10**30, "a number of more than 18 digits"),
        (10**5000, "a number of more than 18 digits"),  # str() of it would raise
    ],
    ids=["1e9+1", "1e17", "1e30", "1e5000"],
)
def test_check_quantity_rejects_absurd_sizes(quantity: int, sent: str) -> None:
    rejection = check_quantity(quantity)
    assert rejection == Rejection(
        RejectReason.INVALID_QUANTITY,
        f"Quantity must be at most 1,000,000,000 shares; you sent {sent}.",
    )


@pytest.mark.parametrize(
    ("board", "quantity", "reason"),
    [
        (Board.MAIN, 100, None),
        (Board.MAIN, 2300, None),
        (Board.MAIN, 50, RejectReason.LOT_SIZE),
        (Board.MAIN, 150, RejectReason.LOT_SIZE),
        (Board.CHINEXT, 100, None),
        (Board.CHINEXT, 101, RejectReason.LOT_SIZE),
        (Board.STAR, 200, None),
        (Board.STAR, 201, None),
        (Board.STAR, 199, RejectReason.BELOW_MINIMUM),
        (Board.STAR, 100, RejectReason.BELOW_MINIMUM),
    ],
    ids=lambda v: str(v),
)
def test_check_buy_lot(board: Board, quantity: int, reason: RejectReason | None) -> None:
    rejection = check_buy_lot(board, quantity)
    assert (rejection.reason if rejection else None) == reason


# Sell lots are judged on the whole holding (see agent_engine/rules.py docstring).
@pytest.mark.parametrize(
    ("board", "quantity", "holding", "ok"),
    [
        # main board, holding 1050 (odd lot 50): multiples of 100, or lots + the whole 50
        (Board.MAIN, 1000, 1050, True),
        (Board.MAIN, 100, 1050, True),
        (Board.MAIN, 1050, 1050, True),
        (Board.MAIN, 150, 1050, True),
        (Board.MAIN, 50, 1050, True),
        (Board.MAIN, 30, 1050, False),  # splits the odd lot
        (Board.MAIN, 1020, 1050, False),
        # main board, no odd lot: multiples of 100 only
        (Board.MAIN, 100, 1000, True),
        (Board.MAIN, 50, 1000, False),
        # ChiNext, holding 37 (all odd): only the whole 37
        (Board.CHINEXT, 37, 37, True),
        (Board.CHINEXT, 20, 37, False),
        # STAR: at least 200, step 1; below 200 only the whole remaining holding
        (Board.STAR, 200, 1000, True),
        (Board.STAR, 333, 1000, True),
        (Board.STAR, 199, 1000, False),
        (Board.STAR, 150, 150, True),
        (Board.STAR, 100, 150, False),
        (Board.STAR, 200, 250, True),  # leaves 50, sellable later as a whole
        (Board.STAR, 50, 250, False),
    ],
    ids=lambda v: str(v),
)
def test_check_sell_lot(board: Board, quantity: int, holding: int, ok: bool) -> None:
    assert (check_sell_lot(board, quantity, holding) is None) is ok


@pytest.mark.parametrize(
    ("quantity", "holding", "hint"),
    [
        # holding exactly 200: only the whole 200 is allowed (was "between 200 and 200")
        (199, 200, "You hold exactly 200, so sell all 200 at once."),
        (1, 200, "You hold exactly 200, so sell all 200 at once."),
        (199, 201, "Sell between 200 and 201 shares."),
        (100, 150, "You hold 150 (below 200), so sell all 150 at once."),
    ],
    ids=lambda v: str(v),
)
def test_star_sell_rejection_says_what_is_allowed(quantity: int, holding: int, hint: str) -> None:
    rejection = check_sell_lot(Board.STAR, quantity, holding)
    assert rejection == Rejection(
        RejectReason.BELOW_MINIMUM,
        f"STAR market orders need at least 200 shares; you asked {quantity}. {hint}",
    )


@pytest.mark.parametrize(
    ("price", "side", "bps", "expected"),
    [
        ("10.00", OrderSide.BUY, "0", "10.00"),
        ("10.00", OrderSide.BUY, "10", "10.01"),
        ("10.00", OrderSide.SELL, "10", "9.99"),
        ("33.33", OrderSide.BUY, "5", "33.35"),  # 33.346665 -> 33.35
        ("33.33", OrderSide.SELL, "5", "33.31"),  # 33.313335 -> 33.31
        ("2.05", OrderSide.BUY, "100", "2.07"),  # 2.0705 -> 2.07
        ("1.25", OrderSide.SELL, "20", "1.25"),  # 1.2475 -> 1.25 (half-up)
    ],
    ids=lambda v: str(v),
)
def test_slipped_price(price: str, side: OrderSide, bps: str, expected: str) -> None:
    assert slipped_price(D(price), side, D(bps)) == D(expected)


RATES = {
    "commission_rate": D("0.0003"),
    "min_commission": D("5"),
    "stamp_duty_rate": D("0.0005"),
    "transfer_fee_rate": D("0.00001"),
}


@pytest.mark.parametrize(
    ("side", "notional", "commission", "stamp", "transfer"),
    [
        # 100000 × 0.0003 = 30.00; × 0.00001 = 1.00
        (OrderSide.BUY, "100000.00", "30.00", "0.00", "1.00"),
        # sells add 0.0005 stamp duty: 50.00
        (OrderSide.SELL, "100000.00", "30.00", "50.00", "1.00"),
        # minimum commission: 10000 × 0.0003 = 3.00 -> 5.00
        (OrderSide.BUY, "10000.00", "5.00", "0.00", "0.10"),
        # exactly at the minimum: 16666.67 × 0.0003 = 5.000001 -> 5.00
        (OrderSide.BUY, "16666.67", "5.00", "0.00", "0.17"),
        # half-up: 25550 × 0.0003 = 7.665 -> 7.67; 0.2555 -> 0.26
        (OrderSide.BUY, "25550.00", "7.67", "0.00", "0.26"),
        # stamp 9990 × 0.0005 = 4.995 -> 5.00
        (OrderSide.SELL, "9990.00", "5.00", "5.00", "0.10"),
        # transfer 500 × 0.00001 = 0.005 -> 0.01
        (OrderSide.SELL, "500.00", "5.00", "0.25", "0.01"),
    ],
    ids=["buy_100k", "sell_100k", "min_commission", "at_min", "half_up", "stamp_half_up", "tiny"],
)
def test_compute_fees(
    side: OrderSide, notional: str, commission: str, stamp: str, transfer: str
) -> None:
    fees = compute_fees(side, D(notional), **RATES)
    assert (fees.commission, fees.stamp_duty, fees.transfer_fee) == (
        D(commission),
        D(stamp),
        D(transfer),
    )
    assert fees.total == D(commission) + D(stamp) + D(transfer)


@pytest.mark.parametrize(
    ("prev_shares", "prev_avg", "bought", "notional", "fees", "expected"),
    [
        # (0 + 100000 + 31) / 1000 = 100.031
        (0, "0", 1000, "100000.00", "31.00", "100.0310"),
        # (10005.10 + 12000 + 5.12) / 2000 = 11.00511 -> 11.0051
        (1000, "10.0051", 1000, "12000.00", "5.12", "11.0051"),
        # (0 + 1000 + 5.01) / 300 = 3.35003.. -> 3.3500
        (0, "0", 300, "1000.00", "5.01", "3.3500"),
        # half-up at the 4th decimal: (0 + 1000 + 5.15) / 200 = 5.02575 -> 5.0258
        (0, "0", 200, "1000.00", "5.15", "5.0258"),
    ],
    ids=["first_buy", "add_on", "round_down", "half_up"],
)
def test_new_avg_price(
    prev_shares: int, prev_avg: str, bought: int, notional: str, fees: str, expected: str
) -> None:
    assert new_avg_price(prev_shares, D(prev_avg), bought, D(notional), D(fees)) == D(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (125.5, D("125.5")),
        (0.1, D("0.1")),
        (899969.0, D("899969.0")),
        ("2.05", D("2.05")),
        (7, D("7")),
        (None, None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        ("abc", None),
        ([], None),
    ],
    ids=repr,
)
def test_to_decimal(raw: object, expected: Decimal | None) -> None:
    assert to_decimal(raw) == expected


def test_q2_is_half_up() -> None:
    assert q2(D("2.255")) == D("2.26")
    assert q2(D("2.245")) == D("2.25")
    assert q2(D("-0.005")) == D("-0.01")
