"""The window prompt: configured rules in the system message, a compact state in the user one."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from agent_engine.broker import Fill, OrderSide, quotes_from_snapshot
from agent_engine.prompt import (
    PROMPT_TEMPLATE_HASH,
    SYSTEM_TEMPLATE,
    USER_TEMPLATE,
    build_prompt,
    build_system_prompt,
    prompt_template_hash,
)
from settings.config import parse_config
from tests.llm_helpers import make_config, make_ctx


def test_template_hash_is_sha256_of_the_templates() -> None:
    expected = hashlib.sha256((SYSTEM_TEMPLATE + "\n\x00\n" + USER_TEMPLATE).encode()).hexdigest()
    assert PROMPT_TEMPLATE_HASH == expected == prompt_template_hash()


def test_system_prompt_states_the_configured_rules(data_root: Path) -> None:
    base = make_config(data_root).public_dict()
    base["trading_rules"].update(
        {
            "commission_rate": 0.00025,
            "min_commission": 1,
            "stamp_duty_rate": 0.001,
            "slippage_bps": 5,
        }
    )
    base["risk_management"]["single_stock_max_position"] = 0.3
    base["decision_windows"] = ["10:00", "14:30"]
    text = build_system_prompt(parse_config(base))
    assert "Universe: SH688008, SH688009, SH688111." in text
    assert "commission 0.025% of the notional, at least 1 CNY per order" in text
    assert "stamp duty 0.1% on sells only" in text
    assert "transfer fee 0.001% on" in text
    assert "moved 5 bps against you" in text
    assert "at most 30% of your equity" in text
    assert "2 per trading day, at 10:00, 14:30 Beijing time" in text
    assert "T+1" in text and "at least 200 shares" in text and "+/-20% STAR" in text
    for tool in ("get_stock_price", "get_news", "get_portfolio", "execute_trade", "calculate"):
        assert f"- {tool}(" in text
    assert "- place_order(" in text and "get_orders()" in text and "cancel_order(order_id)" in text
    assert "at most 6 model turns" in text
    assert "may total at most 10% of that bar's volume" in text
    base["trading_rules"]["max_volume_participation"] = None
    assert "- Liquidity: no limit from traded volume." in build_system_prompt(parse_config(base))


def test_user_prompt_shows_portfolio_trades_market_and_news(data_root: Path) -> None:
    config = make_config(data_root)
    ctx = make_ctx(config, "bh")
    quotes = quotes_from_snapshot(ctx.snapshot)
    fill = Fill(
        "SH688008", OrderSide.BUY, 1000, Decimal("100.00"), Decimal("100000.00"),
        Decimal("30.00"), Decimal("0.00"), Decimal("1.00"), ctx.moment.date(),
    )  # fmt: skip
    ctx.portfolio.apply(fill)
    ctx.ledger.append_trade(ctx, fill, ctx.portfolio, ctx.snapshot_hash)
    ctx.decision_index = 2
    user = build_prompt(ctx, quotes).user
    assert user.startswith("Decision window 2/3 on 2025-11-03 (Monday) at 10:30 Beijing time.")
    assert (
        "Cash 899,969.00 CNY | Holdings value 100,000.00 | Equity 999,969.00 | "
        "Return since start 0.00% (initial 1,000,000.00)"
    ) in user
    assert "SH688008 | 1000 | 0 | 100.0310 | 100.00 | 100,000.00 | -0.03 | 10.00" in user
    assert "2025-11-03 10:30 BUY SH688008 1000 @ 100.00 (fees 31.00)" in user
    assert (
        "SH688008 | 100.00 | 2.04 | 98.00 | 100.00 | 98.00 | 117.60/78.40 | 3,000,000 | 25.0 | "
        "55.0 | 0.400 | 122.00/125.00/128.00"
    ) in user
    assert "- 2025-11-03 09:45 [SH688008] SH688008 wins a big order" in user
    assert "Future news must never be visible" not in user  # published after T
    assert "at most 50% of equity per stock" in user
    assert "{" not in user  # compact text, no JSON dump
    assert len(user) < 2500
