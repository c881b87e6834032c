"""Invariants over random order sequences (hypothesis): whatever the model sends, the broker
answers with a result (never an exception) and the portfolio stays valid."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from agent_engine.broker import Broker, Order, OrderSide, Portfolio, Quote
from agent_engine.rules import LOT, STAR_MIN_SHARES, Board, RejectReason, board_of
from settings.config import RiskManagement, TradingRules

SYMBOLS = ["SH600000", "SH688008", "SZ300750", "SZ000001"]
START = date(2025, 11, 3)

prices = st.decimals(min_value="0.50", max_value="500.00", places=2)
lots = st.integers(min_value=1, max_value=40).map(lambda k: k * 100)
quantities = st.one_of(
    lots,
    lots,
    lots,
    st.integers(min_value=1, max_value=3000),
    st.sampled_from([0, -100, 50, 150, 199, 200, 201, 1050, 100.0, "100", True]),
)
valid_symbols = st.sampled_from(SYMBOLS)
orders = st.tuples(
    st.one_of(valid_symbols, valid_symbols, valid_symbols, st.sampled_from(["SH000001", "x"])),
    st.one_of(
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.sampled_from([OrderSide.BUY, OrderSide.SELL, "SELL", "hold"]),
    ),
    quantities,
    prices,
    st.booleans(),  # next trading day before this order
)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(orders, min_size=1, max_size=40),
    slippage=st.sampled_from(["0", "5", "30"]),
    cap=st.sampled_from(["0.2", "0.5", "1"]),
)
def test_random_orders_keep_the_portfolio_valid(
    steps: list[tuple[Any, Any, Any, Decimal, bool]], slippage: str, cap: str
) -> None:
    broker = Broker(
        TradingRules(slippage_bps=Decimal(slippage)),
        RiskManagement(single_stock_max_position=Decimal(cap)),
        SYMBOLS,
    )
    portfolio = Portfolio(Decimal("200000"))
    day = START
    last_price: dict[str, Decimal] = {}
    cash_flow = Decimal("0")
    for symbol, side, quantity, price, next_day in steps:
        if next_day:
            day += timedelta(days=1)
        portfolio.roll_to(day)
        last_price[symbol] = price
        quotes = {s: Quote(s, p) for s, p in last_price.items()}
        before = portfolio.to_record()
        result = broker.execute(portfolio, Order(symbol, side, quantity), quotes, day)
        assert portfolio.to_record() == before
        assert result.message
        event(f"reason={result.reason}")
        if not result.ok:
            assert isinstance(result.reason, RejectReason)
            assert result.fill is None
            continue
        fill = result.fill
        assert fill is not None
        board = board_of(fill.symbol)
        held_before = portfolio.shares(fill.symbol)
        if fill.side is OrderSide.BUY:
            if board is Board.STAR:
                assert fill.quantity >= STAR_MIN_SHARES
            else:
                assert fill.quantity % LOT == 0
        else:
            assert fill.quantity <= portfolio.sellable_on(fill.symbol, day)
            assert (
                fill.quantity >= STAR_MIN_SHARES or fill.quantity == held_before
                if board is Board.STAR
                else fill.quantity % LOT in (0, held_before % LOT)
            )
        portfolio.apply(fill)
        cash_flow += fill.cash_delta
        assert portfolio.cash >= 0
        assert portfolio.cash == Decimal("200000") + cash_flow
        for h in portfolio.holdings.values():
            assert 0 <= h.sellable <= h.shares
            assert h.shares > 0
        if fill.side is OrderSide.BUY:
            value = portfolio.shares(fill.symbol) * quotes[fill.symbol].price  # type: ignore[operator]
            assert value <= Decimal(cap) * portfolio.equity(quotes)
            assert portfolio.holdings[fill.symbol].sellable <= held_before
