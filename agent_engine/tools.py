"""The function tools offered to the model, answering as of the window's decision time T.

Every tool reads only the window's snapshot (built from data stamped <= T) and the agent's own
portfolio; bars and news are filtered again by time here, so no argument can reach data after T.

- `get_stock_price(symbol, indicators?)`: price, change, limits, today's OHLC so far, recent
  hourly bars and the requested indicators (default: all).
- `get_news(symbol?, hours?)`: news with publish_time in [T - hours, T] from the snapshot.
- `get_portfolio()`: cash, holdings valued at snapshot prices, equity, position weights.
- `execute_trade(symbol, action, quantity)`: through the broker; a fill is applied to the
  portfolio and recorded in the ledger (by the `record_fill` callback), a rejection returns the
  broker's reason and message.
- `calculate(expression)`: safe arithmetic (agent_engine.calc), never `eval`.
- `place_order`, `get_orders`, `cancel_order`: resting orders (agent_engine/order_tools.py).

Errors never raise: an unknown tool, arguments that are not JSON, missing or mistyped fields
and unknown symbols come back as an error result (`ToolOutcome.ok` False, `error_kind` set).

Symbols are accepted case-insensitively and in the common forms "SH688008", "sh688008",
"688008" (also as a JSON number), "688008.SH", "SH.688008" and "688008SH"; a bare 6-digit
code is accepted only when exactly one symbol of the universe has it (otherwise the model is
asked for the prefix).

Arguments are parsed and bounded in `agent_engine.tool_args` (whole numbers 1..10^9, at most
10,000 characters of arguments, ...). `ToolBox.run` never raises for anything the model sends:
an unexpected failure while handling a call becomes an `invalid_arguments` result (and is
logged); only a failure to record a fill (disk, bookkeeping) propagates. Tool results never
contain lone surrogates (data_flow.textsafe), so they can always be logged and sent back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from agent_engine.broker import Broker, Fill, Order, OrderSide, Portfolio, Quote
from agent_engine.calc import CalcError, evaluate, format_number
from agent_engine.llm.base import ToolCall
from agent_engine.order_tools import (
    ERROR_NO_ORDER_BOOK,
    ERROR_UNKNOWN_ORDER,
    ORDER_TOOL_SPECS,
    WindowOrders,
)
from agent_engine.tool_args import (
    ERROR_INVALID_ARGUMENTS,
    ERROR_INVALID_JSON,
    ArgumentError,
    CalculateArgs,
    ExecuteTradeArgs,
    GetNewsArgs,
    GetPortfolioArgs,
    GetStockPriceArgs,
    ToolArgs,
    parse_arguments,
    shown,
)
from agent_engine.tool_args import TOOL_SPECS as BASE_TOOL_SPECS
from data_flow.clock import SHANGHAI, decision_time_text
from data_flow.symbols import resolve_symbol
from data_flow.textsafe import scrub_text

log = logging.getLogger(__name__)

ERROR_UNKNOWN_TOOL = "unknown_tool"
ERROR_UNKNOWN_SYMBOL = "unknown_symbol"
ERROR_REJECTED_ORDER = "rejected_order"
# error kinds counted as invalid tool calls (a rejected order is counted separately)
INVALID_CALL_KINDS = frozenset(
    {
        ERROR_UNKNOWN_TOOL,
        ERROR_INVALID_JSON,
        ERROR_INVALID_ARGUMENTS,
        ERROR_UNKNOWN_SYMBOL,
        ERROR_UNKNOWN_ORDER,
        ERROR_NO_ORDER_BOOK,
    }
)
TOOL_SPECS = [*BASE_TOOL_SPECS, *ORDER_TOOL_SPECS]
TOOL_NAMES = tuple(t.name for t in TOOL_SPECS)

MAX_NEWS_CONTENT_CHARS = 400
MAX_HOURS = 24 * 30


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    result: str  # the text sent to the model
    error_kind: str | None = None
    trade: dict[str, Any] | None = None  # the ledger record's this_action on a fill
    rejection: dict[str, Any] | None = None
    fill: Fill | None = None


def dumps(obj: Any) -> str:
    """A tool result's JSON text; lone surrogates become U+FFFD (see data_flow.textsafe)."""
    return scrub_text(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")))


def error_outcome(kind: str, message: str, **extra: Any) -> ToolOutcome:
    return ToolOutcome(
        ok=False, result=dumps({"error": kind, "message": message}), error_kind=kind, **extra
    )


def filled_outcome(
    fill: Fill, trade: dict[str, Any], cash_after: Decimal, message: str
) -> ToolOutcome:
    """The result of an `execute_trade` that filled (`trade`: its ledger `this_action`)."""
    text = dumps(
        {
            "status": "filled",
            "symbol": fill.symbol,
            "action": fill.side.value,
            "quantity": fill.quantity,
            "price": float(fill.price),
            "notional": float(fill.notional),
            "commission": float(fill.commission),
            "stamp_duty": float(fill.stamp_duty),
            "transfer_fee": float(fill.transfer_fee),
            "cash_after": float(cash_after),
            "message": message,
        }
    )
    return ToolOutcome(ok=True, result=text, trade=trade, fill=fill)


def _outcome(ok: bool, payload: dict[str, Any], error_kind: str | None = None) -> ToolOutcome:
    return ToolOutcome(ok=ok, result=dumps(payload), error_kind=error_kind)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


# --- symbols ------------------------------------------------------------------------------


def normalize_symbol(text: Any, universe: Collection[str]) -> str | None:
    """The universe symbol meant by `text`, or None (`data_flow.symbols.resolve_symbol`)."""
    return resolve_symbol(text, universe)


# --- the toolbox --------------------------------------------------------------------------


class ToolBox:
    """Runs the tools of one window. `record_fill(fill)` commits a fill (in a run:
    `Ledger.commit_fill`, which records it and applies it to the portfolio) and returns the
    record's `this_action`. Each order placed gets the id `<decision time>#<n>`."""

    def __init__(
        self,
        *,
        snapshot: Mapping[str, Any],
        portfolio: Portfolio,
        broker: Broker,
        universe: Collection[str],
        moment: datetime,
        quotes: Mapping[str, Quote],
        position_cap: Decimal,
        news_lookback_hours: int,
        record_fill: Callable[[Fill], dict[str, Any]],
        orders: WindowOrders | None = None,
        volume_used: Mapping[str, int] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.portfolio = portfolio
        self.broker = broker
        self.universe = sorted(universe)
        self.moment = moment.astimezone(SHANGHAI)
        self.as_of = decision_time_text(moment)
        self.trade_date = self.moment.date()
        self.quotes = quotes
        self.position_cap = position_cap
        self.news_lookback_hours = news_lookback_hours
        self.record_fill = record_fill
        # shares traded per symbol against the bar at this decision time (agent_engine/liquidity)
        self.volume_used: dict[str, int] = dict(volume_used or {})
        self._record_error: BaseException | None = None
        self._orders_placed = 0
        self.current_call: ToolCall | None = None
        self._handlers: dict[str, tuple[type[ToolArgs], Callable[[Any], ToolOutcome]]] = {
            "get_stock_price": (GetStockPriceArgs, self._get_stock_price),
            "get_news": (GetNewsArgs, self._get_news),
            "get_portfolio": (GetPortfolioArgs, self._get_portfolio),
            "execute_trade": (ExecuteTradeArgs, self._execute_trade),
            "calculate": (CalculateArgs, self._calculate),
        }
        if orders is not None:
            self._handlers.update(
                orders.handlers(self.universe, self._symbol, lambda: self.current_call, _outcome)
            )

    specs = TOOL_SPECS

    def run(self, call: ToolCall) -> ToolOutcome:
        """The outcome of one tool call; never raises for anything the model sent."""
        try:
            return self._run(call)
        except Exception as err:
            if err is self._record_error:  # the fill was not recorded: not the model's fault
                raise
            log.exception("tool call %s failed on the model's arguments", shown(call.name))
            return error_outcome(
                ERROR_INVALID_ARGUMENTS,
                f"{shown(call.name)} could not handle these arguments "
                f"({type(err).__name__}); check them and try again.",
            )

    def _run(self, call: ToolCall) -> ToolOutcome:
        self.current_call = call  # for `record_fill`: the call that made a fill
        handler = self._handlers.get(call.name) if isinstance(call.name, str) else None
        if handler is None and call.name not in TOOL_NAMES:
            return error_outcome(
                ERROR_UNKNOWN_TOOL,
                f"unknown tool {shown(call.name)}. Available tools: {', '.join(TOOL_NAMES)}.",
            )
        if handler is None and call.name in TOOL_NAMES:
            return error_outcome(
                ERROR_NO_ORDER_BOOK, "resting orders are not available in this arena."
            )
        model_cls, fn = handler
        try:
            args = parse_arguments(model_cls, call.name, call.arguments)
        except ArgumentError as err:
            return error_outcome(err.kind, err.message)
        return fn(args)

    # --- helpers ---------------------------------------------------------------------------
    def _symbol(self, text: str) -> str | None:
        return normalize_symbol(text, self.universe)

    def _unknown_symbol(self, text: str) -> ToolOutcome:
        return error_outcome(
            ERROR_UNKNOWN_SYMBOL,
            f"{shown(text)} is not a symbol of this arena. "
            f"Tradable symbols: {', '.join(self.universe)}.",
        )

    def _row(self, symbol: str) -> Mapping[str, Any]:
        row = (self.snapshot.get("market_data") or {}).get(symbol)
        return row if isinstance(row, Mapping) else {}

    def _not_after_t(self, stamp: Any) -> bool:
        if not isinstance(stamp, str):
            return False
        try:
            moment = datetime.fromisoformat(stamp.strip()).replace(tzinfo=SHANGHAI)
        except ValueError:
            return False
        return moment <= self.moment

    # --- tools -----------------------------------------------------------------------------
    def _get_stock_price(self, args: GetStockPriceArgs) -> ToolOutcome:
        symbol = self._symbol(args.symbol)
        if symbol is None:
            return self._unknown_symbol(args.symbol)
        try:
            names = args.names()
        except ValueError as err:
            return error_outcome(
                ERROR_INVALID_ARGUMENTS, f"invalid arguments for get_stock_price: {err}"
            )
        row = self._row(symbol)
        bars = [
            b
            for b in row.get("recent_bars") or []
            if isinstance(b, Mapping) and self._not_after_t(b.get("time"))
        ]
        result: dict[str, Any] = {"symbol": symbol, "as_of": self.as_of}
        for key in (
            "current_price",
            "bar_time",
            "change_pct",
            "prev_close",
            "open",
            "high",
            "low",
            "volume",
            "amount",
            "limit_up",
            "limit_down",
            "suspended",
        ):
            result[key] = row.get(key)
        result["recent_bars"] = [dict(b) for b in bars]
        indicators = row.get("indicators") or {}
        if names:
            chosen: dict[str, Any] = {}
            for name in names:
                if name == "bollinger":
                    for k in ("bb_upper", "bb_middle", "bb_lower"):
                        chosen[k] = indicators.get(k)
                else:
                    chosen[name] = indicators.get(name)
            result["indicators"] = chosen
        held = self.portfolio.holdings.get(symbol)
        result["your_position"] = {
            "shares": held.shares if held else 0,
            "sellable": self.portfolio.sellable_on(symbol, self.trade_date),
        }
        return ToolOutcome(ok=True, result=dumps(result))

    def _get_news(self, args: GetNewsArgs) -> ToolOutcome:
        symbol: str | None = None
        if args.symbol is not None:
            symbol = self._symbol(args.symbol)
            if symbol is None:
                return self._unknown_symbol(args.symbol)
        hours = min(args.hours or self.news_lookback_hours, MAX_HOURS)
        start = self.moment - timedelta(hours=hours)
        items = []
        for item in self.snapshot.get("news") or []:
            if not isinstance(item, Mapping):
                continue
            stamp = item.get("publish_time")
            if not self._not_after_t(stamp):
                continue
            published = datetime.fromisoformat(str(stamp).strip()).replace(tzinfo=SHANGHAI)
            if published < start:
                continue
            if symbol is not None and item.get("symbol") != symbol:
                continue
            content = str(item.get("content") or "")
            if len(content) > MAX_NEWS_CONTENT_CHARS:
                content = content[:MAX_NEWS_CONTENT_CHARS] + "…"
            items.append(
                {
                    "publish_time": stamp,
                    "symbol": item.get("symbol"),
                    "title": item.get("title"),
                    "source": item.get("source"),
                    "summary": content,
                }
            )
        items.sort(key=lambda x: str(x["publish_time"]), reverse=True)
        result = {
            "as_of": self.as_of,
            "symbol": symbol,
            "hours": hours,
            "count": len(items),
            "news": items,
        }
        if hours > self.news_lookback_hours:
            result["note"] = (
                f"the arena keeps news of the last {self.news_lookback_hours} hours only"
            )
        return ToolOutcome(ok=True, result=dumps(result))

    def _get_portfolio(self, _args: GetPortfolioArgs) -> ToolOutcome:
        return ToolOutcome(ok=True, result=dumps(self.portfolio_view()))

    def portfolio_view(self) -> dict[str, Any]:
        p = self.portfolio
        equity = p.equity(self.quotes)
        holdings = []
        for symbol in sorted(p.holdings):
            h = p.holdings[symbol]
            price = p.valuation_price(symbol, self.quotes)
            value = price * h.shares
            cost = h.avg_price * h.shares
            pnl = value - cost
            holdings.append(
                {
                    "symbol": symbol,
                    "shares": h.shares,
                    "sellable": p.sellable_on(symbol, self.trade_date),
                    "avg_price": float(h.avg_price),
                    "last_price": float(price),
                    "market_value": _money(value),
                    "unrealized_pnl": _money(pnl),
                    "unrealized_pnl_pct": round(float(pnl / cost * 100), 2) if cost else None,
                    "weight_pct": round(float(value / equity * 100), 2) if equity else None,
                }
            )
        return {
            "as_of": self.as_of,
            "cash": _money(p.cash),
            "market_value": _money(p.market_value(self.quotes)),
            "equity": _money(equity),
            "holdings": holdings,
            "max_position_pct": float(self.position_cap * 100),
        }

    def _execute_trade(self, args: ExecuteTradeArgs) -> ToolOutcome:
        symbol = self._symbol(args.symbol)
        if symbol is None:
            return self._unknown_symbol(args.symbol)
        action = args.action.strip().upper()
        if action not in ("BUY", "SELL"):
            return error_outcome(
                ERROR_INVALID_ARGUMENTS,
                "invalid arguments for execute_trade: action must be BUY or SELL, "
                f"got {shown(args.action)}",
            )
        self._orders_placed += 1
        order = Order(
            symbol=symbol,
            side=OrderSide(action),
            quantity=args.quantity,
            order_id=f"{self.as_of}#{self._orders_placed}",
        )
        outcome = self.broker.execute(
            self.portfolio,
            order,
            self.quotes,
            self.trade_date,
            volume_used=self.volume_used.get(symbol, 0),
        )
        if not outcome.ok or outcome.fill is None:
            reason = outcome.reason.value if outcome.reason is not None else "rejected"
            rejection = {
                "reason": reason,
                "message": outcome.message,
                "symbol": symbol,
                "action": action,
                "quantity": args.quantity,
            }
            text = dumps({"status": "rejected", "reason": reason, "message": outcome.message})
            return ToolOutcome(
                ok=False, result=text, error_kind=ERROR_REJECTED_ORDER, rejection=rejection
            )
        fill = outcome.fill
        try:
            trade = self.record_fill(fill)
        except BaseException as err:
            self._record_error = err
            raise
        self.volume_used[symbol] = self.volume_used.get(symbol, 0) + fill.quantity
        return filled_outcome(fill, trade, self.portfolio.cash, outcome.message)

    def _calculate(self, args: CalculateArgs) -> ToolOutcome:
        try:
            value = evaluate(args.expression)
        except CalcError as err:
            return error_outcome(ERROR_INVALID_ARGUMENTS, f"calculate: {err}")
        return ToolOutcome(
            ok=True, result=dumps({"expression": args.expression, "result": format_number(value)})
        )
