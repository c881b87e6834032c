"""Apply corporate actions (cash dividends, bonus shares / splits) to an agent's portfolio.

The runner calls `apply_due_actions` for every window after its snapshot is ready and before
the model is asked anything. Due: an action in the snapshot's ``corporate_actions_effective``
whose key (``"dividend:SH688008:2025-10-22"``, ``"bonus:..."``) is not in the ledger yet and
whose ex-date is after the date of the ledger's last decision record (seed, fill or
``no_trade``). So the holding it is applied to is the one at the close before the ex-date (no
trade has been recorded since), and it is applied exactly once: a resumed run either finds its
key in the ledger or finds a decision record on or after its ex-date (the holder had no shares
then). Each action is one ledger record (`Ledger.commit_corporate_action`), dividend first.

Cash dividend (``this_action.action = "dividend"``), on the shares held:
    gross = q2(cash_per_share × shares); tax = q2(Σ cash_per_share × lot shares × rate);
    net = gross - tax, credited to cash. The average cost is unchanged (the dividend is in
    cash; lowering the cost too would count it twice in unrealised P&L).
Dividend tax (``trading_rules.dividend_tax``): a flat rate (e.g. 0.1), or "holding_period"
(default, the current A-share rule): each FIFO lot (rebuilt from the ledger's fills) is taxed by
how long it was held from its buy date through the day before the ex-date: up to 1 month 20 %,
up to 1 year 10 %, longer 0 %. (The exchange withholds nothing at the ex-date and collects the
tax at the sale; the arena takes it at the ex-date on the holding period reached by then.)

Bonus shares / conversion (``"bonus"``): new = floor(shares × bonus_per_share) (the fraction
is dropped: the exchange hands fractional shares out across all holders, which one account
cannot model); avg_price = q4(avg_price × shares / (shares + new)). The new shares can be sold
from their listing date (``sellable_from``, `data_flow.corporate_actions.bonus_listing_date`:
the data's 红股上市日, else Shenzhen: the ex-date, Shanghai: the next trading day); until then
only the old shares are sellable. In the FIFO lots they are spread over the lots (floor each,
remainder to the newest).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent_engine.portfolio import Portfolio
from agent_engine.rules import q2, q4, to_decimal
from data_flow.corporate_actions import CorporateAction, bonus_listing_date

if TYPE_CHECKING:
    from agent_engine.ledger import Ledger

DIVIDEND, BONUS = "dividend", "bonus"
KINDS = frozenset({DIVIDEND, BONUS})
HOLDING_PERIOD = "holding_period"
ZERO = Decimal("0")


def action_key(kind: str, symbol: str, ex_date: date) -> str:
    return f"{kind}:{symbol}:{ex_date.isoformat()}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def holding_period_rate(acquired: date, ex_date: date) -> Decimal:
    """20 % held up to 1 month, 10 % up to 1 year, 0 % longer (held through ex_date - 1 day)."""
    held_until = ex_date - timedelta(days=1)
    if held_until <= add_months(acquired, 1):
        return Decimal("0.20")
    if held_until <= add_months(acquired, 12):
        return Decimal("0.10")
    return ZERO


def fifo_lots(records: Iterable[Mapping[str, Any]], symbol: str) -> list[list[Any]]:
    """[acquired date, shares] lots of `symbol`, oldest first, from the ledger's records."""
    lots: list[list[Any]] = []
    for rec in records:
        action = rec.get("this_action") or {}
        if action.get("symbol") != symbol:
            continue
        kind = action.get("action")
        if kind == "BUY":
            lots.append([date.fromisoformat(rec["date"]), int(action["amount"])])
        elif kind == "SELL":
            left = int(action["amount"])
            while left and lots:
                take = min(left, lots[0][1])
                lots[0][1] -= take
                left -= take
                if lots[0][1] == 0:
                    lots.pop(0)
        elif kind == BONUS and lots:
            ratio = Decimal(str(action["bonus_per_share"]))
            added = [int(lot[1] * ratio) for lot in lots]
            added[-1] += int(action["new_shares"]) - sum(added)
            for lot, extra in zip(lots, added, strict=True):
                lot[1] += extra
    return lots


def dividend_record(
    action: CorporateAction, shares: int, lots: list[list[Any]], tax_rule: str | Decimal
) -> dict[str, Any]:
    """The ledger `this_action` of a cash dividend on `shares` (see the module docstring)."""
    per_share = action.cash_per_share
    gross = q2(per_share * shares)
    detail: list[dict[str, Any]] = []
    if tax_rule == HOLDING_PERIOD:
        counted = sum(n for _, n in lots)
        if counted < shares:  # shares without a recorded buy (hand-made records): the newest
            lots = [*lots, [action.ex_date, shares - counted]]
        elif counted > shares:
            lots = [[action.ex_date, shares]]
        tax_raw = ZERO
        for acquired, n in lots:
            rate = holding_period_rate(acquired, action.ex_date)
            tax_raw += per_share * n * rate
            detail.append({"acquired": acquired.isoformat(), "shares": n, "rate": float(rate)})
        tax = q2(tax_raw)
        rule = HOLDING_PERIOD
    else:
        rate = Decimal(str(tax_rule))
        tax = q2(gross * rate)
        rule = f"flat {rate}"
    return {
        "action": DIVIDEND,
        "key": action_key(DIVIDEND, action.symbol, action.ex_date),
        "symbol": action.symbol,
        "ex_date": action.ex_date.isoformat(),
        "shares": shares,
        "cash_per_share": float(per_share),
        "gross": float(gross),
        "tax": float(tax),
        "net": float(gross - tax),
        "tax_rule": rule,
        "tax_lots": detail,
    }


