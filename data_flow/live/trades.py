"""Round trips (closed trades) from the ledger records, FIFO per agent and symbol.

Each SELL fill closes shares of the oldest open BUY lots first. One SELL is one trade: its
quantity is what it matched, its entry price the entry notional of the lot shares it consumed
divided by its quantity, its entry time the time of the oldest lot it consumed. A partial exit
is a trade of the sold shares; the rest stays open and a later exit is another trade. Fees: the
consumed share of the buy fees (pro rata per lot) plus the sell's own fees.

Corporate actions (ledger records of their own at the ex-date) change the open lots:
- bonus shares (`bonus`): the record's `new_shares` are spread over the symbol's open lots as
  `agent_engine.corporate_actions.fifo_lots` does (floor(lot shares x bonus_per_share) per lot,
  the remainder to the newest); a lot's entry notional and buy fees are unchanged, so its entry
  price per share falls (1000 @ 10.00, 10-for-3 -> 1300 @ 7.6923);
- cash dividends (`dividend`): the record's `net` (after tax) is income of the shares held at
  the ex-date, attributed pro rata (by shares) to the symbol's open lots (the remainder of the
  division to the newest); a trade that later closes those shares carries the consumed part in
  `dividends` (pro rata per lot, like the buy fees).
`realized_pnl_net` = exit notional - entry notional - fees + dividends. Money in Decimal (from
the records' JSON numbers), rounded half-up at the end. Open lots (still held) are not trades;
an action on a symbol without open lots (shares held without a recorded buy) changes no trade.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from data_flow.live.agents import FILL_ACTIONS, AgentView

CENT = Decimal("0.01")
BP4 = Decimal("0.0001")
FEE_KEYS = ("commission", "stamp_duty", "transfer_fee")
TRADE_FIELDS = (
    "signature",
    "symbol",
    "name",
    "quantity",
    "entry_time",
    "exit_time",
    "holding_hours",
    "entry_price",
    "exit_price",
    "fees",
    "dividends",
    "realized_pnl_net",
)


def _dec(x: Any) -> Decimal:
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        return Decimal(0)
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return Decimal(0)
    return d if d.is_finite() else Decimal(0)


def _money(x: Decimal) -> float:
    return float(x.quantize(CENT, rounding=ROUND_HALF_UP))


def _hours(start: str, end: str) -> float | None:
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return None
    return round(delta.total_seconds() / 3600, 2)


@dataclass
class _Lot:
    quantity: int
    cost: Decimal  # entry notional of the shares still open (bonus shares add none)
    fees: Decimal  # buy fees not yet attributed to a closed trade
    dividends: Decimal  # net dividends not yet attributed to a closed trade
    time: str


def _part(amount: Decimal, take: int, quantity: int) -> Decimal:
    """The share of `amount` of `take` of `quantity` shares (all of it for the last ones)."""
    return amount if take >= quantity else amount * take / quantity


def add_bonus(queue: deque[_Lot], new_shares: int, per_share: Decimal) -> None:
    """Spread `new_shares` over the open lots: floor per lot, the remainder to the newest."""
    if not queue or new_shares <= 0:
        return
    added = [int(lot.quantity * per_share) for lot in queue]
    added[-1] += new_shares - sum(added)
    for lot, extra in zip(queue, added, strict=True):
        lot.quantity += extra


def add_dividend(queue: deque[_Lot], net: Decimal) -> None:
    """Attribute `net` to the open lots pro rata by shares (the remainder to the newest)."""
    total = sum(lot.quantity for lot in queue)
    if total <= 0 or net == 0:
        return
    given = Decimal(0)
    for lot in list(queue)[:-1]:
        part = net * lot.quantity / total
        lot.dividends += part
        given += part
    queue[-1].dividends += net - given


def agent_trades(view: AgentView, name_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The closed trades of one agent, in exit order."""
    lots: dict[str, deque[_Lot]] = {}
    out: list[dict[str, Any]] = []
    for wid in view.order:
        win = view.windows[wid]
        for action in win.actions:
            side = action.get("action")
            symbol = str(action.get("symbol"))
            if side == "bonus":
                add_bonus(
                    lots.get(symbol, deque()),
                    int(_dec(action.get("new_shares"))),
                    _dec(action.get("bonus_per_share")),
                )
                continue
            if side == "dividend":
                add_dividend(lots.get(symbol, deque()), _dec(action.get("net")))
                continue
            if side not in FILL_ACTIONS:
                continue
            qty = int(_dec(action.get("amount")))
            price = _dec(action.get("price"))
            fees = sum((_dec(action.get(k)) for k in FEE_KEYS), Decimal(0))
            if qty <= 0:
                continue
            queue = lots.setdefault(symbol, deque())
            if side == "BUY":
                queue.append(_Lot(qty, price * qty, fees, Decimal(0), win.decision_time))
                continue
            closed = _close(queue, qty)
            if closed is None:
                continue
            exit_value = price * closed.matched
            total_fees = closed.fees + _part(fees, closed.matched, qty)
            pnl = exit_value - closed.cost - total_fees + closed.dividends
            out.append(
                {
                    "signature": view.signature,
                    "symbol": symbol,
                    "name": name_of(symbol),
                    "quantity": closed.matched,
                    "entry_time": closed.time,
                    "exit_time": win.decision_time,
                    "holding_hours": _hours(closed.time, win.decision_time),
                    "entry_price": float(
                        (closed.cost / closed.matched).quantize(BP4, rounding=ROUND_HALF_UP)
                    ),
                    "exit_price": float(price),
                    "fees": _money(total_fees),
                    "dividends": _money(closed.dividends),
                    "realized_pnl_net": _money(pnl),
                }
            )
    return out


