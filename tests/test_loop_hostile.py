"""A hostile model through the real SDKs and the fake server: the window finishes normally.

The scripted model sends a 1e30 quantity and lone UTF-16 surrogates in its text, a tool name
and tool arguments (issue 8, points 5 and 6). Both used to kill the agent (decimal
InvalidOperation; UnicodeEncodeError writing the decision log). Now each bad call gets an
error result, the run goes on, and the decision log and ledger are valid UTF-8 JSONL that the
live API serves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_engine.decision_log import read_events
from api_server import ApiSettings, create_app
from data_flow.fsio import read_jsonl
from tests.api_fixtures import LOCAL
from tests.fake_llm_server import FakeLLMServer
from tests.llm_helpers import TEST_KEY
from tests.test_loop_window import KEY_ENV, run, setup

QTY_ERROR = (
    "invalid arguments for execute_trade: quantity: must be at most 1,000,000,000, got 1e+30"
)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(tmp_path / "backups"))


def hostile_script() -> list[dict]:
    return [
        {
            "kind": "tool_calls",
            "text": "Let me \ud800 try",
            "calls": [
                {
                    "id": "c1",
                    "name": "execute_trade",
                    "arguments": '{"symbol": "SH688008", "action": "BUY", "quantity": 1e30}',
                },
                {"id": "c2", "name": "get_portfolio\ud800", "arguments": "{}"},
                # an escaped lone surrogate inside the arguments text
                {"id": "c3", "name": "get_stock_price", "arguments": '{"symbol": "\\ud800"}'},
                # a raw lone surrogate inside the arguments (JSON-escaped on the wire)
                {
                    "id": "c4",
                    "name": "execute_trade",
                    "arguments": {"symbol": "SH688008", "action": "BUY\udc00", "quantity": 200},
                },
            ],
        },
        {
            "kind": "tool_calls",
            "calls": [
                {
                    "id": "c5",
                    "name": "execute_trade",
                    "arguments": {"symbol": "SH688008", "action": "BUY", "quantity": 200},
                }
            ],
        },
        {"kind": "text", "text": "Done \udfff."},
    ]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_hostile_model_output_does_not_stop_the_run(
    data_root: Path, server: FakeLLMServer, provider: str
) -> None:
    server.add(*hostile_script())
    ctx = setup(data_root, server, provider=provider)
    outcome = run(ctx)
    server.assert_complete()
    assert outcome.outcome == "traded"
    assert (outcome.trades, outcome.invalid_tool_calls, outcome.rejected_orders) == (1, 4, 0)
    assert (outcome.model_calls, outcome.llm_errors) == (3, 0)

    # The decision log: strict UTF-8, one JSON object per line, surrogates as U+FFFD.
    raw = ctx.log_path.read_bytes()
    lines = raw.decode("utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == (
        ["window_start", "prompt"]
        + ["model_call"] + ["tool_result"] * 4
        + ["model_call", "tool_result", "model_call", "window_end"]
    )  # fmt: skip
    events = read_events(ctx.log_path)
    calls = [e for e in events if e["type"] == "model_call"]
    assert [c["text"] for c in calls] == ["Let me \ufffd try", "", "Done \ufffd."]
    assert events[-1]["final_text"] == "Done \ufffd."
    results = {e["tool_call_id"]: e for e in events if e["type"] == "tool_result"}
    assert {k: (r["name"], r["error_kind"]) for k, r in results.items()} == {
        "c1": ("execute_trade", "invalid_arguments"),
        "c2": ("get_portfolio\ufffd", "unknown_tool"),
        "c3": ("get_stock_price", "unknown_symbol"),
        "c4": ("execute_trade", "invalid_arguments"),
        "c5": ("execute_trade", None),
    }
    assert json.loads(results["c1"]["result"])["message"] == QTY_ERROR
    assert json.loads(results["c2"]["result"])["message"].startswith(
        "unknown tool 'get_portfolio\ufffd'. Available tools:"
    )
    assert json.loads(results["c3"]["result"])["message"].startswith(
        "'\ufffd' is not a symbol of this arena. Tradable symbols: SH688008"
    )
    assert json.loads(results["c4"]["result"])["message"] == (
        "invalid arguments for execute_trade: action must be BUY or SELL, got 'BUY\ufffd'"
    )

    # The ledger: strict JSONL with the one fill.
    records = read_jsonl(ctx.ledger.path, strict=True)
    assert records[-1]["this_action"]["action"] == "BUY"
    assert records[-1]["this_action"]["amount"] == 200
    assert records[-1]["positions"]["SH688008"]["shares"] == 200

    # Every error went back to the model in the next request (each body valid UTF-8 JSON).
    assert len(server.requests) == 3
    for request in server.requests:
        json.dumps(request["body"], ensure_ascii=False).encode("utf-8")
    assert QTY_ERROR in json.dumps(server.requests[1]["body"], ensure_ascii=False)

    # The live API reads both files.
    with TestClient(create_app(ApiSettings(data_root=data_root)), base_url=LOCAL) as client:
        decisions = client.get("/api/live/recent-decisions", params={"signature": "llm"})
        positions = client.get("/api/live/current-positions", params={"signature": "llm"})
    assert decisions.status_code == 200 and positions.status_code == 200
    [decision] = decisions.json()["data"]
    assert (decision["outcome"], decision["reasoning"]) == ("traded", "Done \ufffd.")
    assert decision["invalid_tool_calls"] == 4
    assert [t["name"] for t in decision["tool_calls"]][:2] == [
        "execute_trade",
        "get_portfolio\ufffd",
    ]
    assert [h["symbol"] for h in positions.json()["holdings"]] == ["SH688008"]
