"""The system and user messages of a decision window.

- system: the market rules with the configured fees and limits, lot rules, T+1, the position
  cap, the tools and the decision windows. Identical for every window of a run.
- user: date, time, decision index n/N, the portfolio valued at the snapshot's prices, the
  agent's own recent trades (from the ledger), a compact table of the snapshot's prices and
  indicators, the latest news headlines and the risk limits. Compact text, no raw JSON.

`PROMPT_TEMPLATE_HASH` (also `prompt_template_hash()`) is the sha256 of the template texts;
the run manifest records it so a result can be traced to the exact prompt wording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent_engine.broker import Portfolio, Quote
from agent_engine.quotes import bar_volume_of
from data_flow.clock import SHANGHAI
from settings.config import ArenaConfig

if TYPE_CHECKING:
    from agent_engine.loop import WindowContext

MAX_RECENT_TRADES = 10
MAX_HEADLINES = 10
MAX_HEADLINE_CHARS = 120

SYSTEM_TEMPLATE = """\
You are an autonomous portfolio manager competing in AStock Arena, a simulated China A-share \
market. Every competitor sees the same data at the same decision times. Your goal is the best \
risk-adjusted return over the whole run.

Market rules (enforced by the broker; orders that break them are rejected):
- Universe: {universe}. Only these symbols can be traded. No short selling, no margin.
- Orders: execute_trade is a market order filled at once at the window's current \
price{slippage}. place_order leaves a resting limit, stop_loss or take_profit order that is \
checked against every later hourly bar (also between windows) until it fills, is cancelled or \
expires. A stock at its limit-up price cannot be bought; at its limit-down price it cannot be \
sold; a suspended stock cannot be traded.
- Liquidity: {liquidity}
- Lots: main board (SH60xxxx, SZ00xxxx) and ChiNext (SZ30xxxx) buys in multiples of 100 \
shares; STAR market (SH688xxx, SH689xxx) orders need at least 200 shares, then any whole \
number. Main/ChiNext sells: multiples of 100, or a multiple of 100 plus your whole odd lot.
- T+1: shares bought today become sellable on the next trading day.
- Daily price limits from the previous close: +/-10% main board, +/-20% STAR and ChiNext.
- Fees: commission {commission_pct}% of the notional, at least {min_commission} CNY per order, \
on buys and sells; stamp duty {stamp_pct}% on sells only; transfer fee {transfer_pct}% on \
buys and sells.
- Position cap: after a buy, one stock may be worth at most {cap_pct}% of your equity.
- Corporate actions: cash dividends (minus dividend tax) and bonus shares are applied to your \
holdings at their ex-date; announced ones are listed under the market table.
- Decision windows: {windows_count} per trading day, at {windows} Beijing time. You only see \
information up to the current window's time.

Tools:
- get_stock_price(symbol, indicators?): price, change, limits, today's OHLC, recent hourly \
bars, indicators (rsi = RSI14, rsi_short = RSI3, macd 12/26/9, bollinger 20/2).
- get_news(symbol?, hours?): news published in the last `hours` hours.
- get_portfolio(): cash, holdings, sellable shares, average cost, unrealized PnL, equity.
- execute_trade(symbol, action, quantity): action BUY or SELL, quantity in shares. Executed \
immediately, in the order you call it; the result is the fill or the rejection reason.
- place_order(symbol, action, quantity, order_type, price, valid_days?, oco_with?): a resting \
order (limit BUY/SELL, stop_loss or take_profit SELL) working for valid_days trading days; \
oco_with pairs it with another of your SELL orders of that stock (the first fill cancels the \
other: an exit plan); get_orders(): your orders and their states; cancel_order(order_id).
- calculate(expression): arithmetic such as "1000000*0.2/125.5".

How to decide: inspect what you need, call execute_trade once per order, then finish with a \
short answer WITHOUT tool calls that explains your decision. Finishing without a trade means \
you hold. You have at most {max_steps} model turns in this window."""

USER_TEMPLATE = """\
Decision window {index}/{per_day} on {date} ({weekday}) at {time} Beijing time.

Portfolio at this window's prices:
Cash {cash} CNY | Holdings value {market_value} | Equity {equity} | Return since start \
{return_pct}% (initial {initial_cash})
{holdings}

Your recent trades:
{trades}

Market at {time} (price in CNY, chg% vs previous close):
{market}

Latest news headlines (use get_news for details):
{news}