def bonus_record(action: CorporateAction, shares: int, avg_price: Decimal) -> dict[str, Any]:
    new = int(shares * action.bonus_per_share)
    return {
        "action": BONUS,
        "key": action_key(BONUS, action.symbol, action.ex_date),
        "symbol": action.symbol,
        "ex_date": action.ex_date.isoformat(),
        "shares_before": shares,
        "bonus_per_share": float(action.bonus_per_share),
        "new_shares": new,
        "shares_after": shares + new,
        "avg_price_before": float(avg_price),
        "avg_price_after": float(q4(avg_price * shares / (shares + new))),
        "sellable_from": bonus_listing_date(action).isoformat(),
    }


def apply_record(portfolio: Portfolio, action: Mapping[str, Any]) -> None:
    """Apply a dividend/bonus `this_action` to `portfolio` (ValueError if it cannot)."""
    symbol = str(action.get("symbol"))
    holding = portfolio.holdings.get(symbol)
    if action.get("action") == DIVIDEND:
        net = to_decimal(action.get("net"))
        if net is None or net < 0:
            raise ValueError(f"dividend net {action.get('net')!r} is not a non-negative amount")
        portfolio.cash = q2(portfolio.cash + net)
    elif action.get("action") == BONUS:
        if holding is None or holding.shares != action.get("shares_before"):
            raise ValueError(f"bonus of {symbol} does not match the holding")
        avg = to_decimal(action.get("avg_price_after"))
        if avg is None:
            raise ValueError("bonus without avg_price_after")
        ex_date = date.fromisoformat(str(action["ex_date"]))
        raw_from = action.get("sellable_from")  # absent in older ledgers: the next day
        sellable_from = (
            date.fromisoformat(str(raw_from)) if raw_from else ex_date + timedelta(days=1)
        )
        new_shares = int(action["shares_after"]) - holding.shares
        holding.shares = int(action["shares_after"])
        holding.avg_price = q4(avg)
        # T+1 bookkeeping: everything is sellable once the day is after purchase_date
        holding.purchase_date = max(holding.purchase_date, sellable_from - timedelta(days=1))
        if sellable_from <= ex_date:  # listed today: sellable now, with the old shares
            holding.sellable += new_shares
    else:
        raise ValueError(f"not a corporate action: {action.get('action')!r}")


def _last_decision_date(records: list[dict[str, Any]]) -> date:
    for rec in reversed(records):
        if (rec.get("this_action") or {}).get("action") not in KINDS:
            return date.fromisoformat(rec["date"])
    raise ValueError("ledger without a seed")


def apply_due_actions(
    ledger: Ledger,
    portfolio: Portfolio,
    snapshot: Mapping[str, Any],
    window: Any,
    snapshot_hash: str | None,
    tax_rule: str | Decimal,
) -> list[dict[str, Any]]:
    """Commit the due actions of `snapshot` (see the module docstring); returns the records."""
    records = ledger.records()
    return apply_actions(
        snapshot_actions(snapshot),
        portfolio,
        done={(r.get("this_action") or {}).get("key") for r in records},
        since=_last_decision_date(records),
        lots_of=lambda symbol: fifo_lots(ledger.records(), symbol),
        tax_rule=tax_rule,
        commit=lambda record: ledger.commit_corporate_action(
            window, record, portfolio, snapshot_hash
        ),
    )


def snapshot_actions(snapshot: Mapping[str, Any]) -> list[CorporateAction]:
    raw = snapshot.get("corporate_actions_effective") or []
    return [CorporateAction.from_record(a, "snapshot corporate action") for a in raw]


def apply_actions(
    actions: Iterable[CorporateAction],
    portfolio: Portfolio,
    *,
    done: Collection[Any],
    since: date,
    lots_of: Callable[[str], list[list[Any]]],
    tax_rule: str | Decimal,
    commit: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Build the record of every action due (ex-date after `since`, the date of the last
    decision; key not in `done`; shares held) and hand it to `commit`, which records it and
    applies it to `portfolio` (a dividend before a bonus of the same date)."""
    written: list[dict[str, Any]] = []
    for action in sorted(actions, key=lambda a: (a.ex_date, a.symbol)):
        holding = portfolio.holdings.get(action.symbol)
        if action.ex_date <= since or holding is None:
            continue
        if action.cash_per_share > 0 and (
            action_key(DIVIDEND, action.symbol, action.ex_date) not in done
        ):
            lots = lots_of(action.symbol)
            written.append(commit(dividend_record(action, holding.shares, lots, tax_rule)))
        holding = portfolio.holdings[action.symbol]
        if (
            action.bonus_per_share > 0
            and action_key(BONUS, action.symbol, action.ex_date) not in done
        ):
            record = bonus_record(action, holding.shares, holding.avg_price)
            if record["new_shares"] > 0:
                written.append(commit(record))
    return written
