"""A deterministic trading script for ledger tests, also runnable as the kill-test child.

Record ``n`` (n >= 1) belongs to window ``n`` of a fixed schedule (three windows per weekday
from 2025-11-03) and tries a fixed order; the same script replayed in memory gives the exact
positions every record must hold, so a reloaded ledger can be checked record by record.

Child usage: ``python -m tests.ledger_helpers <position.jsonl> <stop_at_records> [<kill_at>]``
appends until the file holds ``stop_at_records`` records, then exits 0. With ``kill_at`` the
ledger writes through `DieAtByte`: the child SIGKILLs itself the moment the file reaches
``kill_at`` bytes, which may be in the middle of a line (a crash at an exact byte).
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import agent_engine.ledger as ledger_module
from agent_engine.broker import Broker, Fill, Order, OrderSide, Portfolio, Quote
from agent_engine.ledger import Ledger, NoTradeCode, WindowRef
from data_flow.clock import at_window
from data_flow.fsio import JsonlAppender
from settings.config import RiskManagement, TradingRules

INITIAL_CASH = Decimal("1000000")
START = date(2025, 11, 3)  # a Monday
WINDOWS = ("10:30", "11:30", "14:00")
UNIVERSE = ("SH600000", "SH688008", "SZ300750")
ORDERS: tuple[tuple[str, OrderSide, int] | None, ...] = (
    ("SH600000", OrderSide.BUY, 1000),
    ("SH688008", OrderSide.BUY, 300),
    None,  # the model holds
    ("SH600000", OrderSide.SELL, 1000),  # rejected (T+1) when bought earlier the same day
    ("SH688008", OrderSide.SELL, 250),
    ("SZ300750", OrderSide.BUY, 100),
    ("SH688008", OrderSide.SELL, 50),  # STAR below 200: only fills as the whole remainder
    ("SH600000", OrderSide.SELL, 30),  # always rejected: splits no odd lot (lot_size)
)


def make_broker() -> Broker:
    return Broker(TradingRules(slippage_bps=Decimal("5")), RiskManagement(), UNIVERSE)


def trading_day(index: int) -> date:
    """The index-th weekday from START (a Monday)."""
    weeks, rest = divmod(index, 5)
    return START + timedelta(days=7 * weeks + rest)


def window_for(n: int) -> WindowRef:
    slot = (n - 1) % len(WINDOWS)
    day = trading_day((n - 1) // len(WINDOWS))
    return WindowRef.at(at_window(day, WINDOWS[slot]), slot + 1)


def quotes_for(n: int) -> dict[str, Quote]:
    return {
        "SH600000": Quote("SH600000", Decimal("10.00") + Decimal("0.13") * (n % 7)),
        "SH688008": Quote("SH688008", Decimal("100.00") + Decimal("1.37") * (n % 5)),
        "SZ300750": Quote("SZ300750", Decimal("200.00") + Decimal("2.11") * (n % 3)),
    }


def decide(
    portfolio: Portfolio, broker: Broker, n: int
) -> tuple[WindowRef, Fill | None, NoTradeCode, str]:
    """Play step `n` on `portfolio` (rolled and, on a fill, updated)."""
    window = window_for(n)
    portfolio.roll_to(window.day)
    spec = ORDERS[(n - 1) % len(ORDERS)]
    if spec is None:
        return window, None, NoTradeCode.HOLD, "model chose to hold"
    result = broker.execute(portfolio, Order(*spec), quotes_for(n), window.day)
    if result.fill is None:
        return window, None, NoTradeCode.ALL_REJECTED, result.message
    portfolio.apply(result.fill)
    return window, result.fill, NoTradeCode.HOLD, result.message


def step(ledger: Ledger, broker: Broker) -> dict[str, Any]:
    """Append the ledger's next record per the script."""
    n = ledger.next_id
    window, fill, code, reason = decide(ledger.portfolio, broker, n)
    if fill is not None:
        return ledger.append_trade(window, fill, ledger.portfolio, f"hash-{n}")
    return ledger.append_no_trade(window, code, reason, ledger.portfolio, f"hash-{n}")


def expected_positions(count: int) -> list[dict[str, Any]]:
    """positions of records 0..count-1 when the script runs without interruption."""
    broker = make_broker()
    portfolio = Portfolio(INITIAL_CASH)
    out = [portfolio.to_record()]
    for n in range(1, count):
        decide(portfolio, broker, n)
        out.append(portfolio.to_record())
    return out


class DieAtByte:
    """The appender's file handle, cut at `kill_at` bytes of file size: the write that reaches
    it writes only the bytes up to it, hands them to the kernel (as a process killed after that
    write(2) would have), and the process SIGKILLs itself before the appender can fsync."""

    def __init__(self, fh: BinaryIO, kill_at: int) -> None:
        self._fh = fh
        self._kill_at = kill_at

    def write(self, data: bytes) -> int:
        self._fh.flush()
        room = self._kill_at - os.fstat(self._fh.fileno()).st_size
        if room > len(data):
            return self._fh.write(data)
        if room < 0:
            raise RuntimeError(f"the file is already past kill_at={self._kill_at}")
        self._fh.write(data[:room])
        self._fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: SIGKILL cannot be handled")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def kill_at_byte(kill_at: int) -> None:
    """Make every ledger opened from now on in this process write through `DieAtByte`."""

    class DyingAppender(JsonlAppender):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self._fh = DieAtByte(self._fh, kill_at)  # type: ignore[assignment]

    ledger_module.JsonlAppender = DyingAppender  # type: ignore[misc]


def main(argv: list[str]) -> int:
    path, stop_at = Path(argv[0]), int(argv[1])
    if len(argv) > 2:
        kill_at_byte(int(argv[2]))
    broker = make_broker()
    with Ledger(path, INITIAL_CASH, START) as ledger:
        while ledger.next_id < stop_at:
            step(ledger, broker)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
