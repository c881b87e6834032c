"""Resting orders: matching against hourly bars (OHLC and close-only), fill-time rules, the
liquidity cap, expiry, cancel, the tools, and a resume that rebuilds the book from the ledger."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_engine.broker import Broker
from agent_engine.ledger import Ledger, WindowRef
from agent_engine.llm.base import ToolCall
from agent_engine.order_settle import settle_before
from agent_engine.order_tools import WindowOrders
from agent_engine.orders import OrderState
from agent_engine.resting_orders import OrderBook, OrderDesk, RestingOrder, trigger_price
from agent_engine.rules import OrderSide
from agent_engine.tools import ToolBox
from data_flow.clock import SHANGHAI
from settings.config import RiskManagement, TradingRules

SYM = "SH600000"
D1, D2, D3 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
DAYS = [D1, D2, D3]
HOURS = ((10, 30), (11, 30), (14, 0), (15, 0))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def bar(day: date, hm: tuple[int, int], close: str, **extra: str | int) -> dict[str, Any]:
    out: dict[str, Any] = {"time": at(day, *hm).strftime("%Y-%m-%d %H:%M:%S"), "close": close}
    out["volume"] = extra.pop("volume", 1_000_000)
    out.update(extra)
    return out


def snapshot(bars: list[dict[str, Any]], price: str = "10.00") -> dict[str, Any]:
    row = {"current_price": price, "prev_close": "10.00", "recent_bars": bars}
    return {"market_data": {SYM: row}}


def make_desk(
    tmp_path: Path, participation: str | None = None, cash: int = 1_000_000
) -> tuple[Ledger, OrderDesk]:
    ledger = Ledger(tmp_path / "position.jsonl", cash, D1)
    broker = Broker(TradingRules(), RiskManagement(single_stock_max_position=Decimal(1)), [SYM])
    part = Decimal(participation) if participation else None
    return ledger, OrderDesk(OrderBook(), ledger, broker, DAYS, part)


def order(side: str, kind: str, price: str, qty: int = 1000, days: int = 1) -> RestingOrder:
    placed = at(D1, 10, 30)
    return RestingOrder(
        order_id=f"o-{kind}-{side}",
        symbol=SYM,
        side=OrderSide(side),
        order_type=kind,
        quantity=qty,
        price=Decimal(price),
        placed_at=placed,
        valid_days=days,
        expires_on=DAYS[days - 1],
        tool_call_id=f"call-{kind}-{side}",
    )


def holding(ledger: Ledger, desk: OrderDesk, qty: int = 1000) -> None:
    """Buy `qty` at 10.00 on D1 at 09:30 by hand (so they are sellable from D2)."""
    buy = order("BUY", "limit", "10.00", qty)
    buy.placed_at = at(D1, 9, 30)
    desk.place(buy, WindowRef.at(at(D1, 9, 30), 1), None)
    desk.process(snapshot([bar(D1, (10, 30), "10.00")]), None, WindowRef.at(at(D1, 10, 30), 1),
                 ledger.portfolio, at(D1, 10, 30))  # fmt: skip


def ohlc_day(day: date, rows: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    return [
        bar(day, hm, c, open=o, high=h, low=lo)
        for hm, (o, h, lo, c) in zip(HOURS, rows, strict=True)
    ]


# --- matching rules (table) ------------------------------------------------------------------
@pytest.mark.parametrize(
    "side,kind,price,bar_fields,expected",
    [
        # OHLC bars: crossing fills at the order price; a gap through fills at the open
        ("SELL", "stop_loss", "9.50", {"open": "9.80", "high": "9.90", "low": "9.40"}, "9.50"),
        ("SELL", "stop_loss", "9.50", {"open": "9.20", "high": "9.30", "low": "9.10"}, "9.20"),
        ("SELL", "stop_loss", "9.50", {"open": "9.80", "high": "9.90", "low": "9.51"}, None),
        ("SELL", "take_profit", "10.50", {"open": "10.1", "high": "10.6", "low": "10"}, "10.50"),
        ("SELL", "take_profit", "10.50", {"open": "10.8", "high": "10.9", "low": "10.7"}, "10.8"),
        ("SELL", "limit", "10.50", {"open": "10.1", "high": "10.49", "low": "10"}, None),
        ("BUY", "limit", "9.50", {"open": "9.80", "high": "9.90", "low": "9.50"}, "9.50"),
        ("BUY", "limit", "9.50", {"open": "9.30", "high": "9.40", "low": "9.20"}, "9.30"),
        ("BUY", "limit", "9.50", {"open": "9.80", "high": "9.90", "low": "9.60"}, None),
        # close-only bars: the close decides and is the fill price
        ("SELL", "stop_loss", "9.50", {"close": "9.45"}, "9.45"),
        ("SELL", "stop_loss", "9.50", {"close": "9.55"}, None),
        ("SELL", "take_profit", "10.50", {"close": "10.52"}, "10.52"),
        ("BUY", "limit", "9.50", {"close": "9.50"}, "9.50"),
        ("BUY", "limit", "9.50", {"close": "9.51"}, None),
    ],
)
def test_trigger_price_table(
    side: str, kind: str, price: str, bar_fields: dict[str, str], expected: str | None
) -> None:
    b = {"time": "2025-11-03 11:30:00", "close": "9.70", **bar_fields}
    got = trigger_price(order(side, kind, price), b)
    assert got == (None if expected is None else Decimal(expected))


# --- the stop-loss placed at 10:30 fills on the first later crossing bar ----------------------
@pytest.mark.parametrize(
    "crossing,close_only",
    [((11, 30), False), ((14, 0), False), ((15, 0), False), ((11, 30), True), ((15, 0), True)],
)
def test_stop_loss_fills_on_exactly_the_first_later_crossing_bar(
    tmp_path: Path, crossing: tuple[int, int], close_only: bool
) -> None:
    ledger, desk = make_desk(tmp_path)
    holding(ledger, desk)
    # D2: sellable now (T+1). The 10:30 bar crosses too, but the order is placed at 10:30.
    stop = order("SELL", "stop_loss", "9.50")
    stop.placed_at, stop.expires_on = at(D2, 10, 30), D2
    ledger.portfolio.roll_to(D2)
    desk.place(stop, WindowRef.at(at(D2, 10, 30), 1), "h")
    bars = []
    for hm in HOURS:
        low = "9.40" if hm == crossing or hm == (10, 30) else "9.60"
        fields = {} if close_only else {"open": "9.80", "high": "9.90", "low": low}
        close = "9.45" if close_only and (hm == crossing or hm == (10, 30)) else "9.70"
        bars.append(bar(D2, hm, close, **fields))
    # the windows at 14:00 and the close of D2: matched in two steps, no look-ahead
    snap_14 = snapshot([b for b in bars if b["time"] <= "2025-11-04 14:00:00"])
    desk.process(snap_14, "h14", WindowRef.at(at(D2, 14), 3), ledger.portfolio, at(D2, 14))
    desk.process(snapshot(bars), "h15", WindowRef.at(at(D2, 15), 0), ledger.portfolio, at(D2, 15))
    fills = [r for r in ledger.records() if r.get("order", {}).get("order_id") == stop.order_id]
    assert len(fills) == 1
    rec = fills[0]
    price = 9.45 if close_only else 9.5
    assert rec["this_action"]["action"] == "SELL" and rec["this_action"]["price"] == price
    assert rec["order"] == {
        "order_id": stop.order_id,
        "state": "filled",
        "filled": 1000,
        "remaining": 0,
        "bar_time": at(D2, *crossing).strftime("%Y-%m-%d %H:%M:%S"),
    }
    assert rec["window_id"] == ("2025-11-04T14:00" if crossing != (15, 0) else "2025-11-04T15:00")
    assert desk.book.orders[stop.order_id].state is OrderState.FILLED
    assert ledger.window_records("2025-11-04T14:00") == []  # not the window's decision


def test_no_bar_after_now_is_used(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path)
    desk.place(order("BUY", "limit", "9.50"), WindowRef.at(at(D1, 10, 30), 1), None)
    later = bar(D1, (14, 0), "9.00", open="9.0", high="9.1", low="8.9")
    desk.process(snapshot([later]), None, WindowRef.at(at(D1, 11, 30), 2), ledger.portfolio,
                 at(D1, 11, 30))  # fmt: skip
    assert ledger.portfolio.shares(SYM) == 0


# --- fill-time rules ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case,reason,fragment",
    [
        ("t_plus_1", "insufficient_sellable", "only 0 of your 1000 shares are sellable"),
        ("cash", "insufficient_cash", "but cash is 5,000.00"),
        ("limit_up", "limit_up", "is at its limit-up price 11.00"),
        ("no_position", "no_position", "You hold no SH600000"),
        ("lot", "lot_size", "Main board sells must be a multiple of 100"),
    ],
)
def test_fill_time_rejection(tmp_path: Path, case: str, reason: str, fragment: str) -> None:
    ledger, desk = make_desk(tmp_path, cash=5_000 if case == "cash" else 1_000_000)
    if case == "t_plus_1":
        holding(ledger, desk)  # bought on D1: not sellable on D1
        o = order("SELL", "take_profit", "10.50")
        b = bar(D1, (11, 30), "10.6", open="10.4", high="10.7", low="10.3")
    elif case == "cash":
        o = order("BUY", "limit", "9.50")
        b = bar(D1, (11, 30), "9.4", open="9.6", high="9.7", low="9.4")
    elif case == "limit_up":
        o = order("BUY", "limit", "11.00")
        b = bar(D1, (11, 30), "11.0", open="11.0", high="11.0", low="11.0")
    elif case == "no_position":
        o = order("SELL", "limit", "10.50", qty=100)
        b = bar(D1, (11, 30), "10.6", open="10.4", high="10.7", low="10.3")
    else:
        holding(ledger, desk)
        ledger.portfolio.roll_to(D2)
        o = order("SELL", "limit", "10.50", qty=150)
        o.placed_at = at(D2, 10, 30)
        o.expires_on = D2
        b = bar(D2, (11, 30), "10.6", open="10.4", high="10.7", low="10.3")
    desk.place(o, WindowRef.at(o.placed_at, 1), None)
    now = at(o.placed_at.date(), 14)
    desk.process(snapshot([b]), None, WindowRef.at(now, 3), ledger.portfolio, now)
    last = ledger.last_record()["this_action"]
    assert (last["action"], last["state"], last["reason"]) == ("order", "rejected", reason)
    assert fragment in last["message"]
    assert last["bar_time"] == b["time"]
    assert desk.book.orders[o.order_id].state is OrderState.REJECTED


# --- liquidity ------------------------------------------------------------------------------
def test_liquidity_cap_partial_fill_then_remainder_on_later_bars(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path, participation="0.1")
    o = order("BUY", "limit", "9.50", qty=1000)
    desk.place(o, WindowRef.at(at(D1, 10, 30), 1), None)
    bars = [
        bar(D1, (11, 30), "9.4", open="9.5", high="9.6", low="9.4", volume=4_560),  # 456 → 400
        bar(D1, (14, 0), "9.4", open="9.5", high="9.6", low="9.4", volume=0),  # nothing
        bar(D1, (15, 0), "9.4", open="9.5", high="9.6", low="9.4", volume=100_000),
    ]
    desk.process(snapshot(bars), None, WindowRef.at(at(D1, 15), 0), ledger.portfolio, at(D1, 15))
    fills = [r for r in ledger.records() if "order" in r]
    assert [(r["this_action"]["amount"], r["order"]["state"], r["order"]["remaining"])
            for r in fills] == [(400, "partially_filled", 600), (600, "filled", 0)]  # fmt: skip
    assert ledger.portfolio.shares(SYM) == 1000


def test_liquidity_remainder_expires_when_no_more_volume(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path, participation="0.1")
    o = order("BUY", "limit", "9.50", qty=1000)
    desk.place(o, WindowRef.at(at(D1, 10, 30), 1), None)
    b = bar(D1, (11, 30), "9.4", open="9.5", high="9.6", low="9.4", volume=2_000)
    desk.process(snapshot([b]), None, WindowRef.at(at(D1, 15), 0), ledger.portfolio, at(D1, 15))
    states = [r.get("order", r["this_action"]).get("state") for r in ledger.records()[1:]]
    assert states == ["working", "partially_filled", "expired"]
    assert ledger.last_record()["this_action"]["remaining"] == 800


# --- expiry, cancel, tools ------------------------------------------------------------------------
def test_expiry_after_valid_days(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path)
    o = order("BUY", "limit", "9.00", days=2)
    assert desk.expiry_for(D1, 2) == D2 and desk.expiry_for(D3, 5) == D3
    desk.place(o, WindowRef.at(at(D1, 10, 30), 1), None)
    flat = [bar(D2, hm, "10.0", open="10", high="10.1", low="9.9") for hm in HOURS]
    desk.process(snapshot(flat[:3]), None, WindowRef.at(at(D2, 14), 3), ledger.portfolio,
                 at(D2, 14))  # fmt: skip
    assert desk.book.orders[o.order_id].state is OrderState.WORKING
    desk.process(snapshot(flat), None, WindowRef.at(at(D2, 15), 0), ledger.portfolio, at(D2, 15))
    assert ledger.last_record()["this_action"]["state"] == "expired"
    assert ledger.last_record()["window_id"] == "2025-11-04T15:00"


def _box(ledger: Ledger, desk: OrderDesk, moment: datetime) -> ToolBox:
    ref = WindowRef.at(moment, 1)
    return ToolBox(
        snapshot=snapshot([]),
        portfolio=ledger.portfolio,
        broker=desk.broker,
        universe=[SYM],
        moment=moment,
        quotes={},
        position_cap=Decimal(1),
        news_lookback_hours=24,
        record_fill=lambda fill: {},
        orders=WindowOrders(desk, ref, ref.window_id, moment, "h"),
    )


def test_tools_place_get_cancel_and_idempotent_place(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path)
    box = _box(ledger, desk, at(D1, 10, 30))
    args = '{"symbol": "600000", "action": "buy", "quantity": 200, "order_type": "limit", ' \
           '"price": 9.5, "valid_days": 2}'  # fmt: skip
    out = box.run(ToolCall("c1", "place_order", args))
    assert out.ok and json.loads(out.result)["order"]["order_id"] == "2025-11-03T10:30/c1"
    again = box.run(ToolCall("c1", "place_order", args))  # a resumed call: no second order
    assert json.loads(again.result) == json.loads(out.result)
    assert len(desk.book.orders) == 1
    bad = box.run(ToolCall("c2", "place_order", args.replace('"limit"', '"stop_loss"')))
    assert (bad.ok, bad.error_kind) == (False, "invalid_arguments")
    assert "use action SELL" in json.loads(bad.result)["message"]
    listed = json.loads(box.run(ToolCall("c3", "get_orders", "{}")).result)
    assert listed["working"] == 1 and listed["orders"][0]["expires_on"] == "2025-11-04"
    out = box.run(ToolCall("c4", "cancel_order", '{"order_id": "2025-11-03T10:30/c1"}'))
    assert out.ok and json.loads(out.result)["order"]["state"] == "cancelled"
    again = box.run(ToolCall("c5", "cancel_order", '{"order_id": "2025-11-03T10:30/c1"}'))
    assert (again.ok, again.error_kind) == (False, "unknown_order")
    assert "already cancelled" in json.loads(again.result)["message"]
    states = [r["this_action"]["state"] for r in ledger.records()[1:]]
    assert states == ["working", "cancelled"]


def test_order_tools_without_a_book_are_refused() -> None:
    from agent_engine.portfolio import Portfolio

    box = ToolBox(snapshot={}, portfolio=Portfolio(Decimal(1000)), broker=None,  # type: ignore[arg-type]
                  universe=[SYM], moment=at(D1, 10, 30), quotes={}, position_cap=Decimal(1),
                  news_lookback_hours=1, record_fill=lambda f: {})  # fmt: skip
    out = box.run(ToolCall("c1", "get_orders", "{}"))
    assert (out.ok, out.error_kind) == (False, "no_order_book")


# --- resume: the book is rebuilt from the ledger, each order exactly once ------------------------
def test_resume_rebuilds_the_book_and_fills_each_order_once(tmp_path: Path) -> None:
    ledger, desk = make_desk(tmp_path, participation="0.1")
    o = order("BUY", "limit", "9.50", qty=1000, days=2)
    desk.place(o, WindowRef.at(at(D1, 10, 30), 1), None)
    bars = [
        bar(D1, (11, 30), "9.4", open="9.5", high="9.6", low="9.4", volume=3_000),
        bar(D1, (14, 0), "9.8", open="9.8", high="9.9", low="9.7", volume=100_000),
    ]
    desk.process(snapshot(bars), None, WindowRef.at(at(D1, 14), 3), ledger.portfolio, at(D1, 14))
    ledger.close()  # killed here; a new process opens the ledger and rebuilds the book
    ledger2 = Ledger(tmp_path / "position.jsonl", 1_000_000, D1)
    book = OrderBook.from_records(ledger2.records())
    assert [(x.order_id, x.state, x.filled) for x in book.orders.values()] == [
        (o.order_id, OrderState.PARTIALLY_FILLED, 300)
    ]
    desk2 = OrderDesk(book, ledger2, desk.broker, DAYS, Decimal("0.1"))

    def snapshot_at(moment: datetime) -> tuple[dict[str, Any], str]:
        close_bar = bar(D1, (15, 0), "9.4", open="9.5", high="9.6", low="9.4", volume=100_000)
        return snapshot([*bars, close_bar]), "close"

    # the 11:30 bar is seen again but already used: only the 15:00 bar fills the rest
    settle_before(desk2, ledger2.portfolio, at(D2, 10, 30), snapshot_at, None)
    fills = [r["order"] for r in ledger2.records() if "order" in r]
    assert [(f["filled"], f["bar_time"][11:16]) for f in fills] == [(300, "11:30"), (1000, "15:00")]
    assert ledger2.portfolio.shares(SYM) == 1000
    ledger2.close()


# --- OCO: a stop-loss / take-profit pair, the first fill cancels the other ----------------------
def _exit_plan(tmp_path: Path) -> tuple[Ledger, OrderDesk, ToolBox]:
    ledger, desk = make_desk(tmp_path)
    holding(ledger, desk, 1000)  # sellable from D2
    box = _box(ledger, desk, at(D2, 10, 30))
    stop = '{"symbol": "SH600000", "action": "SELL", "quantity": 1000, "order_type": ' \
           '"stop_loss", "price": 9.5, "valid_days": 2}'  # fmt: skip
    assert box.run(ToolCall("s", "place_order", stop)).ok
    take = stop.replace('"stop_loss", "price": 9.5', '"take_profit", "price": 10.5')
    take = take.rstrip("}") + ', "oco_with": "2025-11-04T10:30/s"}'
    out = box.run(ToolCall("t", "place_order", take))
    assert out.ok, out.result
    assert json.loads(out.result)["order"]["oco_with"] == "2025-11-04T10:30/s"
    return ledger, desk, box


@pytest.mark.parametrize(
    "bars,filled,cancelled,price",
    [
        # the take-profit fills at 11:30; the stop-loss is cancelled, never filled later
        ([("11:30", "10.60"), ("14:00", "9.00")], "2025-11-04T10:30/t", "2025-11-04T10:30/s",
         "10.60"),
        # the stop-loss fills at 14:00
        ([("11:30", "10.00"), ("14:00", "9.40")], "2025-11-04T10:30/s", "2025-11-04T10:30/t",
         "9.40"),
    ],
)  # fmt: skip
def test_oco_first_fill_cancels_the_other(
    tmp_path: Path, bars: list[tuple[str, str]], filled: str, cancelled: str, price: str
) -> None:
    ledger, desk, _ = _exit_plan(tmp_path)
    day_bars = [bar(D2, (int(t[:2]), int(t[3:])), c) for t, c in bars]
    # Act
    desk.process(snapshot(day_bars), None, WindowRef.at(at(D2, 14), 3), ledger.portfolio,
                 at(D2, 14))  # fmt: skip
    # Assert
    orders = desk.book.orders
    assert (orders[filled].state, orders[cancelled].state) == (
        OrderState.FILLED,
        OrderState.CANCELLED,
    )
    sells = [r for r in ledger.records() if r["this_action"]["action"] == "SELL"]
    assert [(s["this_action"]["amount"], s["this_action"]["price"]) for s in sells] == [
        (1000, float(price))
    ]
    last = ledger.records()[-1]["this_action"]
    assert (last["order_id"], last["state"], last["reason"]) == (cancelled, "cancelled", "oco")
    assert last["message"] == f"its OCO partner {filled} filled"
    assert ledger.portfolio.shares(SYM) == 0


def test_oco_both_triggered_by_one_bar_take_the_stop_loss(tmp_path: Path) -> None:
    ledger, desk, _ = _exit_plan(tmp_path)
    wide = bar(D2, (11, 30), "10.00", open="10.00", high="10.60", low="9.40")
    desk.process(snapshot([wide]), None, WindowRef.at(at(D2, 11, 30), 2), ledger.portfolio,
                 at(D2, 11, 30))  # fmt: skip
    sell = next(r for r in ledger.records() if r["this_action"]["action"] == "SELL")
    assert (sell["order"]["order_id"], sell["this_action"]["price"]) == ("2025-11-04T10:30/s", 9.5)
    assert desk.book.orders["2025-11-04T10:30/t"].state is OrderState.CANCELLED


def test_oco_cancel_cut_off_by_a_crash_is_made_at_the_next_matching(tmp_path: Path) -> None:
    ledger, desk, _ = _exit_plan(tmp_path)
    # the stop-loss fill is recorded; the process dies before the partner's cancellation
    take = desk.book.orders["2025-11-04T10:30/t"]
    desk._cancel_oco_partners_of_filled = lambda *a: []  # type: ignore[method-assign]
    desk.process(snapshot([bar(D2, (11, 30), "9.40")]), None, WindowRef.at(at(D2, 11, 30), 2),
                 ledger.portfolio, at(D2, 11, 30))  # fmt: skip
    assert take.state is OrderState.WORKING
    ledger.close()
    ledger2 = Ledger(tmp_path / "position.jsonl", 1_000_000, D1)
    book = OrderBook.from_records(ledger2.records())
    assert book.oco_partner(book.orders["2025-11-04T10:30/t"]).order_id == "2025-11-04T10:30/s"
    desk2 = OrderDesk(book, ledger2, desk.broker, DAYS, None)
    # Act: the next matching (a bar that would fill the take-profit)
    desk2.process(snapshot([bar(D2, (11, 30), "9.40"), bar(D2, (14, 0), "10.80")]), None,
                  WindowRef.at(at(D2, 14), 3), ledger2.portfolio, at(D2, 14))  # fmt: skip
    # Assert: cancelled first, never filled; one SELL in all
    assert book.orders["2025-11-04T10:30/t"].state is OrderState.CANCELLED
    assert [r["this_action"]["action"] for r in ledger2.records()].count("SELL") == 1
    ledger2.close()


@pytest.mark.parametrize(
    "change,message",
    [
        ('"oco_with": "nope"', "oco_with: order 'nope' is unknown"),
        ('"symbol": "SH600001", "oco_with": "2025-11-04T10:30/s"', "is for SH600000"),
        ('"action": "BUY", "order_type": "limit", "oco_with": "2025-11-04T10:30/s"',
         "pairs two SELL orders"),
        ('"oco_with": "2025-11-04T10:30/t"', "is already paired"),
    ],
)  # fmt: skip
def test_oco_refusals(tmp_path: Path, change: str, message: str) -> None:
    _ledger, desk, box = _exit_plan(tmp_path)
    fields = json.loads('{"symbol": "SH600000", "action": "SELL", "quantity": 1000, '
                        '"order_type": "take_profit", "price": 11.0}')  # fmt: skip
    fields.update(json.loads("{" + change + "}"))
    box.universe = ["SH600000", "SH600001"]
    out = box.run(ToolCall("x", "place_order", json.dumps(fields)))
    assert (out.ok, out.error_kind) == (False, "invalid_arguments")
    assert message in json.loads(out.result)["message"]
    assert len(desk.book.orders) == 3  # the holding's buy and the pair: nothing added
