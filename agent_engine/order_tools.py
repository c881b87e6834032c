"""The resting-order tools: `place_order`, `get_orders`, `cancel_order` (their argument models,
specs and handlers). Matching and the book: agent_engine/resting_orders.py.

An order's id is ``<window id>/<tool call id>``; placing is idempotent per tool call, so a
resumed window that runs an interrupted `place_order` again gets the order already recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from agent_engine.llm.base import ToolCall, ToolSpec
from agent_engine.resting_orders import MAX_VALID_DAYS, OrderDesk, OrderType, RestingOrder
from agent_engine.rules import OrderSide, board_of, check_buy_lot, q2, to_decimal
from agent_engine.tool_args import (
    ERROR_INVALID_ARGUMENTS,
    Shares,
    SymbolText,
    ToolArgs,
    tool_spec,
)

ERROR_NO_ORDER_BOOK = "no_order_book"
ERROR_UNKNOWN_ORDER = "unknown_order"


def _price(value: Any) -> Any:
    d = to_decimal(value) if not isinstance(value, bool) else None
    if d is None or d <= 0 or q2(d) != d:
        raise ValueError("must be a positive price with at most 2 decimals")
    return d


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class PlaceOrderArgs(ToolArgs):
    tool_name = "place_order"
    tool_description = (
        "Place a resting order checked against every later hourly bar, also between "
        "decision windows: a limit BUY fills at or below `price`, a limit SELL or "
        "take_profit SELL at or above it, a stop_loss SELL when the price falls to it. "
        "It works for `valid_days` trading days (today included) unless filled or "
        "cancelled. Lots, T+1, price limits, cash and the position cap apply at fill time. "
        "oco_with pairs a SELL with another working SELL order of the same stock (an exit "
        "plan: stop_loss + take_profit): the first fill of either cancels the other."
    )
    symbol: SymbolText = Field(description="e.g. SH688008")
    action: Annotated[Literal["BUY", "SELL"], BeforeValidator(_upper)]
    quantity: Shares = Field(description="shares")
    order_type: Annotated[OrderType, BeforeValidator(_lower)]
    price: Annotated[
        Decimal,
        BeforeValidator(_price),
        WithJsonSchema({"type": "number", "description": "CNY, 2 decimals"}),
    ]
    valid_days: Annotated[int, Field(ge=1, le=MAX_VALID_DAYS)] = 1
    oco_with: Annotated[
        str | None,
        Field(max_length=200, description="order_id of your working SELL order to pair with"),
    ] = None


class GetOrdersArgs(ToolArgs):
    tool_name = "get_orders"
    tool_description = "Your resting orders: working ones and those that ended, with their state."


class CancelOrderArgs(ToolArgs):
    tool_name = "cancel_order"
    tool_description = "Cancel a working (or partially filled) resting order by its order_id."
    order_id: Annotated[str, Field(min_length=1, max_length=200)]


ORDER_TOOL_SPECS: list[ToolSpec] = [
    tool_spec(m) for m in (PlaceOrderArgs, GetOrdersArgs, CancelOrderArgs)
]


@dataclass
class WindowOrders:
    """The order tools of one window: the agent's desk, the window and its snapshot."""

    desk: OrderDesk
    window: Any  # a WindowRef or WindowContext
    window_id: str
    moment: datetime
    snapshot_hash: str | None

    def handlers(
        self,
        universe: Collection[str],
        normalize: Callable[[str], str | None],
        current_call: Callable[[], ToolCall | None],
        outcome: Callable[..., Any],
    ) -> dict[str, tuple[type[ToolArgs], Callable[[Any], Any]]]:
        """The toolbox's handlers; `outcome(ok, payload, error_kind=None)` builds a result."""

        def place(args: PlaceOrderArgs) -> Any:
            symbol = normalize(args.symbol)
            if symbol is None:
                listed = ", ".join(sorted(universe))
                return outcome(
                    False,
                    {"error": "unknown_symbol", "message": f"Tradable symbols: {listed}."},
                    "unknown_symbol",
                )
            side = OrderSide(args.action)
            if side is OrderSide.BUY and args.order_type != "limit":
                return outcome(
                    False,
                    {
                        "error": ERROR_INVALID_ARGUMENTS,
                        "message": f"{args.order_type} orders are exits of a holding: use "
                        "action SELL (no short selling), or a limit order to buy.",
                    },
                    ERROR_INVALID_ARGUMENTS,
                )
            board = board_of(symbol)
            bad_lot = check_buy_lot(board, args.quantity) if side is OrderSide.BUY else None
            if board is not None and bad_lot is not None:
                return outcome(
                    False,
                    {"error": ERROR_INVALID_ARGUMENTS, "message": bad_lot.message},
                    ERROR_INVALID_ARGUMENTS,
                )
            call = current_call()
            call_id = call.id if call is not None else None
            existing = self.desk.book.by_call(call_id)
            oco_with = (args.oco_with or "").strip() or None
            if existing is None and oco_with is not None:
                refused = self._oco_refusal(oco_with, symbol, side)
                if refused is not None:
                    return outcome(
                        False,
                        {"error": ERROR_INVALID_ARGUMENTS, "message": refused},
                        ERROR_INVALID_ARGUMENTS,
                    )
            if existing is None:
                order_id = f"{self.window_id}/{call_id or len(self.desk.book.orders) + 1}"
                existing = RestingOrder(
                    order_id=order_id,
                    symbol=symbol,
                    side=side,
                    order_type=args.order_type,
                    quantity=args.quantity,
                    price=args.price,
                    placed_at=self.moment,
                    valid_days=args.valid_days,
                    expires_on=self.desk.expiry_for(self.moment.date(), args.valid_days),
                    tool_call_id=call_id,
                    oco_with=oco_with,
                )
                self.desk.place(existing, self.window, self.snapshot_hash)
                existing = self.desk.book.orders[order_id]
            return outcome(True, {"status": "working", "order": existing.view()})

        def get_orders(_args: GetOrdersArgs) -> Any:
            orders = [o.view() for o in self.desk.book.orders.values()]
            return outcome(True, {"orders": orders, "working": len(self.desk.book.working())})

        def cancel(args: CancelOrderArgs) -> Any:
            order = self.desk.book.orders.get(args.order_id.strip())
            if order is None or not order.open:
                state = "unknown" if order is None else f"already {order.state.value}"
                return outcome(
                    False,
                    {
                        "error": ERROR_UNKNOWN_ORDER,
                        "message": f"order {args.order_id[:80]!r} is {state}; "
                        "get_orders lists your orders.",
                    },
                    ERROR_UNKNOWN_ORDER,
                )
            self.desk.cancel(order.order_id, self.window, self.snapshot_hash)
            return outcome(True, {"status": "cancelled", "order": order.view()})

        return {
            "place_order": (PlaceOrderArgs, place),
            "get_orders": (GetOrdersArgs, get_orders),
            "cancel_order": (CancelOrderArgs, cancel),
        }

    def _oco_refusal(self, partner_id: str, symbol: str, side: OrderSide) -> str | None:
        """Why an order of `symbol`/`side` cannot be paired with `partner_id` (None: it can)."""
        book = self.desk.book
        partner = book.orders.get(partner_id)
        shown = repr(partner_id[:80])
        if partner is None or not partner.open:
            state = "unknown" if partner is None else f"already {partner.state.value}"
            return f"oco_with: order {shown} is {state}; get_orders lists your orders."
        if side is not OrderSide.SELL or partner.side is not OrderSide.SELL:
            return "oco_with pairs two SELL orders (exits of one holding)."
        if partner.symbol != symbol:
            return f"oco_with: order {shown} is for {partner.symbol}, not {symbol}."
        if book.oco_partner(partner) is not None:
            return f"oco_with: order {shown} is already paired."
        return None
