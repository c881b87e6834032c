"""/api/live/orders: an agent's resting orders folded from the ledger the engine writes
(agent_engine.resting_orders.OrderDesk on a real Ledger): a partial fill with its average price,
an expiry, an OCO pair where the fill of one cancels the other, a fill-time rejection and an
order still working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent_engine.broker import Broker
from agent_engine.ledger import Ledger, WindowRef
from agent_engine.resting_orders import OrderBook, OrderDesk, RestingOrder
from agent_engine.rules import OrderSide
from api_server import ApiSettings, create_app
from data_flow.clock import SHANGHAI
from data_flow.live.snapshots import SnapshotIndex
from data_flow.records import paths
from data_flow.records.fold import AgentFold
from settings.config import RiskManagement, TradingRules
from tests.api_fixtures import (
    LOCAL,
    arena_in_settings,
    make_snapshot,
    write_snapshot,
)

SIG = "ro"
SYM = "SH600000"
NAME = "浦发银行"
D1, D2, D3 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
URL = "/api/live/orders"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def bar(moment: datetime, o: str, h: str, lo: str, c: str, volume: int) -> dict[str, Any]:
    return {"time": moment.strftime("%Y-%m-%d %H:%M:%S"), "open": o, "high": h, "low": lo,
            "close": c, "volume": volume}  # fmt: skip


def snap(bars: list[dict[str, Any]]) -> dict[str, Any]:
    return {"market_data": {SYM: {"current_price": bars[-1]["close"], "prev_close": "9.60",
                                  "recent_bars": bars}}}  # fmt: skip


def order(oid: str, side: str, kind: str, price: str, qty: int, placed: datetime,
          expires: date, oco_with: str | None = None) -> RestingOrder:  # fmt: skip
    return RestingOrder(
        order_id=oid,
        symbol=SYM,
        side=OrderSide(side),
        order_type=kind,
        quantity=qty,
        price=Decimal(price),
        placed_at=placed,
        valid_days=(expires - placed.date()).days + 1,
        expires_on=expires,
        tool_call_id=oid.split("/")[-1],
        oco_with=oco_with,
    )


class Arena:
    """One agent's ledger written by the engine's order desk (participation cap 10 %)."""

    def __init__(self, root: Path) -> None:
        path = paths.ledger_path(root, SIG)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(path, 1_000_000, D1)
        broker = Broker(TradingRules(), RiskManagement(single_stock_max_position=Decimal(1)), [SYM])
        self.desk = OrderDesk(OrderBook(), self.ledger, broker, [D1, D2, D3], Decimal("0.1"))
        write_snapshot(root, make_snapshot("2025-11-03 10:30:00", {SYM: 9.6}, names={SYM: NAME}))

    def place(self, o: RestingOrder) -> None:
        self.desk.place(o, WindowRef.at(o.placed_at, 1), None)

    def process(self, now: datetime, count: int, bars: list[dict[str, Any]]) -> None:
        self.ledger.portfolio.roll_to(now.date())
        self.desk.process(snap(bars), None, WindowRef.at(now, count), self.ledger.portfolio, now)


BUY = "2025-11-03T10:30/buy"
STOP, TAKE = "2025-11-04T10:30/stop", "2025-11-04T10:30/take"
NAKED, LOW = "2025-11-04T14:00/naked", "2025-11-04T14:00/low"


def day_one(a: Arena) -> None:
    """BUY limit 1000 @ 9.50 for one day: 300 @ 9.40 (a gap under the limit, 10 % of 3000),
    then 400 @ 9.45 (10 % of 4000); the 300 left expire at the close."""
    a.place(order(BUY, "BUY", "limit", "9.50", 1000, at(D1, 10, 30), D1))
    bars = [bar(at(D1, 11, 30), "9.40", "9.50", "9.30", "9.45", 3000),
            bar(at(D1, 14), "9.45", "9.50", "9.40", "9.45", 4000)]  # fmt: skip
    a.process(at(D1, 14), 3, bars)


def rest_of_the_run(a: Arena) -> None:
    a.process(at(D1, 15), 0, [bar(at(D1, 15), "9.60", "9.70", "9.55", "9.60", 100_000)])
    # D2: an exit plan for the 700 shares; the take-profit fills at 11:30, the stop is cancelled
    a.place(order(STOP, "SELL", "stop_loss", "9.00", 700, at(D2, 10, 30), D3))
    a.place(order(TAKE, "SELL", "take_profit", "10.00", 700, at(D2, 10, 30), D3, oco_with=STOP))
    a.process(at(D2, 14), 3, [bar(at(D2, 11, 30), "9.80", "10.10", "9.70", "10.05", 100_000)])
    # a SELL with nothing left to sell is rejected when it triggers; a low BUY keeps working
    a.place(order(NAKED, "SELL", "limit", "10.20", 100, at(D2, 14), D2))
    a.place(order(LOW, "BUY", "limit", "8.00", 100, at(D2, 14), D3))
    a.process(at(D2, 15), 0, [bar(at(D2, 15), "10.10", "10.30", "10.00", "10.25", 100_000)])


def client_for(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        yield c


def terms(oid: str, side: str, kind: str, price: float, qty: int, placed: str, expires: str,
          valid: int) -> dict[str, Any]:  # fmt: skip
    return {"order_id": oid, "symbol": SYM, "name": NAME, "side": side, "order_type": kind,
            "quantity": qty, "price": price, "valid_days": valid, "expires_on": expires,
            "placed_at": placed, "window_id": oid.split("/")[0]}  # fmt: skip


def ended(state: str, window: str, reason: str | None = None, message: str | None = None,
          bar_time: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"state": state, "reason": reason, "message": message, "bar_time": bar_time,
            "window_id": window, "decision_time": window.replace("T", " ") + ":00"}  # fmt: skip


PARTIAL_FILLS = [
    {"bar_time": "2025-11-03 11:30:00", "quantity": 300, "price": 9.4,
     "window_id": "2025-11-03T14:00"},
    {"bar_time": "2025-11-03 14:00:00", "quantity": 400, "price": 9.45,
     "window_id": "2025-11-03T14:00"},
]  # fmt: skip
BUY_TERMS = terms(BUY, "BUY", "limit", 9.5, 1000, "2025-11-03 10:30:00", "2025-11-03", 1)
NO_OCO = {"oco_with": None, "oco_partner": None}
NOTHING = {"avg_fill_price": None, "fills": []}
OCO_MESSAGE = f"its OCO partner {TAKE} filled"
NAKED_MESSAGE = "You hold no SH600000, so there is nothing to sell (no short selling)."


def test_orders_list_terms_fills_average_price_and_endings(tmp_path: Path) -> None:
    # Arrange: the engine's desk writes the ledger (see day_one / rest_of_the_run)
    a = Arena(tmp_path)
    day_one(a)
    rest_of_the_run(a)
    # Act
    for c in client_for(tmp_path):
        body = c.get(URL, params={"signature": SIG}).json()
    # Assert: average of the partial fills (300 x 9.40 + 400 x 9.45) / 700 = 9.428571 -> 9.43
    stop = terms(STOP, "SELL", "stop_loss", 9.0, 700, "2025-11-04 10:30:00", "2025-11-05", 2)
    take = terms(TAKE, "SELL", "take_profit", 10.0, 700, "2025-11-04 10:30:00", "2025-11-05", 2)
    naked = terms(NAKED, "SELL", "limit", 10.2, 100, "2025-11-04 14:00:00", "2025-11-04", 1)
    low = terms(LOW, "BUY", "limit", 8.0, 100, "2025-11-04 14:00:00", "2025-11-05", 2)
    assert body == {
        "signature": SIG,
        "data": [
            {**BUY_TERMS, **NO_OCO, "state": "expired", "filled": 700, "remaining": 300,
             "avg_fill_price": 9.43, "fills": PARTIAL_FILLS,
             "ended": ended("expired", "2025-11-03T15:00")},
            {**stop, "oco_with": None, "oco_partner": TAKE, "state": "cancelled", "filled": 0,
             "remaining": 700, **NOTHING,
             "ended": ended("cancelled", "2025-11-04T14:00", "oco", OCO_MESSAGE)},
            {**take, "oco_with": STOP, "oco_partner": STOP, "state": "filled", "filled": 700,
             "remaining": 0, "avg_fill_price": 10.0,
             "fills": [{"bar_time": "2025-11-04 11:30:00", "quantity": 700, "price": 10.0,
                        "window_id": "2025-11-04T14:00"}],
             "ended": ended("filled", "2025-11-04T14:00", bar_time="2025-11-04 11:30:00")},
            {**naked, **NO_OCO, "state": "rejected", "filled": 0, "remaining": 100, **NOTHING,
             "ended": ended("rejected", "2025-11-04T15:00", "no_position", NAKED_MESSAGE,
                            "2025-11-04 15:00:00")},
            {**low, **NO_OCO, "state": "working", "filled": 0, "remaining": 100, **NOTHING,
             "ended": None},
        ],
        "count": 5,
        "working": 1,
    }  # fmt: skip


def test_orders_follow_the_ledger_as_it_grows(tmp_path: Path) -> None:
    # Arrange: the first day's two partial fills are recorded, the expiry not yet
    a = Arena(tmp_path)
    day_one(a)
    for c in client_for(tmp_path):
        # Act
        first = c.get(URL, params={"signature": SIG}).json()
        rest_of_the_run(a)
        second = c.get(URL, params={"signature": SIG}).json()
    # Assert
    assert first == {
        "signature": SIG,
        "data": [{**BUY_TERMS, **NO_OCO, "state": "partially_filled", "filled": 700,
                  "remaining": 300, "avg_fill_price": 9.43, "fills": PARTIAL_FILLS,
                  "ended": None}],
        "count": 1,
        "working": 1,
    }  # fmt: skip
    assert [(o["order_id"], o["state"]) for o in second["data"]] == [
        (BUY, "expired"), (STOP, "cancelled"), (TAKE, "filled"), (NAKED, "rejected"),
        (LOW, "working"),
    ]  # fmt: skip
    assert (second["count"], second["working"]) == (5, 1)


def test_the_fold_is_incremental_and_agrees_with_the_engines_book(tmp_path: Path) -> None:
    a = Arena(tmp_path)
    day_one(a)
    fold = AgentFold(tmp_path, SIG, SnapshotIndex(tmp_path))
    fold.poll()
    first = fold.orders.orders[BUY]
    rest_of_the_run(a)
    fold.poll()
    # the order object of the first poll is the one the later records changed
    assert fold.orders.orders[BUY] is first and first.state == "expired"
    book = OrderBook.from_records(a.ledger.records())
    assert [(o.order_id, o.state.value, o.filled, o.remaining) for o in book.orders.values()] == [
        (o.terms.order_id, o.state, o.filled, o.remaining) for o in fold.orders.orders.values()
    ]


def test_damaged_order_records_are_skipped(tmp_path: Path) -> None:
    # Arrange: a fill and a cancellation of orders never placed, then a repeated placement
    a = Arena(tmp_path)
    day_one(a)
    a.ledger.close()
    ledger = paths.ledger_path(tmp_path, SIG)
    lines = ledger.read_text(encoding="utf-8").splitlines()
    placement, fill = json.loads(lines[1]), json.loads(lines[2])
    ghost_fill = {**fill, "id": 10, "order": {**fill["order"], "order_id": "ghost"}}
    ghost_end = {
        **placement,
        "id": 11,
        "this_action": {"action": "order", "order_id": "ghost2", "state": "cancelled"},
    }
    again = {**placement, "id": 12}  # fmt: skip
    with ledger.open("a", encoding="utf-8") as f:
        for rec in (ghost_fill, ghost_end, again):
            f.write(json.dumps(rec) + "\n")
    # Act
    for c in client_for(tmp_path):
        body = c.get(URL, params={"signature": SIG}).json()
    # Assert: only the placed order, unchanged by the repeated placement
    assert [(o["order_id"], o["state"], o["filled"], len(o["fills"])) for o in body["data"]] == [
        (BUY, "partially_filled", 700, 2)
    ]
    assert (body["count"], body["working"]) == (1, 1)


def test_orders_need_a_known_signature(tmp_path: Path) -> None:
    Arena(tmp_path)
    for c in client_for(tmp_path):
        empty = c.get(URL, params={"signature": SIG})
        missing = c.get(URL)
        unknown = c.get(URL, params={"signature": "nobody"})
        bad = c.get(URL, params={"signature": "../ro"})
    assert (empty.status_code, empty.json()) == (
        200,
        {"signature": SIG, "data": [], "count": 0, "working": 0},
    )
    assert missing.status_code == 422
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown signature 'nobody'"})
    assert bad.status_code == 422


@pytest.fixture
def arena(tmp_path: Path) -> Iterator[str]:
    """A config in settings/ whose data root holds the agent 'ro' after its first day."""
    root = tmp_path / "arena"
    root.mkdir()
    day_one(Arena(root))
    with arena_in_settings(root) as name:
        yield name


def test_orders_take_an_arena(tmp_path: Path, arena: str) -> None:
    default = tmp_path / "default"
    default.mkdir()
    with TestClient(create_app(ApiSettings(data_root=default)), base_url=LOCAL) as c:
        there = c.get(URL, params={"arena": arena, "signature": SIG}).json()
        here = c.get(URL, params={"signature": SIG})
        nowhere = c.get(URL, params={"arena": "no-such-arena", "signature": SIG})
    assert (there["count"], there["working"], there["data"][0]["avg_fill_price"]) == (1, 1, 9.43)
    assert here.status_code == 404
    assert (nowhere.status_code, nowhere.json()) == (
        404,
        {"detail": "unknown arena 'no-such-arena'"},
    )
