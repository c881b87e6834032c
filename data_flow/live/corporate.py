"""Corporate actions (dividend / bonus ledger records) as the API shows them.

`action_item` is one record's `this_action` in a flat shape shared by both kinds (fields of the
other kind are null): a dividend's `shares` are the shares it was paid on, a bonus's `shares`
the shares before it. `decision_item` lists a window's actions as `corporate_actions`;
`corporate_actions_response` lists all of one agent's with their window, date and cash after.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from data_flow.live.agents import AgentView, WindowState
from data_flow.records.models import decimal_or_none, text_field, whole_field

KINDS = ("dividend", "bonus")


def _number(value: Any) -> float | None:
    d = decimal_or_none(value)
    return None if d is None else float(d)


def action_item(action: dict[str, Any]) -> dict[str, Any]:
    """A dividend or bonus `this_action` in the API's flat shape."""
    dividend = action.get("action") == "dividend"
    return {
        "kind": str(action.get("action")),
        "symbol": str(action.get("symbol")),
        "ex_date": text_field(action, "ex_date"),
        "shares": whole_field(action, "shares" if dividend else "shares_before"),
        "cash_per_share": _number(action.get("cash_per_share")) if dividend else None,
        "gross": _number(action.get("gross")) if dividend else None,
        "tax": _number(action.get("tax")) if dividend else None,
        "net": _number(action.get("net")) if dividend else None,
        "bonus_per_share": None if dividend else _number(action.get("bonus_per_share")),
        "new_shares": None if dividend else whole_field(action, "new_shares"),
        "shares_after": None if dividend else whole_field(action, "shares_after"),
        "sellable_from": None if dividend else text_field(action, "sellable_from"),
    }


def window_actions(win: WindowState) -> list[dict[str, Any]]:
    """The window's dividend and bonus records, in record order."""
    return [action_item(a) for a in win.actions if a.get("action") in KINDS]


def corporate_actions_response(view: AgentView) -> dict[str, Any]:
    """Every dividend and bonus record of one agent, oldest first, with the window it was
    recorded in, its date and the cash after it; `dividends_net` sums the nets."""
    rows: list[dict[str, Any]] = []
    total = Decimal(0)
    for wid in view.order:
        win = view.windows[wid]
        for action, cash in zip(win.actions, win.action_cash, strict=True):
            if action.get("action") not in KINDS:
                continue
            if action.get("action") == "dividend":
                total += decimal_or_none(action.get("net")) or Decimal(0)
            rows.append(
                {
                    "signature": view.signature,
                    "window_id": win.window_id,
                    "date": win.day,
                    **action_item(action),
                    "cash": None if cash is None else float(cash),
                }
            )
    return {
        "signature": view.signature,
        "data": rows,
        "count": len(rows),
        "dividends_net": float(total),
    }
