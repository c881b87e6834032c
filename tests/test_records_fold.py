"""The records fold (data_flow.records): one equity for the CLI summary and the live API, and
resumed windows keep being followed."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agent_engine.run_report import record_stats
from agent_engine.runner import make_clock, run_agent
from data_flow.live.store import LiveStore
from data_flow.records.paths import log_path_of_window
from settings.config import load_config
from tests.api_fixtures import AgentWriter, make_snapshot, write_snapshot
from tests.conftest import write_config
from tests.data_helpers import SYMBOLS, write_files_dataset
from tests.runner_helpers import ScriptedClient, positions, snapshot_for

HELD = "SH688008"


def test_cli_summary_and_model_stats_agree_on_a_suspended_stock(
    tmp_path: Path, data_root: Path
) -> None:
    # Arrange: files data where the held stock has no bar on 2025-11-04 and 2025-11-05, so it
    # is suspended on the last day without a previous close (valued at its average cost)
    data = write_files_dataset(tmp_path / "files", SYMBOLS, "2025-10-27", "2025-11-05")
    market = json.loads((data / "ai_stock_data.json").read_text(encoding="utf-8"))
    for kind, bars in market[HELD].items():
        market[HELD][kind] = [b for b in bars if b["date"][:10] not in ("2025-11-04", "2025-11-05")]
    (data / "ai_stock_data.json").write_text(json.dumps(market), encoding="utf-8")
    cfg = write_config(tmp_path, data_root, data_config={"source": "files", "path": str(data)})
    config = load_config(cfg)
    # Act: buy 200 of it in the first window, then hold
    code = run_agent(
        config,
        "bh",
        make_clock(config),
        runtime_path=tmp_path / "rt.json",
        config_path=cfg,
        client_factory=lambda _m, _a: ScriptedClient(HELD, 200),
    )
    summary = record_stats(data_root, "bh")
    body = json.loads(LiveStore(data_root).model_stats("bh").raw)
    # Assert: the stock is suspended at the last window, without a previous close
    assert code == 0
    row = snapshot_for(data_root, "2025-11-05T14:00")["market_data"][HELD]
    assert (row["suspended"], row["current_price"], row["prev_close"]) == (True, None, None)
    last = positions(data_root, "bh")[-1]["positions"]
    held = last[HELD]
    expected = Decimal(str(last["CASH"])) + 200 * Decimal(str(held["avg_price"]))
    assert summary.equity == expected
    [stats] = body["data"]
    assert Decimal(str(stats["equity"])) == expected == summary.equity
    assert f"{summary.equity:,.2f}" == f"{stats['equity']:,.2f}"


def _line(event: dict[str, object]) -> str:
    return json.dumps({**event, "schema_version": 1, "ts_recorded": "t"}) + "\n"


def test_a_resumed_window_keeps_being_followed_after_interrupted(tmp_path: Path) -> None:
    # Arrange: a window whose first attempt was interrupted (100 tokens in, 20 out)
    root = tmp_path / "data"
    writer = AgentWriter(root, "a", provider="openai", model="gpt-x")
    writer.seed("2025-11-03")
    snap = make_snapshot("2025-11-03 10:30:00", {HELD: 100.0})
    rel = write_snapshot(root, snap)
    writer.window("2025-11-03 10:30:00", 1, snap, rel, tokens=(100, 20), end_event=False)
    log = log_path_of_window(root, "a", "2025-11-03T10:30")
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(_line({"type": "window_end", "outcome": "interrupted", "model_calls": 1,
                        "tokens_in": 100, "tokens_out": 20, "equity": None}))  # fmt: skip
    store = LiveStore(root)
    first = json.loads(store.model_stats("a").raw)["data"][0]
    # Act: the window is resumed and completes
    resumed = [
        {"type": "window_start", "attempt": 2, "resumed": True, "resumed_at_step": 2},
        {"type": "model_call", "step": 2, "usage": {"prompt_tokens": 50, "completion_tokens": 5},
         "latency_ms": 10.0, "error": None},
        {"type": "window_end", "outcome": "no_trade", "model_calls": 1, "tokens_in": 50,
         "tokens_out": 5, "equity": 1000000.0},
    ]  # fmt: skip
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("".join(_line(e) for e in resumed))
    second = json.loads(store.model_stats("a").raw)["data"][0]
    # Assert: the resumed attempt is counted by the live view and by the CLI summary
    assert (first["tokens_in"], first["tokens_out"], first["model_calls"]) == (100, 20, 1)
    assert (second["tokens_in"], second["tokens_out"], second["model_calls"]) == (150, 25, 2)
    totals = record_stats(root, "a")
    assert (totals.tokens_in, totals.tokens_out, totals.windows_complete) == (150, 25, 1)
