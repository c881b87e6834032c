"""Dividend and bonus ledger records for the API tests, built by the engine's own record builders
(`agent_engine.corporate_actions.dividend_record` / `bonus_record` on the ledger's FIFO lots)
and appended through an `AgentWriter` like the runner does: in the ex-date's window, before
that window's decision records."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent_engine.corporate_actions import bonus_record, dividend_record, fifo_lots
from data_flow.corporate_actions import CorporateAction
from tests.api_fixtures import AgentWriter, q2


def corporate_actions(
    w: AgentWriter,
    dtime: str,
    count: int,
    snapshot: dict[str, Any],
    action: CorporateAction,
    tax_rule: str | Decimal = "holding_period",
) -> list[dict[str, Any]]:
    """Append the dividend (then bonus) records of `action` on `w`'s holding in the window of
    `dtime`; returns their `this_action`s. The writer's cash and holding follow them."""
    day = dtime[:10]
    w._roll(day)
    wid = f"{day}T{dtime[11:16]}"
    snap_hash = snapshot["metadata"]["content_hash"]
    written: list[dict[str, Any]] = []
    holding = w.holdings[action.symbol]
    if action.cash_per_share > 0:
        records = [json.loads(line) for line in w.ledger.read_text().splitlines()]
        lots = fifo_lots(records, action.symbol)
        rec = dividend_record(action, holding.shares, lots, tax_rule)
        w.cash = q2(w.cash + Decimal(str(rec["net"])))
        w._record(day, dtime, count, wid, rec, snap_hash)
        written.append(rec)
    if action.bonus_per_share > 0:
        rec = bonus_record(action, holding.shares, holding.avg_price)
        holding.shares = rec["shares_after"]
        holding.avg_price = Decimal(str(rec["avg_price_after"]))
        sellable_from = date.fromisoformat(rec["sellable_from"])
        holding.purchase_date = max(
            holding.purchase_date, (sellable_from - timedelta(days=1)).isoformat()
        )
        if sellable_from <= action.ex_date:
            holding.sellable += rec["new_shares"]
        w._record(day, dtime, count, wid, rec, snap_hash)
        written.append(rec)
    return written
