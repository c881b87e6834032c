"""Deterministic rule agents that trade through the same loop, tools, broker and ledger.

Each strategy is an `LLMClient` (provider "baseline", model = strategy name). Before the first
model call the loop calls `begin_window(view)` (`llm.base.WindowView`: what a model is shown,
read-only); the strategy reads the snapshot and its portfolio there and plans its orders,
simulating them on a copy of the portfolio with the real broker so
it only emits orders that fit the lot rules, cash and position cap. Its first "model call"
returns one `execute_trade` tool call per order (sells first) with the rationale as text; the
next call returns a summary of the tool results and no tool calls. No orders → a plain answer
(the window is recorded as `hold`). Usage is zero.

Strategies (`parameters` in the model config):
- `buy_and_hold`: equal weight min(1/N, cap) of the equity across the universe for every
  symbol not held yet (all of them at the first window; later only those that could not be
  bought, e.g. suspended or at limit-up), then hold forever. Quantities are whole lots of 100
  (STAR: at least 200) worth at most the target; a stock whose minimum lot costs more than
  its target weight is left out.
- `momentum` (`top_k`=3): score = return over the snapshot's recent hourly bars; buy the
  top_k symbols with a positive score that are not held (weight min(1/top_k, cap)); sell the
  sellable shares of holdings with a negative score or outside the top 2*top_k.
- `mean_reversion` (`buy_below`=30, `sell_above`=70, `weight`=0.2): RSI14 below `buy_below`
  and not held → buy `weight` of equity; RSI14 above `sell_above` → sell all sellable shares.
- `random` (`seed`=0, `trade_probability`=0.5): a `random.Random` seeded with
  "<seed>:<window_id>" (reproducible across runs and processes) picks hold, a buy of 5-20% of
  equity in a random symbol, or the sale of a random sellable holding.

This module imports neither an LLM SDK nor pandas.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from agent_engine.broker import Broker, Order, OrderSide, Portfolio, Quote, quotes_from_snapshot
from agent_engine.llm.base import (
    CallKey,
    LLMResponse,
    Message,
    ToolCall,
    ToolSpec,
    WindowView,
)
from agent_engine.rules import LOT, STAR_MIN_SHARES, Board, board_of
from data_flow.clock import SHANGHAI
from settings.config import BASELINE_STRATEGIES, ConfigError, ModelConfig

FEE_BUFFER = Decimal("0.995")  # leave room for fees and rounding when sizing buys


@dataclass(frozen=True)
class PlannedOrder:
    symbol: str
    action: str  # BUY | SELL
    quantity: int
    why: str


@dataclass
class _View:
    """What a strategy sees in a window."""

    window_id: str
    day: date
    snapshot: Mapping[str, Any]
    quotes: dict[str, Quote]
    portfolio: Portfolio
    broker: Broker
    universe: list[str]
    cap: Decimal

    def row(self, symbol: str) -> Mapping[str, Any]:
        row = (self.snapshot.get("market_data") or {}).get(symbol)
        return row if isinstance(row, Mapping) else {}

    def price(self, symbol: str) -> Decimal | None:
        q = self.quotes.get(symbol)
        return q.price if q is not None else None

    def equity(self) -> Decimal:
        return self.portfolio.equity(self.quotes)


def lot_quantity(symbol: str, value: Decimal, price: Decimal) -> int:
    """Shares worth at most `value` at `price`, in whole lots of 100 (STAR: >= 200), or 0."""
    if price <= 0 or value <= 0:
        return 0
    shares = int((value / price).to_integral_value(rounding=ROUND_DOWN))
    shares -= shares % LOT
    minimum = STAR_MIN_SHARES if board_of(symbol) is Board.STAR else LOT
    return shares if shares >= minimum else 0


class _Planner:
    """Simulates orders on a copy of the portfolio with the real broker; keeps those that fill."""

    def __init__(self, view: _View) -> None:
        self.view = view
        self.sim = copy.deepcopy(view.portfolio)
        self.orders: list[PlannedOrder] = []

    def try_order(self, symbol: str, action: str, quantity: int, why: str) -> bool:
        if quantity <= 0:
            return False
        order = Order(symbol=symbol, side=OrderSide(action), quantity=quantity)
        result = self.view.broker.execute(self.sim, order, self.view.quotes, self.view.day)
        if not result.ok or result.fill is None:
            return False
        self.sim.apply(result.fill)
        self.orders.append(PlannedOrder(symbol, action, quantity, why))
        return True

    def sell_all(self, symbol: str, why: str) -> bool:
        return self.try_order(symbol, "SELL", self.sim.sellable_on(symbol, self.view.day), why)

    def buy_value(self, symbol: str, value: Decimal, why: str) -> bool:
        price = self.view.price(symbol)
        if price is None:
            return False
        quantity = lot_quantity(symbol, min(value, self.sim.cash) * FEE_BUFFER, price)
        most = self.view.broker.max_buy_quantity(self.sim, symbol, self.view.quotes)
        quantity = min(quantity, most - most % LOT)
        if board_of(symbol) is Board.STAR and quantity < STAR_MIN_SHARES:
            return False
        return self.try_order(symbol, "BUY", quantity, why)


def _recent_return(row: Mapping[str, Any]) -> float | None:
    closes = [
        b.get("close")
        for b in row.get("recent_bars") or []
        if isinstance(b, Mapping) and isinstance(b.get("close"), int | float)
    ]
    if len(closes) < 2 or not closes[0]:
        return None
    return float(closes[-1]) / float(closes[0]) - 1.0


def _rsi(row: Mapping[str, Any]) -> float | None:
    ind = row.get("indicators") or {}
    value = ind.get("rsi") if isinstance(ind, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _param(parameters: Mapping[str, Any], key: str, default: Any, kind: type) -> Any:
    value = parameters.get(key, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"baseline parameter {key!r} must be a {kind.__name__}") from None


# --- strategies -------------------------------------------------------------------------------


def plan_buy_and_hold(view: _View, parameters: Mapping[str, Any]) -> _Planner:
    planner = _Planner(view)
    weight = min(Decimal(1) / len(view.universe), view.cap)
    target = view.equity() * weight
    for symbol in view.universe:
        if view.portfolio.shares(symbol) == 0:
            planner.buy_value(symbol, target, f"equal weight {float(weight) * 100:.1f}%")
    return planner


def plan_momentum(view: _View, parameters: Mapping[str, Any]) -> _Planner:
    top_k = max(1, _param(parameters, "top_k", 3, int))
    scores = {s: r for s in view.universe if (r := _recent_return(view.row(s))) is not None}
    ranked = sorted(scores, key=lambda s: (-scores[s], s))
    winners = [s for s in ranked[:top_k] if scores[s] > 0]
    keep = set(ranked[: 2 * top_k])
    planner = _Planner(view)
    for symbol in sorted(view.portfolio.holdings):
        score = scores.get(symbol)
        if score is not None and (score < 0 or symbol not in keep):
            planner.sell_all(symbol, f"momentum {score * 100:.2f}% fell out of favour")
    weight = min(Decimal(1) / top_k, view.cap)
    target = view.equity() * weight
    for symbol in winners:
        if view.portfolio.shares(symbol) == 0:
            planner.buy_value(
                symbol, target, f"momentum {scores[symbol] * 100:.2f}% in top {top_k}"
            )
    return planner


def plan_mean_reversion(view: _View, parameters: Mapping[str, Any]) -> _Planner:
    buy_below = _param(parameters, "buy_below", 30.0, float)
    sell_above = _param(parameters, "sell_above", 70.0, float)
    weight = min(Decimal(str(_param(parameters, "weight", 0.2, float))), view.cap)
    planner = _Planner(view)
    rsis = {s: r for s in view.universe if (r := _rsi(view.row(s))) is not None}
    for symbol in sorted(view.portfolio.holdings):
        rsi = rsis.get(symbol)
        if rsi is not None and rsi > sell_above:
            planner.sell_all(symbol, f"RSI {rsi:.1f} > {sell_above:g}")
    target = view.equity() * weight
    for symbol in sorted(rsis, key=lambda s: (rsis[s], s)):
        if rsis[symbol] < buy_below and view.portfolio.shares(symbol) == 0:
            planner.buy_value(symbol, target, f"RSI {rsis[symbol]:.1f} < {buy_below:g}")
    return planner


def plan_random(view: _View, parameters: Mapping[str, Any]) -> _Planner:
    seed = _param(parameters, "seed", 0, int)
    probability = _param(parameters, "trade_probability", 0.5, float)
    rng = random.Random(f"{seed}:{view.window_id}")
    planner = _Planner(view)
    if rng.random() >= probability:
        return planner
    sellable = sorted(
        s for s in view.portfolio.holdings if view.portfolio.sellable_on(s, view.day) > 0
    )
    if sellable and rng.random() < 0.5:
        planner.sell_all(rng.choice(sellable), "random sell")
        return planner
    symbol = rng.choice(view.universe)
    fraction = Decimal(str(round(rng.uniform(0.05, 0.2), 4)))
    planner.buy_value(symbol, view.equity() * fraction, f"random buy {float(fraction):.1%}")
    return planner


PLANNERS = {
    "buy_and_hold": plan_buy_and_hold,
    "momentum": plan_momentum,
    "mean_reversion": plan_mean_reversion,
    "random": plan_random,
}
assert set(PLANNERS) == set(BASELINE_STRATEGIES)


class BaselineClient:
    """A strategy behind the LLMClient protocol (see the module docstring)."""

    provider = "baseline"

    def __init__(self, strategy: str, parameters: Mapping[str, Any] | None = None) -> None:
        if strategy not in PLANNERS:
            raise ConfigError(f"unknown baseline strategy {strategy!r}")
        self.model = strategy
        self.parameters = dict(parameters or {})
        self._orders: list[PlannedOrder] = []
        self._window_id = "none"
        self._ready = False

    def begin_window(self, window: WindowView) -> None:
        key = window.key
        view = _View(
            window_id=key.window_id,
            day=key.moment.astimezone(SHANGHAI).date(),
            snapshot=window.snapshot,
            quotes=quotes_from_snapshot(window.snapshot),
            portfolio=window.portfolio,
            broker=window.broker,
            universe=list(window.universe),
            cap=window.position_cap,
        )
        self._orders = PLANNERS[self.model](view, self.parameters).orders
        self._window_id = key.window_id
        self._ready = True

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse:
        started = time.perf_counter()
        if key is not None:
            step = key.step
        else:  # called outside the loop: the step from the conversation
            step = sum(1 for m in messages if m.role == "assistant") + 1
        if not self._ready:
            text, calls = "no window context was given; holding", []
        elif step == 1 and self._orders:
            text = "; ".join(f"{o.action} {o.quantity} {o.symbol} ({o.why})" for o in self._orders)
            calls = [
                ToolCall(
                    id=f"{self.model}-{self._window_id}-{i}",
                    name="execute_trade",
                    arguments=json.dumps(
                        {"symbol": o.symbol, "action": o.action, "quantity": o.quantity}
                    ),
                )
                for i, o in enumerate(self._orders, start=1)
            ]
        elif step == 1:
            text, calls = f"{self.model}: no signal, holding", []
        else:
            text, calls = self._summary(messages), []
        return LLMResponse.local(
            text,
            calls,
            self.model,
            f"{self.model}-{self._window_id}-{step}",
            (time.perf_counter() - started) * 1000.0,
        )

    def _summary(self, messages: list[Message]) -> str:
        filled = rejected = 0
        for m in messages:
            if m.role != "tool":
                continue
            try:
                status = json.loads(m.content).get("status")
            except (json.JSONDecodeError, AttributeError):
                status = None
            if status == "filled":
                filled += 1
            else:
                rejected += 1
        return f"{self.model}: {filled} order(s) filled, {rejected} not filled"


def make_baseline(model: ModelConfig) -> BaselineClient:
    return BaselineClient(model.basemodel, model.parameters)
