"""Broker.execute table: every row states the order, the state and the exact expected outcome.

Default rules (settings defaults): commission 0.0003 (min 5.00) both sides, stamp duty 0.0005 on
sells, transfer fee 0.00001 both sides, slippage 0 bps, single-stock cap 50%. Every fee is
rounded half-up to 0.01. D0 = 2025-11-03 (Mon), D1 = 2025-11-04, PREV = 2025-10-31 (Fri).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from agent_engine.broker import Broker, Holding, Order, OrderSide, Portfolio, Quote
from agent_engine.rules import Board, RejectReason, price_limits
from settings.config import RiskManagement, TradingRules

D = Decimal
D0 = date(2025, 11, 3)
D1 = date(2025, 11, 4)
PREV = date(2025, 10, 31)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
UNIVERSE = ["SH600000", "SZ000001", "SH688008", "SH688981", "SZ300750", "SH900901"]


def q(symbol: str, price: str | None, prev_close: str | None = None) -> Quote:
    """A quote; limits derived from prev_close and the board like the snapshot builder."""
    if prev_close is None:
        return Quote(symbol, D(price) if price else None)
    board = Board.STAR if symbol.startswith("SH68") else Board.MAIN
    if symbol.startswith("SZ30"):
        board = Board.CHINEXT
    down, up = price_limits(D(prev_close), board)
    return Quote(symbol, D(price) if price else None, D(prev_close), up, down)


def qv(symbol: str, price: str, volume: int) -> Quote:
    """A quote whose bar at the decision time traded `volume` shares (liquidity cap)."""
    return Quote(symbol, D(price), bar_volume=D(volume))


@dataclass
class Case:
    id: str
    order: tuple[Any, Any, Any]  # (symbol, side, quantity)
    quote: Quote | None
    cash: str = "1000000.00"
    holdings: dict[str, tuple[int, int, str, date]] = field(default_factory=dict)
    day: date = D0
    rules: dict[str, str] = field(default_factory=dict)
    cap: str = "0.5"
    # expected on a fill: (price, commission, stamp_duty, transfer_fee, cash_after)
    fill: tuple[str, str, str, str, str] | None = None
    # expected holding of the order's symbol after applying the fill (None = gone)
    after: tuple[int, int, str] | None = None
    # expected on a rejection
    reason: RejectReason | None = None
    says: tuple[str, ...] = ()
    used: int = 0  # shares already traded against the quote's bar


CASES = [
    # --- fills: buys -------------------------------------------------------------------------
    # 1000 × 10.00 = 10000.00; commission 3.00 < min -> 5.00; transfer 0.10; total 5.10;
    # cash 1000000 - 10005.10 = 989994.90; avg 10005.10 / 1000 = 10.0051
    Case(
        "buy_main_min_commission",
        ("SH600000", BUY, 1000),
        q("SH600000", "10.00"),
        fill=("10.00", "5.00", "0.00", "0.10", "989994.90"),
        after=(1000, 0, "10.0051"),
    ),
    # 1000 × 100.00 = 100000.00; commission 30.00; transfer 1.00; cash 1000000 - 100031.00
    # = 899969.00; avg 100031 / 1000 = 100.0310
    Case(
        "buy_star_1000",
        ("SH688008", BUY, 1000),
        q("SH688008", "100.00"),
        fill=("100.00", "30.00", "0.00", "1.00", "899969.00"),
        after=(1000, 0, "100.0310"),
    ),
    # STAR minimum: 200 × 100.00 = 20000.00; commission 6.00; transfer 0.20; cash 979993.80
    Case(
        "buy_star_exactly_200",
        ("SH688008", BUY, 200),
        q("SH688008", "100.00"),
        fill=("100.00", "6.00", "0.00", "0.20", "979993.80"),
        after=(200, 0, "100.0310"),
    ),
    # STAR step 1 above 200: 201 × 100.00 = 20100.00; commission 6.03; transfer 0.201 -> 0.20;
    # cash 1000000 - 20106.23 = 979893.77; avg 20106.23 / 201 = 100.03099.. -> 100.0310
    Case(
        "buy_star_201_step_one",
        ("SH688008", BUY, 201),
        q("SH688008", "100.00"),
        fill=("100.00", "6.03", "0.00", "0.20", "979893.77"),
        after=(201, 0, "100.0310"),
    ),
    # ChiNext lot of 100: 100 × 250.00 = 25000.00; commission 7.50; transfer 0.25;
    # cash 1000000 - 25007.75 = 974992.25; avg 250.0775
    Case(
        "buy_chinext_100",
        ("SZ300750", BUY, 100),
        q("SZ300750", "250.00"),
        fill=("250.00", "7.50", "0.00", "0.25", "974992.25"),
        after=(100, 0, "250.0775"),
    ),
    # 2300 × 11.11 = 25553.00; commission 7.6659 -> 7.67; transfer 0.25553 -> 0.26;
    # cash 1000000 - 25560.93 = 974439.07; avg 25560.93 / 2300 = 11.11344.. -> 11.1134
    Case(
        "buy_sz_main_fee_rounding",
        ("SZ000001", BUY, 2300),
        q("SZ000001", "11.11"),
        fill=("11.11", "7.67", "0.00", "0.26", "974439.07"),
        after=(2300, 0, "11.1134"),
    ),
    # Half-up, not banker's: 2500 × 10.22 = 25550.00; commission 7.665 -> 7.67 (not 7.66);
    # transfer 0.2555 -> 0.26; cash 1000000 - 25557.93 = 974442.07; avg 10.223172 -> 10.2232
    Case(
        "buy_commission_exact_half_rounds_up",
        ("SZ000001", BUY, 2500),
        q("SZ000001", "10.22"),
        fill=("10.22", "7.67", "0.00", "0.26", "974442.07"),
        after=(2500, 0, "10.2232"),
    ),
    # Slippage 10 bps on a buy: 10.00 × 1.001 = 10.01; 1000 × 10.01 = 10010.00; commission
    # 3.003 -> min 5.00; transfer 0.1001 -> 0.10; cash 1000000 - 10015.10 = 989984.90
    Case(
        "buy_slippage_10bps",
        ("SH600000", BUY, 1000),
        q("SH600000", "10.00"),
        rules={"slippage_bps": "10"},
        fill=("10.01", "5.00", "0.00", "0.10", "989984.90"),
        after=(1000, 0, "10.0151"),
    ),
    # Slippage rounding: 33.33 × 1.0005 = 33.346665 -> 33.35; 300 × 33.35 = 10005.00;
    # commission 3.0015 -> 5.00; transfer 0.10005 -> 0.10; cash 1000000 - 10010.10 = 989989.90
    Case(
        "buy_slippage_price_rounds_half_up",
        ("SH688981", BUY, 300),
        q("SH688981", "33.33"),
        rules={"slippage_bps": "5"},
        fill=("33.35", "5.00", "0.00", "0.10", "989989.90"),
        after=(300, 0, "33.3670"),
    ),
    # Slippage never prints outside the band: prev 10.10 -> limit-up 11.11; 11.10 × 1.01
    # = 11.211 -> 11.21 -> clamped to 11.11. 100 × 11.11 = 1111.00; commission 5.00; transfer
    # 0.01111 -> 0.01; cash 1000000 - 1116.01 = 998883.99; avg 11.1601
    Case(
        "buy_slippage_clamped_to_limit_up",
        ("SH600000", BUY, 100),
        q("SH600000", "11.10", "10.10"),
        rules={"slippage_bps": "100"},
        fill=("11.11", "5.00", "0.00", "0.01", "998883.99"),
        after=(100, 0, "11.1601"),
    ),
    # Limit rounding: prev 2.05 -> limit-up 2.255 -> 2.26 (float rounding would say 2.25), so a
    # buy at 2.25 is NOT at the limit. 1000 × 2.25 = 2250.00; commission 5.00; transfer 0.0225
    # -> 0.02; cash 1000000 - 2255.02 = 997744.98; avg 2.25502 -> 2.2550
    Case(
        "buy_2_25_below_limit_up_2_26",
        ("SH600000", BUY, 1000),
        q("SH600000", "2.25", "2.05"),
        fill=("2.25", "5.00", "0.00", "0.02", "997744.98"),
        after=(1000, 0, "2.2550"),
    ),
    # Buying at limit-down is allowed (only sells are blocked there): prev 2.05 -> 1.85.
    # 1000 × 1.85 = 1850.00; commission 5.00; transfer 0.0185 -> 0.02; cash 998144.98
    Case(
        "buy_at_limit_down_allowed",
        ("SH600000", BUY, 1000),
        q("SH600000", "1.85", "2.05"),
        fill=("1.85", "5.00", "0.00", "0.02", "998144.98"),
        after=(1000, 0, "1.8550"),
    ),
    # Add-on buy: held 1000 (bought PREV, all sellable) at avg 10.0051 (cost 10005.10).
    # 1000 × 12.00 = 12000.00; commission 3.60 -> 5.00; transfer 0.12; cash 500000 - 12005.12
    # = 487994.88; avg (10005.10 + 12005.12) / 2000 = 11.00511 -> 11.0051; the old 1000 stay
    # sellable, the new 1000 are locked until D1 (T+1).
    Case(
        "buy_addon_avg_and_t1",
        ("SH600000", BUY, 1000),
        q("SH600000", "12.00"),
        cash="500000.00",
        holdings={"SH600000": (1000, 1000, "10.0051", PREV)},
        fill=("12.00", "5.00", "0.00", "0.12", "487994.88"),
        after=(2000, 1000, "11.0051"),
    ),
    # Cash exactly enough (cap 100% so only cash binds): 10000.00 + 5.00 + 0.10 = 10005.10
    Case(
        "buy_cash_exactly_enough",
        ("SH600000", BUY, 1000),
        q("SH600000", "10.00"),
        cash="10005.10",
        cap="1",
        fill=("10.00", "5.00", "0.00", "0.10", "0.00"),
        after=(1000, 0, "10.0051"),
    ),
    # Cap boundary: 4999 × 100.00 = 499900.00; commission 149.97; transfer 4.999 -> 5.00;
    # cash 1000000 - 500054.97 = 499945.03; equity 499945.03 + 499900 = 999845.03;
    # 50% = 499922.515 >= 499900 -> allowed. avg 500054.97 / 4999 = 100.0310002 -> 100.0310
    Case(
        "buy_cap_boundary_4999_ok",
        ("SH688008", BUY, 4999),
        q("SH688008", "100.00"),
        fill=("100.00", "149.97", "0.00", "5.00", "499945.03"),
        after=(4999, 0, "100.0310"),
    ),
    # --- fills: sells ------------------------------------------------------------------------
    # 1000 × 110.00 = 110000.00; commission 33.00; stamp 55.00; transfer 1.10; total 89.10;
    # cash 899969.00 + 110000.00 - 89.10 = 1009879.90; position closed
    Case(
        "sell_star_all_stamp_duty",
        ("SH688008", SELL, 1000),
        q("SH688008", "110.00"),
        cash="899969.00",
        holdings={"SH688008": (1000, 1000, "100.0310", PREV)},
        fill=("110.00", "33.00", "55.00", "1.10", "1009879.90"),
        after=None,
    ),
    # 400 × 12.00 = 4800.00; commission 1.44 -> 5.00; stamp 2.40; transfer 0.048 -> 0.05;
    # cash 500000 + 4800 - 7.45 = 504792.55; avg unchanged by the sell
    Case(
        "sell_partial_avg_unchanged",
        ("SZ000001", SELL, 400),
        q("SZ000001", "12.00"),
        cash="500000.00",
        holdings={"SZ000001": (1000, 1000, "10.0051", PREV)},
        fill=("12.00", "5.00", "2.40", "0.05", "504792.55"),
        after=(600, 600, "10.0051"),
    ),
    # Sell slippage 10 bps: 10.00 × 0.999 = 9.99; 1000 × 9.99 = 9990.00; commission 2.997 ->
    # 5.00; stamp 4.995 -> 5.00 (half-up); transfer 0.0999 -> 0.10; cash 100000 + 9979.90
    Case(
        "sell_slippage_10bps",
        ("SH600000", SELL, 1000),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (1000, 1000, "9.5000", PREV)},
        rules={"slippage_bps": "10"},
        fill=("9.99", "5.00", "5.00", "0.10", "109979.90"),
        after=None,
    ),
    # Odd lot, whole holding: 1050 × 10.00 = 10500.00; commission 3.15 -> 5.00; stamp 5.25;
    # transfer 0.105 -> 0.11; cash 100000 + 10500 - 10.36 = 110489.64
    Case(
        "sell_main_whole_holding_with_odd_lot",
        ("SH600000", SELL, 1050),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (1050, 1050, "10.0000", PREV)},
        fill=("10.00", "5.00", "5.25", "0.11", "110489.64"),
        after=None,
    ),
    # Odd lot alone: 50 × 10.00 = 500.00; commission 5.00; stamp 0.25; transfer 0.005 -> 0.01;
    # cash 100000 + 500 - 5.26 = 100494.74; 1000 left
    Case(
        "sell_main_odd_lot_alone",
        ("SH600000", SELL, 50),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (1050, 1050, "10.0000", PREV)},
        fill=("10.00", "5.00", "0.25", "0.01", "100494.74"),
        after=(1000, 1000, "10.0000"),
    ),
    # Lot plus the whole odd lot: 150 × 10.00 = 1500.00; commission 5.00; stamp 0.75;
    # transfer 0.015 -> 0.02; cash 100000 + 1500 - 5.77 = 101494.23
    Case(
        "sell_main_lot_plus_odd_lot",
        ("SH600000", SELL, 150),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (1050, 1050, "10.0000", PREV)},
        fill=("10.00", "5.00", "0.75", "0.02", "101494.23"),
        after=(900, 900, "10.0000"),
    ),
    # Round lots may leave the odd lot: 1000 × 10.00 = 10000.00; commission 3.00 -> 5.00;
    # stamp 5.00; transfer 0.10; cash 100000 + 10000 - 10.10 = 109989.90; 50 left
    Case(
        "sell_main_round_lots_leave_odd",
        ("SH600000", SELL, 1000),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (1050, 1050, "10.0000", PREV)},
        fill=("10.00", "5.00", "5.00", "0.10", "109989.90"),
        after=(50, 50, "10.0000"),
    ),
    # STAR remainder below 200 sold whole: 150 × 100.00 = 15000.00; commission 4.50 -> 5.00;
    # stamp 7.50; transfer 0.15; cash 100000 + 15000 - 12.65 = 114987.35
    Case(
        "sell_star_whole_remainder_below_200",
        ("SH688008", SELL, 150),
        q("SH688008", "100.00"),
        cash="100000.00",
        holdings={"SH688008": (150, 150, "90.0000", PREV)},
        fill=("100.00", "5.00", "7.50", "0.15", "114987.35"),
        after=None,
    ),
    # STAR step 1: 201 × 100.00 = 20100.00; commission 6.03; stamp 10.05; transfer 0.201 ->
    # 0.20; cash 100000 + 20100 - 16.28 = 120083.72; 49 left
    Case(
        "sell_star_201_of_250",
        ("SH688008", SELL, 201),
        q("SH688008", "100.00"),
        cash="100000.00",
        holdings={"SH688008": (250, 250, "90.0000", PREV)},
        fill=("100.00", "6.03", "10.05", "0.20", "120083.72"),
        after=(49, 49, "90.0000"),
    ),
    # T+1: bought on D0 (sellable 0 in the record), sold on D1: all 1000 are sellable.
    # 100000.00; commission 30.00; stamp 50.00; transfer 1.00; cash 899969 + 99919 = 999888.00
    Case(
        "sell_next_day_t1_unlocked",
        ("SH688008", SELL, 1000),
        q("SH688008", "100.00"),
        cash="899969.00",
        holdings={"SH688008": (1000, 0, "100.0310", D0)},
        day=D1,
        fill=("100.00", "30.00", "50.00", "1.00", "999888.00"),
        after=None,
    ),
    # Add-on bought today: 2000 held, 1000 sellable (old). Selling the old 1000 today is fine:
    # 10000.00; commission 5.00; stamp 5.00; transfer 0.10; cash 100000 + 9989.90 = 109989.90
    Case(
        "sell_old_shares_same_day_as_addon",
        ("SH600000", SELL, 1000),
        q("SH600000", "10.00"),
        cash="100000.00",
        holdings={"SH600000": (2000, 1000, "10.0000", D0)},
        fill=("10.00", "5.00", "5.00", "0.10", "109989.90"),
        after=(1000, 0, "10.0000"),
    ),
    # Selling at limit-up is allowed: prev 2.05 -> limit-up 2.26. 1000 × 2.26 = 2260.00;
    # commission 5.00; stamp 1.13; transfer 0.0226 -> 0.02; cash 100000 + 2260 - 6.15
    Case(
        "sell_at_limit_up_allowed",
        ("SH600000", SELL, 1000),
        q("SH600000", "2.26", "2.05"),
        cash="100000.00",
        holdings={"SH600000": (1000, 1000, "2.0000", PREV)},
        fill=("2.26", "5.00", "1.13", "0.02", "102253.85"),
        after=None,
    ),
    # One fen above limit-down (1.85) sells: 1000 × 1.86 = 1860.00; commission 5.00; stamp
    # 0.93; transfer 0.0186 -> 0.02; cash 100000 + 1860 - 5.95 = 101854.05
    Case(
        "sell_one_fen_above_limit_down",
        ("SH600000", SELL, 1000),
        q("SH600000", "1.86", "2.05"),
        cash="100000.00",
        holdings={"SH600000": (1000, 1000, "2.0000", PREV)},
        fill=("1.86", "5.00", "0.93", "0.02", "101854.05"),
        after=None,
    ),
    # --- rejections --------------------------------------------------------------------------
    Case("reject_qty_zero", ("SH600000", BUY, 0), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_QUANTITY, says=("positive whole number", "0")),
    Case("reject_qty_negative", ("SH600000", BUY, -100), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_QUANTITY, says=("-100",)),
    Case("reject_qty_fractional", ("SH600000", BUY, 100.0), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_QUANTITY, says=("100.0",)),
    Case("reject_qty_bool", ("SH600000", BUY, True), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_QUANTITY, says=("True",)),
    Case("reject_qty_string", ("SH600000", BUY, "100"), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_QUANTITY, says=("'100'",)),
    Case("reject_main_buy_not_lot", ("SH600000", BUY, 150), q("SH600000", "10.00"),
         reason=RejectReason.LOT_SIZE, says=("multiple of 100", "150", "100 or 200")),
    Case("reject_chinext_buy_50", ("SZ300750", BUY, 50), q("SZ300750", "250.00"),
         reason=RejectReason.LOT_SIZE, says=("ChiNext", "50")),
    Case("reject_main_sell_splits_odd_lot", ("SH600000", SELL, 30), q("SH600000", "10.00"),
         holdings={"SH600000": (1050, 1050, "10.0000", PREV)},
         reason=RejectReason.LOT_SIZE, says=("odd lot of 50", "30")),
    Case("reject_main_sell_120_no_odd_lot", ("SH600000", SELL, 120), q("SH600000", "10.00"),
         holdings={"SH600000": (1000, 1000, "10.0000", PREV)},
         reason=RejectReason.LOT_SIZE, says=("multiple of 100", "120")),
    Case("reject_star_buy_150", ("SH688008", BUY, 150), q("SH688008", "100.00"),
         reason=RejectReason.BELOW_MINIMUM, says=("at least 200 shares", "you asked 150")),
    Case("reject_star_sell_100_of_1000", ("SH688008", SELL, 100), q("SH688008", "100.00"),
         holdings={"SH688008": (1000, 1000, "100.0000", PREV)},
         reason=RejectReason.BELOW_MINIMUM, says=("between 200 and 1000",)),
    Case("reject_star_sell_part_of_remainder", ("SH688008", SELL, 100), q("SH688008", "100.00"),
         holdings={"SH688008": (150, 150, "100.0000", PREV)},
         reason=RejectReason.BELOW_MINIMUM, says=("sell all 150",)),
    # holding exactly 200: the only valid sell is all 200 (not "between 200 and 200")
    Case("reject_star_sell_199_of_200", ("SH688008", SELL, 199), q("SH688008", "100.00"),
         holdings={"SH688008": (200, 200, "100.0000", PREV)},
         reason=RejectReason.BELOW_MINIMUM,
         says=("you asked 199. You hold exactly 200, so sell all 200 at once.",)),
    # 1e30 shares: used to raise decimal.InvalidOperation computing the notional
    Case("reject_qty_1e30", ("SH688008", BUY, 10**30), q("SH688008", "100.00"),
         reason=RejectReason.INVALID_QUANTITY,
         says=("at most 1,000,000,000 shares; you sent a number of more than 18 digits",)),
    Case("reject_sell_qty_above_max", ("SH688008", SELL, 10**9 + 1), q("SH688008", "100.00"),
         holdings={"SH688008": (200, 200, "100.0000", PREV)},
         reason=RejectReason.INVALID_QUANTITY, says=("you sent 1,000,000,001",)),
    Case("reject_t1_same_day", ("SH688008", SELL, 1000), q("SH688008", "100.00"),
         holdings={"SH688008": (1000, 0, "100.0310", D0)},
         reason=RejectReason.INSUFFICIENT_SELLABLE, says=("only 0", "T+1", "2025-11-03")),
    Case("reject_t1_addon_shares", ("SH600000", SELL, 2000), q("SH600000", "10.00"),
         holdings={"SH600000": (2000, 1000, "10.0000", D0)},
         reason=RejectReason.INSUFFICIENT_SELLABLE, says=("only 1000 of your 2000",)),
    Case("reject_sell_more_than_held", ("SH600000", SELL, 1100), q("SH600000", "10.00"),
         holdings={"SH600000": (1000, 1000, "10.0000", PREV)},
         reason=RejectReason.INSUFFICIENT_SELLABLE, says=("1100", "1000")),
    # 10000.00 + 5.00 + 0.10 = 10005.10 needed, 10005.09 available: one fen short
    Case("reject_cash_one_fen_short", ("SH600000", BUY, 1000), q("SH600000", "10.00"),
         cash="10005.09", cap="1",
         reason=RejectReason.INSUFFICIENT_CASH, says=("10,005.10", "10,005.09", "900 shares")),
    # prev 2.05 -> limit-up 2.26 (2.255 rounded half-up)
    Case("reject_buy_at_limit_up_2_26", ("SH600000", BUY, 1000), q("SH600000", "2.26", "2.05"),
         reason=RejectReason.LIMIT_UP, says=("limit-up price 2.26",)),
    # STAR +20%: prev 100.00 -> 120.00
    Case("reject_star_buy_at_limit_up", ("SH688008", BUY, 200), q("SH688008", "120.00", "100.00"),
         reason=RejectReason.LIMIT_UP, says=("120.00",)),
    # prev 2.05 -> limit-down 1.845 -> 1.85
    Case("reject_sell_at_limit_down_1_85", ("SH600000", SELL, 1000),
         q("SH600000", "1.85", "2.05"),
         holdings={"SH600000": (1000, 1000, "2.0000", PREV)},
         reason=RejectReason.LIMIT_DOWN, says=("limit-down price 1.85",)),
    # 5000 × 100.00 = 500000.00; fees 150.00 + 5.00; equity 999845.00; 50% = 499922.50 < 500000
    Case("reject_cap_5000", ("SH688008", BUY, 5000), q("SH688008", "100.00"),
         reason=RejectReason.POSITION_CAP, says=("most you can buy now is 4999", "50%")),
    # Already 600 × 1000.00 = 600000 of equity 1000000 (60%): no further buy fits
    Case("reject_cap_already_over", ("SH688008", BUY, 200), q("SH688008", "1000.00"),
         cash="400000.00", holdings={"SH688008": (600, 600, "900.0000", PREV)},
         reason=RejectReason.POSITION_CAP, says=("cannot buy any",)),
    Case("reject_unknown_symbol", ("SH600519", BUY, 100), q("SH600519", "1500.00"),
         reason=RejectReason.UNKNOWN_SYMBOL, says=("'SH600519'", "SH688008")),
    Case("reject_lowercase_symbol", ("sh688008", BUY, 200), q("SH688008", "100.00"),
         reason=RejectReason.UNKNOWN_SYMBOL, says=("'sh688008'",)),
    Case("reject_b_share_no_board", ("SH900901", BUY, 100), q("SH900901", "1.00"),
         reason=RejectReason.UNKNOWN_SYMBOL),
    Case("reject_symbol_not_text", (["SH600000"], BUY, 100), q("SH600000", "10.00"),
         reason=RejectReason.UNKNOWN_SYMBOL),
    Case("reject_zero_price_is_no_trade", ("SH600000", BUY, 100), q("SH600000", "0.00"),
         reason=RejectReason.SUSPENDED),
    Case("reject_suspended_no_price", ("SH688008", BUY, 200), q("SH688008", None),
         reason=RejectReason.SUSPENDED, says=("no price",)),
    Case("reject_missing_from_snapshot", ("SH688008", BUY, 200), None,
         reason=RejectReason.SUSPENDED),
    Case("reject_sell_without_position", ("SH600000", SELL, 100), q("SH600000", "10.00"),
         reason=RejectReason.NO_POSITION, says=("hold no SH600000",)),
    Case("reject_invalid_action", ("SH600000", "SHORT", 100), q("SH600000", "10.00"),
         reason=RejectReason.INVALID_ACTION, says=("BUY or SELL", "'SHORT'")),
    # --- liquidity (default max_volume_participation 0.1) ------------------------------------
    # bar 42350 -> 4235 allowed -> 4200 (lot) of 5000: 42000.00; commission 12.60; transfer
    # 0.42; cash 1000000 - 42013.02 = 957986.98; avg 42013.02 / 4200 = 10.0031
    Case("buy_liquidity_partial_main", ("SH600000", BUY, 5000), qv("SH600000", "10.00", 42350),
         fill=("10.00", "12.60", "0.00", "0.42", "957986.98"), after=(4200, 0, "10.0031"),
         says=("Partially filled: 4200 of the 5000", "at most 4235 more", "800 of your 5000")),
    # STAR: 2345 -> 234 (any whole number from 200): 23400.00; commission 7.02; transfer 0.23;
    # cash 976592.75; avg 23407.25 / 234 = 100.0310
    Case("buy_liquidity_partial_star", ("SH688008", BUY, 1000), qv("SH688008", "100.00", 2345),
         fill=("100.00", "7.02", "0.00", "0.23", "976592.75"), after=(234, 0, "100.0310")),
    # earlier fills against the same bar count: 42350 -> 4235 - 4000 used = 235 -> 200
    Case("sell_liquidity_after_earlier_fills", ("SH600000", SELL, 1000),
         qv("SH600000", "10.00", 42350), used=4000,
         holdings={"SH600000": (1000, 1000, "9.00", PREV)},
         fill=("10.00", "5.00", "1.00", "0.02", "1001993.98"), after=(800, 800, "9.00"),
         says=("Partially filled: 200 of the 1000",)),
    Case("reject_liquidity_below_a_lot", ("SH600000", SELL, 100), qv("SH600000", "10.00", 990),
         holdings={"SH600000": (100, 100, "9.00", PREV)},
         reason=RejectReason.LIQUIDITY, says=("traded 990 shares", "at most 99 more")),
    Case("reject_liquidity_star_below_200", ("SH688008", BUY, 200),
         qv("SH688008", "100.00", 1999), reason=RejectReason.LIQUIDITY),
    Case("reject_liquidity_zero_volume", ("SH688008", BUY, 200), qv("SH688008", "100.00", 0),
         reason=RejectReason.LIQUIDITY, says=("traded 0 shares",)),
    # the whole order fits: no cut (10 % of 20000 = 2000 >= 2000)
    Case("buy_liquidity_exactly_fits", ("SH600000", BUY, 2000), qv("SH600000", "10.00", 20000),
         fill=("10.00", "6.00", "0.00", "0.20", "979993.80"), after=(2000, 0, "10.0031")),
    # participation 1: the whole bar
    Case("buy_liquidity_participation_one", ("SH600000", BUY, 1000),
         qv("SH600000", "10.00", 1000), rules={"max_volume_participation": "1"},
         fill=("10.00", "5.00", "0.00", "0.10", "989994.90"), after=(1000, 0, "10.0051")),
    # the lot rule is judged on the order asked, before the cut
    Case("reject_lot_before_liquidity", ("SH600000", BUY, 150), qv("SH600000", "10.00", 500),
         reason=RejectReason.LOT_SIZE),
]  # fmt: skip


def build(case: Case) -> tuple[Broker, Portfolio, dict[str, Quote]]:
    rules = TradingRules(**{k: D(v) for k, v in case.rules.items()})
    broker = Broker(rules, RiskManagement(single_stock_max_position=D(case.cap)), UNIVERSE)
    holdings = {
        sym: Holding(shares, sellable, D(avg), bought)
        for sym, (shares, sellable, avg, bought) in case.holdings.items()
    }
    portfolio = Portfolio(cash=D(case.cash), holdings=holdings, last_trade_date=case.day)
    quotes = {case.quote.symbol: case.quote} if case.quote else {}
    return broker, portfolio, quotes


def test_table_has_enough_rows_and_every_reason() -> None:
    assert len(CASES) >= 30
    assert {c.reason for c in CASES if c.reason} == set(RejectReason)
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_execute(case: Case) -> None:
    # Arrange
    broker, portfolio, quotes = build(case)
    symbol, side, quantity = case.order
    before = portfolio.to_record()
    # Act
    result = broker.execute(
        portfolio, Order(symbol, side, quantity), quotes, case.day, volume_used=case.used
    )
    # Assert: execute never mutates
    assert portfolio.to_record() == before
    if case.reason is not None:
        assert not result.ok
        assert result.fill is None
        assert result.reason is case.reason
        for text in case.says:
            assert text in result.message, result.message
        return
    assert result.ok, result.message
    assert result.reason is None
    fill = result.fill
    assert fill is not None
    price, commission, stamp, transfer, cash_after = case.fill  # type: ignore[misc]
    assert (fill.price, fill.commission, fill.stamp_duty, fill.transfer_fee) == (
        D(price),
        D(commission),
        D(stamp),
        D(transfer),
    )
    assert fill.notional == fill.price * fill.quantity
    assert fill.trade_date == case.day
    portfolio.apply(fill)
    assert portfolio.cash == D(cash_after)
    assert portfolio.cash >= 0
    held = portfolio.holdings.get(symbol)
    if case.after is None:
        assert held is None
    else:
        assert held is not None
        assert (held.shares, held.sellable, held.avg_price) == (
            case.after[0],
            case.after[1],
            D(case.after[2]),
        )
        if side is BUY:
            assert held.purchase_date == case.day
    assert cash_after in result.message.replace(",", "")
    for text in case.says:
        assert text in result.message, result.message