Risk limits: at most {cap_pct}% of equity per stock after a buy; cash cannot go negative.
Decide now: trade with execute_trade or hold."""

PROMPT_TEMPLATE_HASH = hashlib.sha256(
    (SYSTEM_TEMPLATE + "\n\x00\n" + USER_TEMPLATE).encode("utf-8")
).hexdigest()


def prompt_template_hash() -> str:
    return PROMPT_TEMPLATE_HASH


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


def _pct(rate: Decimal) -> str:
    text = f"{rate * 100:f}".rstrip("0").rstrip(".")
    return text or "0"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or isinstance(value, bool):
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return "-"


def _volume(value: Decimal | None) -> str:
    return "-" if value is None else f"{int(value):,}"


def _money(value: Decimal | float) -> str:
    return f"{float(value):,.2f}"


def build_system_prompt(config: ArenaConfig, max_steps: int | None = None) -> str:
    rules = config.trading_rules
    slippage = (
        f" moved {rules.slippage_bps} bps against you (buys higher, sells lower)"
        if rules.slippage_bps
        else ""
    )
    participation = rules.max_volume_participation
    liquidity = (
        "no limit from traded volume."
        if participation is None
        else f"your fills against one hourly bar of a stock may total at most "
        f"{_pct(participation)}% of that bar's volume (the last bar's volume is in the market "
        "table); the rest of a larger market order is not filled."
    )
    return SYSTEM_TEMPLATE.format(
        universe=", ".join(config.symbols),
        slippage=slippage,
        liquidity=liquidity,
        commission_pct=_pct(rules.commission_rate),
        min_commission=f"{rules.min_commission:f}".rstrip("0").rstrip(".") or "0",
        stamp_pct=_pct(rules.stamp_duty_rate),
        transfer_pct=_pct(rules.transfer_fee_rate),
        cap_pct=_pct(config.risk_management.single_stock_max_position),
        windows_count=len(config.decision_windows),
        windows=", ".join(config.decision_windows),
        max_steps=max_steps if max_steps is not None else config.agent_config.max_steps,
    )


def _holdings_table(portfolio: Portfolio, quotes: Mapping[str, Quote], trade_day: Any) -> str:
    if not portfolio.holdings:
        return "Holdings: none"
    equity = portfolio.equity(quotes)
    lines = ["symbol | shares | sellable | avg cost | price | value | PnL% | weight%"]
    for symbol in sorted(portfolio.holdings):
        h = portfolio.holdings[symbol]
        price = portfolio.valuation_price(symbol, quotes)
        value = price * h.shares
        pnl_pct = (price / h.avg_price - 1) * 100 if h.avg_price else Decimal(0)
        weight = value / equity * 100 if equity else Decimal(0)
        lines.append(
            f"{symbol} | {h.shares} | {portfolio.sellable_on(symbol, trade_day)} | "
            f"{h.avg_price:.4f} | {price:.2f} | {_money(value)} | {pnl_pct:.2f} | {weight:.2f}"
        )
    return "\n".join(lines)


def _trades_text(trades: Sequence[Mapping[str, Any]]) -> str:
    recent = list(trades)[-MAX_RECENT_TRADES:]
    if not recent:
        return "none yet"
    lines = []
    for rec in recent:
        a = rec.get("this_action") or {}
        fees = sum(float(a.get(k) or 0) for k in ("commission", "stamp_duty", "transfer_fee"))
        when = str(rec.get("decision_time") or rec.get("date") or "")[:16]
        lines.append(
            f"{when} {a.get('action')} {a.get('symbol')} {a.get('amount')} @ "
            f"{_num(a.get('price'))} (fees {fees:.2f})"
        )
    return "\n".join(lines)


def _market_table(snapshot: Mapping[str, Any], symbols: Iterable[str]) -> str:
    market = snapshot.get("market_data") or {}
    lines = [
        "symbol | price | chg% | open | high | low | limit up/down | last bar vol | RSI14 | RSI3 | "
        "MACD hist | BB lower/mid/upper"
    ]
    for symbol in symbols:
        row = market.get(symbol)
        if not isinstance(row, Mapping):
            lines.append(f"{symbol} | no data")
            continue
        ind = row.get("indicators") or {}
        macd = ind.get("macd") if isinstance(ind.get("macd"), Mapping) else {}
        status = " | SUSPENDED" if row.get("suspended") or row.get("current_price") is None else ""
        status += " | ST (risk warning; see its limit prices)" if row.get("st") is True else ""
        lines.append(
            f"{_label(symbol, row)} | {_num(row.get('current_price'))} | "
            f"{_num(row.get('change_pct'))} | "
            f"{_num(row.get('open'))} | {_num(row.get('high'))} | {_num(row.get('low'))} | "
            f"{_num(row.get('limit_up'))}/{_num(row.get('limit_down'))} | "
            f"{_volume(bar_volume_of(row))} | "
            f"{_num(ind.get('rsi'), 1)} | {_num(ind.get('rsi_short'), 1)} | "
            f"{_num(macd.get('histogram'), 3)} | {_num(ind.get('bb_lower'))}/"
            f"{_num(ind.get('bb_middle'))}/{_num(ind.get('bb_upper'))}{status}"
        )
    return "\n".join(lines + _upcoming_actions(snapshot))


def _label(symbol: str, row: Mapping[str, Any]) -> str:
    """`SH688008 澜起科技 (半导体)`: the symbol with its name and industry when the data has
    them."""
    parts = [symbol]
    if isinstance(row.get("name"), str) and row["name"]:
        parts.append(row["name"])
    if isinstance(row.get("industry"), str) and row["industry"]:
        parts.append(f"({row['industry']})")
    return " ".join(parts)


def _upcoming_actions(snapshot: Mapping[str, Any]) -> list[str]:
    """Announced corporate actions with a later ex-date (none: no lines, the table as before)."""
    lines = []
    for a in snapshot.get("corporate_actions_upcoming") or []:
        parts = []
        if a.get("cash_per_share"):
            parts.append(f"cash dividend {_num(a['cash_per_share'], 4)} CNY/share before tax")
        if a.get("bonus_per_share"):
            parts.append(f"{_num(a['bonus_per_share'], 4)} bonus shares per share")
        lines.append(f"- {a.get('symbol')} ex-date {a.get('ex_date')}: {', '.join(parts)}")
    if not lines:
        return []
    head = "Announced corporate actions (held at the close before the ex-date to receive them):"
    return ["", head, *lines]


def _published_by(item: Mapping[str, Any], moment: datetime) -> bool:
    stamp = item.get("publish_time")
    if not isinstance(stamp, str):
        return False
    try:
        return datetime.fromisoformat(stamp.strip()).replace(tzinfo=SHANGHAI) <= moment
    except ValueError:
        return False


def _news_text(snapshot: Mapping[str, Any], moment: datetime) -> str:
    """Headlines published at or before the decision time (the snapshot holds no later
    news; this filter is a second guard)."""
    items = [
        n for n in snapshot.get("news") or [] if isinstance(n, Mapping) and _published_by(n, moment)
    ]
    items.sort(key=lambda n: str(n.get("publish_time") or ""), reverse=True)
    if not items:
        return "none"
    lines = []
    for n in items[:MAX_HEADLINES]:
        title = " ".join(str(n.get("title") or "").split())
        if len(title) > MAX_HEADLINE_CHARS:
            title = title[:MAX_HEADLINE_CHARS] + "…"
        symbol = f" [{n['symbol']}]" if n.get("symbol") else ""
        lines.append(f"- {str(n.get('publish_time') or '')[:16]}{symbol} {title}")
    more = len(items) - MAX_HEADLINES
    if more > 0:
        lines.append(f"(+{more} more via get_news)")
    return "\n".join(lines)


def build_user_prompt(
    *,
    config: ArenaConfig,
    moment: datetime,
    decision_index: int,
    decisions_per_day: int,
    snapshot: Mapping[str, Any],
    portfolio: Portfolio,
    quotes: Mapping[str, Quote],
    recent_trades: Sequence[Mapping[str, Any]],
) -> str:
    local = moment.astimezone(SHANGHAI)
    equity = portfolio.equity(quotes)
    initial = config.agent_config.initial_cash
    return_pct = (equity / initial - 1) * 100 if initial else Decimal(0)
    return USER_TEMPLATE.format(
        index=decision_index,
        per_day=decisions_per_day,
        date=local.date().isoformat(),
        weekday=local.strftime("%A"),
        time=local.strftime("%H:%M"),
        cash=_money(portfolio.cash),
        market_value=_money(portfolio.market_value(quotes)),
        equity=_money(equity),
        return_pct=f"{round(float(return_pct), 2) + 0.0:.2f}",  # no "-0.00"
        initial_cash=_money(initial),
        holdings=_holdings_table(portfolio, quotes, local.date()),
        trades=_trades_text(recent_trades),
        market=_market_table(snapshot, config.symbols),
        news=_news_text(snapshot, moment),
        cap_pct=_pct(config.risk_management.single_stock_max_position),
    )


def build_prompt(ctx: WindowContext, quotes: Mapping[str, Quote]) -> Prompt:
    trades: list[dict[str, Any]] = []
    ledger_trades = getattr(ctx.ledger, "trades", None)
    if callable(ledger_trades):
        trades = ledger_trades()
    return Prompt(
        system=build_system_prompt(ctx.config),
        user=build_user_prompt(
            config=ctx.config,
            moment=ctx.moment,
            decision_index=ctx.decision_index,
            decisions_per_day=ctx.decisions_per_day,
            snapshot=ctx.snapshot,
            portfolio=ctx.portfolio,
            quotes=quotes,
            recent_trades=trades,
        ),
    )