@dataclass
class _Closed:
    matched: int
    cost: Decimal
    fees: Decimal
    dividends: Decimal
    time: str


def _close(queue: deque[_Lot], qty: int) -> _Closed | None:
    """Consume up to `qty` shares FIFO: their entry notional, buy fees and dividends."""
    closed: _Closed | None = None
    while (closed is None or closed.matched < qty) and queue:
        lot = queue[0]
        take = min(lot.quantity, qty - (closed.matched if closed else 0))
        cost = _part(lot.cost, take, lot.quantity)
        fees = _part(lot.fees, take, lot.quantity)
        dividends = _part(lot.dividends, take, lot.quantity)
        if closed is None:
            closed = _Closed(0, Decimal(0), Decimal(0), Decimal(0), lot.time)
        closed.matched += take
        closed.cost += cost
        closed.fees += fees
        closed.dividends += dividends
        lot.cost -= cost
        lot.fees -= fees
        lot.dividends -= dividends
        lot.quantity -= take
        if lot.quantity <= 0:
            queue.popleft()
    return closed if closed is not None and closed.matched > 0 else None


def summary(signatures: Iterable[str], trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Per agent: count, wins (net PnL > 0), biggest win/loss (null without one), net PnL."""
    out: dict[str, Any] = {}
    for sig in signatures:
        pnls = [Decimal(str(t["realized_pnl_net"])) for t in trades if t["signature"] == sig]
        wins = [p for p in pnls if p > 0]
        losses = [p for p in pnls if p < 0]
        out[sig] = {
            "count": len(pnls),
            "wins": len(wins),
            "biggest_win": float(max(wins)) if wins else None,
            "biggest_loss": float(min(losses)) if losses else None,
            "realized_pnl_net": _money(sum(pnls, Decimal(0))),
        }
    return out


def trades_response(views: list[AgentView], name_of: Callable[[str], str | None]) -> dict[str, Any]:
    trades = [t for v in views for t in agent_trades(v, name_of)]
    trades.sort(key=lambda t: (t["exit_time"], t["signature"]))
    return {"trades": trades, "summary": summary([v.signature for v in views], trades)}


def to_csv(rows: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in fields})
    return buf.getvalue()
