"""Corporate actions in the live read model: FIFO round trips and the win-rate tracker count
bonus shares and dividends; recent-decisions and /api/live/corporate-actions list the records."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_engine.corporate_actions import fifo_lots
from api_server import ApiSettings, create_app
from data_flow.corporate_actions import CorporateAction
from data_flow.live.metrics import RoundTripTracker
from data_flow.live.snapshots import SnapshotIndex
from data_flow.live.trades import _Lot, add_bonus, add_dividend, agent_trades
from data_flow.records.fold import AgentFold
from tests.api_fixtures import (
    LOCAL,
    S1,
    AgentWriter,
    arena_in_settings,
    make_snapshot,
)
from tests.api_fixtures import write_snapshot as put_snapshot
from tests.corporate_helpers import corporate_actions

EX = "2025-11-05 10:30:00"
ACTION = CorporateAction(
    symbol=S1,
    ex_date=date(2025, 11, 5),
    announce_date=date(2025, 11, 1),
    cash_per_share=Decimal("0.5"),
    bonus_per_share=Decimal("0.3"),
)


def write_agent(
    root: Path, steps: list[tuple[str, int, float, list[tuple[str, str, int]]]]
) -> None:
    """One agent 'ca': windows (dtime, count, price, orders); the ex-date window first records
    the dividend and the bonus of ACTION (holding-period tax: held < 1 month -> 20 %)."""
    w = AgentWriter(root, "ca")
    w.seed("2025-11-03")
    for dtime, count, price, orders in steps:
        snap = make_snapshot(dtime, {S1: price})
        rel = put_snapshot(root, snap)
        if dtime == EX:
            corporate_actions(w, dtime, count, snap, ACTION)
        w.window(dtime, count, snap, rel, orders)


def client_for(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        yield c


def fold_of(root: Path) -> AgentFold:
    fold = AgentFold(root, "ca", SnapshotIndex(root))
    fold.poll()
    return fold


BUY = ("2025-11-03 10:30:00", 1, 10.0, [("BUY", S1, 1000)])
HOLD_EX = (EX, 1, 9.0, [])


def test_dividend_and_bonus_shares_close_with_the_round_trip(tmp_path: Path) -> None:
    # Arrange: buy 1000 @ 10.00 (fees 5 + 0.10); ex-date: dividend 0.5 x 1000 = 500, tax 20 %
    # -> net 400; 10-for-3 bonus -> 1300 held; sell 1300 @ 8.00 (fees 5 + 5.20 + 0.10)
    write_agent(tmp_path, [BUY, HOLD_EX, ("2025-11-06 10:30:00", 1, 8.0, [("SELL", S1, 1300)])])
    # Act
    for c in client_for(tmp_path):
        body = c.get("/api/live/trades").json()
        csv_text = c.get("/api/live/trades.csv").text
        stats = c.get("/api/live/model-stats").json()["data"][0]
    # Assert: one trade of 1300 shares at entry 10000 / 1300; PnL 10400 - 10000 - 15.40 + 400
    assert body["trades"] == [
        {"signature": "ca", "symbol": S1, "name": None, "quantity": 1300,
         "entry_time": "2025-11-03 10:30:00", "exit_time": "2025-11-06 10:30:00",
         "holding_hours": 72.0, "entry_price": 7.6923, "exit_price": 8.0, "fees": 15.4,
         "dividends": 400.0, "realized_pnl_net": 784.6},
    ]  # fmt: skip
    assert body["summary"]["ca"]["realized_pnl_net"] == 784.6
    assert csv_text.splitlines() == [
        "signature,symbol,name,quantity,entry_time,exit_time,holding_hours,entry_price,"
        "exit_price,fees,dividends,realized_pnl_net",
        f"ca,{S1},,1300,2025-11-03 10:30:00,2025-11-06 10:30:00,72.0,7.6923,8.0,15.4,400.0,784.6",
    ]
    assert (stats["round_trips"], stats["win_rate_pct"]) == (1, 100.0)
    trips = fold_of(tmp_path).trips
    assert (trips.closed, trips.wins, trips.realized_pnl) == (1, 1, Decimal("784.60"))


def test_selling_the_bonus_shares_separately_closes_the_trip_with_them(tmp_path: Path) -> None:
    # Arrange: as above, then sell 1000 @ 8.00 (fees 5 + 4 + 0.08) and 300 @ 8.50
    # (fees 5 + 1.28 + 0.03): the first sell leaves the 300 bonus shares open
    write_agent(
        tmp_path,
        [
            BUY,
            HOLD_EX,
            ("2025-11-06 10:30:00", 1, 8.0, [("SELL", S1, 1000)]),
            ("2025-11-06 14:00:00", 3, 8.5, [("SELL", S1, 300)]),
        ],
    )
    # Act
    fold = fold_of(tmp_path)
    trades = agent_trades(fold, lambda s: None)
    for c in client_for(tmp_path):
        stats = c.get("/api/live/model-stats").json()["data"][0]
    # Assert: trade 1 = 10/13 of the lot: cost 7692.3077, buy fees 3.9231, dividends 307.6923;
    # 8000 - 7692.3077 - 13.0031 + 307.6923 = 602.3815. Trade 2 = the other 3/13:
    # 2550 - 2307.6923 - (1.1769 + 6.31) + 92.3077 = 327.1285. Sum 929.51 (exact).
    assert [
        (t["quantity"], t["entry_price"], t["fees"], t["dividends"], t["realized_pnl_net"])
        for t in trades
    ] == [(1000, 7.6923, 13.0, 307.69, 602.38), (300, 7.6923, 7.49, 92.31, 327.13)]
    total = sum((Decimal(str(t["realized_pnl_net"])) for t in trades), Decimal(0))
    assert total == Decimal("929.51")
    # the tracker: one round trip, closed by the second sell, with the same PnL (a win)
    assert (fold.trips.closed, fold.trips.wins, fold.trips.realized_pnl) == (1, 1, total)
    assert fold.trips.open == {}
    assert (stats["round_trips"], stats["win_rate_pct"]) == (1, 100.0)


def test_partial_sell_before_the_bonus(tmp_path: Path) -> None:
    # Arrange: buy 1000 @ 10; sell 400 @ 11 (fees 5 + 2.20 + 0.04); the ex-date pays 0.5 on
    # the 600 left (gross 300, tax 60, net 240) and adds 180 bonus shares; sell 780 @ 8
    # (fees 5 + 3.12 + 0.06)
    write_agent(
        tmp_path,
        [
            BUY,
            ("2025-11-04 10:30:00", 1, 11.0, [("SELL", S1, 400)]),
            HOLD_EX,
            ("2025-11-06 10:30:00", 1, 8.0, [("SELL", S1, 780)]),
        ],
    )
    # Act
    fold = fold_of(tmp_path)
    trades = agent_trades(fold, lambda s: None)
    # Assert: 4400 - 4000 - (2.04 + 7.24) = 390.72; 6240 - 6000 - (3.06 + 8.18) + 240 = 468.76
    assert [
        (t["quantity"], t["entry_price"], t["fees"], t["dividends"], t["realized_pnl_net"])
        for t in trades
    ] == [(400, 10.0, 9.28, 0.0, 390.72), (780, 7.6923, 11.24, 240.0, 468.76)]
    assert (fold.trips.closed, fold.trips.wins) == (1, 1)
    assert fold.trips.realized_pnl == Decimal("859.48") == Decimal("390.72") + Decimal("468.76")


def test_bonus_shares_spread_over_lots_like_the_ledgers_fifo_lots() -> None:
    # Arrange: lots of 333 and 501 shares, 10-for-3: floor 99 + 150 = 249 of 250 new shares
    records = [
        {"date": "2025-11-03", "this_action": {"action": "BUY", "symbol": S1, "amount": 333}},
        {"date": "2025-11-04", "this_action": {"action": "BUY", "symbol": S1, "amount": 501}},
        {"date": "2025-11-05", "this_action": {"action": "bonus", "symbol": S1,
                                                "bonus_per_share": 0.3, "new_shares": 250}},
    ]  # fmt: skip
    queue = deque(
        [
            _Lot(333, Decimal("3330"), Decimal("5"), Decimal(0), "t1"),
            _Lot(501, Decimal("5010"), Decimal("5"), Decimal(0), "t2"),
        ]
    )
    # Act
    add_bonus(queue, 250, Decimal("0.3"))
    add_dividend(queue, Decimal("100"))
    # Assert: the remainder share goes to the newest lot; costs unchanged; dividends sum exactly
    assert [lot.quantity for lot in queue] == [n for _, n in fifo_lots(records, S1)] == [432, 652]
    assert [lot.cost for lot in queue] == [Decimal("3330"), Decimal("5010")]
    assert sum((lot.dividends for lot in queue), Decimal(0)) == Decimal("100")
    assert queue[0].dividends == Decimal(100) * 432 / 1084


def test_tracker_ignores_actions_without_an_open_trip() -> None:
    t = RoundTripTracker()
    t.dividend(S1, Decimal("40"))
    t.bonus(S1, 300)
    t.add("SELL", S1, 100, Decimal("1000"), Decimal("5"))
    assert (t.closed, t.open, t.realized_pnl) == (0, {}, Decimal(0))


# --- the dashboard's records ---------------------------------------------------------------
DIVIDEND_ITEM = {
    "kind": "dividend", "symbol": S1, "ex_date": "2025-11-05", "shares": 1000,
    "cash_per_share": 0.5, "gross": 500.0, "tax": 100.0, "net": 400.0, "bonus_per_share": None,
    "new_shares": None, "shares_after": None, "sellable_from": None,
}  # fmt: skip
BONUS_ITEM = {
    "kind": "bonus", "symbol": S1, "ex_date": "2025-11-05", "shares": 1000,
    "cash_per_share": None, "gross": None, "tax": None, "net": None, "bonus_per_share": 0.3,
    "new_shares": 300, "shares_after": 1300, "sellable_from": "2025-11-06",
}  # fmt: skip


def test_recent_decisions_list_the_windows_corporate_actions(tmp_path: Path) -> None:
    write_agent(tmp_path, [BUY, HOLD_EX])
    for c in client_for(tmp_path):
        items = c.get("/api/live/recent-decisions").json()["data"]
    assert [(i["window_id"], i["corporate_actions"]) for i in items] == [
        ("2025-11-05T10:30", [DIVIDEND_ITEM, BONUS_ITEM]),
        ("2025-11-03T10:30", []),
    ]
    assert items[0]["outcome"] == "no_trade" and items[0]["trades"] == []


def test_corporate_actions_endpoint_lists_an_agents_records(tmp_path: Path) -> None:
    # cash: 1,000,000 - 10,005.10 (buy) + 400 (dividend); the bonus leaves it unchanged
    write_agent(tmp_path, [BUY, HOLD_EX])
    where = {"signature": "ca", "window_id": "2025-11-05T10:30", "date": "2025-11-05"}
    for c in client_for(tmp_path):
        body = c.get("/api/live/corporate-actions", params={"signature": "ca"}).json()
        missing = c.get("/api/live/corporate-actions")
        unknown = c.get("/api/live/corporate-actions", params={"signature": "nobody"})
        bad = c.get("/api/live/corporate-actions", params={"signature": "../ca"})
    assert body == {
        "signature": "ca",
        "data": [
            {**where, **DIVIDEND_ITEM, "cash": 990394.9},
            {**where, **BONUS_ITEM, "cash": 990394.9},
        ],
        "count": 2,
        "dividends_net": 400.0,
    }
    assert missing.status_code == 422
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown signature 'nobody'"})
    assert bad.status_code == 422


@pytest.fixture
def arena(tmp_path: Path) -> Iterator[str]:
    """A config in settings/ whose data root holds the agent 'ca' with a dividend."""
    root = tmp_path / "arena"
    root.mkdir()
    write_agent(root, [BUY, HOLD_EX])
    with arena_in_settings(root) as name:
        yield name


def test_corporate_actions_endpoint_takes_an_arena(tmp_path: Path, arena: str) -> None:
    default = tmp_path / "default"
    default.mkdir()
    url = "/api/live/corporate-actions"
    with TestClient(create_app(ApiSettings(data_root=default)), base_url=LOCAL) as c:
        there = c.get(url, params={"arena": arena, "signature": "ca"}).json()
        here = c.get(url, params={"signature": "ca"})
        nowhere = c.get(url, params={"arena": "no-such-arena", "signature": "ca"})
    assert (there["count"], there["dividends_net"]) == (2, 400.0)
    assert here.status_code == 404
    assert (nowhere.status_code, nowhere.json()) == (
        404,
        {"detail": "unknown arena 'no-such-arena'"},
    )
