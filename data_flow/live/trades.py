"""Round trips (closed trades) from the ledger fills, FIFO per agent and symbol.

Each SELL fill closes shares of the oldest open BUY lots first. One SELL is one trade: its
quantity is what it matched, its entry price the average price of the lot shares it consumed,
its entry time the time of the oldest lot it consumed. A partial exit is a trade of the sold
shares; the rest stays open and a later exit is another trade. Fees: the consumed share of the
buy fees (pro rata per lot) plus the sell's own fees. `realized_pnl_net` = exit notional - entry
notional - fees. Money in Decimal (from the records' JSON numbers), rounded half-up at the end.
Open lots (still held) are not trades.
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
    price: Decimal
    fees: Decimal  # buy fees not yet attributed to a closed trade
    time: str


def agent_trades(view: AgentView, name_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The closed trades of one agent, in exit order."""
    lots: dict[str, deque[_Lot]] = {}
    out: list[dict[str, Any]] = []
    for wid in view.order:
        win = view.windows[wid]
        for action in win.actions:
            side = action.get("action")
            if side not in FILL_ACTIONS:
                continue
            symbol = str(action.get("symbol"))
            qty = int(_dec(action.get("amount")))
            price = _dec(action.get("price"))
            fees = sum((_dec(action.get(k)) for k in FEE_KEYS), Decimal(0))
            if qty <= 0:
                continue
            queue = lots.setdefault(symbol, deque())
            if side == "BUY":
                queue.append(_Lot(qty, price, fees, win.decision_time))
                continue
            trade = _close(queue, qty, price, fees)
            if trade is None:
                continue
            matched, entry_cost, buy_fees, entry_time = trade
            exit_value = price * matched
            total_fees = buy_fees + fees * matched / qty
            out.append(
                {
                    "signature": view.signature,
                    "symbol": symbol,
                    "name": name_of(symbol),
                    "quantity": matched,
                    "entry_time": entry_time,
                    "exit_time": win.decision_time,
                    "holding_hours": _hours(entry_time, win.decision_time),
                    "entry_price": float(
                        (entry_cost / matched).quantize(BP4, rounding=ROUND_HALF_UP)
                    ),
                    "exit_price": float(price),
                    "fees": _money(total_fees),
                    "realized_pnl_net": _money(exit_value - entry_cost - total_fees),
                }
            )
    return out


def _close(
    queue: deque[_Lot], qty: int, price: Decimal, fees: Decimal
) -> tuple[int, Decimal, Decimal, str] | None:
    """Consume up to `qty` shares FIFO: (matched, entry notional, buy fees, entry time)."""
    matched = 0
    cost = Decimal(0)
    buy_fees = Decimal(0)
    entry_time: str | None = None
    while matched < qty and queue:
        lot = queue[0]
        take = min(lot.quantity, qty - matched)
        fee_part = lot.fees * take / lot.quantity
        entry_time = entry_time or lot.time
        cost += lot.price * take
        buy_fees += fee_part
        lot.fees -= fee_part
        lot.quantity -= take
        matched += take
        if lot.quantity == 0:
            queue.popleft()
    if matched == 0 or entry_time is None:
        return None
    return matched, cost, buy_fees, entry_time


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
